import { serverDay } from '../../stats/calendar.js';
import { summary, type Summary } from '../../stats/figures.js';
import { flashRate } from '../../stats/progress.js';
import { sessionsNewestFirst } from '../../stats/lists.js';
import { dataTable, heatmap } from '../charts.js';
import { attemptIndex, type DatasetView } from '../dashboard-data.js';
import { gymLink, problemLink, sessionLink } from '../format.js';
import { html, type Html } from '../html.js';
import { page, type PageContext } from '../layout.js';
import { en, percent } from '../strings.js';

/** The summary of GET /web/api/summary and the overview; kept per version of the data and day. */
export function summaryOf(view: DatasetView, account: string, now: number): Summary {
  const today = serverDay(now);
  return view.derived(`summary:${account}:${today}`, (ds) => summary(ds, account, today));
}

export function overviewPage(ctx: PageContext, view: DatasetView, account: string, now: number): Html {
  const ds = view.ds;
  const s = summaryOf(view, account, now);
  const rate = view.derived('flashRate', flashRate);
  const t = s.totals;
  const figures: [string, string | number][] = [
    [en.figures.sessions, t.sessions],
    [en.figures.climbingDays, t.climbingDays],
    [en.figures.attempts, t.attempts],
    [en.figures.sends, t.sends],
    [en.figures.flashes, t.flashes],
    [en.figures.flashRate, percent(rate)],
    [en.figures.problems, t.problems],
    [en.figures.gyms, t.gyms],
  ];
  const recent = view.derived('sessionsNewestFirst', sessionsNewestFirst).slice(0, 10);
  const content = html`
${t.sessions === 0 && t.attempts === 0 ? html`<p>${en.overview.noData}</p>` : ''}
<h2>${en.overview.keyFigures}</h2>
<dl class="figures">${figures.map(([label, value]) => html`<div><dt>${label}</dt><dd>${value}</dd></div>`)}</dl>
<h2>${en.overview.hardest}</h2>
${dataTable(
  en.overview.hardest,
  [en.columns.climbType, en.columns.system, en.columns.grade, en.columns.problem, en.columns.date],
  s.hardest.map((h) => [h.climbType, h.system, h.grade, problemLink(ds, h.problemId), h.date]),
  true,
)}
${heatmap(
  'calendar',
  { title: en.overview.calendar, description: en.overview.calendarDesc(s.days.length), summary: en.overview.calendarTable(s.days.length), day: en.overview.calendarDay },
  serverDay(now),
  s.days,
  [en.columns.date, en.columns.sessions, en.columns.attempts, en.columns.sends],
)}
<h2>${en.overview.recent}</h2>
${dataTable(
  en.overview.recent,
  [en.columns.date, en.columns.gym, en.columns.attempts],
  recent.map((session) => [sessionLink(session), gymLink(ds, session.gymId), attemptIndex(view).bySession.count(session.id)]),
  true,
)}`;
  return page(ctx, 'overview', en.overview.title, content);
}

