import { ApiError } from '../../errors.js';
import { attemptDay } from '../../stats/dataset.js';
import { filterProblems, firstSend, type ProblemFilter } from '../../stats/lists.js';
import { dataTable } from '../charts.js';
import { attemptIndex, type DatasetView } from '../dashboard-data.js';
import { gradeOf, gymLink, pager, problemLink, resultLabel, sessionLink, thumbnails } from '../format.js';
import { html, type Html } from '../html.js';
import { page, type PageContext } from '../layout.js';
import { oneOf, optionalText, paginate, type Query } from '../query.js';
import { en } from '../strings.js';

/** The form sends yes or no; true and false, the items' own values, are read too. */
const ACTIVE_VALUES = ['yes', 'no', 'true', 'false'] as const;

function readFilter(query: Query): ProblemFilter {
  const active = oneOf(query, 'active', ACTIVE_VALUES);
  return {
    gymId: optionalText(query, 'gym'),
    // `climbType`, the items' own name for it, as well as the form's `type`.
    climbType: (optionalText(query, 'type') ?? optionalText(query, 'climbType'))?.toUpperCase(),
    grade: optionalText(query, 'grade'),
    active: active === undefined ? undefined : active === 'yes' || active === 'true',
    tag: optionalText(query, 'tag'),
  };
}

function select(name: string, label: string, current: string | undefined, options: [string, string][]): Html {
  return html`<label>${label}<select name="${name}"><option value="">${en.problems.any}</option>${options.map(
    ([value, text]) => html`<option value="${value}"${value === current ? html` selected` : ''}>${text}</option>`,
  )}</select></label>`;
}

export function problemsPage(ctx: PageContext, view: DatasetView, query: Query): Html {
  const ds = view.ds;
  const filter = readFilter(query);
  const paged = paginate(filterProblems(ds, filter), query);
  const choices = view.derived('problemChoices', (d) => {
    const types = new Set<string>();
    const grades = new Set<string>();
    const tags = new Set<string>();
    for (const p of d.problems.values()) {
      if (p.climbType) types.add(p.climbType);
      if (p.grade) grades.add(p.grade);
      for (const t of p.tags) tags.add(t);
    }
    return { types: [...types].sort(), grades: [...grades].sort(), tags: [...tags].sort().slice(0, 500) };
  });
  const gyms = [...ds.gyms.values()].map((g): [string, string] => [g.id, g.name || en.unnamed]);
  const params = { gym: filter.gymId, type: filter.climbType, grade: filter.grade, active: query['active'] as string | undefined, tag: filter.tag };
  const content = html`
<form class="filters" method="get" action="/web/problems" role="search" aria-label="${en.problems.filter}">
${select('gym', en.columns.gym, filter.gymId, gyms)}
${select('type', en.columns.climbType, filter.climbType, choices.types.map((t) => [t, t]))}
${select('grade', en.columns.grade, filter.grade, choices.grades.map((g) => [g, g]))}
${select('active', en.columns.active, params.active, [['yes', en.problems.activeYes], ['no', en.problems.activeNo]])}
${select('tag', en.columns.tags, filter.tag, choices.tags.map((t) => [t, t]))}
<button type="submit">${en.problems.apply}</button>
</form>
${paged.items.length === 0
  ? html`<p>${en.problems.none}</p>`
  : dataTable(
      en.problems.title,
      [en.columns.problem, en.columns.grade, en.columns.gym, en.columns.tags, en.columns.active, en.columns.photos],
      paged.items.map((p) => [problemLink(ds, p.id), gradeOf(p), gymLink(ds, p.gymId), p.tags.join(', '), p.isActive ? en.yes : en.no, thumbnails(p.imagePaths.slice(0, 1), p.name)]),
    )}
${pager(paged, '/web/problems', params)}`;
  return page(ctx, 'problems', en.problems.title, content);
}

export function problemPage(ctx: PageContext, view: DatasetView, id: string): Html {
  const ds = view.ds;
  const p = ds.problems.get(id);
  if (!p) throw ApiError.notFound('no such problem');
  const attempts = attemptIndex(view).byProblem.get(id) ?? [];
  const first = firstSend(attempts);
  const content = html`
<dl class="figures">
<div><dt>${en.columns.grade}</dt><dd>${gradeOf(p) || '–'}</dd></div>
<div><dt>${en.columns.gym}</dt><dd>${gymLink(ds, p.gymId)}</dd></div>
<div><dt>${en.columns.climbType}</dt><dd>${p.climbType || '–'}</dd></div>
<div><dt>${en.columns.firstSend}</dt><dd>${first ? attemptDay(ds, first) || '–' : en.problems.notSent}</dd></div>
<div><dt>${en.columns.active}</dt><dd>${p.isActive ? en.yes : en.no}</dd></div>
</dl>
${p.tags.length ? html`<h2>${en.columns.tags}</h2><ul>${p.tags.map((t) => html`<li>${t}</li>`)}</ul>` : ''}
${p.location ? html`<h2>${en.columns.location}</h2><p>${p.location}</p>` : ''}
${p.notes ? html`<h2>${en.columns.notes}</h2><p class="notes">${p.notes}</p>` : ''}
${p.imagePaths.length
  ? html`<h2>${en.columns.photos}</h2>${p.imagePaths.map((n, i) => html`<p><img class="photo" src="/web/images/${encodeURIComponent(n)}" alt="${p.name} ${i + 1}"></p>`)}`
  : ''}
<h2>${en.problems.attemptsTitle}</h2>
${dataTable(
  en.problems.attemptsTitle,
  [en.columns.date, en.columns.result, en.columns.highestHold],
  attempts.map((a) => {
    const s = ds.sessions.get(a.sessionId);
    return [s ? sessionLink(s) : a.timestamp.slice(0, 10) || en.unknown, resultLabel(a), a.highestHold];
  }),
  true,
)}`;
  return page(ctx, 'problems', p.name || en.unnamed, content);
}

