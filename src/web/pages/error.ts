import { barePage } from '../layout.js';
import { html, type Html } from '../html.js';
import { en } from '../strings.js';

/** The page for an error status; `reason`, the server's own words for a refusal, says what was wrong. */
export function errorPage(status: number, reason?: string): Html {
  const [title, text] =
    status === 404
      ? [en.errors.notFound, en.errors.notFoundText]
      : status === 403
        ? [en.errors.forbidden, en.errors.forbiddenText]
        : status === 413
          ? [en.errors.tooLarge, en.errors.tooLargeText]
          : status < 500
            ? [en.errors.badRequest, en.errors.badRequestText]
            : [en.errors.server, en.errors.serverText];
  const why = reason === undefined ? html`` : html`<p>${en.errors.reason(reason)}</p>`;
  return barePage(title, html`<p>${text}</p>${why}<p><a href="/web/">${en.errors.back}</a></p>`);
}
