import { writeFileSync } from 'node:fs';
import os from 'node:os';
import type { MemoryRow, Row } from './lib/context.js';
import { MB, type Summary } from './lib/stats.js';

export interface Report {
  date: string;
  machine: string;
  mode: string;
  runs: number;
  seconds: number;
  rows: Row[];
  memory: MemoryRow[];
}

export function machineDescription(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  return `${model}, ${cpus.length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Linux ${os.release()}, Node ${process.version}`;
}

function number(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '–';
  switch (unit) {
    case 'bytes':
      return `${(value / MB).toFixed(2)} MiB`;
    case 'ms':
      return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0);
    case 'count':
      return String(value);
    default:
      return value < 100 ? value.toFixed(1) : value.toFixed(0);
  }
}

function summary(s: Summary, unit: string): string {
  if (s.runs === 0) return 'not available';
  const suffix = unit === 'bytes' || unit === 'count' ? '' : ` ${unit}`;
  if (s.min === s.max) return `${number(s.median, unit)}${suffix}`;
  return `${number(s.median, unit)}${suffix} (${number(s.min, unit)}–${number(s.max, unit)})`;
}

function ratio(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '';
  return value < 1 ? `${(value * 100).toFixed(0)}%` : `${value.toFixed(2)}×`;
}

function target(t: { text: string; met: boolean } | undefined): string {
  return t ? `${t.text}: **${t.met ? 'met' : 'not met'}**` : '';
}

export function markdown(report: Report): string {
  const lines = [
    `Machine: ${report.machine}. Mode: ${report.mode}, ${report.runs} runs per figure (median, with min–max), ${report.seconds.toFixed(0)} s in all, ${report.date}.`,
    '',
    '| scenario | figure | median (min–max) | limit, measured in the same run | ratio to limit | target |',
    '|---|---|---|---|---|---|',
  ];
  for (const row of report.rows) {
    const limit = row.limit ? `${row.limit.name}: ${summary(row.limit.value, row.unit)}` : '';
    const note = row.note ? ` (${row.note})` : '';
    lines.push(`| ${row.scenario} | ${row.figure} | ${summary(row.value, row.unit)}${note} | ${limit} | ${ratio(row.ratio)} | ${target(row.target)} |`);
  }
  lines.push('', '| server process during | peak RSS | RSS after start | dataset JSON | peak / dataset | target |', '|---|---|---|---|---|---|');
  for (const m of report.memory) {
    const size = m.datasetBytes > 0 ? `${(m.datasetBytes / MB).toFixed(1)} MiB` : '–';
    const per = m.datasetBytes > 0 ? `${(m.peakRss / m.datasetBytes).toFixed(2)}×` : '';
    lines.push(`| ${m.scenario} | ${(m.peakRss / MB).toFixed(0)} MiB | ${Number.isFinite(m.idleRss) ? `${(m.idleRss / MB).toFixed(0)} MiB` : '–'} | ${size} | ${per} | ${target(m.target)} |`);
  }
  return lines.join('\n');
}

export function writeResults(file: string, report: Report): void {
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}
