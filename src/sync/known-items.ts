import type { Collection } from './model.js';

/**
 * The items a store already holds, offered to the scan in the store's order, one
 * collection at a time: an element whose bytes are exactly a stored item's text
 * is not parsed again (that text was a valid item when it was stored, and its id
 * and time are the stored ones). A re-upload is mostly such elements.
 */
export interface KnownItems {
  /** The collection's next stored item not yet offered, or undefined; `bytes` stays valid until the next call. */
  peek(collection: Collection): KnownItem | undefined;
  /** Moves on past the item peek gave; `matched` tells whether the element was that item. */
  skip(collection: Collection, matched: boolean): void;
  /**
   * The collection's next stored items as a run, when it is worth trying: how many,
   * and how many bytes their texts take joined by single commas.
   */
  peekRun(collection: Collection): { readonly count: number; readonly bytes: number } | undefined;
  /**
   * Whether `bytes` are exactly the texts of the run peekRun gave, joined by commas:
   * then their ids, times and text lengths in that order, and the items are passed.
   */
  confirmRun(collection: Collection, bytes: Buffer): { readonly ids: readonly string[]; readonly times: readonly number[]; readonly lengths: readonly number[] } | undefined;
}

export interface KnownItem {
  readonly bytes: Buffer;
  readonly id: string;
  readonly time: number;
}
