import type pg from 'pg';
import { joinedPages } from '../sync/document.js';
import { countsOf, fetchPages, ITEM_COUNTS } from './pg-rows.js';
import type { ChangeSnapshot, ExportSnapshot, TextPages } from './store.js';

/*
 * PgStore's long reads: each on a connection of its own in one REPEATABLE READ
 * transaction, so an export is streamed over many event-loop turns from one
 * consistent read while writes go on through the pool's other connections.
 */

interface Snapshot {
  readonly db: pg.PoolClient;
  close(): void;
  /** Pages of a query's rows, read through a cursor of its own in this snapshot. */
  pages(sql: string, params: unknown[]): TextPages;
}

async function openSnapshot(pool: pg.Pool): Promise<Snapshot> {
  const db = await pool.connect();
  let open = true;
  const close = (): void => {
    if (!open) return;
    open = false;
    // Queued behind any FETCH still in flight on this connection.
    db.query('COMMIT').then(
      () => db.release(),
      (err: Error) => db.release(err),
    );
  };
  try {
    await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  } catch (err) {
    close();
    throw err;
  }
  let cursors = 0;
  return { db, close, pages: (sql, params) => fetchPages(db, `read_${++cursors}`, sql, params) };
}

/** `read` in a new snapshot, which is closed if it throws or gives nothing back (a dataset never written). */
async function withSnapshot<T>(pool: pg.Pool, read: (snapshot: Snapshot) => Promise<T | undefined>): Promise<T | undefined> {
  const snapshot = await openSnapshot(pool);
  try {
    const result = await read(snapshot);
    if (result === undefined) snapshot.close();
    return result;
  } catch (err) {
    snapshot.close();
    throw err;
  }
}

const ITEMS_IN_ORDER = 'SELECT json FROM items WHERE dataset_id = $1 AND collection = $2 ORDER BY seq';

export function openExport(pool: pg.Pool, datasetId: number): Promise<ExportSnapshot | undefined> {
  return withSnapshot(pool, async ({ db, close, pages }) => {
    const { rows } = await db.query<{ written: boolean; extra_json: string }>('SELECT written, extra_json FROM datasets WHERE id = $1', [datasetId]);
    if (!rows[0]?.written) return undefined;
    return {
      extraFieldsJson: rows[0].extra_json,
      items: (collection) => pages(ITEMS_IN_ORDER, [datasetId, collection]),
      itemBytes: (collection) => joinedPages(pages(ITEMS_IN_ORDER, [datasetId, collection])),
      tombstones: () => pages('SELECT json FROM tombstones WHERE dataset_id = $1 ORDER BY stamp, seq', [datasetId]),
      close,
    };
  });
}

export function openChanges(pool: pg.Pool, datasetId: number, since: number): Promise<ChangeSnapshot | undefined> {
  return withSnapshot(pool, async ({ db, close, pages }) => {
    const { rows } = await db.query<{ written: boolean; last_stamp: number; counts: Record<string, number> | null }>(
      `SELECT d.written, d.last_stamp, ${ITEM_COUNTS} AS counts FROM datasets d WHERE d.id = $1`,
      [datasetId],
    );
    if (!rows[0]?.written) return undefined;
    // As GET /sync/delta reads what changed since a device's last sync, in the export's order.
    return {
      stamp: rows[0].last_stamp,
      counts: countsOf(rows[0].counts),
      items: (collection) => pages('SELECT json FROM items WHERE dataset_id = $1 AND stamp > $2 AND collection = $3 ORDER BY seq', [datasetId, since, collection]),
      tombstones: () => pages('SELECT json FROM tombstones WHERE dataset_id = $1 AND stamp > $2 ORDER BY stamp, seq', [datasetId, since]),
      close,
    };
  });
}
