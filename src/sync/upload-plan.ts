import { COLLECTIONS, type Collection, type IncomingTombstone } from './model.js';
import { itemKey } from './merge.js';
import { COMMA, utf8Text } from './json-bytes.js';
import type { KnownRows, ScannedItems, ScannedUpload } from './upload-scan.js';
import { itemTime } from './timestamps.js';
import { RangeReader } from './upload-source.js';

/**
 * The live items a full upload leaves in the dataset: each id once, in the order
 * they are listed (collection by collection, each id where it first appeared).
 * Items are reached by position, and their text is made only when asked for, so
 * that a large upload is held as its body (in memory or in a file) plus a few
 * numbers per item.
 */
export interface UploadItems {
  readonly length: number;
  collection(position: number): Collection;
  id(position: number): string;
  /** May read the item's text (an item the scan found in a stored run): read it before a utf8() view is used. */
  time(position: number): number;
  json(position: number): string;
  /**
   * The same text as UTF-8 bytes, for a store to write without making a string of
   * it: the body's own bytes (a body is UTF-8, checked where it came in). Valid
   * only until the next item is read.
   */
  utf8(position: number): Buffer;
  /** UTF-8 bytes of the item's text in the body. */
  byteLength(position: number): number;
  /** The stored row the scan found this very text in (KnownItems), or 0. */
  storedRow(position: number): number;
  /** Whether the item's text is exactly `json`: json(position) === json, without making that string. */
  hasText(position: number, json: string): boolean;
  /** The position of the item with this collection and id, or -1. */
  positionOf(collection: Collection, id: string): number;
  /** Which of these ids the upload holds live in the collection: for a few ids, without a lookup table of all. */
  holding(collection: Collection, ids: readonly string[]): ReadonlySet<string>;
  /** Positions [start, end) of a collection's items: they are listed collection by collection. */
  span(collection: Collection): { start: number; end: number };
  /**
   * The body's bytes from the item at `from` to the one before `to` (one
   * collection), when they are exactly those items' texts joined by single commas
   * (compact JSON, no duplicate in between); else undefined. Valid until the next item is read.
   */
  joined(from: number, to: number): Buffer | undefined;
}

/** A full upload reduced to what the store must hold afterwards (sync-semantics.md section 5). */
export interface PlannedUpload {
  readonly items: UploadItems;
  /** Uploaded tombstones to add, each (type, id) once, none for an id uploaded as live. */
  readonly tombstones: readonly IncomingTombstone[];
  readonly extraFieldsJson: string;
  /** Bytes of JSON text the items and tombstones take as stored: known before anything is written. */
  readonly bytes: number;
  /**
   * The stored rows the scan went past, for the collections where every row it
   * matched is an item's winning text (a matched copy that lost to a duplicate
   * would leave its row unaccounted for).
   */
  readonly known?: KnownRows;
}

/**
 * The same rules as planFullUpload: the newest of several items with one id wins
 * (the first of equals), in the place where the id first appeared; a tombstone for
 * an id uploaded live is dropped.
 */
export function planScannedUpload(scan: ScannedUpload): PlannedUpload {
  const items = new ScannedUploadItems(scan);
  const tombstones = new Map<string, IncomingTombstone>();
  const live = liveIn(items, scan.tombstones);
  for (const tombstone of scan.tombstones) {
    const key = itemKey(tombstone.typeKey, tombstone.id);
    if (!live(tombstone) && !tombstones.has(key)) tombstones.set(key, tombstone);
  }
  let bytes = items.bytes;
  for (const tombstone of tombstones.values()) bytes += Buffer.byteLength(tombstone.json);
  return { items, tombstones: [...tombstones.values()], extraFieldsJson: scan.extraFieldsJson, bytes, known: items.known };
}

/** Whether each of these tombstones names an item the upload holds live, all looked up at once. */
export function liveIn(items: UploadItems, tombstones: readonly { collection?: Collection; id: string }[]): (tombstone: { collection?: Collection; id: string }) => boolean {
  const held = new Map<Collection, ReadonlySet<string>>();
  for (const collection of COLLECTIONS) {
    const ids = tombstones.filter((t) => t.collection === collection).map((t) => t.id);
    if (ids.length > 0) held.set(collection, items.holding(collection, ids));
  }
  return (tombstone) => tombstone.collection !== undefined && held.get(tombstone.collection)?.has(tombstone.id) === true;
}

class ScannedUploadItems implements UploadItems {
  readonly length: number;
  readonly bytes: number;
  readonly known?: KnownRows;
  /**
   * Per collection: the scanned index of the winning item at each position, or
   * undefined where each item is its own winner (every one of them was found in a
   * stored row, so no id is there twice).
   */
  private readonly winners: (number[] | undefined)[];
  /** Per collection: each id's position in it, made when first needed where `winners` was not. */
  private readonly positions: (Map<string, number> | undefined)[];
  private readonly counts: number[];
  /** Position where each collection's items begin. */
  private readonly offsets: number[];
  private scratch = Buffer.alloc(0);
  private readonly reader: RangeReader;

  constructor(private readonly scan: ScannedUpload) {
    this.reader = new RangeReader(scan.source);
    this.winners = [];
    this.positions = [];
    this.counts = [];
    this.offsets = [];
    let length = 0;
    let bytes = 0;
    const passed = { ...scan.known?.passed };
    for (const collection of COLLECTIONS) {
      const { ids, starts, ends, rows } = scan.items[collection];
      this.offsets.push(length);
      if (rows.every((row) => row !== 0)) {
        // Each stored row is offered once, and no two hold one id.
        for (let k = 0; k < ids.length; k++) bytes += ends[k]! - starts[k]!;
        this.winners.push(undefined);
        this.positions.push(undefined);
        this.counts.push(ids.length);
        length += ids.length;
        continue;
      }
      const winners: number[] = [];
      const positions = new Map<string, number>();
      for (let k = 0; k < ids.length; k++) {
        const id = ids[k]!;
        const slot = positions.get(id);
        if (slot === undefined) {
          positions.set(id, winners.length);
          winners.push(k);
        } else if (this.timeOf(collection, k) > this.timeOf(collection, winners[slot]!)) {
          winners[slot] = k;
        }
      }
      let matchedWinners = 0;
      for (const k of winners) {
        bytes += ends[k]! - starts[k]!;
        if (rows[k] !== 0) matchedWinners += 1;
      }
      if (passed[collection] && matchedWinners !== rows.reduce((n, row) => (row !== 0 ? n + 1 : n), 0)) delete passed[collection];
      this.winners.push(winners);
      this.positions.push(positions);
      this.counts.push(winners.length);
      length += winners.length;
    }
    this.length = length;
    this.bytes = bytes;
    if (scan.known) this.known = { version: scan.known.version, passed };
  }

  collection(position: number): Collection {
    return COLLECTIONS[this.collectionIndex(position)]!;
  }

  id(position: number): string {
    const c = this.collectionIndex(position);
    return this.scan.items[COLLECTIONS[c]!].ids[this.winner(c, position)]!;
  }

  time(position: number): number {
    const c = this.collectionIndex(position);
    return this.timeOf(COLLECTIONS[c]!, this.winner(c, position));
  }

  json(position: number): string {
    const bytes = this.range(position);
    return utf8Text(bytes, 0, bytes.length);
  }

  utf8(position: number): Buffer {
    return this.range(position);
  }

  byteLength(position: number): number {
    const { items, k } = this.scanned(position);
    return items.ends[k]! - items.starts[k]!;
  }

  storedRow(position: number): number {
    const { items, k } = this.scanned(position);
    return items.rows[k]!;
  }

  hasText(position: number, json: string): boolean {
    const bytes = this.range(position);
    // A UTF-8 text takes at most 3 bytes per UTF-16 unit; the compared one is encoded into a scratch buffer kept for the next.
    if (this.scratch.length < json.length * 3) this.scratch = Buffer.allocUnsafe(json.length * 3);
    const length = this.scratch.write(json, 0, 'utf8');
    return length === bytes.length && this.scratch.compare(bytes, 0, length, 0, length) === 0;
  }

  joined(from: number, to: number): Buffer | undefined {
    const c = this.collectionIndex(from);
    if (to <= from || to > this.offsets[c]! + this.counts[c]!) return undefined;
    const { starts, ends } = this.scan.items[COLLECTIONS[c]!];
    const first = this.winner(c, from);
    const last = this.winner(c, to - 1);
    // Each position's winner is the next element: nothing left out, repeated or won by a later duplicate between them.
    for (let position = from; position < to; position++) if (this.winner(c, position) !== first + (position - from)) return undefined;
    for (let k = first; k < last; k++) if (starts[k + 1]! !== ends[k]! + 1) return undefined;
    const bytes = this.reader.bytes(starts[first]!, ends[last]!);
    const base = starts[first]!;
    for (let k = first; k < last; k++) if (bytes[ends[k]! - base] !== COMMA) return undefined;
    return bytes;
  }

  /** The item's bytes in the body: a view, valid until the next item is read. */
  private range(position: number): Buffer {
    const { items, k } = this.scanned(position);
    return this.reader.bytes(items.starts[k]!, items.ends[k]!);
  }

  /** The scanned items of the position's collection, and the index of its winner among them. */
  private scanned(position: number): { items: ScannedItems; k: number } {
    const c = this.collectionIndex(position);
    return { items: this.scan.items[COLLECTIONS[c]!], k: this.winner(c, position) };
  }

  /** The time of the collection's scanned item k, read from its text the first time where the scan left it unread. */
  private timeOf(collection: Collection, k: number): number {
    const { times, starts, ends } = this.scan.items[collection];
    if (Number.isNaN(times[k])) {
      const bytes = this.reader.bytes(starts[k]!, ends[k]!);
      times[k] = itemTime(JSON.parse(utf8Text(bytes, 0, bytes.length)) as Record<string, unknown>);
    }
    return times[k]!;
  }

  /** The scanned index of the item at a position of collection `c`. */
  private winner(c: number, position: number): number {
    const slot = position - this.offsets[c]!;
    const winners = this.winners[c];
    return winners ? winners[slot]! : slot;
  }

  positionOf(collection: Collection, id: string): number {
    const c = COLLECTIONS.indexOf(collection);
    let positions = this.positions[c];
    if (!positions) {
      const ids = this.scan.items[collection].ids;
      positions = new Map();
      for (let k = 0; k < ids.length; k++) positions.set(ids[k]!, k);
      this.positions[c] = positions;
    }
    const slot = positions.get(id);
    return slot === undefined ? -1 : this.offsets[c]! + slot;
  }

  holding(collection: Collection, ids: readonly string[]): ReadonlySet<string> {
    const positions = this.positions[COLLECTIONS.indexOf(collection)];
    if (positions) return new Set(ids.filter((id) => positions.has(id)));
    const wanted = new Set(ids);
    const held = new Set<string>();
    for (const id of this.scan.items[collection].ids) if (wanted.has(id)) held.add(id);
    return held;
  }

  span(collection: Collection): { start: number; end: number } {
    const c = COLLECTIONS.indexOf(collection);
    return { start: this.offsets[c]!, end: this.offsets[c]! + this.counts[c]! };
  }

  private collectionIndex(position: number): number {
    let c = COLLECTIONS.length - 1;
    while (position < this.offsets[c]!) c -= 1;
    return c;
  }
}
