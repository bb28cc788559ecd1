import type { Database } from './sqlite-driver.js';
import { compareStatements, compareUpload, type FullUploadDiff } from './sqlite-compare.js';
import type { prepareStatements } from './sqlite-statements.js';
import type { DatasetRow } from './sqlite-store.js';
import { checkQuota } from './quota.js';
import { DatasetWritten, type FullUploadWrite, type HistorySnapshot } from './store.js';
import { nextStamp } from '../sync/stamps.js';

/**
 * SqliteStore's full upload (POST /sync, import, history restore): the upload
 * compared with the stored rows, then written in one immediate transaction on
 * the store's own connection.
 */
export class SqliteFullUploads {
  private readonly compares;

  constructor(
    private readonly db: Database,
    private readonly statements: ReturnType<typeof prepareStatements>,
    /** The dataset's row, or the account-removed refusal. */
    private readonly dataset: (datasetId: number) => DatasetRow,
    /** Copies the WAL into the database file once the answer is sent. */
    private readonly checkpointSoon: () => void,
  ) {
    this.compares = compareStatements(db);
  }

  /**
   * The upload is compared with the stored data before its transaction (the
   * history snapshot is read and compressed in between, without holding SQLite's
   * write lock). The caller holds the dataset's lock in this process, but another
   * process (the CLI's import or history restore, a second server) may write in
   * between: the comparison is then made again against what it wrote.
   */
  async apply(datasetId: number, upload: FullUploadWrite, now: number): Promise<{ stamp: number }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.compareAndWrite(datasetId, upload, now);
      } catch (err) {
        if (!(err instanceof ChangedMeanwhile) || attempt === FULL_UPLOAD_ATTEMPTS) throw err;
      }
    }
  }

  private async compareAndWrite(datasetId: number, upload: FullUploadWrite, now: number): Promise<{ stamp: number }> {
    const before = this.dataset(datasetId);
    const diff = compareUpload(this.compares, datasetId, upload.plan, before.extra_json, before.last_stamp);
    const snapshot = diff.changes && upload.snapshot ? await upload.snapshot() : undefined;
    // A large upload fills the WAL past the point where its commit would copy it
    // into the database file: that is done just after the answer instead, not
    // inside the commit the device waits for (the commit is fsynced in the WAL
    // either way). Small ones leave the usual checkpoints as they are.
    if (upload.plan.bytes < DEFERRED_CHECKPOINT_BYTES) return this.writeFullUpload(datasetId, upload, diff, snapshot, before.last_stamp, now);
    this.db.pragma('wal_autocheckpoint = 0');
    this.db.pragma(`cache_size = -${writeCacheKib(upload.plan.bytes)}`);
    try {
      return this.writeFullUpload(datasetId, upload, diff, snapshot, before.last_stamp, now);
    } finally {
      this.db.pragma(`cache_size = -${MAIN_CACHE_KIB}`);
      this.db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
      this.checkpointSoon();
    }
  }

  private writeFullUpload(datasetId: number, upload: FullUploadWrite, diff: FullUploadDiff, snapshot: HistorySnapshot | undefined, lastStamp: number, now: number): { stamp: number } {
    const s = this.statements;
    const { items, tombstones } = upload.plan;
    return this.db
      .transaction(() => {
        const dataset = this.dataset(datasetId);
        // In the immediate transaction: no other process can write it from here on.
        if (upload.onlyIfNeverWritten && dataset.written) throw new DatasetWritten();
        // The caller holds the dataset's write lock; this guards against another process.
        if (dataset.last_stamp !== lastStamp) throw new ChangedMeanwhile('the dataset changed while a full upload was being prepared');
        const stamp = nextStamp(dataset.last_stamp, now);
        if (snapshot) {
          const { reason, items: count, tombstones: tombstoneCount, rawBytes, gzip } = snapshot;
          s.insertHistory.run(datasetId, now, reason, count, tombstoneCount, rawBytes, gzip);
        }
        // Down to HISTORY_KEEP with or without a new snapshot: 0 keeps none, earlier ones included.
        if (diff.changes) s.pruneHistory.run(datasetId, datasetId, upload.historyKeep);
        let itemBytes = diff.unchangedBytes;
        let itemsWritten = 0;
        for (let position = 0; position < items.length; position++) {
          if (diff.unchanged[position] === 1) continue;
          itemsWritten++;
          // Its time first: it may be read from the item's text, and the view below lasts only until the next read.
          const time = items.time(position);
          // The body's own bytes, bound as text: no string is made of an item that is only written.
          const json = items.utf8(position);
          itemBytes += json.length;
          s.upsertItemUtf8.run(datasetId, items.collection(position), items.id(position), time, stamp, json);
        }
        for (const { typeKey, id } of diff.revivedTombstones) s.deleteTombstone.run(datasetId, typeKey, id);
        // What the upload left out goes, without tombstones: other devices keep their own data.
        for (const rowid of diff.leftOut) s.deleteItemRow.run(rowid);
        for (const t of tombstones) s.insertTombstone.run(datasetId, t.typeKey, t.id, stamp, t.json);
        // Items counted as they are compared and written; tombstones (few) by the table.
        const bytes = itemBytes + (s.tombstoneBytes.get(datasetId) as number);
        // An upload that writes no new or changed item only deletes: it passes, whatever its tombstones weigh (as a delta does).
        if (itemsWritten > 0) checkQuota(dataset, bytes);
        s.updateDataset.run(stamp, upload.plan.extraFieldsJson, bytes, datasetId);
        return { stamp };
      })
      .immediate();
  }
}

/** Written by another process between a full upload's comparison and its transaction. */
class ChangedMeanwhile extends Error {}

/** How many times a full upload is compared and written before another process's writes make it give up. */
const FULL_UPLOAD_ATTEMPTS = 5;

/**
 * The page cache while a large upload is written, handed back after: its rows go
 * into indexes keyed by random ids, and a 200 MiB upload took 8% longer with
 * 4 MiB (the upper levels of three indexes no longer stayed in it). A sixteenth
 * of the upload's size, up to better-sqlite3's default.
 */
function writeCacheKib(uploadBytes: number): number {
  return Math.min(16 * 1024, Math.max(MAIN_CACHE_KIB, Math.round(uploadBytes / 16 / 1024)));
}

/** About that many pages of items: an upload this large checkpoints after its answer. */
const DEFERRED_CHECKPOINT_BYTES = 4 * 1024 * 1024;

/**
 * The writing connection's page cache. better-sqlite3's default, 16 MiB, filled
 * up with the pages a full upload wrote, which SQLite holds until the connection
 * closes: 16 MiB more resident for good after the first large upload, on a
 * server meant to fit a 1 GB Raspberry Pi. 4 MiB holds the indexes' upper levels
 * and the pages at hand; the rest is one read away in the OS's own cache.
 */
export const MAIN_CACHE_KIB = 4096;

/** SQLite's default: the WAL is copied into the database file at the commit that takes it past this many pages. */
export const WAL_AUTOCHECKPOINT_PAGES = 1000;
