import { createHash } from 'node:crypto';
import type pg from 'pg';
import { itemKey, type StoredItem, type StoredState, type StoredTombstone } from '../sync/merge.js';
import { COLLECTIONS, normaliseTombstoneType, tombstoneTypeOf, type Collection } from '../sync/model.js';
import type { DeltaRequest } from '../sync/validate.js';
import { sameJsonText } from '../sync/json-equal.js';

/*
 * PgStore's row-level SQL: the one read a delta makes, batched writes of items
 * and tombstones, server-side cursors, and how ids are kept as keys.
 */

/** Rows per FETCH of an export and per multi-row write: one round trip each. */
export const PAGE_ROWS = 1000;
export const WRITE_ROWS = 2000;

export interface DeltaRead {
  readonly state: StoredState;
  /** Items and tombstones stamped after `since`, in stamp order (ties in the order first stored). */
  readonly changedItems: { collection: Collection; id: string; json: string }[];
  readonly changedTombstones: { json: string }[];
}

/**
 * One query for all a delta reads: the stored rows of every id the request
 * touches (for the merge, which then reads them synchronously) and everything
 * stamped after `since` (the answer). Sorted here, since a UNION has no order.
 */
export async function readForDelta(db: pg.PoolClient, datasetId: number, request: DeltaRequest, since: number): Promise<DeltaRead> {
  const itemKeys: { collection: string; id: string }[] = [];
  const tombstoneKeys: { typeKey: string; id: string }[] = [];
  for (const item of request.changes.items) {
    itemKeys.push(item);
    tombstoneKeys.push({ typeKey: tombstoneTypeOf(item.collection), id: item.id });
  }
  for (const t of request.changes.tombstones) {
    tombstoneKeys.push(t);
    if (t.collection) itemKeys.push({ collection: t.collection, id: t.id });
  }
  const { rows } = await db.query<{ kind: 'item' | 'tombstone' | 'changed item' | 'changed tombstone'; k: string; id: string; time: number | null; json: string; stamp: number; seq: number }>(
    `SELECT 'item' AS kind, i.collection AS k, i.id, i.updated_ms AS time, i.json, i.stamp, i.seq
     FROM items i JOIN unnest($2::text[], $3::text[]) AS k(collection, id) ON i.collection = k.collection AND i.id = k.id WHERE i.dataset_id = $1
     UNION ALL
     SELECT 'tombstone', t.type_key, t.id, NULL, t.json, t.stamp, t.seq
     FROM tombstones t JOIN unnest($4::text[], $5::text[]) AS k(type_key, id) ON t.type_key = k.type_key AND t.id = k.id WHERE t.dataset_id = $1
     UNION ALL
     SELECT 'changed item', collection, id, NULL, json, stamp, seq FROM items WHERE dataset_id = $1 AND stamp > $6
     UNION ALL
     SELECT 'changed tombstone', type_key, id, NULL, json, stamp, seq FROM tombstones WHERE dataset_id = $1 AND stamp > $6`,
    [datasetId, itemKeys.map((k) => k.collection), itemKeys.map((k) => key(k.id)), tombstoneKeys.map((k) => key(k.typeKey)), tombstoneKeys.map((k) => key(k.id)), since],
  );
  const items = new Map<string, StoredItem>();
  const tombstones = new Map<string, StoredTombstone>();
  const changedItems: typeof rows = [];
  const changedTombstones: typeof rows = [];
  for (const row of rows) {
    if (row.kind === 'item') items.set(itemKey(row.k, row.id), { collection: row.k as Collection, id: unkey(row.id, idIn(row.json)), time: row.time!, json: row.json, stamp: row.stamp });
    else if (row.kind === 'tombstone') tombstones.set(itemKey(row.k, row.id), { typeKey: unkey(row.k, typeKeyIn(row.json)), id: unkey(row.id, idIn(row.json)), json: row.json, stamp: row.stamp });
    else if (row.kind === 'changed item') changedItems.push(row);
    else changedTombstones.push(row);
  }
  const byStamp = (a: { stamp: number; seq: number }, b: { stamp: number; seq: number }): number => a.stamp - b.stamp || a.seq - b.seq;
  return {
    state: {
      item: (collection, id) => items.get(itemKey(collection, key(id))),
      tombstone: (typeKey, id) => tombstones.get(itemKey(key(typeKey), key(id))),
    },
    changedItems: changedItems.sort(byStamp).map((r) => ({ collection: r.k as Collection, id: unkey(r.id, idIn(r.json)), json: r.json })),
    changedTombstones: changedTombstones.sort(byStamp),
  };
}

/**
 * A full upload's batch of items, written with the upload's stamp unless stored
 * with this very text. One stored with the same JSON value in another text (keys
 * reordered, whitespace) is then put back as it was, text and stamp: its content
 * is unchanged (sync-semantics.md, section 5). The rows as they were before the
 * write come back from the same statement, a WITH's parts sharing one snapshot,
 * for the rows it replaced alone (xmax is set on a row ON CONFLICT updated, not
 * on one it inserted): a first upload reads nothing back. A join, not a lookup
 * per row: before PostgreSQL has statistics on the items (a new database, a bulk
 * load) it took the index by collection for that lookup, one pass over the
 * collection per item, and a re-upload of a few thousand went from 1 s to minutes.
 * Returns how many rows the batch changed.
 */
export async function upsertItems(
  db: pg.PoolClient,
  datasetId: number,
  stamp: number,
  items: readonly { collection: Collection; id: string; time: number; json: string }[],
): Promise<number> {
  if (items.length === 0) return 0;
  // ORDER BY n: new rows take their seq in the order they came, as SQLite's rowid does.
  const { rows } = await db.query<{ written: string | null; collection: Collection | null; id: string | null; json: string | null; stamp: string | null; time: number | null }>(
    `WITH written AS (
       INSERT INTO items (dataset_id, collection, id, updated_ms, stamp, json)
       SELECT $1, k.collection, k.id, k.time, $2, k.json
       FROM unnest($3::text[], $4::text[], $5::float8[], $6::text[]) WITH ORDINALITY AS k(collection, id, time, json, n) ORDER BY k.n
       ON CONFLICT (dataset_id, collection, id) DO UPDATE SET updated_ms = excluded.updated_ms, stamp = excluded.stamp, json = excluded.json
       WHERE items.json IS DISTINCT FROM excluded.json
       RETURNING collection, id, xmax <> 0 AS replaced)
     SELECT count(*)::text AS written, NULL AS collection, NULL AS id, NULL AS json, NULL AS stamp, NULL AS time FROM written
     UNION ALL
     SELECT NULL, i.collection, i.id, i.json, i.stamp, i.updated_ms FROM written w
     JOIN items i ON i.dataset_id = $1 AND i.collection = w.collection AND i.id = w.id
     WHERE w.replaced`,
    [datasetId, stamp, items.map((i) => i.collection), items.map((i) => key(i.id)), items.map((i) => i.time), items.map((i) => i.json)],
  );
  const written = Number(rows.find((row) => row.written !== null)!.written);
  const replaced = rows.filter((row) => row.json !== null);
  if (replaced.length === 0) return written;
  const uploaded = new Map(items.map((i) => [itemKey(i.collection, key(i.id)), i.json]));
  const unchanged = replaced.filter((row) => sameJsonText(row.json!, uploaded.get(itemKey(row.collection!, row.id!))!));
  if (unchanged.length > 0) {
    await db.query(
      `UPDATE items i SET json = r.json, stamp = r.stamp, updated_ms = r.time
       FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::float8[]) AS r(collection, id, json, stamp, time)
       WHERE i.dataset_id = $1 AND i.collection = r.collection AND i.id = r.id`,
      [datasetId, ...(['collection', 'id', 'json', 'stamp', 'time'] as const).map((column) => unchanged.map((row) => row[column]))],
    );
  }
  return written - unchanged.length;
}

export async function insertTombstones(
  db: pg.PoolClient,
  datasetId: number,
  stamp: number,
  tombstones: readonly { typeKey: string; id: string; json: string }[],
): Promise<number> {
  let added = 0;
  for (let start = 0; start < tombstones.length; start += WRITE_ROWS) {
    const batch = tombstones.slice(start, start + WRITE_ROWS);
    const result = await db.query(
      `INSERT INTO tombstones (dataset_id, type_key, id, stamp, json)
       SELECT $1, k.type_key, k.id, $2, k.json
       FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS k(type_key, id, json, n) ORDER BY k.n
       ON CONFLICT DO NOTHING`,
      [datasetId, stamp, batch.map((t) => key(t.typeKey)), batch.map((t) => key(t.id)), batch.map((t) => t.json)],
    );
    added += result.rowCount ?? 0;
  }
  return added;
}

/** Pages of rows from a server-side cursor, declared on the first page asked for. */
export async function* cursorRows<T extends pg.QueryResultRow>(db: pg.PoolClient, cursor: string, sql: string, params: unknown[]): AsyncGenerator<T[]> {
  await db.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${sql}`, params);
  try {
    for (;;) {
      const { rows } = await db.query<T>(`FETCH ${PAGE_ROWS} FROM ${cursor}`);
      if (rows.length > 0) yield rows;
      if (rows.length < PAGE_ROWS) return;
    }
  } finally {
    await db.query(`CLOSE ${cursor}`).catch(() => undefined);
  }
}

/** Each collection's item count of dataset `d`, as one JSON object. */
export const ITEM_COUNTS = '(SELECT json_object_agg(collection, n) FROM (SELECT collection, count(*) AS n FROM items WHERE dataset_id = d.id GROUP BY collection) c)';

export function countsOf(counts: Record<string, number> | null): Record<Collection, number> {
  return Object.fromEntries(COLLECTIONS.map((c) => [c, Number(counts?.[c] ?? 0)])) as Record<Collection, number>;
}

export async function* fetchPages(db: pg.PoolClient, cursor: string, sql: string, params: unknown[]): AsyncGenerator<string[]> {
  for await (const rows of cursorRows<{ json: string }>(db, cursor, sql, params)) yield rows.map((r) => r.json);
}

export const LONG_KEY_BYTES = 1000;
const HASHED_KEY = '\\h';

/**
 * Ids and types are keys only (the JSON text is what is answered). They are
 * stored as they are, except that U+0000, which PostgreSQL text cannot hold, and
 * the backslash are escaped (one-to-one), and that one longer than LONG_KEY_BYTES
 * is stored as `\h` and its SHA-256: a b-tree entry holds at most about 2.7 kB,
 * and a longer id made the write a 500. No escaped key starts with `\h`.
 */
export function key(id: string): string {
  if (id.length > LONG_KEY_BYTES / 3 && Buffer.byteLength(id) > LONG_KEY_BYTES) return `${HASHED_KEY}${createHash('sha256').update(id).digest('hex')}`;
  if (!id.includes('\u0000') && !id.includes('\\')) return id;
  return id.replaceAll('\\', '\\\\').replaceAll('\u0000', '\\0');
}

/** What a stored key stands for; a hashed one is read from the row's own JSON, by `original`. */
export function unkey(stored: string, original: () => string): string {
  if (!stored.includes('\\')) return stored;
  if (stored.startsWith(HASHED_KEY)) return original();
  return stored.replace(/\\(\\|0)/g, (_match, c: string) => (c === '0' ? '\u0000' : '\\'));
}

/** The id an item's or tombstone's JSON holds (the last `id`, as JSON.parse reads it). */
export function idIn(json: string): () => string {
  return () => (JSON.parse(json) as { id: string }).id;
}

/** The type key of a tombstone's JSON, normalised as when it came in. */
export function typeKeyIn(json: string): () => string {
  return () => normaliseTombstoneType((JSON.parse(json) as { type?: unknown }).type).typeKey;
}

/**
 * A from-scratch delta's answer, read inside its write transaction and kept past
 * the COMMIT: cursors declared WITH HOLD see exactly the state at the delta's
 * stamp (the row lock keeps every other writer out until then), and PostgreSQL
 * keeps their rows on its side at COMMIT, so they are fetched page by page while
 * the answer is sent. Rows this delta wrote (stamped `stamp`) are left out; the
 * device sent them. Nothing is queried once `close` was called: by then the
 * connection may be back in the pool.
 */
export class HeldAnswer {
  private closed = false;

  private constructor(
    private readonly db: pg.PoolClient,
    private readonly release: (err?: Error) => void,
  ) {}

  /** Declares the cursors; call inside the write transaction, after its writes. `release` gives the connection back after the COMMIT. */
  static async declare(db: pg.PoolClient, datasetId: number, stamp: number, release: (err?: Error) => void): Promise<HeldAnswer> {
    if (!Number.isSafeInteger(datasetId) || !Number.isSafeInteger(stamp)) throw new Error(`bad dataset ${datasetId} or stamp ${stamp}`);
    // One simple query (one round trip), which takes no parameters: both numbers are checked integers.
    const declare = (cursor: string, select: string): string => `DECLARE ${cursor} NO SCROLL CURSOR WITH HOLD FOR ${select} AND stamp < ${stamp} ORDER BY stamp, seq;`;
    await db.query(
      COLLECTIONS.map((c) => declare(heldCursor(c), `SELECT json FROM items WHERE dataset_id = ${datasetId} AND collection = '${c}'`)).join('') +
        declare(heldCursor('tombstones'), `SELECT json FROM tombstones WHERE dataset_id = ${datasetId}`),
    );
    return new HeldAnswer(db, release);
  }

  items(collection: Collection, after: readonly string[]): AsyncGenerator<string[]> {
    return this.pages(heldCursor(collection), after);
  }

  tombstones(after: readonly string[]): AsyncGenerator<string[]> {
    return this.pages(heldCursor('tombstones'), after);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Queued behind any FETCH still in flight on this connection.
    this.db.query('CLOSE ALL').then(
      () => this.release(),
      (err: Error) => this.release(err),
    );
  }

  private async *pages(cursor: string, after: readonly string[]): AsyncGenerator<string[]> {
    for (;;) {
      if (this.closed) return;
      const { rows } = await this.db.query<{ json: string }>(`FETCH ${PAGE_ROWS} FROM ${cursor}`);
      if (rows.length > 0) yield rows.map((r) => r.json);
      if (rows.length < PAGE_ROWS) break;
    }
    if (after.length > 0) yield [...after];
  }
}

function heldCursor(part: Collection | 'tombstones'): string {
  return `delta_${part}`;
}
