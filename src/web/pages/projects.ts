import { attemptDay } from '../../stats/dataset.js';
import { projects } from '../../stats/lists.js';
import { dataTable } from '../charts.js';
import { attemptIndex, type DatasetView } from '../dashboard-data.js';
import { gradeOf, gymLink, pager, problemLink } from '../format.js';
import { html, type Html } from '../html.js';
import { page, type PageContext } from '../layout.js';
import { paginate, type Query } from '../query.js';
import { en } from '../strings.js';

export function projectsPage(ctx: PageContext, view: DatasetView, query: Query): Html {
  const ds = view.ds;
  const all = view.derived('projects', (d) => projects(d, attemptIndex(view)));
  const paged = paginate(all, query);
  const content = html`<p>${en.projects.intro}</p>
${all.length === 0
  ? html`<p>${en.projects.none}</p>`
  : dataTable(
      en.projects.title,
      [en.columns.problem, en.columns.grade, en.columns.gym, en.columns.active, en.columns.attempts, en.columns.sessions, en.columns.lastTry, en.columns.bestHold],
      paged.items.map((p) => [
        problemLink(ds, p.problem.id),
        gradeOf(p.problem),
        gymLink(ds, p.problem.gymId),
        p.problem.isActive ? en.yes : en.no,
        p.attempts,
        p.sessions,
        attemptDay(ds, p.lastTry) || '–',
        p.bestHold,
      ]),
    )}
${pager(paged, '/web/projects')}`;
  return page(ctx, 'projects', en.projects.title, content);
}
