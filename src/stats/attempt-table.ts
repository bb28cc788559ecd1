import { dayOf } from './calendar.js';
import { Interner, RowIndex } from './id-index.js';

export type Result = 'SUCCESS' | 'FLASH' | 'FALL' | 'NO_PROGRESS' | 'OTHER';

export interface Attempt {
  readonly sessionId: string;
  readonly problemId: string;
  readonly result: Result;
  /** The result as the app wrote it ('' when it is not a string), for display and export. */
  readonly resultText: string;
  /** The timestamp as written, for display and for the first-send date. */
  readonly timestamp: string;
  /** The timestamp as an instant, for ordering; NaN when unreadable. */
  readonly time: number;
  readonly highestHold: string;
}

const RESULTS: readonly Result[] = ['SUCCESS', 'FLASH', 'FALL', 'NO_PROGRESS', 'OTHER'];
const CODES = new Map(RESULTS.map((r, i) => [r, i]));
const GONE = 255;
const DAY_MS = 86_400_000;

/**
 * The attempts, the bulk of a climber's data, one typed array per field: a
 * quarter of a million attempts as objects held in Maps took over a hundred MiB,
 * as columns about forty bytes each. Rows keep the order they were first added in
 * (the store's order), a changed attempt keeps its row, and a removed one leaves a
 * gap until enough gaps make compacting worth it. Figures read rows by number
 * (`for (let r = 0; r < t.rows; r++) if (t.has(r))`), so reading makes no garbage.
 */
export class AttemptTable {
  private sessions = new Int32Array(0);
  private problems = new Int32Array(0);
  private results = new Uint8Array(0);
  private times = new Float64Array(0);
  private holds = new Int32Array(0);
  /** Timestamps that Date#toISOString would not give back from the instant, by row. */
  private readonly oddTimestamps = new Map<number, string>();
  /** Results written otherwise than their code's name (`success`, `SENT`), by row. */
  private readonly oddResults = new Map<number, string>();
  private readonly holdNames = new Interner();
  private readonly days = new Map<number, string>();
  private readonly index = new RowIndex();
  private end = 0;
  private live = 0;

  /** `ids` numbers the session and problem ids; shared with the items themselves so each id is kept once. */
  constructor(
    readonly ids: Interner,
    expected = 0,
  ) {
    this.reserve(expected);
  }

  /** Rows to look at: 0 to rows - 1, skipping those `has` says are gone. */
  get rows(): number {
    return this.end;
  }

  /** How many attempts there are. */
  get size(): number {
    return this.live;
  }

  has(row: number): boolean {
    return this.results[row] !== GONE;
  }

  sessionRef(row: number): number {
    return this.sessions[row]!;
  }

  problemRef(row: number): number {
    return this.problems[row]!;
  }

  sessionId(row: number): string {
    return this.ids.string(this.sessions[row]!);
  }

  problemId(row: number): string {
    return this.ids.string(this.problems[row]!);
  }

  result(row: number): Result {
    return RESULTS[this.results[row]!]!;
  }

  resultText(row: number): string {
    return this.oddResults.get(row) ?? this.result(row);
  }

  isSend(row: number): boolean {
    return this.results[row]! <= 1;
  }

  isFlash(row: number): boolean {
    return this.results[row] === 1;
  }

  time(row: number): number {
    return this.times[row]!;
  }

  timestamp(row: number): string {
    return this.oddTimestamps.get(row) ?? new Date(this.times[row]!).toISOString();
  }

  /** The first ten characters of the timestamp when they are a calendar date, else ''. */
  day(row: number): string {
    const odd = this.oddTimestamps.get(row);
    if (odd !== undefined) return dayOf(odd);
    const n = Math.floor(this.times[row]! / DAY_MS);
    let day = this.days.get(n);
    if (day === undefined) this.days.set(n, (day = new Date(n * DAY_MS).toISOString().slice(0, 10)));
    return day;
  }

  highestHold(row: number): string {
    return this.holdNames.string(this.holds[row]!);
  }

  /** One attempt as an object, for the few a page lists. */
  attempt(row: number): Attempt {
    return {
      sessionId: this.sessionId(row),
      problemId: this.problemId(row),
      result: this.result(row),
      resultText: this.resultText(row),
      timestamp: this.timestamp(row),
      time: this.time(row),
      highestHold: this.highestHold(row),
    };
  }

  /** Adds the attempt, or replaces the one with the same id in its row. */
  put(id: string, a: Attempt): void {
    let row = this.index.get(id);
    if (row < 0) {
      if (this.end === this.results.length) this.reserve(Math.ceil(this.end * 1.25) + 1024);
      row = this.end++;
      this.index.add(id, row);
      this.live++;
    }
    this.sessions[row] = this.ids.number(a.sessionId);
    this.problems[row] = this.ids.number(a.problemId);
    this.results[row] = CODES.get(a.result)!;
    this.times[row] = a.time;
    this.holds[row] = this.holdNames.number(a.highestHold);
    const canonical = Number.isFinite(a.time) && new Date(a.time).toISOString() === a.timestamp;
    if (canonical) this.oddTimestamps.delete(row);
    else this.oddTimestamps.set(row, a.timestamp);
    if (a.resultText === a.result) this.oddResults.delete(row);
    else this.oddResults.set(row, a.resultText);
  }

  delete(id: string): void {
    const row = this.index.get(id);
    if (row < 0) return;
    this.index.delete(id);
    this.results[row] = GONE;
    this.oddTimestamps.delete(row);
    this.oddResults.delete(row);
    this.live--;
    if (this.end - this.live > Math.max(1024, this.live / 4)) this.compact();
  }

  private reserve(rows: number): void {
    if (rows <= this.results.length) return;
    const grow = <T extends Int32Array | Uint8Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = make(rows);
      next.set(old);
      return next;
    };
    this.sessions = grow(this.sessions, (n) => new Int32Array(n));
    this.problems = grow(this.problems, (n) => new Int32Array(n));
    this.results = grow(this.results, (n) => new Uint8Array(n));
    this.times = grow(this.times, (n) => new Float64Array(n));
    this.holds = grow(this.holds, (n) => new Int32Array(n));
    this.index.reserve(rows);
  }

  /** Closes the gaps, keeping the rows' order. */
  private compact(): void {
    const moved = new Int32Array(this.end).fill(-1);
    let to = 0;
    for (let from = 0; from < this.end; from++) {
      if (this.results[from] === GONE) continue;
      moved[from] = to;
      this.sessions[to] = this.sessions[from]!;
      this.problems[to] = this.problems[from]!;
      this.results[to] = this.results[from]!;
      this.times[to] = this.times[from]!;
      this.holds[to] = this.holds[from]!;
      to++;
    }
    renumberKeys(this.oddTimestamps, moved);
    renumberKeys(this.oddResults, moved);
    this.index.renumber(moved, this.results.length);
    this.end = to;
  }
}

/** A map by row, its keys moved to the rows' new numbers (every key's row is still there). */
function renumberKeys(byRow: Map<number, string>, moved: Int32Array): void {
  const entries = [...byRow];
  byRow.clear();
  for (const [row, value] of entries) byRow.set(moved[row]!, value);
}
