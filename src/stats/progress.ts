import type { Dataset, Problem } from './dataset.js';
import { gradeOrder } from './grades.js';

/** One month of climbing: rates over distinct existing problems, per-grade figures per climb type × system. */
export interface Month {
  month: string;
  attempts: number;
  problemsAttempted: number;
  problemsSent: number;
  problemsFlashed: number;
  /** Distinct problems sent ÷ distinct problems attempted; null with no attempt. */
  topsRate: number | null;
  /** Distinct problems flashed ÷ distinct problems sent; null with no send. */
  flashRate: number | null;
}

export interface GradeSeries {
  climbType: string;
  system: string;
  /** Every grade sent in any month, easiest first. */
  grades: string[];
  months: { month: string; hardest: string | null; sends: Record<string, number> }[];
}

export interface Progress {
  months: Month[];
  series: GradeSeries[];
}

/** The month an attempt (a row) happened in: its own timestamp's, else its session's date, as written. */
export function monthOf(ds: Dataset, row: number): string {
  const t = ds.attempts;
  return (t.day(row) || ds.sessions.get(t.sessionId(row))?.day || '').slice(0, 7);
}

export function rate(part: number, whole: number): number | null {
  return whole === 0 ? null : part / whole;
}

export function progress(ds: Dataset): Progress {
  const months = new Map<string, { attempts: number; attempted: Set<string>; sent: Set<string>; flashed: Set<string> }>();
  const series = new Map<string, { climbType: string; system: string; months: Map<string, Map<string, number>>; problems: Set<Problem> }>();
  const t = ds.attempts;
  for (let r = 0; r < t.rows; r++) {
    if (!t.has(r)) continue;
    const month = monthOf(ds, r);
    if (month === '') continue;
    let m = months.get(month);
    if (!m) months.set(month, (m = { attempts: 0, attempted: new Set(), sent: new Set(), flashed: new Set() }));
    m.attempts++;
    const problem = ds.problems.get(t.problemId(r));
    if (!problem) continue;
    m.attempted.add(problem.id);
    if (!t.isSend(r)) continue;
    m.sent.add(problem.id);
    if (t.isFlash(r)) m.flashed.add(problem.id);
    // Per grade: only attempts whose session exists too (an orphan counts in no per-grade figure).
    if (problem.climbType === '' || problem.system === '' || problem.grade === '' || !ds.sessions.has(t.sessionId(r))) continue;
    const key = `${problem.climbType}\u0000${problem.system}`;
    let s = series.get(key);
    if (!s) series.set(key, (s = { climbType: problem.climbType, system: problem.system, months: new Map(), problems: new Set() }));
    s.problems.add(problem);
    let sends = s.months.get(month);
    if (!sends) s.months.set(month, (sends = new Map()));
    sends.set(problem.grade, (sends.get(problem.grade) ?? 0) + 1);
  }
  const monthList = [...months.keys()].sort();
  return {
    months: monthList.map((month) => {
      const m = months.get(month)!;
      return {
        month,
        attempts: m.attempts,
        problemsAttempted: m.attempted.size,
        problemsSent: m.sent.size,
        problemsFlashed: m.flashed.size,
        topsRate: rate(m.sent.size, m.attempted.size),
        flashRate: rate(m.flashed.size, m.sent.size),
      };
    }),
    series: [...series.values()]
      .sort((a, b) => (a.climbType + '\u0000' + a.system < b.climbType + '\u0000' + b.system ? -1 : 1))
      .map((s) => {
        const order = gradeOrder(ds, s.climbType, s.system, s.problems);
        const grades = [...new Set([...s.months.values()].flatMap((m) => [...m.keys()]))].sort(order);
        return {
          climbType: s.climbType,
          system: s.system,
          grades,
          months: [...s.months.keys()].sort().map((month) => {
            const sends = s.months.get(month)!;
            const sent = [...sends.keys()].sort(order);
            return { month, hardest: sent.at(-1) ?? null, sends: Object.fromEntries(sends) };
          }),
        };
      }),
  };
}

/** Overall flash rate: distinct problems flashed ÷ distinct problems sent. */
export function flashRate(ds: Dataset): number | null {
  const sent = new Set<string>();
  const flashed = new Set<string>();
  const t = ds.attempts;
  for (let r = 0; r < t.rows; r++) {
    if (!t.has(r) || !t.isSend(r) || !ds.problems.has(t.problemId(r))) continue;
    sent.add(t.problemId(r));
    if (t.isFlash(r)) flashed.add(t.problemId(r));
  }
  return rate(flashed.size, sent.size);
}
