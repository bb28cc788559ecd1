import { parseInstant } from '../sync/timestamps.js';
import { dayOf } from './calendar.js';
import { AttemptTable, type Attempt, type Result } from './attempt-table.js';
import { Interner } from './id-index.js';

export type { Attempt, Result } from './attempt-table.js';
export { AttemptTable } from './attempt-table.js';

/**
 * The dashboard's view of a dataset: only the fields it reads, parsed once from the
 * stored JSON. Items are opaque to the sync core; here they are read leniently,
 * because a field of the wrong type must cost a blank cell, never a failed page.
 */
export interface Gym {
  readonly id: string;
  readonly name: string;
  readonly customGrades: readonly string[];
}

export interface Problem {
  readonly id: string;
  readonly gymId: string;
  readonly name: string;
  readonly climbType: string;
  readonly system: string;
  readonly grade: string;
  readonly numericValue: number | undefined;
  readonly tags: readonly string[];
  readonly imagePaths: readonly string[];
  readonly isActive: boolean;
  readonly notes: string;
  readonly location: string;
}

export interface Session {
  readonly id: string;
  readonly gymId: string;
  /** The calendar date as the app wrote it (`date`, else `startTime`): YYYY-MM-DD, or '' when neither reads as one. */
  readonly day: string;
  readonly startTime: string;
  /** When it started as an instant (`startTime`, else `date`), for ordering one day's sessions; NaN when neither reads as one. */
  readonly startMs: number;
  readonly durationMinutes: number | undefined;
  readonly notes: string;
}

export interface Dataset {
  readonly gyms: ReadonlyMap<string, Gym>;
  readonly problems: ReadonlyMap<string, Problem>;
  readonly sessions: ReadonlyMap<string, Session>;
  readonly attempts: AttemptTable;
}

export function isSend(result: Result): boolean {
  return result === 'SUCCESS' || result === 'FLASH';
}

type Json = Record<string, unknown>;

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function upper(value: unknown): string {
  return text(value).trim().toUpperCase();
}

const NO_STRINGS: readonly string[] = Object.freeze([]);

function strings(value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.length === 0) return NO_STRINGS;
  const list = value.filter((v): v is string => typeof v === 'string');
  return list.length === 0 ? NO_STRINGS : list;
}

/**
 * Equal lists of strings kept once: thousands of problems carry a few hundred
 * different sets of tags. Shared, so frozen: a page that sorted one in place
 * would change every problem's.
 */
export class ListInterner {
  private readonly lists = new Map<string, readonly string[]>();

  shared(list: readonly string[]): readonly string[] {
    if (list.length === 0) return NO_STRINGS;
    const key = JSON.stringify(list);
    let kept = this.lists.get(key);
    if (kept === undefined) this.lists.set(key, (kept = Object.freeze(list.slice())));
    return kept;
  }
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The day an attempt happened: its own timestamp's date as written, else its session's; '' when neither has one. */
export function attemptDay(ds: Dataset, attempt: Attempt): string {
  return dayOf(attempt.timestamp) || ds.sessions.get(attempt.sessionId)?.day || '';
}

function intern(id: string, ids: Interner | undefined): string {
  return ids ? ids.shared(id) : id;
}

const RESULTS = new Set<Result>(['SUCCESS', 'FLASH', 'FALL', 'NO_PROGRESS']);

export function readResult(value: unknown): Result {
  const r = upper(value) as Result;
  return RESULTS.has(r) ? r : 'OTHER';
}

export function readGym(v: Json, ids?: Interner): Gym {
  return { id: intern(text(v['id']), ids), name: text(v['name']), customGrades: strings(v['customDifficultyGrades']) };
}

export function readProblem(v: Json, ids?: Interner, lists?: ListInterner): Problem {
  const difficulty = v['difficulty'] !== null && typeof v['difficulty'] === 'object' ? (v['difficulty'] as Json) : {};
  return {
    id: intern(text(v['id']), ids),
    gymId: intern(text(v['gymId']), ids),
    name: text(v['name']),
    climbType: upper(v['climbType']),
    system: upper(difficulty['system']),
    grade: text(difficulty['grade']).trim(),
    numericValue: finite(difficulty['numericValue']),
    tags: lists ? lists.shared(strings(v['tags'])) : strings(v['tags']),
    imagePaths: strings(v['imagePaths']),
    // Only an explicit false retires a problem: the field is optional.
    isActive: v['isActive'] !== false,
    notes: text(v['notes']),
    location: text(v['location']),
  };
}

export function readSession(v: Json, ids?: Interner): Session {
  return {
    id: intern(text(v['id']), ids),
    gymId: intern(text(v['gymId']), ids),
    day: dayOf(v['date']) || dayOf(v['startTime']),
    startTime: text(v['startTime']),
    startMs: readableInstant(text(v['startTime'])) ?? readableInstant(text(v['date'])) ?? Number.NaN,
    durationMinutes: minutes(v['duration']) ?? minutesBetween(text(v['startTime']), text(v['endTime'])),
    notes: text(v['notes']),
  };
}

function minutes(value: unknown): number | undefined {
  const n = finite(value);
  return n !== undefined && n >= 0 ? n : undefined;
}

/** A session's length from its start and end, for apps that write no `duration`; undefined unless both read and end is not before start. */
function minutesBetween(start: string, end: string): number | undefined {
  const from = readableInstant(start);
  const to = readableInstant(end);
  return from !== undefined && to !== undefined && to >= from ? Math.round((to - from) / 60_000) : undefined;
}

/** The form the apps write; Date.parse reads it exactly (a rolled-over day like Feb 30 only shifts an order, never a figure). */
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function readableInstant(timestamp: string): number | undefined {
  const ms = instant(timestamp);
  return Number.isNaN(ms) ? undefined : ms;
}

function instant(timestamp: string): number {
  return CANONICAL.test(timestamp) ? Date.parse(timestamp) : (parseInstant(timestamp) ?? Number.NaN);
}

export function readAttempt(v: Json): Attempt {
  const timestamp = text(v['timestamp']);
  return {
    sessionId: text(v['sessionId']),
    problemId: text(v['problemId']),
    result: readResult(v['result']),
    resultText: text(v['result']),
    timestamp,
    time: instant(timestamp),
    highestHold: text(v['highestHold']),
  };
}

export interface MutableDataset extends Dataset {
  readonly gyms: Map<string, Gym>;
  readonly problems: Map<string, Problem>;
  readonly sessions: Map<string, Session>;
}

/** A dataset with nothing in it; `expectedAttempts` sizes the attempt table at once. */
export function emptyDataset(expectedAttempts = 0): MutableDataset {
  const ids = new Interner();
  return { gyms: new Map(), problems: new Map(), sessions: new Map(), attempts: new AttemptTable(ids, expectedAttempts) };
}

function put<T extends { id: string }>(items: Map<string, T>, item: T): void {
  items.set(item.id, item);
}

/**
 * Puts parsed items into a dataset: a new one, or one already built, which is
 * then patched with what changed since (a changed item keeps its place, a new
 * one comes last, as in the store). Tombstones win over items of the same type
 * and id, whatever order they come in.
 */
export class DatasetBuilder {
  private readonly deleted: { type: string; id: string }[] = [];
  private readonly lists = new ListInterner();

  constructor(private readonly ds: MutableDataset = emptyDataset()) {}

  addItem(collection: 'gyms' | 'problems' | 'sessions' | 'attempts', json: string): void {
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    const v = value as Json;
    const id = text(v['id']);
    if (id === '') return;
    const ids = this.ds.attempts.ids;
    // Keyed by the item's own (shared) id string, not a second copy of it.
    if (collection === 'gyms') put(this.ds.gyms, readGym(v, ids));
    else if (collection === 'problems') put(this.ds.problems, readProblem(v, ids, this.lists));
    else if (collection === 'sessions') put(this.ds.sessions, readSession(v, ids));
    else this.ds.attempts.put(id, readAttempt(v));
  }

  addTombstone(json: string): void {
    try {
      const t = JSON.parse(json) as Json;
      this.deleted.push({ type: text(t['type']).trim().toLowerCase().replace(/s$/, ''), id: text(t['id']) });
    } catch {
      // An unreadable tombstone deletes nothing.
    }
  }

  build(): Dataset {
    for (const { type, id } of this.deleted) {
      if (type === 'gym') this.ds.gyms.delete(id);
      else if (type === 'problem') this.ds.problems.delete(id);
      else if (type === 'session') this.ds.sessions.delete(id);
      else if (type === 'attempt') this.ds.attempts.delete(id);
    }
    this.deleted.length = 0;
    return this.ds;
  }
}

/** A dataset from plain objects, for tests and tools. */
export function datasetOf(items: {
  gyms?: Json[];
  problems?: Json[];
  sessions?: Json[];
  attempts?: Json[];
  deletedItems?: Json[];
}): Dataset {
  const builder = new DatasetBuilder();
  for (const c of ['gyms', 'problems', 'sessions', 'attempts'] as const) for (const item of items[c] ?? []) builder.addItem(c, JSON.stringify(item));
  for (const t of items.deletedItems ?? []) builder.addTombstone(JSON.stringify(t));
  return builder.build();
}
