import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '../errors.js';
import { makePrivateDir, makePrivateFile } from '../private-files.js';
import { Database } from './sqlite-driver.js';
import { readAllRows, writeAllRows } from './sqlite-copy.js';
import { compareStatements, compareUpload, type FullUploadDiff } from './sqlite-compare.js';
import { countsOf, prepareStatements } from './sqlite-statements.js';
import { openChanges, openExport, openKnownItems, streamedDelta } from './sqlite-reads.js';
import { planDelta, type StoredItem, type StoredState, type StoredTombstone } from '../sync/merge.js';
import { COLLECTIONS, emptyCollections, type Collection } from '../sync/model.js';
import { deltaSince, FROM_SCRATCH, nextStamp } from '../sync/stamps.js';
import type { KnownItems } from '../sync/known-items.js';
import type { DeltaRequest } from '../sync/validate.js';
import { accountImagesDir, removeAccountImages, removeOrphanAccountFolders } from '../images/account-images.js';
import type { ImageBackend } from '../images/image-storage.js';
import { ImageStore } from '../images/image-store.js';
import { imageTreeTotals } from '../images/image-tree.js';
import { migrate } from './migrations.js';
import { checkQuota } from './quota.js';
import { SqliteAccountStore } from './sqlite-account-store.js';
import { SqliteImageIndex } from './sqlite-image-index.js';
import { HOLDS_DATA, type CopyBatch } from './store-copy.js';
import {
  type ChangeSnapshot,
  DatasetWritten,
  type DatasetStats,
  type DeltaOutcome,
  type ExportSnapshot,
  type FullUploadWrite,
  type HistoryEntry,
  type HistorySnapshot,
  type Store,
} from './store.js';

export const DATABASE_FILE = 'ascently.db';

interface DatasetRow {
  last_stamp: number;
  written: number;
  extra_json: string;
  json_bytes: number;
  max_bytes: number | null;
}

/**
 * The SQLite store: one database file, WAL with synchronous=FULL so that a
 * committed transaction is on disk before the server answers. better-sqlite3 is
 * synchronous, so each write below runs start to finish without another request
 * in between; the service adds a per-dataset lock for writes that need async work.
 */
export class SqliteStore implements Store {
  readonly file: string;
  readonly imageIndex: SqliteImageIndex;
  readonly accounts: SqliteAccountStore;
  private readonly db: Database;
  private readonly statements;
  private readonly compareStatements;
  private checkpointPending = false;

  constructor(dataDir: string) {
    makePrivateDir(dataDir);
    this.file = path.join(dataDir, DATABASE_FILE);
    makePrivateFile(this.file);
    for (const companion of [`${this.file}-wal`, `${this.file}-shm`]) if (existsSync(companion)) makePrivateFile(companion);
    this.db = openDatabase(this.file);
    migrate(this.db);
    this.statements = prepareStatements(this.db);
    this.compareStatements = compareStatements(this.db);
    this.imageIndex = new SqliteImageIndex(this.db);
    this.accounts = new SqliteAccountStore(this.db);
  }

  /** The connection itself, for tests that inject faults (max_page_count) or inspect the WAL. */
  get database(): Database {
    return this.db;
  }

  images(imagesDir: string): ImageBackend {
    return {
      account: (account, options) =>
        ImageStore.open(accountImagesDir(imagesDir, account), options.maxBytes, this.imageIndex, account.id, { removeLeftovers: options.removeLeftovers }),
      removeAccount: (account) => removeAccountImages(imagesDir, account),
      removeOrphans: (live) => removeOrphanAccountFolders(imagesDir, live),
      totals: () => imageTreeTotals(imagesDir),
    };
  }

  async datasetId(name: string): Promise<number> {
    const s = this.statements;
    const existing = s.datasetByName.get(name) as { id: number } | undefined;
    if (existing) return existing.id;
    return Number(s.insertDataset.run(name, Date.now()).lastInsertRowid);
  }

  async applyDelta(datasetId: number, request: DeltaRequest, now: number): Promise<DeltaOutcome> {
    const s = this.statements;
    const outcome = this.db
      .transaction(() => {
        const dataset = this.dataset(datasetId);
        const stamp = nextStamp(dataset.last_stamp, now);
        const plan = planDelta(this.storedState(datasetId), request.changes);

        // The stored JSON's size, kept exact row by row for the quota.
        let bytes = dataset.json_bytes;
        for (const { collection, id } of plan.remove) bytes -= (s.removeItem.get(datasetId, collection, id) as number | undefined) ?? 0;
        for (const t of plan.addTombstones) {
          if (s.insertTombstone.run(datasetId, t.typeKey, t.id, stamp, t.json).changes > 0) bytes += Buffer.byteLength(t.json);
        }
        for (const item of plan.put) {
          bytes += Buffer.byteLength(item.json) - ((s.itemBytes.get(datasetId, item.collection, item.id) as number | undefined) ?? 0);
          s.upsertItem.run(datasetId, item.collection, item.id, item.time, stamp, item.json);
        }
        // A delta that sends only deletions always passes, whatever its tombstones weigh.
        if (request.changes.items.length > 0) checkQuota(dataset, bytes);
        s.updateDataset.run(stamp, dataset.extra_json, bytes, datasetId);

        const since = deltaSince(request.lastSyncMs, dataset.last_stamp);
        const items = emptyCollections();
        for (const echo of plan.echoItems) if (echo.stamp === undefined || echo.stamp <= since) items[echo.collection].push(echo.json);
        // Only items are spared the echo (section 3): this request's own tombstones are stamped after lastSyncTime, so answered.
        const tombstones = plan.addTombstones.map((t) => t.json);
        for (const echo of plan.echoTombstones) if (echo.stamp <= since) tombstones.push(echo.json);
        if (since === FROM_SCRATCH) return { stamp, since, echoItems: items, echoTombstones: tombstones };
        // A delta answers what changed since the device last synced: small, read here whole.
        const changed = emptyCollections();
        for (const c of COLLECTIONS) changed[c] = s.itemsBetween.all(datasetId, c, since, stamp) as string[];
        for (const c of COLLECTIONS) changed[c].push(...items[c]);
        return { stamp, since, echoItems: changed, echoTombstones: [...(s.tombstonesBetween.all(datasetId, since, stamp) as string[]), ...tombstones] };
      })
      .immediate();
    if (outcome.since !== FROM_SCRATCH) {
      const { stamp, echoItems, echoTombstones } = outcome;
      return { stamp, streamed: false, items: (c) => echoItems[c], tombstones: () => echoTombstones, close: () => undefined };
    }
    // From scratch the answer is the whole dataset: read it from a snapshot taken
    // before any other write can commit (this runs in the same turn as the commit),
    // page by page while it is sent, so memory stays flat however large it is.
    return streamedDelta(this.file, datasetId, outcome.stamp, outcome.echoItems, outcome.echoTombstones);
  }

  /**
   * The upload is compared with the stored data before its transaction (the
   * history snapshot is read and compressed in between, without holding SQLite's
   * write lock). The caller holds the dataset's lock in this process, but another
   * process (the CLI's import or history restore, a second server) may write in
   * between: the comparison is then made again against what it wrote.
   */
  async applyFullUpload(datasetId: number, upload: FullUploadWrite, now: number): Promise<{ stamp: number }> {
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
    const diff = compareUpload(this.compareStatements, datasetId, upload.plan, before.extra_json, before.last_stamp);
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

  /** A passive checkpoint once the current turn (and the answer it sends) is done; one pending at a time. */
  private checkpointSoon(): void {
    if (this.checkpointPending) return;
    this.checkpointPending = true;
    setImmediate(() => {
      this.checkpointPending = false;
      try {
        if (this.db.open) this.db.pragma('wal_checkpoint(PASSIVE)');
      } catch {
        // A full disk, say: the WAL keeps the data, and the next commit's checkpoint tries again.
      }
    });
  }

  async openKnownItems(datasetId: number): Promise<(KnownItems & { close(): void }) | undefined> {
    return openKnownItems(this.file, datasetId);
  }

  async openExport(datasetId: number): Promise<ExportSnapshot | undefined> {
    return openExport(this.file, datasetId);
  }

  async openChanges(datasetId: number, since: number): Promise<ChangeSnapshot | undefined> {
    return openChanges(this.file, datasetId, since);
  }

  async listHistory(datasetId: number): Promise<HistoryEntry[]> {
    return this.statements.listHistory.all(datasetId) as HistoryEntry[];
  }

  async readHistory(datasetId: number, historyId: number): Promise<Buffer | undefined> {
    return this.statements.readHistory.get(datasetId, historyId) as Buffer | undefined;
  }

  async stats(datasetId: number): Promise<DatasetStats> {
    const dataset = this.dataset(datasetId);
    const items = countsOf(this.statements.countItems.all(datasetId) as { collection: Collection; n: number }[]);
    const tombstones = this.statements.countTombstones.get(datasetId) as number;
    return { written: dataset.written === 1, lastStamp: dataset.last_stamp, items, tombstones, jsonBytes: dataset.json_bytes };
  }

  async lastStamp(datasetId: number): Promise<number | undefined> {
    const dataset = this.dataset(datasetId);
    return dataset.written === 1 ? dataset.last_stamp : undefined;
  }

  async sizeOnDisk(): Promise<{ main: number; wal: number }> {
    const size = (file: string): Promise<number> => stat(file).then((s) => s.size, () => 0);
    return { main: await size(this.file), wal: await size(`${this.file}-wal`) };
  }

  async pruneTombstones(datasetId: number, stampedBefore: number): Promise<number> {
    const s = this.statements;
    return this.db
      .transaction(() => {
        // The forgotten deletions leave the account's byte count too.
        const sizes = s.pruneTombstones.all(datasetId, stampedBefore) as number[];
        if (sizes.length > 0) s.shrinkDataset.run(sizes.reduce((sum, n) => sum + n, 0), datasetId);
        return sizes.length;
      })
      .immediate();
  }

  async holdsData(): Promise<boolean> {
    return this.db.prepare(HOLDS_DATA).pluck().get() === 1;
  }

  readAll(): AsyncGenerator<CopyBatch> {
    return readAllRows(this.file);
  }

  writeAll(batches: AsyncIterable<CopyBatch>): Promise<void> {
    return writeAllRows(this.db, this.file, this.statements.insertHistory, batches);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private dataset(datasetId: number): DatasetRow {
    const row = this.statements.datasetById.get(datasetId) as DatasetRow | undefined;
    if (!row) throw ApiError.accountRemoved();
    return row;
  }

  private storedState(datasetId: number): StoredState {
    const s = this.statements;
    return {
      item: (collection, id) => {
        const row = s.itemById.get(datasetId, collection, id) as { time: number; json: string; stamp: number } | undefined;
        return row ? ({ collection, id, ...row } satisfies StoredItem) : undefined;
      },
      tombstone: (typeKey, id) => {
        const row = s.tombstoneById.get(datasetId, typeKey, id) as { json: string; stamp: number } | undefined;
        return row ? ({ typeKey, id, ...row } satisfies StoredTombstone) : undefined;
      },
    };
  }
}

/** Written by another process between a full upload's comparison and its transaction. */
class ChangedMeanwhile extends Error {}

/** How many times a full upload is compared and written before another process's writes make it give up. */
const FULL_UPLOAD_ATTEMPTS = 5;

function openDatabase(file: string): Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL: a commit is fsynced before it returns, so a 2xx answer survives kill -9 and power loss.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.pragma('temp_store = MEMORY');
  db.pragma(`cache_size = -${MAIN_CACHE_KIB}`);
  return db;
}

/**
 * The writing connection's page cache. better-sqlite3's default, 16 MiB, filled
 * up with the pages a full upload wrote, which SQLite holds until the connection
 * closes: 16 MiB more resident for good after the first large upload, on a
 * server meant to fit a 1 GB Raspberry Pi. 4 MiB holds the indexes' upper levels
 * and the pages at hand; the rest is one read away in the OS's own cache.
 */
const MAIN_CACHE_KIB = 4096;

/**
 * The page cache while a large upload is written, handed back after: its rows go
 * into indexes keyed by random ids, and a 200 MiB upload took 8% longer with
 * 4 MiB (the upper levels of three indexes no longer stayed in it). A sixteenth
 * of the upload's size, up to better-sqlite3's default.
 */
function writeCacheKib(uploadBytes: number): number {
  return Math.min(16 * 1024, Math.max(MAIN_CACHE_KIB, Math.round(uploadBytes / 16 / 1024)));
}

/** SQLite's default: the WAL is copied into the database file at the commit that takes it past this many pages. */
const WAL_AUTOCHECKPOINT_PAGES = 1000;
/** About that many pages of items: an upload this large checkpoints after its answer. */
const DEFERRED_CHECKPOINT_BYTES = 4 * 1024 * 1024;
