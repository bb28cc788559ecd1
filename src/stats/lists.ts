import type { AttemptTable } from './attempt-table.js';
import { isSend, type Attempt, type Dataset, type Problem, type Session } from './dataset.js';
import { compareRows, earlier } from './figures.js';

/** Attempts of each session and each problem, built once per version of the data for the detail pages. */
export interface AttemptIndex {
  bySession: AttemptGroups;
  byProblem: AttemptGroups;
}

/**
 * The attempts of each id (a session's, a problem's) in time order, as runs of
 * attempt rows in one array: no object per attempt until a page lists them. A
 * run is put in time order when first read, so a page that only counts pays
 * for no sorting.
 */
export class AttemptGroups {
  private readonly sorted: Uint8Array;

  constructor(
    private readonly t: AttemptTable,
    /** Indexed by the id's number: where its run starts in `order`; the next entry is where it ends. */
    private readonly starts: Int32Array,
    private readonly order: Int32Array,
  ) {
    this.sorted = new Uint8Array(starts.length);
  }

  rows(id: string): Int32Array {
    const ref = this.t.ids.find(id);
    return ref === undefined || ref + 1 >= this.starts.length ? this.order.subarray(0, 0) : this.run(ref);
  }

  count(id: string): number {
    const ref = this.t.ids.find(id);
    return ref === undefined || ref + 1 >= this.starts.length ? 0 : this.starts[ref + 1]! - this.starts[ref]!;
  }

  /** The attempts as objects, in time order; undefined when there are none. */
  get(id: string): Attempt[] | undefined {
    const rows = this.rows(id);
    return rows.length === 0 ? undefined : Array.from(rows, (r) => this.t.attempt(r));
  }

  /** Every id with at least one attempt, and its rows. */
  *entries(): Generator<[string, Int32Array]> {
    for (let ref = 0; ref + 1 < this.starts.length; ref++) {
      if (this.starts[ref + 1]! > this.starts[ref]!) yield [this.t.ids.string(ref), this.run(ref)];
    }
  }

  private run(ref: number): Int32Array {
    const rows = this.order.subarray(this.starts[ref]!, this.starts[ref + 1]!);
    if (this.sorted[ref] === 0) {
      // Ties keep the rows' order, as a stable sort of the attempts would.
      rows.sort((a, b) => compareRows(this.t, a, b) || a - b);
      this.sorted[ref] = 1;
    }
    return rows;
  }
}

function groupRows(t: AttemptTable, refOf: (row: number) => number): AttemptGroups {
  const starts = new Int32Array(t.ids.size + 1);
  for (let r = 0; r < t.rows; r++) if (t.has(r)) starts[refOf(r) + 1]!++;
  for (let i = 1; i < starts.length; i++) starts[i]! += starts[i - 1]!;
  const next = starts.slice(0, -1);
  const order = new Int32Array(t.size);
  for (let r = 0; r < t.rows; r++) if (t.has(r)) order[next[refOf(r)]!++] = r;
  return new AttemptGroups(t, starts, order);
}

export function indexAttempts(ds: Dataset): AttemptIndex {
  const t = ds.attempts;
  return { bySession: groupRows(t, (r) => t.sessionRef(r)), byProblem: groupRows(t, (r) => t.problemRef(r)) };
}

/** Sessions newest first: by date, then start time as an instant (unreadable ones last), then id so that pages are stable. */
export function sessionsNewestFirst(ds: Dataset): Session[] {
  const started = (s: Session): number => (Number.isNaN(s.startMs) ? -Infinity : s.startMs);
  return [...ds.sessions.values()].sort((a, b) => cmpDesc(a.day, b.day) || started(b) - started(a) || cmpDesc(a.id, b.id));
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
  const t = ds.attempts;
  const list: Project[] = [];
  for (const [problemId, rows] of index.byProblem.entries()) {
    const problem = ds.problems.get(problemId);
    if (!problem || rows.some((r) => t.isSend(r))) continue;
    const holds = Array.from(rows, (r) => t.highestHold(r).trim()).filter((h) => h !== '');
    const numeric = holds.length > 0 && holds.every((h) => /^\d+(\.\d+)?$/.test(h));
    const bestHold = numeric ? holds.reduce((a, b) => (Number(b) > Number(a) ? b : a)) : (holds.at(-1) ?? '');
    // Sessions that exist: a deleted one is no session tried in.
    const sessions = new Set(Array.from(rows, (r) => t.sessionRef(r)).filter((ref) => ds.sessions.has(t.ids.string(ref)))).size;
    list.push({ problem, attempts: rows.length, sessions, lastTry: t.attempt(rows[rows.length - 1]!), bestHold });
  }
  // The id settles exact ties, so the order does not hang on how the data was read.
  return list.sort(
    (a, b) =>
      Number(b.problem.isActive) - Number(a.problem.isActive) ||
      (earlier(b.lastTry, a.lastTry) ? -1 : earlier(a.lastTry, b.lastTry) ? 1 : 0) ||
      cmp(a.problem.id, b.problem.id),
  );
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
    // Tags as people type them: `crimp` finds a problem tagged `Crimp`.
    if (filter.tag !== undefined && !p.tags.some((tag) => tag.toLowerCase() === filter.tag!.toLowerCase())) continue;
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
