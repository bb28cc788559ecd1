import { html, raw, type Html, type Value } from './html.js';

/**
 * Charts as markup: an SVG made here from the numbers, with a title and a
 * description, and the same numbers in a table beside it, so a screen reader (or
 * anyone) can read them without the picture.
 */
export interface BarChart {
  id: string;
  title: string;
  description: string;
  labelHeader: string;
  valueHeader: string;
  bars: { label: string; value: number; text?: string }[];
}

const BAR_H = 18;
const GAP = 4;
const LABEL_W = 90;
const PLOT_W = 260;

/** Horizontal bars: one row per label, readable at 360 px. */
export function barChart(chart: BarChart): Html {
  const max = Math.max(1, ...chart.bars.map((b) => b.value));
  const height = chart.bars.length * (BAR_H + GAP) + GAP;
  const width = LABEL_W + PLOT_W + 50;
  const rows = chart.bars.map((b, i) => {
    const y = GAP + i * (BAR_H + GAP);
    const w = Math.max(b.value > 0 ? 1 : 0, Math.round((b.value / max) * PLOT_W));
    return html`<text x="${LABEL_W - 6}" y="${y + 13}" text-anchor="end">${truncate(b.label, 14)}</text><rect class="bar" x="${LABEL_W}" y="${y}" width="${w}" height="${BAR_H}"></rect><text x="${LABEL_W + w + 4}" y="${y + 13}">${b.text ?? b.value}</text>`;
  });
  const svg = html`<svg role="img" aria-labelledby="${chart.id}-t ${chart.id}-d" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"><title id="${chart.id}-t">${chart.title}</title><desc id="${chart.id}-d">${chart.description}</desc><line class="axis" x1="${LABEL_W}" y1="0" x2="${LABEL_W}" y2="${height}"></line>${rows}</svg>`;
  return figure(chart.title, svg, [chart.labelHeader, chart.valueHeader], chart.bars.map((b) => [b.label, b.text ?? String(b.value)]));
}

/** A chart and its table of numbers; the table is the chart's text equivalent. */
export function figure(title: string, svg: Html, headers: string[], rows: Value[][]): Html {
  return html`<figure class="chart"><figcaption><h3>${title}</h3></figcaption>${svg}${dataTable(title, headers, rows, true)}</figure>`;
}

/** A table whose first column names the row; numeric-looking cells align right. A caption that repeats the heading above is for screen readers only. */
export function dataTable(caption: string, headers: string[], rows: Value[][], captionUnderHeading = false): Html {
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label="${caption}"><table><caption${captionUnderHeading ? raw(' class="vh"') : ''}>${caption}</caption><thead><tr>${headers.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead><tbody>${rows.map(
    (row) => html`<tr>${row.map((cell, i) => (i === 0 ? html`<th scope="row">${cell}</th>` : html`<td${isNumeric(cell) ? raw(' class="num"') : ''}>${cell}</td>`))}</tr>`,
  )}</tbody></table></div>`;
}

function isNumeric(cell: Value): boolean {
  return typeof cell === 'number' || (typeof cell === 'string' && /^[\d.,%–-]+$/.test(cell));
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export interface HeatDay {
  date: string;
  attempts: number;
  sessions: number;
  sends: number;
}

/**
 * A calendar of the last 53 weeks, a column per week. The colour step is doubled
 * by the day's numbers in its tooltip title and, for everyone, in the table of
 * climbing days under it: colour is never the only carrier.
 */
export function heatmap(
  id: string,
  text: { title: string; description: string; summary: string; day: (d: HeatDay) => string },
  today: string,
  days: HeatDay[],
  headers: string[],
): Html {
  const { title, description, summary } = text;
  const byDate = new Map(days.map((d) => [d.date, d]));
  const end = Date.parse(`${today}T00:00:00Z`);
  const endDow = (new Date(end).getUTCDay() + 6) % 7; // Monday = 0
  const start = end - (52 * 7 + endDow) * 86_400_000;
  const max = Math.max(1, ...days.map((d) => d.attempts));
  const cells: Html[] = [];
  for (let t = start, i = 0; t <= end; t += 86_400_000, i++) {
    const date = new Date(t).toISOString().slice(0, 10);
    const day = byDate.get(date);
    const level = !day ? 0 : day.attempts === 0 ? 1 : Math.min(3, 1 + Math.ceil((day.attempts / max) * 2));
    const x = Math.floor(i / 7) * 12;
    const y = (i % 7) * 12;
    cells.push(
      day
        ? html`<rect class="h${level}" x="${x}" y="${y}" width="10" height="10"><title>${text.day(day)}</title></rect>`
        : html`<rect class="h0" x="${x}" y="${y}" width="10" height="10"></rect>`,
    );
  }
  const width = 53 * 12;
  const svg = html`<svg role="img" aria-labelledby="${id}-t ${id}-d" viewBox="0 0 ${width} 84" width="${width}" height="84"><title id="${id}-t">${title}</title><desc id="${id}-d">${description}</desc>${cells}</svg>`;
  const rows = [...days].reverse().map((d) => [d.date, d.sessions, d.attempts, d.sends] as Value[]);
  return html`<figure class="chart"><figcaption><h2>${title}</h2></figcaption>${svg}<details><summary>${summary}</summary>${dataTable(title, headers, rows, true)}</details></figure>`;
}
