import { parseInstant } from '../sync/timestamps.js';

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
  readonly durationMinutes: number | undefined;
  readonly notes: string;
}

export type Result = 'SUCCESS' | 'FLASH' | 'FALL' | 'NO_PROGRESS' | 'OTHER';

export interface Attempt {
  readonly sessionId: string;
  readonly problemId: string;
  readonly result: Result;
  /** The timestamp as written, for display and for the first-send date. */
  readonly timestamp: string;
  /** The timestamp as an instant, for ordering; NaN when unreadable. */
  readonly time: number;
  readonly highestHold: string;
}

export interface Dataset {
  readonly gyms: ReadonlyMap<string, Gym>;
  readonly problems: ReadonlyMap<string, Problem>;
  readonly sessions: ReadonlyMap<string, Session>;
  readonly attempts: readonly Attempt[];
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

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

const DAY = /^\d{4}-\d{2}-\d{2}/;

/** The first ten characters when they read as a date: the date the app wrote, with no time-zone conversion. */
export function dayOf(value: unknown): string {
  const t = text(value);
  return DAY.test(t) ? t.slice(0, 10) : '';
}

function intern(id: string, items: ReadonlyMap<string, { id: string }> | undefined): string {
  return items?.get(id)?.id ?? id;
}

const RESULTS = new Set<Result>(['SUCCESS', 'FLASH', 'FALL', 'NO_PROGRESS']);

export function readResult(value: unknown): Result {
  const r = upper(value) as Result;
  return RESULTS.has(r) ? r : 'OTHER';
}

export function readGym(v: Json): Gym {
  return { id: text(v['id']), name: text(v['name']), customGrades: strings(v['customDifficultyGrades']) };
}

export function readProblem(v: Json, gyms?: ReadonlyMap<string, Gym>): Problem {
  const difficulty = v['difficulty'] !== null && typeof v['difficulty'] === 'object' ? (v['difficulty'] as Json) : {};
  return {
    id: text(v['id']),
    gymId: intern(text(v['gymId']), gyms),
    name: text(v['name']),
    climbType: upper(v['climbType']),
    system: upper(difficulty['system']),
    grade: text(difficulty['grade']).trim(),
    numericValue: finite(difficulty['numericValue']),
    tags: strings(v['tags']),
    imagePaths: strings(v['imagePaths']),
    // Only an explicit false retires a problem: the field is optional.
    isActive: v['isActive'] !== false,
    notes: text(v['notes']),
    location: text(v['location']),
  };
}

export function readSession(v: Json, gyms?: ReadonlyMap<string, Gym>): Session {
  return {
    id: text(v['id']),
    gymId: intern(text(v['gymId']), gyms),
    day: dayOf(v['date']) || dayOf(v['startTime']),
    startTime: text(v['startTime']),
    durationMinutes: finite(v['duration']),
    notes: text(v['notes']),
  };
}

/** The form the apps write; Date.parse reads it exactly (a rolled-over day like Feb 30 only shifts an order, never a figure). */
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function instant(timestamp: string): number {
  return CANONICAL.test(timestamp) ? Date.parse(timestamp) : (parseInstant(timestamp) ?? Number.NaN);
}

/**
 * An attempt; its session and problem ids are the very strings of those items
 * when they exist, so sixty thousand attempts do not hold sixty thousand copies.
 */
export function readAttempt(v: Json, sessions?: ReadonlyMap<string, Session>, problems?: ReadonlyMap<string, Problem>): Attempt {
  const timestamp = text(v['timestamp']);
  const sessionId = text(v['sessionId']);
  const problemId = text(v['problemId']);
  return {
    sessionId: sessions?.get(sessionId)?.id ?? sessionId,
    problemId: problems?.get(problemId)?.id ?? problemId,
    result: readResult(v['result']),
    timestamp,
    time: instant(timestamp),
    highestHold: text(v['highestHold']),
  };
}

/** Collects parsed items; tombstones win over items of the same type and id, whatever order they come in. */
export class DatasetBuilder {
  private readonly gyms = new Map<string, Gym>();
  private readonly problems = new Map<string, Problem>();
  private readonly sessions = new Map<string, Session>();
  private readonly attempts = new Map<string, Attempt>();
  private readonly deleted = new Set<string>();

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
    if (collection === 'gyms') this.gyms.set(id, readGym(v));
    else if (collection === 'problems') this.problems.set(id, readProblem(v, this.gyms));
    else if (collection === 'sessions') this.sessions.set(id, readSession(v, this.gyms));
    else this.attempts.set(id, readAttempt(v, this.sessions, this.problems));
  }

  addTombstone(json: string): void {
    try {
      const t = JSON.parse(json) as Json;
      const type = text(t['type']).trim().toLowerCase().replace(/s$/, '');
      this.deleted.add(`${type}:${text(t['id'])}`);
    } catch {
      // An unreadable tombstone deletes nothing.
    }
  }

  build(): Dataset {
    const live = <T>(type: string, items: Map<string, T>): Map<string, T> => {
      for (const id of items.keys()) if (this.deleted.has(`${type}:${id}`)) items.delete(id);
      return items;
    };
    return {
      gyms: live('gym', this.gyms),
      problems: live('problem', this.problems),
      sessions: live('session', this.sessions),
      attempts: [...live('attempt', this.attempts).values()],
    };
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
