import type { Attempt, Dataset, Problem, Session } from '../stats/dataset.js';
import { html, type Html } from './html.js';
import type { Paged } from './query.js';
import { en } from './strings.js';

/** Small pieces shared by the pages: links to items, labels, the pager. */
export function problemLink(ds: Dataset, id: string): Html | string {
  const p = ds.problems.get(id);
  return p ? html`<a href="/web/problems/${encodeURIComponent(id)}">${p.name || en.unnamed}</a>` : en.unknown;
}

export function gymLink(ds: Dataset, id: string): Html | string {
  const g = ds.gyms.get(id);
  return g ? html`<a href="/web/gyms/${encodeURIComponent(id)}">${g.name || en.unnamed}</a>` : en.unknown;
}

export function sessionLink(s: Session): Html {
  return html`<a href="/web/sessions/${encodeURIComponent(s.id)}">${s.day || en.unknown}</a>`;
}

export function gradeOf(p: Problem | undefined): string {
  return p && p.grade !== '' ? `${p.grade} (${p.system})` : '';
}

/** A known result by its label; any other as the app wrote it. */
export function resultLabel(a: Attempt): string {
  return (a.result === 'OTHER' && a.resultText) || (en.results[a.result] ?? en.results['OTHER']!);
}

/** The time part of an ISO timestamp as written (HH:MM), without zone conversion. */
export function timeOf(timestamp: string): string {
  return /T(\d{2}:\d{2})/.exec(timestamp)?.[1] ?? '';
}

export function isoDay(ms: number | null): string {
  return ms === null ? en.devices.never : new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/** Previous/next links that keep the other query parameters. */
export function pager(paged: Paged<unknown>, base: string, params: Record<string, string | undefined> = {}): Html | string {
  if (paged.pages <= 1) return '';
  const href = (page: number): string => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
    q.set('page', String(page));
    return `${base}?${q.toString()}`;
  };
  return html`<nav class="pager" aria-label="${en.pagination}">${paged.page > 1 ? html`<a href="${href(paged.page - 1)}" rel="prev">${en.previous}</a>` : ''}<span>${en.page(paged.page, paged.pages)}</span>${paged.page < paged.pages ? html`<a href="${href(paged.page + 1)}" rel="next">${en.next}</a>` : ''}</nav>`;
}

export function thumbnails(names: readonly string[], alt: string): Html | string {
  if (names.length === 0) return '';
  return html`<ul class="thumbs">${names.map((n, i) => html`<li><img src="/web/thumbnails/${encodeURIComponent(n)}" alt="${alt} ${i + 1}" width="96" height="96" loading="lazy"></li>`)}</ul>`;
}
