import { ASSETS } from './assets.js';
import { html, type Html } from './html.js';
import { en } from './strings.js';

export type Section = 'overview' | 'progress' | 'sessions' | 'problems' | 'projects' | 'gyms' | 'devices' | 'export';

const NAV: [Section, string][] = [
  ['overview', '/web/'],
  ['progress', '/web/progress'],
  ['sessions', '/web/sessions'],
  ['problems', '/web/problems'],
  ['projects', '/web/projects'],
  ['gyms', '/web/gyms'],
  ['devices', '/web/devices'],
  ['export', '/web/export'],
];

export interface PageContext {
  /** The CSRF token of the session, for the logout form; absent on pages outside a session. */
  readonly csrf?: string;
}

function documentShell(title: string, body: Html): Html {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${title} · ${en.appName}</title>
<link rel="stylesheet" href="/web/assets/${ASSETS.stylesheet.name}">
<link rel="icon" href="/web/assets/${ASSETS.icon.name}" type="image/svg+xml">
</head>
<body>
${body}
</body>
</html>
`;
}

/** A page inside a session: navigation, the page's content, and the logout form. */
export function page(ctx: PageContext, section: Section | undefined, title: string, content: Html): Html {
  const links = NAV.map(
    ([key, href]) => html`<li><a href="${href}"${key === section ? html` aria-current="page"` : ''}>${en.nav[key]}</a></li>`,
  );
  return documentShell(
    title,
    html`<a class="skip" href="#main">${en.skipToContent}</a>
<header>
<a class="brand" href="/web/">${en.appName}</a>
<nav aria-label="${en.nav.label}"><ul>${links}</ul></nav>
${ctx.csrf === undefined ? '' : html`<form method="post" action="/web/logout"><input type="hidden" name="csrf" value="${ctx.csrf}"><button type="submit" class="link">${en.nav.logout}</button></form>`}
</header>
<main id="main">
<h1>${title}</h1>
${content}
</main>`,
  );
}

/** A page without navigation: login and errors before a session exists. */
export function barePage(title: string, content: Html): Html {
  return documentShell(title, html`<main id="main"><h1>${title}</h1>${content}</main>`);
}
