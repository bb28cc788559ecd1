import { isSend, type Attempt, type Dataset, type Problem, type Session } from './dataset.js';
import { earlier } from './figures.js';
import { inOrder } from './progress.js';

/** Attempts of each session and each problem, built once per dataset for the detail pages. */
export interface AttemptIndex {
  bySession: ReadonlyMap<string, readonly Attempt[]>;
  byProblem: ReadonlyMap<string, readonly Attempt[]>;
}

export function indexAttempts(ds: Dataset): AttemptIndex {
  const bySession = new Map<string, Attempt[]>();
  const byProblem = new Map<string, Attempt[]>();
  for (const a of ds.attempts) {
    push(bySession, a.sessionId, a);
    push(byProblem, a.problemId, a);
  }
  for (const list of bySession.values()) list.splice(0, list.length, ...inOrder(list));
  for (const list of byProblem.values()) list.splice(0, list.length, ...inOrder(list));
  return { bySession, byProblem };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Sessions newest first: by date, then start time, then id so that pages are stable. */
export function sessionsNewestFirst(ds: Dataset): Session[] {
  return [...ds.sessions.values()].sort((a, b) => cmpDesc(a.day, b.day) || cmpDesc(a.startTime, b.startTime) || cmpDesc(a.id, b.id));
}

function cmpDesc(a: string, b: string): number {
  return a < b ? 1 : a > b ? -1 : 0;
}

export interface Project {
  problem: Problem;
  attempts: number;
  sessions: number;
  lastTry: Attempt;
  bestHold: string;
}

/**
 * Problems attempted and never sent: active ones first, then the most recently
 * tried. The best highest hold is the largest number when every hold written is
 * one, else the hold of the latest attempt that wrote any.
 */
export function projects(ds: Dataset, index: AttemptIndex): Project[] {
  const list: Project[] = [];
  for (const [problemId, attempts] of index.byProblem) {
    const problem = ds.problems.get(problemId);
    if (!problem || attempts.some((a) => isSend(a.result))) continue;
    const holds = attempts.map((a) => a.highestHold.trim()).filter((h) => h !== '');
    const numeric = holds.length > 0 && holds.every((h) => /^\d+(\.\d+)?$/.test(h));
    const bestHold = numeric ? holds.reduce((a, b) => (Number(b) > Number(a) ? b : a)) : (holds.at(-1) ?? '');
    list.push({ problem, attempts: attempts.length, sessions: new Set(attempts.map((a) => a.sessionId)).size, lastTry: attempts.at(-1)!, bestHold });
  }
  return list.sort((a, b) => Number(b.problem.isActive) - Number(a.problem.isActive) || (earlier(b.lastTry, a.lastTry) ? -1 : earlier(a.lastTry, b.lastTry) ? 1 : 0));
}

export interface ProblemFilter {
  gymId?: string;
  climbType?: string;
  grade?: string;
  active?: boolean;
  tag?: string;
}

/** Problems matching every given filter, by gym then grade name then name. */
export function filterProblems(ds: Dataset, filter: ProblemFilter): Problem[] {
  const out: Problem[] = [];
  for (const p of ds.problems.values()) {
    if (filter.gymId !== undefined && p.gymId !== filter.gymId) continue;
    if (filter.climbType !== undefined && p.climbType !== filter.climbType) continue;
    if (filter.grade !== undefined && p.grade !== filter.grade) continue;
    if (filter.active !== undefined && p.isActive !== filter.active) continue;
    if (filter.tag !== undefined && !p.tags.includes(filter.tag)) continue;
    out.push(p);
  }
  return out.sort((a, b) => cmp(a.name, b.name) || cmp(a.id, b.id));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The earliest sending attempt, if any. */
export function firstSend(attempts: readonly Attempt[]): Attempt | undefined {
  let first: Attempt | undefined;
  for (const a of attempts) if (isSend(a.result) && (first === undefined || earlier(a, first))) first = a;
  return first;
}
