/** The four collections the apps sync, in the order the documents list them. */
export const COLLECTIONS = ['gyms', 'problems', 'sessions', 'attempts'] as const;
export type Collection = (typeof COLLECTIONS)[number];

/** One empty list per collection. */
export function emptyCollections(): Record<Collection, string[]> {
  return { gyms: [], problems: [], sessions: [], attempts: [] };
}

/** The tombstone `type` of each collection's items. */
const TYPE_OF: Record<Collection, string> = { gyms: 'gym', problems: 'problem', sessions: 'session', attempts: 'attempt' };
const COLLECTION_OF = new Map<string, Collection>(COLLECTIONS.map((c) => [TYPE_OF[c], c]));

export type JsonObject = { [key: string]: unknown };

/** An item as it arrived: its value, the text stored for it and the instant that decides merges. */
export interface IncomingItem {
  readonly collection: Collection;
  readonly id: string;
  readonly time: number;
  readonly value: JsonObject;
  readonly json: string;
}

/**
 * A tombstone as it arrived. `typeKey` is the normalised type (`gym`, `problem`,
 * `session`, `attempt`) or, for a type the server does not know, the lower-cased
 * type as sent ('' for none): such a tombstone is kept and passed on but deletes
 * nothing (sync-semantics.md §4; §1 refuses only what has no id).
 */
export interface IncomingTombstone {
  readonly typeKey: string;
  readonly collection: Collection | undefined;
  readonly id: string;
  readonly json: string;
}

export interface ChangeSet {
  readonly items: readonly IncomingItem[];
  readonly tombstones: readonly IncomingTombstone[];
}

/**
 * `gym`, `Gyms`, `PROBLEM`… → `gym`, `problem`; unknown types lower-cased as they
 * are; no type (missing, blank, not a string) is the unknown type ''.
 */
export function normaliseTombstoneType(type: unknown): { typeKey: string; collection: Collection | undefined } {
  const lower = typeof type === 'string' ? type.trim().toLowerCase() : '';
  const singular = lower.endsWith('s') ? lower.slice(0, -1) : lower;
  const collection = COLLECTION_OF.get(singular);
  return collection ? { typeKey: singular, collection } : { typeKey: lower, collection: undefined };
}

export function tombstoneTypeOf(collection: Collection): string {
  return TYPE_OF[collection];
}

export function isActiveSession(item: IncomingItem): boolean {
  const status = item.value['status'];
  return item.collection === 'sessions' && typeof status === 'string' && status.trim().toLowerCase() === 'active';
}
