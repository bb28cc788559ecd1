import type { ImageBackend } from '../images/image-storage.js';
import type { AccountStore } from './account-store.js';
import type { CopyBatch } from './store-copy.js';
import type { Collection } from '../sync/model.js';
import type { PlannedUpload } from '../sync/upload-plan.js';
import type { KnownItems } from '../sync/known-items.js';
import type { DeltaRequest } from '../sync/validate.js';

/**
 * The storage seam. Everything the server keeps goes through this narrow
 * interface, so that a second backend (PostgreSQL) can implement it and run the
 * same tests. Each write method is one transaction: applied whole or not at all,
 * and on disk before its promise resolves. Every method is asynchronous because a
 * network database is; the SQLite store answers from synchronous calls inside.
 */
export interface Store {
  /** Accounts, devices and web sessions (account-store.ts). */
  readonly accounts: AccountStore;
  /**
   * Every account's images: files under `imagesDir` with SQLite (their index kept
   * in the database), the database itself with PostgreSQL (`imagesDir` unused).
   */
  images(imagesDir: string): ImageBackend;
  /** The id of the named dataset (an account), created on first use; only `default` is made this way. */
  datasetId(name: string): Promise<number>;
  /**
   * Both writes refuse (ApiError quota_exceeded, nothing stored) when they would
   * take the account's stored JSON past its maxBytes; shrinking writes and
   * deltas that only delete always pass.
   */
  applyDelta(datasetId: number, request: DeltaRequest, now: number, reserved?: () => void): Promise<DeltaOutcome>;
  /**
   * Where a streamed answer holds something shared (a PostgreSQL connection), one
   * of the account's few, reserved before a from-scratch delta waits for its turn to
   * write, so that waiting for one never holds up the account's writes; applyDelta
   * takes it over (`reserved`) and its answer's close() frees it. A delta found to
   * be from scratch only inside its transaction (a `lastSyncTime` later than every
   * stamp) is rolled back with UnreservedStreamedAnswer, to be retried reserved.
   */
  reserveStreamedAnswer?(datasetId: number): Promise<() => void>;
  applyFullUpload(datasetId: number, upload: FullUploadWrite, now: number): Promise<{ stamp: number }>;
  /**
   * The dataset's stored items for a full upload's scan to recognise without
   * parsing them (upload-scan.ts), from one consistent read; close() when the
   * scan is done. Undefined where reading them costs more than parsing saves.
   */
  openKnownItems(datasetId: number): Promise<(KnownItems & { close(): void }) | undefined>;
  /** A consistent read of the whole dataset, or undefined if it was never written. */
  openExport(datasetId: number): Promise<ExportSnapshot | undefined>;
  /**
   * A consistent read of what changed since a stamp, for a reader that keeps its
   * own copy of the dataset (the dashboard); undefined if it was never written.
   */
  openChanges(datasetId: number, since: number): Promise<ChangeSnapshot | undefined>;
  listHistory(datasetId: number): Promise<HistoryEntry[]>;
  readHistory(datasetId: number, historyId: number): Promise<Buffer | undefined>;
  stats(datasetId: number): Promise<DatasetStats>;
  /** The dataset's change stamp, undefined if it was never written: a cheap check, on every page, of whether a copy is current. */
  lastStamp(datasetId: number): Promise<number | undefined>;
  /** Bytes the database takes on disk: its main file and its write-ahead log. */
  sizeOnDisk(): Promise<{ main: number; wal: number }>;
  /** Forgets tombstones stamped before the given instant; returns how many. */
  pruneTombstones(datasetId: number, stampedBefore: number): Promise<number>;
  /** Whether any dataset was ever written: copy-store refuses a target that holds data. */
  holdsData(): Promise<boolean>;
  /** Every dataset with its items, tombstones and history, from one consistent read (store-copy.ts). */
  readAll(): AsyncIterable<CopyBatch>;
  /** Writes what readAll gave, in one transaction, into a store that holds no data (else TargetNotEmptyError). */
  writeAll(batches: AsyncIterable<CopyBatch>): Promise<void>;
  close(): Promise<void>;
}

export interface FullUploadWrite {
  readonly plan: PlannedUpload;
  /**
   * Takes the snapshot of what the upload replaces, kept as history. The store
   * calls it only when the upload changes something (an identical re-upload keeps
   * no copy of itself) and writes nothing until it resolves; undefined when there
   * was nothing to keep.
   */
  readonly snapshot?: () => Promise<HistorySnapshot | undefined>;
  readonly historyKeep: number;
  /**
   * The one-time import of a reference server's file: refused with DatasetWritten,
   * nothing stored, when the dataset has been written, by any process. Decided in
   * the write's transaction, since another process may write it up to then.
   */
  readonly onlyIfNeverWritten?: boolean;
}

export interface HistorySnapshot {
  readonly reason: string;
  readonly items: number;
  readonly tombstones: number;
  readonly rawBytes: number;
  /** The gzip-compressed GET /sync document of the replaced state. */
  readonly gzip: Buffer;
}

export interface HistoryEntry {
  readonly id: number;
  readonly createdAt: number;
  readonly reason: string;
  readonly items: number;
  readonly tombstones: number;
  readonly rawBytes: number;
  readonly storedBytes: number;
}

/**
 * What a delta answers: held in memory (a delta from a known point is small), or
 * read from the store while it is sent (a device syncing from scratch gets the
 * whole dataset), in which case it must be streamed, and closed.
 */
export type DeltaOutcome = HeldDeltaOutcome | StreamedDeltaOutcome;

interface DeltaOutcomeBase {
  /** The transaction's change stamp, answered as serverTime. */
  readonly stamp: number;
  /** Releases what a streamed answer reads from; safe to call more than once. */
  close(): void;
}

export interface HeldDeltaOutcome extends DeltaOutcomeBase {
  readonly streamed: false;
  /** JSON text of each item the device must be sent. */
  items(collection: Collection): readonly string[];
  tombstones(): readonly string[];
}

export interface StreamedDeltaOutcome extends DeltaOutcomeBase {
  readonly streamed: true;
  items(collection: Collection): TextPages;
  tombstones(): TextPages;
}

/**
 * Rows come in pages (arrays of JSON texts) rather than one at a time: a network
 * store fetches them from a cursor in batches, and one await per page instead of
 * per item keeps streaming a large dataset cheap.
 */
export type TextPages = AsyncIterable<readonly string[]>;

/** Items' JSON texts joined by commas, as UTF-8, and how many they are. */
export interface JoinedItems {
  readonly bytes: Buffer;
  readonly rows: number;
}

export interface ExportSnapshot {
  readonly extraFieldsJson: string;
  items(collection: Collection): TextPages;
  /**
   * The same items as UTF-8 bytes, in chunks of whole items joined by commas, each
   * with how many items it holds: GET /sync and history snapshots are made of them,
   * without a string made for each item.
   */
  itemBytes(collection: Collection): AsyncIterable<JoinedItems>;
  tombstones(): TextPages;
  close(): void;
}

export interface DatasetStats {
  readonly written: boolean;
  readonly lastStamp: number;
  readonly items: Readonly<Record<Collection, number>>;
  readonly tombstones: number;
  /** UTF-8 bytes of the items' and tombstones' JSON, as the quota counts them. */
  readonly jsonBytes: number;
}

/**
 * The items and tombstones stamped after a stamp, in the export's order. A full
 * upload removes what it left out without a tombstone, so a reader patching its
 * copy compares its item counts with `counts`: any difference means such a
 * removal, and the copy must be read again whole.
 */
export interface ChangeSnapshot {
  /** The dataset's last stamp as of this read. */
  readonly stamp: number;
  readonly counts: Readonly<Record<Collection, number>>;
  items(collection: Collection): TextPages;
  tombstones(): TextPages;
  close(): void;
}

/**
 * A delta that turned out to be from scratch, with no streamed answer's share
 * reserved for it: thrown from its transaction, which rolls back, so that no lock
 * is held while it waits for one (reserveStreamedAnswer).
 */
export class UnreservedStreamedAnswer extends Error {
  override name = 'UnreservedStreamedAnswer';
}

/** A full upload made only if the dataset was never written (onlyIfNeverWritten), found written in its transaction. */
export class DatasetWritten extends Error {
  override name = 'DatasetWritten';
}
