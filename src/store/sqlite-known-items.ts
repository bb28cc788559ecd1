import type { Collection } from '../sync/model.js';
import type { KnownItem, KnownItems } from '../sync/known-items.js';
import type { Database } from './sqlite-driver.js';

/** Stored items read at a time to be offered one by one: smaller Buffers, which the allocator reuses rather than keeps. */
const ITEM_BATCH_ROWS = 256;

interface Cursor {
  /** The last rowid passed; undefined once the collection is read to its end. */
  after: number | undefined;
  /** Whether the next items are offered as a run: until a run differs, and again after a batch of single items that all matched. */
  runs: boolean;
  /** The batch offered one item at a time. */
  texts: Buffer;
  rows: number[];
  ids: string[];
  times: number[];
  lengths: number[];
  row: number;
  offset: number;
  mismatched: boolean;
  /** The last row offered (-1: none yet), and those offered without a match. */
  through: number;
  unmatched: number[];
}

/**
 * A dataset's stored items in the export's order for the full-upload scan
 * (KnownItems), from `reader`, a connection in a read transaction: every query
 * reads the same snapshot. Within one query the aggregates see the rows in one
 * and the same order, so each id, time and length belongs to the text at the
 * same place, whatever that order is.
 */
export function knownItems(reader: Database, datasetId: number, version: number): KnownItems {
  const rows = (limit: string) =>
    `FROM (SELECT rowid AS r, id, updated_ms AS t, octet_length(json) AS n, json FROM items INDEXED BY items_in_order
       WHERE dataset_id = ? AND collection = ? AND rowid > ? ORDER BY rowid LIMIT ${limit})`;
  // The run compared by SQLite itself: no text comes into JavaScript for it.
  const sameRun = reader
    .prepare(`SELECT CAST(group_concat(json, ',') AS BLOB) = ?, count(*), json_group_array(id), json_group_array(r) ${rows('?')}`)
    .raw();
  const batchOf = reader
    .prepare(`SELECT max(r), json_group_array(id), json_group_array(t), json_group_array(n), json_group_array(r), CAST(group_concat(json, '') AS BLOB) ${rows(String(ITEM_BATCH_ROWS))}`)
    .raw();
  const cursors = new Map<Collection, Cursor>();
  /** Runs are tried between batches of single items, never in the middle of one. */
  const runWanted = (cursor: Cursor): boolean => cursor.runs && cursor.row >= cursor.ids.length && cursor.after !== undefined;
  const cursorOf = (collection: Collection): Cursor => {
    let cursor = cursors.get(collection);
    if (!cursor) {
      cursor = { after: -1, runs: true, texts: Buffer.alloc(0), rows: [], ids: [], times: [], lengths: [], row: 0, offset: 0, mismatched: false, through: -1, unmatched: [] };
      cursors.set(collection, cursor);
    }
    return cursor;
  };
  /** The batch offered one by one, read when the last is done. */
  const current = (collection: Collection): Cursor | undefined => {
    const cursor = cursorOf(collection);
    if (cursor.row < cursor.ids.length) return cursor;
    if (cursor.after === undefined) return undefined;
    const [last, ids, times, lengths, rowids, texts] = batchOf.get(datasetId, collection, cursor.after) as [number | null, string, string, string, string, Buffer | null];
    if (last === null || texts === null) {
      cursor.after = undefined;
      cursor.through = Infinity;
      return undefined;
    }
    cursor.rows = JSON.parse(rowids) as number[];
    cursor.ids = JSON.parse(ids) as string[];
    cursor.times = JSON.parse(times) as number[];
    cursor.lengths = JSON.parse(lengths) as number[];
    if (cursor.lengths.reduce((sum, n) => sum + n, 0) !== texts.length) throw new Error('stored item lengths do not add up to their texts');
    cursor.texts = texts;
    cursor.row = 0;
    cursor.offset = 0;
    cursor.mismatched = false;
    cursor.after = last;
    return cursor;
  };
  return {
    version,
    peek(collection): KnownItem | undefined {
      const cursor = current(collection);
      if (!cursor) return undefined;
      return {
        bytes: cursor.texts.subarray(cursor.offset, cursor.offset + cursor.lengths[cursor.row]!),
        id: cursor.ids[cursor.row]!,
        time: cursor.times[cursor.row]!,
        row: cursor.rows[cursor.row]!,
      };
    },
    skip(collection, matched): void {
      const cursor = current(collection);
      if (!cursor) return;
      const row = cursor.rows[cursor.row]!;
      cursor.through = row;
      if (!matched) cursor.unmatched.push(row);
      cursor.offset += cursor.lengths[cursor.row]!;
      cursor.row += 1;
      if (!matched) cursor.mismatched = true;
      if (cursor.row === cursor.ids.length && !cursor.mismatched) cursor.runs = true;
    },
    wantsRun(collection) {
      return runWanted(cursorOf(collection));
    },
    confirmRun(collection, bytes, count) {
      const cursor = cursorOf(collection);
      const wanted = runWanted(cursor);
      // Whatever the answer, the items are offered one by one from here until a batch of them all matches.
      cursor.runs = false;
      if (!wanted) return undefined;
      const [equal, found, idList, rowList] = sameRun.get(bytes, datasetId, collection, cursor.after, count) as [number | null, number, string, string];
      if (equal !== 1 || found !== count) return undefined;
      const ids = JSON.parse(idList) as string[];
      const rows = JSON.parse(rowList) as number[];
      if (ids.length !== count || rows.length !== count) return undefined;
      cursor.after = rows[count - 1]!;
      cursor.through = rows[count - 1]!;
      cursor.runs = true;
      return { ids, rows };
    },
    passed(collection) {
      const cursor = cursors.get(collection);
      return cursor && cursor.through !== -1 ? { unmatched: cursor.unmatched, through: cursor.through } : undefined;
    },
  };
}
