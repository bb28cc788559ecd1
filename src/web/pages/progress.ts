import { pyramids } from '../../stats/figures.js';
import { progress } from '../../stats/progress.js';
import { barChart, dataTable } from '../charts.js';
import type { DatasetView } from '../dashboard-data.js';
import { html, type Html, type Value } from '../html.js';
import { page, type PageContext } from '../layout.js';
import { en, percent } from '../strings.js';

export function progressPage(ctx: PageContext, view: DatasetView): Html {
  const pyr = view.derived('pyramids', (ds) => pyramids(ds));
  const prog = view.derived('progress', progress);
  const pyramidCharts = pyr.map((p, i) =>
    barChart({
      id: `pyramid-${i}`,
      title: en.progress.pyramid(p.climbType, p.system),
      description: en.progress.pyramidDesc(p.climbType, p.system),
      labelHeader: en.columns.grade,
      valueHeader: en.columns.problems,
      // Hardest at the top, like a pyramid.
      bars: [...p.grades].reverse().map((g) => ({ label: g.grade, value: g.problems })),
    }),
  );
  const series = prog.series.map(
    (s) => html`<h2>${s.climbType}, ${s.system}</h2>
${dataTable(
  en.progress.hardestByMonth(s.climbType, s.system),
  [en.columns.month, en.columns.hardest],
  [...s.months].reverse().map((m) => [m.month, m.hardest ?? '–']),
)}
${dataTable(
  en.progress.sendsByMonth(s.climbType, s.system),
  [en.columns.month, ...s.grades],
  [...s.months].reverse().map((m) => [m.month, ...s.grades.map((g) => m.sends[g] ?? 0)] as Value[]),
)}`,
  );
  const months = [...prog.months].reverse();
  const content = html`
${pyr.length === 0 ? html`<p>${en.progress.none}</p>` : pyramidCharts}
${series}
<h2>${en.progress.rates}</h2>
<p>${en.progress.ratesDesc}</p>
${barChart({
  id: 'tops-rate',
  title: `${en.figures.topsRate} (${en.columns.month})`,
  description: en.progress.ratesDesc,
  labelHeader: en.columns.month,
  valueHeader: en.figures.topsRate,
  bars: months.slice(0, 24).map((m) => ({ label: m.month, value: m.topsRate ?? 0, text: percent(m.topsRate) })),
})}
${dataTable(
  en.progress.rates,
  [en.columns.month, en.figures.attempts, en.figures.topsRate, en.figures.flashRate],
  months.map((m) => [m.month, m.attempts, percent(m.topsRate), percent(m.flashRate)]),
)}`;
  return page(ctx, 'progress', en.progress.title, content);
}
