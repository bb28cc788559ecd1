import { isUtf8 } from 'node:buffer';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { ApiError } from '../errors.js';
import { UnreservedStreamedAnswer, type ExportSnapshot, type HistorySnapshot, type JoinedItems, type Store, type TextPages } from '../store/store.js';
import { documentBytes, documentChunks, documentText, joinedPages } from './document.js';
import { gzipChunks } from './parallel-gzip.js';
import { KeyedLock } from './keyed-lock.js';
import { COLLECTIONS } from './model.js';
import { formatInstant } from './timestamps.js';
import { planScannedUpload, type PlannedUpload } from './upload-plan.js';
import { scanFullUpload } from './upload-scan.js';
import type { UploadSource } from './upload-source.js';
import { NOT_UTF8_BODY } from './utf8-check.js';
import { parseDocument, validateDelta, type DeltaRequest } from './validate.js';

const gunzipAsync = promisify(gunzip);

/** A document as text, or as UTF-8 (GET /sync); close() releases its read, whether it was read to the end or not. */
export interface ExportDocument<Chunk extends string | Buffer = string> {
  readonly chunks: AsyncIterable<Chunk>;
  close(): void;
}

export interface SyncServiceOptions {
  /** How many snapshots of replaced data to keep; 0 keeps none. */
  historyKeep: number;
  now?: () => number;
  /** Told of each sync once it is done (metrics). */
  onSync?: (event: SyncEvent) => void;
}

export interface SyncEvent {
  readonly datasetId: number;
  readonly kind: 'delta' | 'full_upload' | 'full_download';
  /** Items and deletions the device sent. */
  readonly received: number;
  /** Items and deletions the device was sent. */
  readonly sent: number;
  /** The store's write transaction, commit and fsync included; absent for a download. */
  readonly writeSeconds?: number;
}

/**
 * The sync use cases, between the routes and the store: validation, the write
 * lock, history snapshots and the documents answered. No HTTP and no SQL here.
 */
export class SyncService {
  private readonly lock = new KeyedLock<number>();
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    private readonly options: SyncServiceOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /**
   * POST /sync/delta, from the request body's text: merge, then answer everything
   * the device has not seen. A device syncing from scratch gets the whole dataset,
   * as chunks to stream (close() when done, as for an export); otherwise the text.
   */
  async delta(datasetId: number, bodyText: string): Promise<string | ExportDocument> {
    const request = validateDelta(parseDocument(bodyText), bodyText);
    // Known to be from scratch before the write lock is taken: its answer's share is waited for outside the lock.
    try {
      return await this.applyDelta(datasetId, request, request.lastSyncMs === null);
    } catch (err) {
      // From scratch after all (a lastSyncTime later than every stamp): again, with its share.
      if (err instanceof UnreservedStreamedAnswer) return this.applyDelta(datasetId, request, true);
      throw err;
    }
  }

  private async applyDelta(datasetId: number, request: DeltaRequest, fromScratch: boolean): Promise<string | ExportDocument> {
    const reserved = fromScratch ? await this.store.reserveStreamedAnswer?.(datasetId) : undefined;
    return this.lock.run(datasetId, async () => {
      const started = process.hrtime.bigint();
      const outcome = await this.store.applyDelta(datasetId, request, this.now(), reserved).catch((err: unknown) => {
        reserved?.();
        throw err;
      });
      const writeSeconds = secondsSince(started);
      const report = (sent: number): void =>
        this.options.onSync?.({ datasetId, kind: 'delta', received: request.changes.items.length + request.changes.tombstones.length, sent, writeSeconds });
      const head = [['serverTime', JSON.stringify(formatInstant(outcome.stamp))]] as const;
      if (!outcome.streamed) {
        const items = COLLECTIONS.map((c) => [c, outcome.items(c)] as const);
        const tombstones = outcome.tombstones();
        report(items.reduce((sum, [, rows]) => sum + rows.length, tombstones.length));
        return documentText({ head, arrays: [...items, ['deletedItems', tombstones] as const] });
      }
      // From scratch, the rows are counted as they go out, and reported once the answer is over or abandoned.
      let sent = 0;
      const count = (n: number): void => void (sent += n);
      let reported = false;
      const close = (): void => {
        try {
          outcome.close();
        } finally {
          if (!reported) {
            reported = true;
            report(sent);
          }
        }
      };
      const parts = {
        head,
        arrays: [...COLLECTIONS.map((c) => [c, countedPages(outcome.items(c), count)] as const), ['deletedItems', countedPages(outcome.tombstones(), count)] as const],
      };
      return { chunks: closing(documentChunks(parts), close), close };
    });
  }

  /**
   * POST /sync, from the request body's bytes (in memory, or a file it was
   * received into): the upload becomes the dataset, after a snapshot of what it
   * replaces. The body is checked before the write lock is taken, so a slow or
   * invalid upload never holds up other writes. `onlyIfNeverWritten`: see FullUploadWrite.
   */
  async fullUpload(datasetId: number, body: Buffer | UploadSource, reason = 'full upload', onlyIfNeverWritten = false): Promise<{ stamp: number }> {
    // The plan binds the body's bytes as text: UTF-8 is checked once here (a file source was checked as it was received).
    if (Buffer.isBuffer(body) && !isUtf8(body)) throw ApiError.badRequest(NOT_UTF8_BODY);
    // The stored items spare the scan parsing what the device sends again unchanged;
    // they only stand in for a parse, so another write meanwhile changes nothing.
    const known = await this.store.openKnownItems(datasetId);
    let plan: PlannedUpload;
    try {
      plan = planScannedUpload(scanFullUpload(body, undefined, known));
    } finally {
      known?.close();
    }
    return this.lock.run(datasetId, async () => {
      // The write's time starts once the history snapshot, read before the transaction, is taken.
      let started = process.hrtime.bigint();
      const snapshot = async (): Promise<HistorySnapshot | undefined> => {
        const taken = await this.snapshot(datasetId, reason);
        started = process.hrtime.bigint();
        return taken;
      };
      const written = await this.store.applyFullUpload(
        datasetId,
        { plan, snapshot: this.options.historyKeep > 0 ? snapshot : undefined, historyKeep: this.options.historyKeep, onlyIfNeverWritten },
        this.now(),
      );
      this.options.onSync?.({ datasetId, kind: 'full_upload', received: plan.items.length + plan.tombstones.length, sent: 0, writeSeconds: secondsSince(started) });
      return written;
    });
  }

  /**
   * GET /sync as text chunks, or undefined (404) if the dataset was never written.
   * The caller must call close() when done or abandoned (a client that hangs up
   * before the first chunk never runs the generator's own clean-up).
   */
  async openExport(datasetId: number): Promise<ExportDocument | undefined> {
    const snapshot = await this.store.openExport(datasetId);
    if (!snapshot) return undefined;
    return { chunks: exportDocument(snapshot, formatInstant(this.now())), close: () => snapshot.close() };
  }

  /** The document of a dataset never written, as GET /sync would answer once it is: no items, no deletions. */
  emptyExport(): ExportDocument {
    const arrays = [...COLLECTIONS.map((c) => [c, []] as const), ['deletedItems', []] as const];
    return { chunks: documentChunks({ head: exportHead(formatInstant(this.now())), arrays }), close: () => undefined };
  }

  /**
   * The GET /sync document as UTF-8 chunks, its items copied from the store as
   * bytes: no string is made for each item. `done` is told how many items and
   * deletions went out, once the last of them has.
   */
  private async openExportBytes(datasetId: number, done?: (rows: number) => void): Promise<{ bytes: AsyncIterable<Buffer>; close(): void } | undefined> {
    const snapshot = await this.store.openExport(datasetId);
    if (!snapshot) return undefined;
    let rows = 0;
    async function* counted(chunks: AsyncIterable<JoinedItems>, last = false): AsyncGenerator<JoinedItems> {
      for await (const chunk of chunks) {
        rows += chunk.rows;
        yield chunk;
      }
      if (last) done?.(rows);
    }
    const bytes = documentBytes({
      head: exportHead(formatInstant(this.now())),
      arrays: [...COLLECTIONS.map((c) => [c, counted(snapshot.itemBytes(c))] as const), ['deletedItems', counted(joinedPages(snapshot.tombstones()), true)]],
      tailObjectJson: snapshot.extraFieldsJson,
    });
    return { bytes, close: () => snapshot.close() };
  }

  /** GET /sync: its bytes, and once the whole document is out, an onSync event with how many items it carried. */
  async download(datasetId: number): Promise<ExportDocument<Buffer> | undefined> {
    const onSync = this.options.onSync;
    const exported = await this.openExportBytes(datasetId, onSync && ((sent) => onSync({ datasetId, kind: 'full_download', received: 0, sent })));
    return exported && { chunks: exported.bytes, close: exported.close };
  }

  /** Puts a history snapshot back as a full upload, itself undoable and picked up by deltas. */
  async restore(datasetId: number, historyId: number): Promise<{ stamp: number }> {
    const gz = await this.store.readHistory(datasetId, historyId);
    if (!gz) throw new Error(`no history entry ${historyId}`);
    return this.fullUpload(datasetId, await gunzipAsync(gz), `before restore of #${historyId}`);
  }

  private async snapshot(datasetId: number, reason: string): Promise<HistorySnapshot | undefined> {
    const stats = await this.store.stats(datasetId);
    const items = COLLECTIONS.reduce((sum, c) => sum + stats.items[c], 0);
    if (!stats.written || items + stats.tombstones === 0) return undefined;
    const exported = await this.openExportBytes(datasetId);
    if (!exported) return undefined;
    // Read in chunks and compressed on several of libuv's threads (parallel-gzip.ts):
    // the replaced data is never held whole in memory. Level 1 shrinks JSON several
    // times over at a fraction of the default level's cost.
    let compressed: { gzip: Buffer; rawBytes: number };
    try {
      compressed = await gzipChunks(exported.bytes, 1, stats.jsonBytes);
    } finally {
      exported.close();
    }
    return { reason, items, tombstones: stats.tombstones, rawBytes: compressed.rawBytes, gzip: compressed.gzip };
  }
}

async function* closing(chunks: AsyncIterable<string>, close: () => void): AsyncGenerator<string> {
  try {
    yield* chunks;
  } finally {
    close();
  }
}

function secondsSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function* countedPages(pages: TextPages, count: (rows: number) => void): AsyncGenerator<readonly string[]> {
  for await (const page of pages) {
    count(page.length);
    yield page;
  }
}

async function* exportDocument(snapshot: ExportSnapshot, exportedAt: string): AsyncGenerator<string> {
  try {
    yield* documentChunks({
      head: exportHead(exportedAt),
      arrays: [...COLLECTIONS.map((c) => [c, snapshot.items(c)] as const), ['deletedItems', snapshot.tombstones()]],
      tailObjectJson: snapshot.extraFieldsJson,
    });
  } finally {
    snapshot.close();
  }
}

function exportHead(exportedAt: string): readonly (readonly [string, string])[] {
  return [
    ['exportedAt', JSON.stringify(exportedAt)],
    ['version', '"2.0"'],
    ['formatVersion', '"2.0"'],
  ];
}
