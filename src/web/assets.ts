import { createHash } from 'node:crypto';

/**
 * The dashboard's static files, kept in the code so that the build needs no copy
 * step. Each is served under a name that holds a hash of its content, so it can be
 * cached for a year and a change always gets a new name.
 */
const STYLESHEET = `
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1a1a1a; --muted: #4a4a4a; --line: #d0d0d0;
  --accent: #0b5cad; --accent-fg: #ffffff; --card: #f4f6f8; --bar: #0b5cad; --bar2: #b4460f;
  --heat0: #e8ebef; --heat1: #9cc3ea; --heat2: #4b8fd6; --heat3: #0b5cad; --focus: #b4460f; --error: #a4161a; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #121417; --fg: #eceff3; --muted: #b8bec6; --line: #3a3f46; --accent: #7db7f0; --accent-fg: #0d1117;
    --card: #1c2026; --bar: #7db7f0; --bar2: #f0a36e; --heat0: #262b32; --heat1: #1f4f80; --heat2: #3b7fc4; --heat3: #7db7f0;
    --focus: #f0a36e; --error: #ff8a8a; }
}
* { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.5; }
body { margin: 0; background: var(--bg); color: var(--fg); }
h1, h2, h3, p, dd, li { overflow-wrap: anywhere; }
.vh { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible, [tabindex]:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 0.5rem; top: 0.5rem; background: var(--bg); padding: 0.5rem; z-index: 10; }
header { border-bottom: 1px solid var(--line); padding: 0.5rem 1rem; display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: center; }
header .brand { font-weight: 700; color: var(--fg); text-decoration: none; }
nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0.25rem 0.75rem; }
nav a[aria-current="page"] { font-weight: 700; color: var(--fg); }
header form { margin-left: auto; }
main { padding: 1rem; max-width: 72rem; margin: 0 auto; }
h1 { font-size: 1.6rem; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.25rem; margin: 1.5rem 0 0.5rem; }
h3 { font-size: 1.05rem; margin: 1rem 0 0.5rem; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: 0.5rem; margin: 0; }
.figures div { background: var(--card); border-radius: 6px; padding: 0.5rem 0.75rem; }
.figures dt { color: var(--muted); font-size: 0.9rem; }
.figures dd { margin: 0; font-size: 1.4rem; font-weight: 700; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.95rem; }
th, td { text-align: left; padding: 0.3rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
figure.chart { margin: 1rem 0; display: flex; flex-wrap: wrap; gap: 0.5rem 2rem; align-items: flex-start; }
figure.chart figcaption { flex-basis: 100%; }
figure.chart svg { max-width: 100%; height: auto; display: block; }
figure.chart details { margin-top: 0.25rem; }
svg .bar { fill: var(--bar); }
svg .bar2 { fill: var(--bar2); }
svg .axis { stroke: var(--line); }
svg text { fill: var(--fg); font-size: 11px; }
svg .h0 { fill: var(--heat0); } svg .h1 { fill: var(--heat1); } svg .h2 { fill: var(--heat2); } svg .h3 { fill: var(--heat3); }
.legend { color: var(--muted); font-size: 0.9rem; }
.thumbs { display: flex; flex-wrap: wrap; gap: 0.5rem; list-style: none; padding: 0; margin: 0; }
.thumbs img { width: 96px; height: 96px; object-fit: cover; border-radius: 4px; background: var(--card); }
.photo { max-width: 100%; height: auto; }
form.filters { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: end; }
form.filters label, form.stack label { display: flex; flex-direction: column; font-size: 0.9rem; }
input, select, button { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--muted); border-radius: 4px; padding: 0.35rem 0.5rem; min-height: 2.25rem; }
button { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); cursor: pointer; }
button.link { background: none; color: var(--accent); border: none; text-decoration: underline; padding: 0.35rem 0; }
form.stack { display: flex; flex-direction: column; gap: 0.75rem; max-width: 28rem; }
.error { color: var(--error); font-weight: 600; }
.token { font-family: ui-monospace, monospace; word-break: break-all; background: var(--card); padding: 0.5rem; }
.pager { display: flex; gap: 1rem; align-items: center; margin: 1rem 0; }
.notes { white-space: pre-wrap; }
@media (max-width: 40rem) { main { padding: 0.75rem; } th, td { padding: 0.25rem 0.4rem; } header form { margin-left: 0; } }
`;

const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M1 15 6 4l3 6 2-3 4 8z" fill="#0b5cad"/></svg>`;

const PLACEHOLDER = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96" width="96" height="96"><rect width="96" height="96" fill="#d9dde2"/><path d="M18 72 38 44l12 16 8-10 20 22z" fill="#8a939e"/><circle cx="64" cy="30" r="7" fill="#8a939e"/></svg>`;

export interface Asset {
  readonly name: string;
  readonly type: string;
  readonly body: Buffer;
}

function asset(base: string, ext: string, type: string, text: string): Asset {
  const body = Buffer.from(text, 'utf8');
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { name: `${base}.${hash}.${ext}`, type, body };
}

export const ASSETS = {
  stylesheet: asset('dashboard', 'css', 'text/css; charset=utf-8', STYLESHEET),
  icon: asset('icon', 'svg', 'image/svg+xml', ICON),
  placeholder: asset('placeholder', 'svg', 'image/svg+xml', PLACEHOLDER),
} as const;

export const ASSET_BY_NAME = new Map<string, Asset>(Object.values(ASSETS).map((a) => [a.name, a]));
