import { COLLECTIONS, type Collection } from './model.js';
import { OPEN_OBJECT } from './json-bytes.js';
import type { KnownItems, PassedRows } from './known-items.js';

/**
 * The half of a full upload's scan that finds, in the body, the items the store
 * already holds (KnownItems): one element at a time, or a run of them at once.
 * A matched element is recorded unparsed, from the store's id, time and row.
 */

/** Thrown when a step reaches the end of the window before the end of the body: the window moves on and the step runs again. */
export const NEED_MORE = Symbol('need more bytes');

/** Per collection, the items in document order, as parallel arrays. */
export interface ScannedItems {
  readonly ids: string[];
  /** NaN for an item found in a run of stored ones, not read yet: its text has it, for the few that need it (upload-plan.ts). */
  readonly times: number[];
  /** Byte offsets of each item's text in the body: [starts[k], ends[k]). */
  readonly starts: number[];
  readonly ends: number[];
  /** The stored row whose text the item is, byte for byte; 0 for an item parsed. */
  readonly rows: number[];
}

export interface KnownRows {
  readonly version: number;
  readonly passed: Partial<Record<Collection, PassedRows>>;
}

export function emptyItems(): ScannedItems {
  return { ids: [], times: [], starts: [], ends: [], rows: [] };
}

export function addScannedItem(items: ScannedItems, id: string, time: number, start: number, end: number, row: number): void {
  items.ids.push(id);
  items.times.push(time);
  items.starts.push(start);
  items.ends.push(end);
  items.rows.push(row);
}

/** What compact JSON has between two objects of an array. */
export const ITEM_BOUNDARY = Buffer.from('},{');
/** Elements compared with the stored items at once (KnownItems.confirmRun). */
const RUN_ITEMS = 1024;

/**
 * Positions are window offsets: `b` holds bytes [base, base + b.length) of the
 * body, and `eof` tells whether the window reaches its end. Sessions are never
 * matched: each is parsed, since an active one is left out of the upload.
 */
export class KnownMatcher {
  /** Body offset of the last element tried alone: a step run again after NEED_MORE does not skip one more. */
  private itemTried = -1;
  /** Body offset where a run was last tried (see itemTried). */
  private runTried = -1;
  /** Window offsets where the elements of the run being tried end. */
  private readonly runEnds: number[] = [];

  constructor(private readonly known: KnownItems) {}

  /**
   * The element at window offset `start` when its bytes are the next stored item's
   * text: recorded, and the window offset past it returned; else -1. Another
   * element moves the stored items on by one (an item changed in place), so the
   * ones after it line up again.
   */
  item(collection: Collection, items: ScannedItems, b: Buffer, base: number, eof: boolean, start: number): number {
    if (collection === 'sessions' || this.itemTried === base + start) return -1;
    const item = this.known.peek(collection);
    if (!item) return -1;
    const end = start + item.bytes.length;
    if (end > b.length && !eof) throw NEED_MORE;
    this.itemTried = base + start;
    const matched = end <= b.length && b.compare(item.bytes, 0, item.bytes.length, start, end) === 0;
    this.known.skip(collection, matched);
    if (!matched) return -1;
    addScannedItem(items, item.id, item.time, base + start, base + end, item.row);
    return end;
  }

  /**
   * Elements from window offset `start` that are, bytes for bytes, the next run
   * of stored items joined by commas (the store compares them): recorded all at
   * once. The run is cut where compact JSON puts the elements' ends, at `},{`.
   * Stored texts joined by commas have that between each two, so when as many
   * stored items as cuts match the bytes, the cuts are exactly their ends; a cut
   * inside an item (that text in a string) only makes the comparison fail.
   * Returns the body offset past the run and how many it held.
   */
  run(collection: Collection, items: ScannedItems, b: Buffer, base: number, eof: boolean, start: number): { end: number; count: number } | undefined {
    if (collection === 'sessions' || this.runTried === base + start || b[start] !== OPEN_OBJECT || !this.known.wantsRun(collection)) return undefined;
    const ends = this.runEnds;
    let end = start;
    let count = 0;
    for (; count < RUN_ITEMS; count++) {
      const boundary = b.indexOf(ITEM_BOUNDARY, end);
      if (boundary === -1) break;
      end = boundary + 1;
      ends[count] = end;
    }
    // A full run may lie past the window: once more from here, with the window starting at the run.
    if (count < RUN_ITEMS && !eof && start > 0) throw NEED_MORE;
    this.runTried = base + start;
    if (count === 0) return undefined;
    const confirmed = this.known.confirmRun(collection, b.subarray(start, end), count);
    if (!confirmed) return undefined;
    let at = start;
    for (let k = 0; k < count; k++) {
      addScannedItem(items, confirmed.ids[k]!, NaN, base + at, base + ends[k]!, confirmed.rows[k]!);
      at = ends[k]! + 1;
    }
    return { end: base + end, count };
  }

  /** What the matching told of the stored rows, for the collections listed once (`repeated`: an earlier copy's matches no longer count). */
  rows(repeated: ReadonlySet<string>): KnownRows {
    const passed: Partial<Record<Collection, PassedRows>> = {};
    for (const collection of COLLECTIONS) {
      const rows = this.known.passed(collection);
      if (rows && !repeated.has(collection)) passed[collection] = rows;
    }
    return { version: this.known.version, passed };
  }
}
