import { createHash, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ApiError } from '../errors.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../private-files.js';
import { imagePath } from './filename.js';
import { imageFolderUsage } from './account-images.js';
import { matches, type ImageIndex, type ImageMeta } from './image-index.js';
import { SNIFF_BYTES, sniffImageType, type ImageType } from './image-type.js';

/**
 * Uploads are written to `.upload-<uuid>.tmp` in IMAGES_DIR itself, so that the
 * final rename stays on one file system and is atomic. The leading dot keeps these
 * names outside what a client may ask for (filename.ts).
 */
const TEMP_PREFIX = '.upload-';
const TEMP_SUFFIX = '.tmp';

export function isTempFile(name: string): boolean {
  return name.startsWith(TEMP_PREFIX) && name.endsWith(TEMP_SUFFIX);
}

export interface SavedImage {
  readonly size: number;
  readonly type: ImageType;
  readonly etag: string;
}

/** A stored image opened for reading: the handle pins this version even if it is replaced meanwhile. */
export interface OpenedImage {
  readonly handle: FileHandle;
  readonly size: number;
  readonly type: ImageType | null;
  readonly etag: string;
  readonly modified: Date;
}

const NOT_AN_IMAGE = 'the body is not a JPEG, PNG, GIF or WebP image';

/** One account's images: its folder, and its entries in the image index. */
export class ImageStore {
  /** Quota checks and renames of this folder, one at a time (see save). */
  private commits: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly index: ImageIndex,
    private readonly datasetId: number,
  ) {}

  /** Creates the folder and removes the temporary files a crash left behind. */
  static async open(dir: string, maxBytes: number, index: ImageIndex, datasetId: number): Promise<ImageStore> {
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    for (const name of await readdir(dir)) {
      if (isTempFile(name)) await rm(path.join(dir, name), { force: true });
    }
    return new ImageStore(path.resolve(dir), maxBytes, index, datasetId);
  }

  /**
   * Streams `source` to a temporary file, then flushes, renames into place and
   * flushes the folder, so that a crash leaves either the old image or the new one
   * under the name, never a part. Nothing is written until the first bytes show an
   * image, and nothing is kept on any failure.
   *
   * With a quota (the account's maxImageBytes), the folder's other images plus
   * this one may not pass it, unless this one is no larger than the one it
   * replaces. The sum is counted from the files themselves, so it is exact
   * whatever crashed or was copied in; uploads stream side by side, and only the
   * final count and rename are taken one at a time.
   */
  async save(name: string, source: Readable, quota: number | null = null): Promise<SavedImage> {
    const target = imagePath(this.dir, name);
    const temp = path.join(this.dir, `${TEMP_PREFIX}${randomUUID()}${TEMP_SUFFIX}`);
    const hash = createHash('sha256');
    let handle: FileHandle | undefined;
    let head: Buffer[] = [];
    let headBytes = 0;
    let type: ImageType | undefined;
    let size = 0;
    let renamed = false;
    // A first count stops an upload that cannot fit early, before it is all read.
    const room = quota === null ? Infinity : await this.roomFor(name, quota);

    const writeChunk = async (chunk: Buffer): Promise<void> => {
      handle ??= await open(temp, 'wx', PRIVATE_FILE_MODE);
      hash.update(chunk);
      await handle.write(chunk);
    };
    const decideType = async (): Promise<void> => {
      type = sniffImageType(Buffer.concat(head, headBytes));
      if (type === undefined) throw ApiError.unsupportedMediaType(NOT_AN_IMAGE);
      await writeChunk(Buffer.concat(head, headBytes));
      head = [];
    };

    let completed = false;
    try {
      // destroyOnReturn: false, so that leaving the loop early (too large, not an
      // image) leaves the connection open for the error answer.
      for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > this.maxBytes) throw tooLarge(this.maxBytes);
        if (size > room) throw overQuota(quota!);
        if (type === undefined) {
          head.push(chunk);
          headBytes += chunk.length;
          if (headBytes >= SNIFF_BYTES) await decideType();
        } else {
          await writeChunk(chunk);
        }
      }
      completed = true;
      if (type === undefined) await decideType();
      const file = handle!;
      await file.sync();
      const stat = await file.stat({ bigint: true });
      await file.close();
      handle = undefined;
      await this.commit(async () => {
        if (quota !== null && size > (await this.roomFor(name, quota))) throw overQuota(quota);
        await rename(temp, target);
        renamed = true;
      });
      await syncDirectory(this.dir);
      // After the rename: a crash before this line leaves a stale entry, which the
      // inode check in lookUp() notices.
      const meta: ImageMeta = { size, mtimeNs: String(stat.mtimeNs), ino: String(stat.ino), type: type!, sha256: hash.digest('base64url') };
      await this.index.put(this.datasetId, name, meta);
      return { size, type: type!, etag: etagOf(meta) };
    } catch (err) {
      // The rest of a refused body is left unread: the HTTP layer reads and drops
      // it, up to a bound, after answering (http/lingering-close.ts).
      if (!completed) source.on('error', () => undefined);
      throw translate(err, source);
    } finally {
      await handle?.close().catch(() => undefined);
      if (!renamed) await rm(temp, { force: true }).catch(() => undefined);
    }
  }

  /** Opens a stored image, or undefined when there is none by that name. */
  async open(name: string): Promise<OpenedImage | undefined> {
    let handle: FileHandle;
    try {
      // O_NOFOLLOW: a symlink planted in the folder is not followed out of it.
      handle = await open(imagePath(this.dir, name), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if (['ENOENT', 'ENOTDIR', 'ELOOP', 'EISDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return undefined;
      throw err;
    }
    try {
      const stat = await handle.stat({ bigint: true });
      if (!stat.isFile()) {
        await handle.close();
        return undefined;
      }
      const meta = await this.lookUp(name, handle, stat);
      return { handle, size: meta.size, type: meta.type, etag: etagOf(meta), modified: stat.mtime };
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  /** Forgets a name the doctor deleted. */
  forget(name: string): Promise<void> {
    return this.index.delete(this.datasetId, name);
  }

  /** How large an image under `name` may be: what the quota leaves beside the others, or the size it replaces. */
  private async roomFor(name: string, quota: number): Promise<number> {
    const usage = await imageFolderUsage(this.dir, name);
    return Math.max(quota - usage.bytes, usage.excludedBytes);
  }

  private commit<T>(task: () => Promise<T>): Promise<T> {
    const result = this.commits.then(task, task);
    this.commits = result.catch(() => undefined);
    return result;
  }

  private async lookUp(name: string, handle: FileHandle, stat: { size: bigint; mtimeNs: bigint; ino: bigint }): Promise<ImageMeta> {
    const known = await this.index.get(this.datasetId, name);
    if (known && matches(known, stat)) return known;
    const meta = await describe(handle, stat);
    await this.index.put(this.datasetId, name, meta);
    return meta;
  }
}

/** Hashes and sniffs an already open file, reading at explicit positions so the handle can still be streamed from 0. */
async function describe(handle: FileHandle, stat: { size: bigint; mtimeNs: bigint; ino: bigint }): Promise<ImageMeta> {
  const hash = createHash('sha256');
  const buffer = Buffer.alloc(256 * 1024);
  let type: ImageType | undefined;
  let position = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    if (position === 0) type = sniffImageType(buffer.subarray(0, bytesRead));
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return { size: position, mtimeNs: String(stat.mtimeNs), ino: String(stat.ino), type: type ?? null, sha256: hash.digest('base64url') };
}

function etagOf(meta: ImageMeta): string {
  return `"${meta.sha256}"`;
}

export function tooLarge(maxBytes: number): ApiError {
  return ApiError.payloadTooLarge(`image is larger than the ${maxBytes} bytes this server accepts (MAX_IMAGE_BYTES)`);
}

function overQuota(quota: number): ApiError {
  return ApiError.quotaExceeded(`this image would take the account's images past their limit of ${quota} bytes (accounts set --max-image-bytes); nothing was stored`);
}

/** The rename is durable only once the folder itself is flushed. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function translate(err: unknown, source: Readable): unknown {
  if (err instanceof ApiError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return ApiError.insufficientStorage('not enough disk space to store the image');
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || source.destroyed) return ApiError.badRequest('the upload was interrupted before the body ended');
  return err;
}
