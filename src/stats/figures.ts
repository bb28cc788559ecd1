import type { AttemptTable } from './attempt-table.js';
import { utcDay } from './calendar.js';
import type { Attempt, Dataset, Problem } from './dataset.js';
import { gradeOrder, type GradeComparator } from './grades.js';

/**
 * The figures of the dashboard, as pure functions of a parsed dataset. Every rule
 * of the spec's "What the figures mean" lives here and nowhere else; the pages only
 * lay these numbers out.
 */
export interface Totals {
  gyms: number;
  problems: number;
  sessions: number;
  attempts: number;
  sends: number;
  flashes: number;
  climbingDays: number;
}

export interface Hardest {
  climbType: string;
  system: string;
  grade: string;
  problemId: string;
  date: string;
}

export interface Pyramid {
  climbType: string;
  system: string;
  grades: { grade: string; problems: number }[];
}

export interface Day {
  date: string;
  sessions: number;
  attempts: number;
  sends: number;
}

/** Which problems' sends a figure looks at (a gym's); all of them by default. */
export type SendFilter = (problem: Problem) => boolean;

export function totals(ds: Dataset): Totals {
  let sends = 0;
  let flashes = 0;
  const t = ds.attempts;
  for (let r = 0; r < t.rows; r++) {
    if (!t.has(r)) continue;
    if (t.isSend(r)) sends++;
    if (t.isFlash(r)) flashes++;
  }
  return {
    gyms: ds.gyms.size,
    problems: ds.problems.size,
    sessions: ds.sessions.size,
    attempts: t.size,
    sends,
    flashes,
    climbingDays: climbingDays(ds).size,
  };
}

/** Distinct dates with at least one session, as the app wrote them. */
export function climbingDays(ds: Dataset): Set<string> {
  const days = new Set<string>();
  for (const s of ds.sessions.values()) if (s.day !== '') days.add(s.day);
  return days;
}

/**
 * The earliest sending attempt (a row of the attempts) of each problem that has
 * one, and whether the problem was ever flashed. Only attempts whose problem and
 * session both exist: an orphan counts in totals, in no per-grade figure.
 */
export interface SentProblem {
  readonly problem: Problem;
  first: number;
  flashed: boolean;
}

export function sentProblems(ds: Dataset, filter: SendFilter = () => true): Map<string, SentProblem> {
  const sent = new Map<string, SentProblem>();
  const t = ds.attempts;
  for (let r = 0; r < t.rows; r++) {
    if (!t.has(r) || !t.isSend(r) || !ds.sessions.has(t.sessionId(r))) continue;
    const problemId = t.problemId(r);
    const known = sent.get(problemId);
    if (known) {
      if (t.isFlash(r)) known.flashed = true;
      if (earlierRow(t, r, known.first)) known.first = r;
      continue;
    }
    const problem = ds.problems.get(problemId);
    if (problem && filter(problem)) sent.set(problemId, { problem, first: r, flashed: t.isFlash(r) });
  }
  return sent;
}

/** By instant; an unreadable timestamp sorts after every readable one; then as written. */
export function compareRows(t: AttemptTable, a: number, b: number): number {
  const ta = t.time(a);
  const tb = t.time(b);
  const na = Number.isNaN(ta);
  const nb = Number.isNaN(tb);
  if (na !== nb) return na ? 1 : -1;
  if (!na && ta !== tb) return ta < tb ? -1 : 1;
  const sa = t.timestamp(a);
  const sb = t.timestamp(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

export function earlierRow(t: AttemptTable, a: number, b: number): boolean {
  return compareRows(t, a, b) < 0;
}

/** By instant; an unreadable timestamp sorts after every readable one. */
export function earlier(a: Attempt, b: Attempt): boolean {
  const ta = Number.isNaN(a.time) ? Infinity : a.time;
  const tb = Number.isNaN(b.time) ? Infinity : b.time;
  return ta !== tb ? ta < tb : a.timestamp < b.timestamp;
}

interface Group {
  climbType: string;
  system: string;
  problems: SentProblem[];
}

/** Sent problems by climb type × grade system, groups in name order; problems without a type, system or grade fall out. */
function groups(sent: Iterable<SentProblem>): Group[] {
  const byKey = new Map<string, Group>();
  for (const s of sent) {
    const { climbType, system, grade } = s.problem;
    if (climbType === '' || system === '' || grade === '') continue;
    const key = `${climbType}\u0000${system}`;
    let group = byKey.get(key);
    if (!group) byKey.set(key, (group = { climbType, system, problems: [] }));
    group.problems.push(s);
  }
  return [...byKey.values()].sort((a, b) => cmp(a.climbType, b.climbType) || cmp(a.system, b.system));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function pyramids(ds: Dataset, filter?: SendFilter): Pyramid[] {
  return pyramidsOf(ds, groups(sentProblems(ds, filter).values()));
}

export function hardest(ds: Dataset, filter?: SendFilter): Hardest[] {
  return hardestIn(ds, groups(sentProblems(ds, filter).values()));
}

function pyramidsOf(ds: Dataset, sent: readonly Group[]): Pyramid[] {
  return sent.map((g) => {
    const order = gradeOrder(ds, g.climbType, g.system, g.problems.map((s) => s.problem));
    const counts = new Map<string, number>();
    for (const s of g.problems) counts.set(s.problem.grade, (counts.get(s.problem.grade) ?? 0) + 1);
    const grades = [...counts].sort(([a], [b]) => order(a, b)).map(([grade, problems]) => ({ grade, problems }));
    return { climbType: g.climbType, system: g.system, grades };
  });
}

function hardestIn(ds: Dataset, sent: readonly Group[]): Hardest[] {
  return sent.map((g) => {
    const best = hardestOf(ds.attempts, g.problems, gradeOrder(ds, g.climbType, g.system, g.problems.map((s) => s.problem)));
    return { climbType: g.climbType, system: g.system, grade: best.problem.grade, problemId: best.problem.id, date: ds.attempts.timestamp(best.first).slice(0, 10) };
  });
}

/** The highest grade; among problems of that grade, the one sent first. */
function hardestOf(t: AttemptTable, sent: readonly SentProblem[], order: GradeComparator): SentProblem {
  let best = sent[0]!;
  for (const s of sent.slice(1)) {
    const c = order(s.problem.grade, best.problem.grade);
    if (c > 0 || (c === 0 && earlierRow(t, s.first, best.first))) best = s;
  }
  return best;
}

/** Every climbing day of the `span` days ending today (today included), oldest first. */
export function recentDays(ds: Dataset, today: string, span = 365): Day[] {
  const from = utcDay(Date.parse(`${today}T00:00:00Z`) - (span - 1) * 86_400_000);
  const days = new Map<string, Day>();
  const t = ds.attempts;
  const daysOfSession = new Map<number, Day>();
  for (const s of ds.sessions.values()) {
    if (s.day < from || s.day > today) continue;
    let day = days.get(s.day);
    if (!day) days.set(s.day, (day = { date: s.day, sessions: 0, attempts: 0, sends: 0 }));
    day.sessions++;
    daysOfSession.set(t.ids.number(s.id), day);
  }
  // An attempt counts on its session's day: the day a climber went climbing.
  for (let r = 0; r < t.rows; r++) {
    const day = t.has(r) ? daysOfSession.get(t.sessionRef(r)) : undefined;
    if (!day) continue;
    day.attempts++;
    if (t.isSend(r)) day.sends++;
  }
  return [...days.values()].sort((a, b) => cmp(a.date, b.date));
}

export interface Summary {
  account: string;
  totals: Totals;
  hardest: Hardest[];
  pyramids: Pyramid[];
  days: Day[];
}

/** The figures of GET /web/api/summary and the overview page. */
export function summary(ds: Dataset, account: string, today: string): Summary {
  const sent = groups(sentProblems(ds).values());
  return { account, totals: totals(ds), hardest: hardestIn(ds, sent), pyramids: pyramidsOf(ds, sent), days: recentDays(ds, today) };
}
