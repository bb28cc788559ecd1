import { Database } from './sqlite-driver.js';
import { knownItems } from './sqlite-known-items.js';
import { COUNT_ITEMS, countsOf, joinedItems, pages } from './sqlite-statements.js';
import type { Collection } from '../sync/model.js';
import type { KnownItems } from '../sync/known-items.js';
import type { ChangeSnapshot, DeltaOutcome, ExportSnapshot } from './store.js';

/*
 * SqliteStore's long reads: each on a read-only connection of its own, in one read
 * transaction, so a large answer is streamed over many event-loop turns from one
 * consistent state while writes go on through the store's main connection.
 */

/** A one-pass reader's page cache: room for the index and table pages of the rows at hand. */
const READER_CACHE_KIB = 512;

interface Reader {
  readonly db: Database;
  /**
   * The rows of a query run on this reader, ended by close() if they are still
   * being read then: SQLite refuses to end a transaction, or close, while a query
   * runs, and an answer abandoned by its client is closed while its page waits.
   */
  cursor<T>(rows: IterableIterator<T>): Iterable<T>;
  close(): void;
}

function openReader(file: string): Reader {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  // A reader reads each page once, in order: better-sqlite3's default 16 MiB page
  // cache filled up with pages never read again (a dashboard's first load of a
  // year of climbing: 16 of its 46 MiB above idle), held for as long as the read lasted.
  db.pragma(`cache_size = -${READER_CACHE_KIB}`);
  let open = true;
  const running = new Set<IterableIterator<unknown>>();
  const cursor = <T>(rows: IterableIterator<T>): Iterable<T> => {
    running.add(rows);
    return {
      [Symbol.iterator]: () => ({
        next: () => {
          const row = rows.next();
          if (row.done) running.delete(rows);
          return row;
        },
        return: (value?: unknown) => {
          running.delete(rows);
          rows.return?.();
          return { done: true as const, value: value as T };
        },
      }),
    };
  };
  const close = (): void => {
    if (!open) return;
    open = false;
    for (const rows of running) rows.return?.();
    running.clear();
    if (db.inTransaction) db.exec('COMMIT');
    db.close();
  };
  try {
    db.exec('BEGIN');
  } catch (err) {
    close();
    throw err;
  }
  return { db, cursor, close };
}

/** `read` on a new reader, which is closed if it throws or gives nothing back (a dataset never written). */
function withReader<T>(file: string, read: (reader: Reader) => T | undefined): T | undefined {
  const reader = openReader(file);
  try {
    const result = read(reader);
    if (result === undefined) reader.close();
    return result;
  } catch (err) {
    reader.close();
    throw err;
  }
}

interface DatasetHead {
  written: number;
  last_stamp: number;
  extra_json: string;
}

function writtenDataset(db: Database, datasetId: number): DatasetHead | undefined {
  const dataset = db.prepare('SELECT written, last_stamp, extra_json FROM datasets WHERE id = ?').get(datasetId) as DatasetHead | undefined;
  return dataset?.written ? dataset : undefined;
}

export function openKnownItems(file: string, datasetId: number): (KnownItems & { close(): void }) | undefined {
  return withReader(file, ({ db, close }) => {
    const dataset = writtenDataset(db, datasetId);
    return dataset && { ...knownItems(db, datasetId, dataset.last_stamp), close };
  });
}

export function openExport(file: string, datasetId: number): ExportSnapshot | undefined {
  return withReader(file, ({ db, cursor, close }) => {
    const dataset = writtenDataset(db, datasetId);
    if (!dataset) return undefined;
    const itemsOf = db.prepare('SELECT json FROM items INDEXED BY items_in_order WHERE dataset_id = ? AND collection = ? ORDER BY rowid').pluck();
    const tombstonesOf = db.prepare('SELECT json FROM tombstones WHERE dataset_id = ? ORDER BY stamp, rowid').pluck();
    return {
      extraFieldsJson: dataset.extra_json,
      // Lazy: each query starts only when the export reaches its array.
      items: (collection) => pages(() => cursor(itemsOf.iterate(datasetId, collection) as IterableIterator<string>)),
      itemBytes: (collection) => joinedItems(db, datasetId, collection),
      tombstones: () => pages(() => cursor(tombstonesOf.iterate(datasetId) as IterableIterator<string>)),
      close,
    };
  });
}

export function openChanges(file: string, datasetId: number, since: number): ChangeSnapshot | undefined {
  return withReader(file, ({ db, cursor, close }) => {
    const dataset = writtenDataset(db, datasetId);
    if (!dataset) return undefined;
    const counts = countsOf(db.prepare(COUNT_ITEMS).all(datasetId) as { collection: Collection; n: number }[]);
    // As GET /sync/delta reads what changed since a device's last sync, in the export's order.
    const itemsOf = db.prepare('SELECT json FROM items INDEXED BY items_by_stamp WHERE dataset_id = ? AND collection = ? AND stamp > ? ORDER BY rowid').pluck();
    const tombstonesOf = db.prepare('SELECT json FROM tombstones WHERE dataset_id = ? AND stamp > ? ORDER BY stamp, rowid').pluck();
    return {
      stamp: dataset.last_stamp,
      counts,
      items: (collection) => pages(() => cursor(itemsOf.iterate(datasetId, collection, since) as IterableIterator<string>)),
      tombstones: () => pages(() => cursor(tombstonesOf.iterate(datasetId, since) as IterableIterator<string>)),
      close,
    };
  });
}

/**
 * A delta from scratch: everything stamped before `stamp`, then what the device
 * sent that it must get back. Called in the same turn as the delta's commit, so
 * the read snapshot it starts holds exactly that state.
 */
export function streamedDelta(file: string, datasetId: number, stamp: number, echoItems: Record<Collection, string[]>, echoTombstones: string[]): DeltaOutcome {
  return withReader(file, ({ db, cursor, close }) => {
    const itemsOf = db.prepare('SELECT json FROM items INDEXED BY items_by_stamp WHERE dataset_id = ? AND collection = ? AND stamp < ? ORDER BY stamp, rowid').pluck();
    const tombstonesOf = db.prepare('SELECT json FROM tombstones WHERE dataset_id = ? AND stamp < ? ORDER BY stamp, rowid').pluck();
    db.prepare('SELECT 1 FROM datasets WHERE id = ?').get(datasetId); // starts the read snapshot now
    return {
      stamp,
      streamed: true as const,
      items: (collection: Collection) => pages(() => cursor(itemsOf.iterate(datasetId, collection, stamp) as IterableIterator<string>), echoItems[collection]),
      tombstones: () => pages(() => cursor(tombstonesOf.iterate(datasetId, stamp) as IterableIterator<string>), echoTombstones),
      close,
    };
  })!;
}
