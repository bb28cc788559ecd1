import { isActiveSession, tombstoneTypeOf, type ChangeSet, type Collection, type IncomingItem, type IncomingTombstone } from './model.js';
import { sameJsonText } from './json-equal.js';
import { compareTiedItemTimes } from './timestamps.js';

/** What the store holds for one item id, as the merge needs it. */
export interface StoredItem {
  readonly collection: Collection;
  readonly id: string;
  readonly time: number;
  readonly json: string;
  readonly stamp: number;
}

export interface StoredTombstone {
  readonly typeKey: string;
  readonly id: string;
  readonly json: string;
  readonly stamp: number;
}

export interface EchoItem {
  readonly collection: Collection;
  readonly json: string;
  readonly stamp?: number;
}

/** The stored state of the ids a change set touches. */
export interface StoredState {
  item(collection: Collection, id: string): StoredItem | undefined;
  tombstone(typeKey: string, id: string): StoredTombstone | undefined;
}

/** The decisions of a delta merge, for the store to apply in one transaction. */
export interface DeltaPlan {
  /** Items to insert or replace, each id at most once. */
  readonly put: IncomingItem[];
  /** Items to remove because a tombstone arrived for them. */
  readonly remove: { collection: Collection; id: string }[];
  /** New tombstones to keep, each (type, id) at most once. */
  readonly addTombstones: IncomingTombstone[];
  /**
   * Items the device must be told about even if it saw them before (rule 5): a
   * stored one (with its stamp), or one this request stored over another copy the
   * request also carried (no stamp: always answered).
   */
  readonly echoItems: EchoItem[];
  /** Stored tombstones the device must be told about (rule 1). */
  readonly echoTombstones: StoredTombstone[];
}

export const itemKey = (collection: string, id: string): string => `${collection}\u0000${id}`;

export function splitItemKey(key: string): [collection: string, id: string] {
  const separator = key.indexOf('\u0000');
  return [key.slice(0, separator), key.slice(separator + 1)];
}

/**
 * The merge rules of sync-semantics.md sections 3 and 4, as a plain function.
 * Tombstones are applied first, so that an item and its deletion in one request
 * end deleted. Several items with one id in a request are merged in order by the
 * same rules, each against the winner so far.
 */
export function planDelta(stored: StoredState, changes: ChangeSet): DeltaPlan {
  const plan: DeltaPlan = { put: [], remove: [], addTombstones: [], echoItems: [], echoTombstones: [] };
  const newTombstones = new Map<string, IncomingTombstone>();

  for (const tombstone of changes.tombstones) {
    const key = itemKey(tombstone.typeKey, tombstone.id);
    if (newTombstones.has(key) || stored.tombstone(tombstone.typeKey, tombstone.id)) continue; // deletion is final: the first one stays
    newTombstones.set(key, tombstone);
    plan.addTombstones.push(tombstone);
    if (tombstone.collection && stored.item(tombstone.collection, tombstone.id)) {
      plan.remove.push({ collection: tombstone.collection, id: tombstone.id });
    }
  }

  // The winner so far for each id this request touches: a stored item or an incoming
  // one; `echo` once some copy the device sent lost to it.
  const winners = new Map<string, { incoming?: IncomingItem; stored?: StoredItem; echo?: boolean }>();
  const echoedTombstones = new Set<string>();

  for (const item of changes.items) {
    const type = tombstoneTypeOf(item.collection);
    const tombstoneKey = itemKey(type, item.id);
    if (newTombstones.has(tombstoneKey)) continue; // the device sent the deletion itself
    const keptTombstone = stored.tombstone(type, item.id);
    if (keptTombstone) {
      if (!echoedTombstones.has(tombstoneKey)) plan.echoTombstones.push(keptTombstone);
      echoedTombstones.add(tombstoneKey);
      continue;
    }
    if (isActiveSession(item)) continue;

    const key = itemKey(item.collection, item.id);
    let winner = winners.get(key);
    if (!winner) {
      const storedItem = stored.item(item.collection, item.id);
      winner = storedItem ? { stored: storedItem } : {};
      winners.set(key, winner);
    }
    const current = winner.incoming ?? winner.stored;
    let parsed: Record<string, unknown> | undefined;
    const currentValue = (): Record<string, unknown> => (parsed ??= winner.incoming ? winner.incoming.value : (JSON.parse(current!.json) as Record<string, unknown>));
    // A tie of doubles is settled by the digits as written: a double of milliseconds holds no more than about 0.2 µs.
    const order = current === undefined ? 1 : item.time !== current.time ? Math.sign(item.time - current.time) : compareTiedItemTimes(item.value, currentValue());
    if (order > 0) {
      // A copy of this same request lost: the device may hold it, so it is told the winner.
      if (winner.incoming && !sameJsonText(winner.incoming.json, item.json)) winner.echo = true;
      winner.incoming = item;
      continue;
    }
    // Content as sync-semantics.md means it: numbers by their exact digits, not as doubles.
    const sameContent = order === 0 && sameJsonText(item.json, current!.json);
    if (!sameContent) winner.echo = true; // rule 5: the winner stays and the device is told
  }

  for (const winner of winners.values()) {
    if (winner.incoming) plan.put.push(winner.incoming);
    const kept = winner.incoming ?? winner.stored;
    if (winner.echo && kept) plan.echoItems.push(winner.incoming ? { collection: kept.collection, json: kept.json } : (kept as StoredItem));
  }
  return plan;
}

/** A full upload reduced to what the store must hold afterwards. */
export interface FullUploadPlan {
  /** The live items, each id once (the newest of duplicates), active sessions left out. */
  readonly items: IncomingItem[];
  /** Uploaded tombstones to add, each (type, id) once, none for an id uploaded as live. */
  readonly tombstones: IncomingTombstone[];
}

/**
 * Section 5: the upload becomes the live data. A tombstone whose id is uploaded
 * as a live item is dropped, since the upload asserts that the item exists.
 */
export function planFullUpload(changes: ChangeSet): FullUploadPlan {
  const items = new Map<string, IncomingItem>();
  for (const item of changes.items) {
    if (isActiveSession(item)) continue;
    const key = itemKey(item.collection, item.id);
    const current = items.get(key);
    if (current === undefined || item.time > current.time) items.set(key, item);
  }
  const tombstones = new Map<string, IncomingTombstone>();
  for (const tombstone of changes.tombstones) {
    const key = itemKey(tombstone.typeKey, tombstone.id);
    const live = tombstone.collection !== undefined && items.has(itemKey(tombstone.collection, tombstone.id));
    if (!live && !tombstones.has(key)) tombstones.set(key, tombstone);
  }
  return { items: [...items.values()], tombstones: [...tombstones.values()] };
}
