import { COLLECTIONS, type Collection } from '../sync/model.js';
import type { Database } from './sqlite-driver.js';
import type { JoinedItems } from './store.js';

/* SqliteStore's prepared statements, and how its reads are handed out in pages. */

const PAGE_ROWS = 1000;
/**
 * Rows per page of text (an export, a delta from scratch, the dashboard's read):
 * about 100 KiB. With 1,000, each page was still alive at most minor collections,
 * so V8 grew its young generation to the largest size and promoted pages it then
 * had to collect again: the dashboard's first read of a 25 MiB dataset peaked at
 * 42 MiB above idle instead of 23, and was no faster.
 */
const TEXT_PAGE_ROWS = 250;

export const COUNT_ITEMS = 'SELECT collection, count(*) AS n FROM items WHERE dataset_id = ? GROUP BY collection';

export function countsOf(rows: readonly { collection: Collection; n: number }[]): Record<Collection, number> {
  const counts = Object.fromEntries(COLLECTIONS.map((c) => [c, 0])) as Record<Collection, number>;
  for (const row of rows) counts[row.collection] = row.n;
  return counts;
}

/** Runs the query on the first page asked for, not when the export is assembled: one cursor at a time on the reader. */
export async function* pages(query: () => Iterable<string>, after: readonly string[] = []): AsyncGenerator<string[]> {
  let page: string[] = [];
  for (const row of query()) {
    page.push(row);
    if (page.length === TEXT_PAGE_ROWS) {
      yield page;
      page = [];
    }
  }
  page.push(...after);
  if (page.length > 0) yield page;
}

/**
 * A collection's items in the export's order as UTF-8 bytes, PAGE_ROWS at a time
 * joined by commas: SQLite joins them, so no string is made for each item. An
 * aggregate's order is SQLite's choice: the rowids, listed in the same pass, show
 * it, and a page not in rowid order is read again row by row (never seen so far).
 */
export async function* joinedItems(db: Database, datasetId: number, collection: Collection): AsyncGenerator<JoinedItems> {
  const range = `FROM items INDEXED BY items_in_order WHERE dataset_id = ? AND collection = ? AND rowid > ? ORDER BY rowid LIMIT ${PAGE_ROWS}`;
  const page = db.prepare(`SELECT max(r), group_concat(r), CAST(group_concat(json, ',') AS BLOB) FROM (SELECT rowid AS r, json ${range})`).raw();
  const rows = db.prepare(`SELECT json ${range}`).pluck();
  let after = -1;
  for (;;) {
    const [last, rowids, joined] = page.get(datasetId, collection, after) as [number | null, string | null, Buffer | null];
    if (last === null || rowids === null || joined === null) return;
    const count = ascendingCount(rowids);
    if (count > 0) yield { bytes: joined, rows: count };
    else {
      const texts = rows.all(datasetId, collection, after) as string[];
      yield { bytes: Buffer.from(texts.join(','), 'utf8'), rows: texts.length };
    }
    after = last;
  }
}

/** How many integers a comma-separated list holds if they are in ascending order, else 0; read without splitting it. */
function ascendingCount(list: string): number {
  let previous = -Infinity;
  let value = 0;
  let count = 0;
  for (let i = 0; i <= list.length; i++) {
    const c = i < list.length ? list.charCodeAt(i) : 0x2c;
    if (c !== 0x2c) {
      value = value * 10 + (c - 0x30);
      continue;
    }
    if (value <= previous) return 0;
    previous = value;
    value = 0;
    count++;
  }
  return count;
}

function upsertItemSql(json: string): string {
  return `INSERT INTO items (dataset_id, collection, id, updated_ms, stamp, json) VALUES (?, ?, ?, ?, ?, ${json})
       ON CONFLICT (dataset_id, collection, id) DO UPDATE SET updated_ms = excluded.updated_ms, stamp = excluded.stamp, json = excluded.json`;
}

export function prepareStatements(db: Database) {
  return {
    datasetByName: db.prepare('SELECT id FROM datasets WHERE name = ?'),
    insertDataset: db.prepare('INSERT INTO datasets (name, created_at) VALUES (?, ?)'),
    datasetById: db.prepare('SELECT last_stamp, written, extra_json, json_bytes, max_bytes FROM datasets WHERE id = ?'),
    updateDataset: db.prepare('UPDATE datasets SET last_stamp = ?, written = 1, extra_json = ?, json_bytes = ? WHERE id = ?'),
    itemBytes: db.prepare('SELECT length(CAST(json AS BLOB)) FROM items WHERE dataset_id = ? AND collection = ? AND id = ?').pluck(),
    tombstoneBytes: db.prepare('SELECT coalesce(sum(length(CAST(json AS BLOB))), 0) FROM tombstones WHERE dataset_id = ?').pluck(),
    itemById: db.prepare('SELECT updated_ms AS time, json, stamp FROM items WHERE dataset_id = ? AND collection = ? AND id = ?'),
    tombstoneById: db.prepare('SELECT json, stamp FROM tombstones WHERE dataset_id = ? AND type_key = ? AND id = ?'),
    deleteItem: db.prepare('DELETE FROM items WHERE dataset_id = ? AND collection = ? AND id = ?'),
    removeItem: db.prepare('DELETE FROM items WHERE dataset_id = ? AND collection = ? AND id = ? RETURNING length(CAST(json AS BLOB))').pluck(),
    upsertItem: db.prepare(upsertItemSql('?')),
    // The JSON given as UTF-8 bytes from the upload's body, stored as text without a JS string made of it.
    upsertItemUtf8: db.prepare(upsertItemSql('CAST(? AS TEXT)')),
    insertTombstone: db.prepare('INSERT OR IGNORE INTO tombstones (dataset_id, type_key, id, stamp, json) VALUES (?, ?, ?, ?, ?)'),
    itemsBetween: db.prepare('SELECT json FROM items INDEXED BY items_by_stamp WHERE dataset_id = ? AND collection = ? AND stamp > ? AND stamp < ? ORDER BY stamp, rowid').pluck(),
    tombstonesBetween: db.prepare('SELECT json FROM tombstones WHERE dataset_id = ? AND stamp > ? AND stamp < ? ORDER BY stamp').pluck(),
    deleteItemRow: db.prepare('DELETE FROM items WHERE rowid = ?'),
    deleteTombstone: db.prepare('DELETE FROM tombstones WHERE dataset_id = ? AND type_key = ? AND id = ?'),
    insertHistory: db.prepare('INSERT INTO history (dataset_id, created_at, reason, items, tombstones, raw_bytes, gzip) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    pruneHistory: db.prepare('DELETE FROM history WHERE dataset_id = ? AND id NOT IN (SELECT id FROM history WHERE dataset_id = ? ORDER BY id DESC LIMIT ?)'),
    listHistory: db.prepare(
      `SELECT id, created_at AS createdAt, reason, items, tombstones, raw_bytes AS rawBytes, length(gzip) AS storedBytes
       FROM history WHERE dataset_id = ? ORDER BY id DESC`,
    ),
    readHistory: db.prepare('SELECT gzip FROM history WHERE dataset_id = ? AND id = ?').pluck(),
    countItems: db.prepare(COUNT_ITEMS),
    pruneTombstones: db.prepare('DELETE FROM tombstones WHERE dataset_id = ? AND stamp < ? RETURNING length(CAST(json AS BLOB))').pluck(),
    shrinkDataset: db.prepare('UPDATE datasets SET json_bytes = json_bytes - ? WHERE id = ?'),
    countTombstones: db.prepare('SELECT count(*) FROM tombstones WHERE dataset_id = ?').pluck(),
  };
}
