import { closeSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { ApiError } from '../errors.js';
import { etagOf, overQuota, type ImageStorage, type OpenedImage, type SavedImage, type SaveOptions, type StoredImage } from '../images/image-storage.js';
import type { ImageType } from '../images/image-type.js';
import { interrupted, receiveImage, type ReceivedImage } from '../images/image-upload.js';
import { openUnlinked, writeAllAt } from '../private-files.js';

/** Rows of image_chunks hold this many bytes (the last one fewer): one insert per chunk, so memory stays at about one chunk per upload. */
export const CHUNK_BYTES = 256 * 1024;
/** Chunks fetched per query when streaming a download. */
const CHUNKS_PER_FETCH = 4;
/** The first key of the two-key advisory locks on an account's images, apart from every other lock. */
const IMAGE_LOCK = 0x696d67; // "img"
/**
 * How long a replaced image's chunks outlive it: a download that opened the old
 * version reads on for this long (one hour: 25 MiB at 8 KB/s), then fails.
 */
export const RETIRED_BLOB_GRACE_MS = 60 * 60_000;

interface ImageRow {
  blob_id: number;
  size: number;
  type: ImageType | null;
  sha256: string;
  modified_ms: number;
  chunk_bytes: number;
}

/**
 * Images in PostgreSQL, so that server processes share nothing but the database.
 * One account's images. An upload's bytes are received first, into a private
 * file unlinked as soon as it is opened, holding no connection: twelve phones
 * trickling their photos in on a bad network (or a hostile client) held every
 * connection of the image pool for up to the request timeout, and with it every
 * other account's uploads. Then one short transaction copies the file into chunks
 * under a fresh blob id and points the name at that blob (the old one retired)
 * just before COMMIT, under a lock on the account's images, where the quota is
 * checked against the sum of their sizes. A crash or a refused body rolls
 * everything back, so a name holds a whole image, old or new.
 *
 * A download reads the blob its name pointed at, a few chunks per short query on
 * the shared pool: a client that reads slowly, or not at all, holds no connection
 * (ten such held every image request of every account up before). A blob that a
 * replace retired keeps its chunks for RETIRED_BLOB_GRACE_MS, so a download that
 * opened it streams the version it opened.
 */
export class PgImageStorage implements ImageStorage {
  readonly location = 'PostgreSQL (DATABASE_URL)';

  constructor(
    /** Uploads' connections, each held for the transaction that writes a received image. */
    private readonly pool: pg.Pool,
    /** Short reads: downloads, listings, sums. */
    private readonly reads: pg.Pool,
    private readonly datasetId: number,
    private readonly maxBytes: number,
  ) {}

  async save(name: string, source: Readable, quota: number | null = null, options: SaveOptions = {}): Promise<SavedImage> {
    let fd: number | undefined;
    let written = 0;
    try {
      // A first count stops an upload that cannot fit early, before it is all read.
      const room = quota === null ? Infinity : await this.roomFor(this.pool, name, quota);
      const received = await receiveImage(
        source,
        this.maxBytes,
        async (chunk) => {
          // Only once the first bytes show an image: a refused body costs no file.
          fd ??= openUnlinked(tmpdir(), 'ascently-sync-image-');
          writeAllAt(fd, chunk, written);
          written += chunk.length;
        },
        { bytes: room, error: () => overQuota(quota!) },
      );
      await this.store(name, fd!, received, quota, options.modified?.getTime() ?? Date.now());
      // Best effort: what no download can still be reading goes. A failure leaves it for the next upload.
      await deleteRetiredBlobs(this.reads, Date.now() - RETIRED_BLOB_GRACE_MS).catch(() => undefined);
      return { size: received.size, type: received.type, etag: etagOf(received.sha256) };
    } catch (err) {
      throw translate(err, source);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /**
   * Copies a received upload from its file into chunks under a fresh blob id and
   * points the name at it, in one transaction on one connection held only for as
   * long as that takes.
   */
  private async store(name: string, fd: number, received: ReceivedImage, quota: number | null, modified: number): Promise<void> {
    const db = await this.pool.connect();
    let committed = false;
    try {
      await db.query('BEGIN');
      const blobId = (await db.query<{ id: number }>("SELECT nextval('image_blob_ids') AS id")).rows[0]!.id;
      // One buffer for every chunk: each insert has been sent before the next read.
      const buffer = Buffer.alloc(Math.min(CHUNK_BYTES, received.size));
      for (let chunkNo = 0, position = 0; position < received.size; chunkNo++, position += CHUNK_BYTES) {
        const length = Math.min(CHUNK_BYTES, received.size - position);
        const bytesRead = readSync(fd, buffer, 0, length, position);
        if (bytesRead !== length) throw new Error(`the received image's file ended at ${position + bytesRead} of ${received.size} bytes`);
        await db.query('INSERT INTO image_chunks (blob_id, chunk_no, bytes) VALUES ($1, $2, $3)', [blobId, chunkNo, buffer.subarray(0, length)]);
      }
      // The account's uploads finish one after the other: each checks the quota
      // against what the others committed and deletes the blob it replaces.
      await db.query('SELECT pg_advisory_xact_lock($1, $2)', [IMAGE_LOCK, this.datasetId]);
      if (quota !== null && received.size > (await this.roomFor(db, name, quota))) throw overQuota(quota);
      // Retired, not deleted: a download may be reading it (see RETIRED_BLOB_GRACE_MS).
      await db.query('INSERT INTO retired_image_blobs (blob_id, retired_ms) SELECT blob_id, $3 FROM images WHERE dataset_id = $1 AND name = $2 ON CONFLICT DO NOTHING', [
        this.datasetId,
        name,
        Date.now(),
      ]);
      await db.query(
        `INSERT INTO images (dataset_id, name, blob_id, size, type, sha256, modified_ms, chunk_bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (dataset_id, name) DO UPDATE SET blob_id = excluded.blob_id, size = excluded.size, type = excluded.type,
           sha256 = excluded.sha256, modified_ms = excluded.modified_ms, chunk_bytes = excluded.chunk_bytes`,
        [this.datasetId, name, blobId, received.size, received.type, received.sha256, modified, CHUNK_BYTES],
      );
      await db.query('COMMIT');
      committed = true;
    } finally {
      if (committed) db.release();
      else await db.query('ROLLBACK').then(() => db.release(), (rollbackError: Error) => db.release(rollbackError));
    }
  }

  async open(name: string): Promise<OpenedImage | undefined> {
    const { rows } = await this.reads.query<ImageRow>('SELECT blob_id, size, type, sha256, modified_ms, chunk_bytes FROM images WHERE dataset_id = $1 AND name = $2', [
      this.datasetId,
      name,
    ]);
    const image = rows[0];
    if (!image) return undefined;
    return {
      size: image.size,
      type: image.type,
      etag: etagOf(image.sha256),
      modified: new Date(image.modified_ms),
      stream: (start, end) => Readable.from(readRange(this.reads, image, start, end), { objectMode: false }),
      // Nothing is held between two reads.
      close: async () => undefined,
    };
  }

  async list(): Promise<{ stored: StoredImage[]; leftovers: StoredImage[] }> {
    const { rows } = await this.reads.query<StoredImage>('SELECT name, size, modified_ms AS "modifiedMs" FROM images WHERE dataset_id = $1 ORDER BY name', [
      this.datasetId,
    ]);
    // An upload cut short is rolled back with its transaction: nothing is ever left over.
    return { stored: rows, leftovers: [] };
  }

  async deleteIfOlder(name: string, cutoffMs: number): Promise<boolean> {
    const db = await this.pool.connect();
    try {
      await db.query('BEGIN');
      await db.query('SELECT pg_advisory_xact_lock($1, $2)', [IMAGE_LOCK, this.datasetId]);
      const { rows } = await db.query<{ blob_id: number }>('DELETE FROM images WHERE dataset_id = $1 AND name = $2 AND modified_ms < $3 RETURNING blob_id', [
        this.datasetId,
        name,
        cutoffMs,
      ]);
      if (rows[0]) await db.query('DELETE FROM image_chunks WHERE blob_id = $1', [rows[0].blob_id]);
      await db.query('COMMIT');
      return rows.length > 0;
    } catch (err) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      db.release();
    }
  }

  async usage(): Promise<{ images: number; bytes: number }> {
    const { rows } = await this.reads.query<{ images: number; bytes: string }>('SELECT count(*) AS images, coalesce(sum(size), 0) AS bytes FROM images WHERE dataset_id = $1', [
      this.datasetId,
    ]);
    return { images: rows[0]!.images, bytes: Number(rows[0]!.bytes) };
  }

  /** How large an image under `name` may be: what the quota leaves beside the others, or the size it replaces. */
  private async roomFor(db: pg.Pool | pg.PoolClient, name: string, quota: number): Promise<number> {
    const { rows } = await db.query<{ others: string; replaced: string }>(
      `SELECT coalesce(sum(size) FILTER (WHERE name <> $2), 0) AS others, coalesce(sum(size) FILTER (WHERE name = $2), 0) AS replaced
       FROM images WHERE dataset_id = $1`,
      [this.datasetId, name],
    );
    return Math.max(quota - Number(rows[0]!.others), Number(rows[0]!.replaced));
  }
}

/** Deletes the chunks of the blobs retired before `before`. */
export async function deleteRetiredBlobs(db: pg.Pool | pg.PoolClient, before: number): Promise<void> {
  await db.query('WITH gone AS (DELETE FROM retired_image_blobs WHERE retired_ms < $1 RETURNING blob_id) DELETE FROM image_chunks WHERE blob_id IN (SELECT blob_id FROM gone)', [before]);
}

/** The bytes from `start` to `end` inclusive, a few chunks per query, each query on a connection of its own for its own time. */
async function* readRange(db: pg.Pool, image: ImageRow, start: number, end: number): AsyncGenerator<Buffer> {
  const first = Math.floor(start / image.chunk_bytes);
  const last = Math.floor(end / image.chunk_bytes);
  for (let from = first; from <= last; from += CHUNKS_PER_FETCH) {
    const to = Math.min(last, from + CHUNKS_PER_FETCH - 1);
    const { rows } = await db.query<{ chunk_no: number; bytes: Buffer }>(
      'SELECT chunk_no, bytes FROM image_chunks WHERE blob_id = $1 AND chunk_no BETWEEN $2 AND $3 ORDER BY chunk_no',
      [image.blob_id, from, to],
    );
    // Gone: the image was deleted since it was opened, or replaced longer ago than RETIRED_BLOB_GRACE_MS.
    if (rows.length !== to - from + 1) throw new Error(`image blob ${image.blob_id} is missing chunks ${from}-${to}`);
    for (const row of rows) {
      const offset = row.chunk_no * image.chunk_bytes;
      yield row.bytes.subarray(Math.max(0, start - offset), Math.min(row.bytes.length, end - offset + 1));
    }
  }
}

function translate(err: unknown, source: Readable): unknown {
  if (err instanceof ApiError) return err;
  // disk_full: the database's disk (53100) or the temporary file's, 507 as for the file store.
  const code = (err as { code?: string }).code;
  if (code === '53100' || code === 'ENOSPC' || code === 'EDQUOT') return ApiError.insufficientStorage('not enough disk space to store the image');
  return interrupted(err, source) ?? err;
}
