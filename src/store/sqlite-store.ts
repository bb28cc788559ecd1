import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '../errors.js';
import { makePrivateDir, makePrivateFile } from '../private-files.js';
import { Database } from './sqlite-driver.js';
import { readAllRows, writeAllRows } from './sqlite-copy.js';
import { MAIN_CACHE_KIB, SqliteFullUploads } from './sqlite-full-upload.js';
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
  type DatasetStats,
  type DeltaOutcome,
  type ExportSnapshot,
  type FullUploadWrite,
  type HistoryEntry,
  type Store,
} from './store.js';

export const DATABASE_FILE = 'ascently.db';

export interface DatasetRow {
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
  private readonly fullUploads: SqliteFullUploads;
  private checkpointPending = false;

  constructor(dataDir: string) {
    makePrivateDir(dataDir);
    this.file = path.join(dataDir, DATABASE_FILE);
    makePrivateFile(this.file);
    for (const companion of [`${this.file}-wal`, `${this.file}-shm`]) if (existsSync(companion)) makePrivateFile(companion);
    this.db = openDatabase(this.file);
    migrate(this.db);
    this.statements = prepareStatements(this.db);
    this.fullUploads = new SqliteFullUploads(this.db, this.statements, (id) => this.dataset(id), () => this.checkpointSoon());
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

  applyFullUpload(datasetId: number, upload: FullUploadWrite, now: number): Promise<{ stamp: number }> {
    return this.fullUploads.apply(datasetId, upload, now);
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
