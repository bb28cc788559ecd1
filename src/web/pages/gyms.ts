import { ApiError } from '../../errors.js';
import type { Problem } from '../../stats/dataset.js';
import { hardest, pyramids } from '../../stats/figures.js';
import { sessionsNewestFirst } from '../../stats/lists.js';
import { barChart, dataTable } from '../charts.js';
import type { DatasetView } from '../dashboard-data.js';
import { gymLink, pager, problemLink, sessionLink } from '../format.js';
import { html, type Html } from '../html.js';
import { page, type PageContext } from '../layout.js';
import { paginate, type Query } from '../query.js';
import { en } from '../strings.js';

interface GymFigures {
  sessions: number;
  sends: number;
}

/** Sessions held at each gym, and sends of each gym's problems. */
function perGym(view: DatasetView): Map<string, GymFigures> {
  return view.derived('perGym', (ds) => {
    const figures = new Map<string, GymFigures>([...ds.gyms.keys()].map((id) => [id, { sessions: 0, sends: 0 }]));
    for (const s of ds.sessions.values()) {
      const f = figures.get(s.gymId);
      if (f) f.sessions++;
    }
    const t = ds.attempts;
    for (let r = 0; r < t.rows; r++) {
      if (!t.has(r) || !t.isSend(r)) continue;
      const f = figures.get(ds.problems.get(t.problemId(r))?.gymId ?? '');
      if (f) f.sends++;
    }
    return figures;
  });
}

export function gymsPage(ctx: PageContext, view: DatasetView): Html {
  const ds = view.ds;
  const figures = perGym(view);
  const gyms = [...ds.gyms.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const content =
    gyms.length === 0
      ? html`<p>${en.gyms.none}</p>`
      : dataTable(
          en.gyms.title,
          [en.columns.gym, en.columns.sessions, en.columns.sends],
          gyms.map((g) => [gymLink(ds, g.id), figures.get(g.id)?.sessions ?? 0, figures.get(g.id)?.sends ?? 0]),
        );
  return page(ctx, 'gyms', en.gyms.title, content);
}

export function gymPage(ctx: PageContext, view: DatasetView, id: string, query: Query): Html {
  const ds = view.ds;
  const gym = ds.gyms.get(id);
  if (!gym) throw ApiError.notFound('no such gym');
  const atGym = (p: Problem): boolean => p.gymId === id;
  const { pyr, top } = view.derived(`gym:${id}`, () => ({ pyr: pyramids(ds, atGym), top: hardest(ds, atGym) }));
  const f = perGym(view).get(id) ?? { sessions: 0, sends: 0 };
  // Every session at the gym, newest first, paged like the sessions list.
  const sessions = paginate(
    view.derived('sessionsNewestFirst', sessionsNewestFirst).filter((s) => s.gymId === id),
    query,
  );
  const content = html`
<dl class="figures">
<div><dt>${en.figures.sessions}</dt><dd>${f.sessions}</dd></div>
<div><dt>${en.figures.sends}</dt><dd>${f.sends}</dd></div>
</dl>
${dataTable(
  en.overview.hardest,
  [en.columns.climbType, en.columns.system, en.columns.grade, en.columns.problem, en.columns.date],
  top.map((h) => [h.climbType, h.system, h.grade, problemLink(ds, h.problemId), h.date]),
)}
${pyr.map((p, i) =>
  barChart({
    id: `gym-pyramid-${i}`,
    title: en.progress.pyramid(p.climbType, p.system),
    description: en.progress.pyramidDesc(p.climbType, p.system),
    labelHeader: en.columns.grade,
    valueHeader: en.columns.problems,
    bars: [...p.grades].reverse().map((g) => ({ label: g.grade, value: g.problems })),
  }),
)}
<h2>${en.sessions.title}</h2>
${sessions.items.length === 0 ? html`<p>${en.sessions.none}</p>` : dataTable(en.sessions.title, [en.columns.date, en.columns.gym], sessions.items.map((s) => [sessionLink(s), gymLink(ds, s.gymId)]), true)}
${pager(sessions, `/web/gyms/${encodeURIComponent(id)}`)}`;
  return page(ctx, 'gyms', gym.name || en.unnamed, content);
}
