import { html, type Html } from '../html.js';
import { page, type PageContext } from '../layout.js';
import { en } from '../strings.js';

export function exportPage(ctx: PageContext): Html {
  const content = html`<p>${en.export.intro}</p>
<ul>
<li><a href="/web/export/sync.json" download>${en.export.sync}</a></li>
<li><a href="/web/export/sessions.csv" download>${en.export.sessions}</a></li>
<li><a href="/web/export/attempts.csv" download>${en.export.attempts}</a></li>
</ul>`;
  return page(ctx, 'export', en.export.title, content);
}
