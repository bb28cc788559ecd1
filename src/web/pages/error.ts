import { barePage } from '../layout.js';
import { html, type Html } from '../html.js';
import { en } from '../strings.js';

export function errorPage(status: number): Html {
  const [title, text] =
    status === 404
      ? [en.errors.notFound, en.errors.notFoundText]
      : status === 403
        ? [en.errors.forbidden, en.errors.forbiddenText]
        : status < 500
          ? [en.errors.badRequest, en.errors.badRequestText]
          : [en.errors.server, en.errors.serverText];
  return barePage(title, html`<p>${text}</p><p><a href="/web/">${en.errors.back}</a></p>`);
}
