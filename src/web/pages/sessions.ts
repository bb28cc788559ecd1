import { ApiError } from '../../errors.js';
import { sessionsNewestFirst } from '../../stats/lists.js';
import { dataTable } from '../charts.js';
import { attemptIndex, type DatasetView } from '../dashboard-data.js';
import { gradeOf, gymLink, pager, problemLink, resultLabel, sessionLink, timeOf } from '../format.js';
import { html, type Html } from '../html.js';
import { page, type PageContext } from '../layout.js';
import { paginate, type Query } from '../query.js';
import { en } from '../strings.js';

export function sessionsPage(ctx: PageContext, view: DatasetView, query: Query): Html {
  const ds = view.ds;
  const all = view.derived('sessionsNewestFirst', sessionsNewestFirst);
  const paged = paginate(all, query);
  const index = attemptIndex(view);
  const content =
    all.length === 0
      ? html`<p>${en.sessions.none}</p>`
      : html`${dataTable(
          en.sessions.title,
          [en.columns.date, en.columns.gym, en.columns.duration, en.columns.attempts],
          paged.items.map((s) => [
            sessionLink(s),
            gymLink(ds, s.gymId),
            s.durationMinutes === undefined ? '' : en.minutes(s.durationMinutes),
            index.bySession.count(s.id),
          ]),
        )}${pager(paged, '/web/sessions')}`;
  return page(ctx, 'sessions', en.sessions.title, content);
}

export function sessionPage(ctx: PageContext, view: DatasetView, id: string): Html {
  const ds = view.ds;
  const s = ds.sessions.get(id);
  if (!s) throw ApiError.notFound('no such session');
  const attempts = attemptIndex(view).bySession.get(id) ?? [];
  const content = html`
<dl class="figures">
<div><dt>${en.columns.date}</dt><dd>${s.day || en.unknown}</dd></div>
<div><dt>${en.columns.gym}</dt><dd>${gymLink(ds, s.gymId)}</dd></div>
<div><dt>${en.columns.duration}</dt><dd>${s.durationMinutes === undefined ? '–' : en.minutes(s.durationMinutes)}</dd></div>
<div><dt>${en.columns.attempts}</dt><dd>${attempts.length}</dd></div>
</dl>
${s.notes ? html`<h2>${en.columns.notes}</h2><p class="notes">${s.notes}</p>` : ''}
<h2>${en.sessions.attemptsTitle}</h2>
${dataTable(
  en.sessions.attemptsTitle,
  [en.columns.time, en.columns.problem, en.columns.grade, en.columns.result],
  attempts.map((a) => [timeOf(a.timestamp) || a.timestamp, problemLink(ds, a.problemId), gradeOf(ds.problems.get(a.problemId)), resultLabel(a)]),
  true,
)}`;
  return page(ctx, 'sessions', `${en.sessions.session} ${s.day}`, content);
}
