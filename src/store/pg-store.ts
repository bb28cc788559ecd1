import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { ApiError } from '../errors.js';
import { KeyedSlots } from '../sync/keyed-lock.js';
import type { DeltaRequest } from '../sync/validate.js';
import type { ImageBackend } from '../images/image-storage.js';
import { PgAccountStore } from './pg-account-store.js';
import { PgImageStorage } from './pg-image-storage.js';
import { migratePg } from './pg-migrations.js';
import { readAllRows, writeAllRows } from './pg-copy.js';
import { writeFullUpload } from './pg-full-upload.js';
import { countsOf, HeldAnswer, ITEM_COUNTS } from './pg-rows.js';
import { writeDelta } from './pg-delta.js';
import { openChanges, openExport } from './pg-reads.js';
import { HOLDS_DATA, type CopyBatch } from './store-copy.js';
import { UnreservedStreamedAnswer, type ChangeSnapshot, type DatasetStats, type DeltaOutcome, type ExportSnapshot, type FullUploadWrite, type HistoryEntry, type Store } from './store.js';

// bigint columns (stamps, sizes) come back as numbers: all stay far below 2^53.
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * The PostgreSQL store, for several server processes sharing one database. The
 * in-process lock of SyncService does not reach other processes, so every write
 * takes the dataset's row lock (SELECT … FOR UPDATE) before anything else: writes
 * to one dataset are serialised across processes, and the stamp, taken under that
 * lock as max(now, last + 1 ms), rises strictly whichever process takes it.
 * PostgreSQL's default synchronous_commit makes COMMIT durable before it returns.
 */
export class PgStore implements Store {
  readonly accounts: PgAccountStore;
  /**
   * Image uploads write a received image in one transaction each (its bytes arrive
   * before, holding none): a pool of their own, so that a burst of large images
   * never keeps a sync or a token check waiting.
   */
  private readonly imagePool: pg.Pool;
  /**
   * Streamed answers (GET /sync, from-scratch deltas, the dashboard's read) hold a
   * connection for as long as their client takes to read them: a pool of their own,
   * at most STREAMED_PER_ACCOUNT of them for one account, so one account's slow
   * clients never take the process from the others, and no slow client ever holds
   * one of the main pool, which every request's token lookup needs.
   */
  private readonly readPool: pg.Pool;
  private readonly streamedSlots = new KeyedSlots<number>(STREAMED_PER_ACCOUNT);
  /**
   * Reads made while a transaction is held (a full upload's history snapshot): a
   * pool of their own, whose connections never wait on anything, so ten uploads each
   * holding a connection can never wait on each other for a second one.
   */
  private readonly snapshotPool: pg.Pool;
  private readonly inTransaction = new AsyncLocalStorage<true>();

  private constructor(readonly pool: pg.Pool, databaseUrl: string) {
    this.imagePool = openPool(databaseUrl, 10);
    this.readPool = openPool(databaseUrl, READ_CONNECTIONS);
    this.snapshotPool = openPool(databaseUrl, 2);
    this.accounts = new PgAccountStore(pool, (task) => this.transaction(task));
  }

  static async open(databaseUrl: string): Promise<PgStore> {
    const pool = openPool(databaseUrl, 10);
    try {
      await migratePg(pool);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PgStore(pool, databaseUrl);
  }

  images(): ImageBackend {
    return {
      account: async (account, options) => new PgImageStorage(this.imagePool, this.pool, account.id, options.maxBytes),
      // Removing an account deletes its images in the same transaction (PgAccountStore.remove).
      removeAccount: async () => undefined,
      removeOrphans: async () => [],
      totals: async () => {
        const { rows } = await this.pool.query<{ files: number; bytes: string }>('SELECT count(*) AS files, coalesce(sum(size), 0) AS bytes FROM images');
        return { files: rows[0]!.files, bytes: Number(rows[0]!.bytes) };
      },
    };
  }

  async datasetId(name: string): Promise<number> {
    const existing = await this.pool.query<{ id: number }>('SELECT id FROM datasets WHERE name = $1', [name]);
    if (existing.rows[0]) return existing.rows[0].id;
    // Two processes may create it at once: one inserts, both read the same id.
    await this.pool.query('INSERT INTO datasets (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, Date.now()]);
    const created = await this.pool.query<{ id: number }>('SELECT id FROM datasets WHERE name = $1', [name]);
    return created.rows[0]!.id;
  }

  async reserveStreamedAnswer(datasetId: number): Promise<() => void> {
    return this.streamedSlots.take(datasetId);
  }

  /**
   * Five round trips, the row lock held for the last four: BEGIN with the lock,
   * one read (the stored rows the request touches and everything changed since the
   * device's last sync), one statement for every write, COMMIT. The answer is read
   * before the writes: they only restamp or delete rows the request names, which are
   * left out of it, and add rows stamped now, which it would not include anyway.
   * From scratch the answer is the whole dataset, so it is not read here but
   * held in cursors past the COMMIT and streamed (HeldAnswer).
   */
  async applyDelta(datasetId: number, request: DeltaRequest, now: number, reserved?: () => void): Promise<DeltaOutcome> {
    // A streamed answer's slot, freed by its close() or here if the transaction fails.
    // Reserved before (SyncService) when the request says it is from scratch, and its
    // transaction then runs on the read pool, whose connection the answer keeps. The
    // rare lastSyncTime later than any stamp is found out here: rolled back, to be
    // retried with a slot waited for outside the row lock.
    return this.transaction<DeltaOutcome>(async (db, dataset, hold) => {
      const { stamp, fromScratch, items, tombstones } = await writeDelta(db, datasetId, dataset, request, now);
      if (!fromScratch) {
        // Held in memory, as a delta answer is small (and holds no slot).
        reserved?.();
        return { stamp, streamed: false, items: (c) => items[c], tombstones: () => tombstones, close: () => undefined };
      }
      if (!reserved) throw new UnreservedStreamedAnswer();
      const held = await HeldAnswer.declare(db, datasetId, stamp, hold());
      const close = (): void => {
        held.close();
        reserved();
      };
      return { stamp, streamed: true, items: (c) => held.items(c, items[c]), tombstones: () => held.tombstones(tombstones), close };
    }, datasetId, reserved ? this.readPool : this.pool).catch((err: unknown) => {
      reserved?.();
      throw err;
    });
  }

  /**
   * Writes first, then asks for the history snapshot: the snapshot reads through
   * another connection, which sees the committed state this transaction replaces
   * (the row lock keeps every other writer out meanwhile), and it is taken only
   * when the upload changed something, as SQLite does.
   */
  applyFullUpload(datasetId: number, upload: FullUploadWrite, now: number): Promise<{ stamp: number }> {
    return this.transaction((db, dataset) => writeFullUpload(db, datasetId, dataset, upload, now), datasetId);
  }

  /** None: a round trip per batch of stored texts would cost about what not parsing them saves. */
  async openKnownItems(): Promise<undefined> {
    return undefined;
  }

  openExport(datasetId: number): Promise<ExportSnapshot | undefined> {
    if (this.inTransaction.getStore()) return openExport(this.snapshotPool, datasetId);
    return this.streamed(datasetId, () => openExport(this.readPool, datasetId));
  }

  openChanges(datasetId: number, since: number): Promise<ChangeSnapshot | undefined> {
    return this.streamed(datasetId, () => openChanges(this.readPool, datasetId, since));
  }

  /** A streamed read in one of the account's slots, freed when the read is closed. */
  private async streamed<T extends { close(): void }>(datasetId: number, open: () => Promise<T | undefined>): Promise<T | undefined> {
    const free = await this.streamedSlots.take(datasetId);
    try {
      const read = await open();
      if (read === undefined) free();
      else {
        const close = read.close.bind(read);
        read.close = () => {
          close();
          free();
        };
      }
      return read;
    } catch (err) {
      free();
      throw err;
    }
  }

  async listHistory(datasetId: number): Promise<HistoryEntry[]> {
    const { rows } = await this.pool.query<HistoryEntry>(
      `SELECT id, created_at AS "createdAt", reason, items, tombstones, raw_bytes AS "rawBytes", octet_length(gzip)::bigint AS "storedBytes"
       FROM history WHERE dataset_id = $1 ORDER BY id DESC`,
      [datasetId],
    );
    return rows;
  }

  async readHistory(datasetId: number, historyId: number): Promise<Buffer | undefined> {
    // The column is an integer: an id past it names no entry, as on SQLite, rather than failing the query.
    if (!Number.isInteger(historyId) || historyId < 1 || historyId > PG_INT_MAX) return undefined;
    const { rows } = await this.pool.query<{ gzip: Buffer }>('SELECT gzip FROM history WHERE dataset_id = $1 AND id = $2', [datasetId, historyId]);
    return rows[0]?.gzip;
  }

  async stats(datasetId: number): Promise<DatasetStats> {
    const pool = this.inTransaction.getStore() ? this.snapshotPool : this.pool;
    const { rows } = await pool.query<{ written: boolean; last_stamp: number; json_bytes: string; tombstones: number; counts: Record<string, number> | null }>(
      `SELECT d.written, d.last_stamp, d.json_bytes,
         (SELECT count(*) FROM tombstones WHERE dataset_id = d.id) AS tombstones,
         ${ITEM_COUNTS} AS counts
       FROM datasets d WHERE d.id = $1`,
      [datasetId],
    );
    const row = rows[0];
    if (!row) throw ApiError.accountRemoved();
    return { written: row.written, lastStamp: row.last_stamp, items: countsOf(row.counts), tombstones: row.tombstones, jsonBytes: Number(row.json_bytes) };
  }

  async lastStamp(datasetId: number): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ written: boolean; last_stamp: number }>('SELECT written, last_stamp FROM datasets WHERE id = $1', [datasetId]);
    if (!rows[0]) throw ApiError.accountRemoved();
    return rows[0].written ? rows[0].last_stamp : undefined;
  }

  /** The database's size as PostgreSQL counts it (WAL is the server's own, shared by every database: 0 here). */
  async sizeOnDisk(): Promise<{ main: number; wal: number }> {
    const { rows } = await this.pool.query<{ size: number }>('SELECT pg_database_size(current_database()) AS size');
    return { main: rows[0]!.size, wal: 0 };
  }

  /**
   * Under the dataset's row lock, taken first as every write takes it: deleting
   * the tombstones first and locking the row second deadlocked with a full upload
   * of another process that re-sent those deletions (it holds the row and waits
   * for the tombstones), and PostgreSQL failed the upload. An account removed
   * meanwhile has nothing left to prune.
   */
  pruneTombstones(datasetId: number, stampedBefore: number): Promise<number> {
    return this.transaction(async (db) => {
      const locked = await db.query('SELECT 1 FROM datasets WHERE id = $1 FOR UPDATE', [datasetId]);
      if (locked.rows.length === 0) return 0;
      // The forgotten deletions leave the account's byte count too.
      const { rows } = await db.query<{ n: number; bytes: string | null }>(
        `WITH gone AS (DELETE FROM tombstones WHERE dataset_id = $1 AND stamp < $2 RETURNING octet_length(json) AS bytes),
           shrunk AS (UPDATE datasets SET json_bytes = json_bytes - (SELECT coalesce(sum(bytes), 0) FROM gone) WHERE id = $1)
         SELECT count(*) AS n FROM gone`,
        [datasetId, stampedBefore],
      );
      return rows[0]!.n;
    });
  }

  async holdsData(): Promise<boolean> {
    return (await this.pool.query<{ held: boolean }>(HOLDS_DATA)).rows[0]!.held;
  }

  readAll(): AsyncGenerator<CopyBatch> {
    return readAllRows(this.pool);
  }

  writeAll(batches: AsyncIterable<CopyBatch>): Promise<void> {
    return this.transaction((db) => writeAllRows(db, batches, { replace: false }));
  }

  /** writeAll into a database that may hold data: everything it held goes, in the same transaction (restore --force). */
  replaceAll(batches: AsyncIterable<CopyBatch>): Promise<void> {
    return this.transaction((db) => writeAllRows(db, batches, { replace: true }));
  }

  async close(): Promise<void> {
    for (const pool of [this.pool, this.imagePool, this.readPool, this.snapshotPool]) if (!pool.ended) await pool.end();
  }

  /**
   * One transaction on one connection; rolled back on any error. With a dataset
   * id, BEGIN and the dataset's row lock go in one round trip, and the task gets
   * the locked row. A task that calls `hold` keeps the connection past a
   * successful COMMIT (for cursors declared WITH HOLD) until the function
   * `hold` returned is called.
   */
  async transaction<T>(task: (db: pg.PoolClient, dataset: LockedDataset, hold: () => (err?: Error) => void) => Promise<T>, lockDatasetId?: number, pool = this.pool): Promise<T> {
    const db = await pool.connect();
    let broken: Error | undefined;
    let held = false;
    let committed = false;
    const hold = (): ((err?: Error) => void) => {
      held = true;
      return (err) => db.release(err);
    };
    try {
      let dataset: LockedDataset = { last_stamp: 0, json_bytes: 0, max_bytes: null };
      if (lockDatasetId === undefined) {
        await db.query('BEGIN');
      } else {
        // The dataset's row lock: every write to one dataset, from any process, waits
        // here for the one before. Two statements in one simple query (one round
        // trip), which takes no parameters: the id is checked to be an integer.
        if (!Number.isSafeInteger(lockDatasetId)) throw new Error(`bad dataset id ${lockDatasetId}`);
        const results = (await db.query(
          `BEGIN; SELECT last_stamp, json_bytes, max_bytes FROM datasets WHERE id = ${lockDatasetId} FOR UPDATE`,
        )) as unknown as pg.QueryResult<LockedDataset>[];
        const row = results[1]!.rows[0];
        if (!row) throw ApiError.accountRemoved();
        dataset = row;
      }
      const result = await this.inTransaction.run(true, () => task(db, dataset, hold));
      await db.query('COMMIT');
      committed = true;
      return result;
    } catch (err) {
      await db.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      throw err;
    } finally {
      // What a held task returned is never seen when the COMMIT failed, so the connection goes back here.
      if (!(held && committed)) db.release(broken);
    }
  }
}

export interface LockedDataset {
  last_stamp: number;
  json_bytes: number;
  max_bytes: number | null;
}

/**
 * Streamed answers one account may have under way at once, and all accounts: it
 * takes four accounts' slow phones to fill the read pool, and even then only other
 * streamed answers wait. Three, not two: a device may read a GET /sync slowly while
 * the account's other devices sync from scratch.
 */
const STREAMED_PER_ACCOUNT = 3;
const READ_CONNECTIONS = 10;
/** The largest value of an integer column (history ids). */
const PG_INT_MAX = 2_147_483_647;

function openPool(databaseUrl: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max, types: TYPES });
  // A connection the database dropped (a restart, a failover, an administrator)
  // must not crash the process. An idle one is reported by the pool, which
  // discards it; one checked out between two queries (a transaction waiting on
  // its own work, a streamed answer waiting on a slow client) by the connection
  // itself, with no listener of its own: its next query fails, the request that
  // holds it ends with that error, and the release discards it. The next query
  // opens a new connection.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
