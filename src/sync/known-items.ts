import type { Collection } from './model.js';

/**
 * The items a store already holds, offered to the scan in the store's order, one
 * collection at a time: an element whose bytes are exactly a stored item's text
 * is not parsed again (that text was a valid item when it was stored, and its id
 * and time are the stored ones). A re-upload is mostly such elements.
 *
 * What the scan matched is also what the store's comparison needs to know, so
 * each item carries its stored row, and `passed` tells which stored rows were
 * offered without a match: while the dataset is still at `version`, the store
 * need not compare the matched rows with the body a second time.
 */
export interface KnownItems {
  /** The dataset's version (its last stamp) the items are read from. */
  readonly version: number;
  /** The collection's next stored item not yet offered, or undefined; `bytes` stays valid until the next call. */
  peek(collection: Collection): KnownItem | undefined;
  /** Moves on past the item peek gave; `matched` tells whether the element was that item. */
  skip(collection: Collection, matched: boolean): void;
  /** Whether the collection's next stored items are worth trying as a run (confirmRun): while runs have matched, and again after a batch of single items that all did. */
  wantsRun(collection: Collection): boolean;
  /**
   * Whether `bytes` are exactly the texts of the collection's next `count` stored
   * items, joined by single commas: then their ids and rows in that order, and the
   * items are passed. (Their times are in their texts, for the few that need one.)
   */
  confirmRun(collection: Collection, bytes: Buffer, count: number): { readonly ids: readonly string[]; readonly rows: readonly number[] } | undefined;
  /** The stored rows offered so far and how they fared, or undefined if none of the collection was offered. */
  passed(collection: Collection): PassedRows | undefined;
}

export interface KnownItem {
  readonly bytes: Buffer;
  readonly id: string;
  readonly time: number;
  /** The stored row (never 0). */
  readonly row: number;
}

/** Stored rows of one collection the scan went past: every row up to `through` was offered, and all matched but `unmatched`. */
export interface PassedRows {
  readonly unmatched: readonly number[];
  /** The last row offered, in the store's order; Infinity once the collection was offered to its end. */
  readonly through: number;
}
