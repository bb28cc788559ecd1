import { createHash, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ApiError } from '../errors.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../private-files.js';
import { imageFolderUsage } from './account-images.js';
import { imagePath, isPlainImageName } from './filename.js';
import { matches, type ImageIndex, type ImageMeta } from './image-index.js';
import { etagOf, overQuota, type ImageStorage, type OpenedImage, type SavedImage, type SaveOptions, type StoredImage } from './image-storage.js';
import { sniffImageType, type ImageType } from './image-type.js';
import { interrupted, receiveImage } from './image-upload.js';

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

/**
 * One account's images as plain files in its folder (IMAGES_DIR itself for the
 * default account, so a reference server's folder can be copied in as is), and
 * its entries in the image index.
 */
export class ImageStore implements ImageStorage {
  /** Quota checks and renames of this folder, one at a time (see save). */
  private commits: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly index: ImageIndex,
    private readonly datasetId: number,
  ) {}

  get location(): string {
    return this.dir;
  }

  /** Creates the folder and (for the server, not the doctor) removes the temporary files a crash left behind. */
  static async open(dir: string, maxBytes: number, index: ImageIndex, datasetId: number, options: { removeLeftovers?: boolean } = {}): Promise<ImageStore> {
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    if (options.removeLeftovers ?? true) {
      for (const name of await readdir(dir)) {
        if (isTempFile(name)) await rm(path.join(dir, name), { force: true });
      }
    }
    return new ImageStore(path.resolve(dir), maxBytes, index, datasetId);
  }

  /**
   * Streams `source` to a temporary file, then flushes, renames into place and
   * flushes the folder, so that a crash leaves either the old image or the new one
   * under the name, never a part. Nothing is written until the first bytes show an
   * image, and nothing is kept on any failure.
   *
   * The quota's sum is counted from the files themselves, so it is exact whatever
   * crashed or was copied in; uploads stream side by side, and only the final
   * count and rename are taken one at a time.
   */
  async save(name: string, source: Readable, quota: number | null = null, options: SaveOptions = {}): Promise<SavedImage> {
    const target = imagePath(this.dir, name);
    const temp = path.join(this.dir, `${TEMP_PREFIX}${randomUUID()}${TEMP_SUFFIX}`);
    let handle: FileHandle | undefined;
    let renamed = false;
    try {
      const room = quota === null ? Infinity : await this.roomFor(name, quota);
      const received = await receiveImage(
        source,
        this.maxBytes,
        async (chunk) => {
          handle ??= await open(temp, 'wx', PRIVATE_FILE_MODE);
          await handle.write(chunk);
        },
        { bytes: room, error: () => overQuota(quota!) },
      );
      const file = handle!;
      if (options.modified) await file.utimes(options.modified, options.modified);
      await file.sync();
      const stat = await file.stat({ bigint: true });
      await file.close();
      handle = undefined;
      await this.commit(async () => {
        if (quota !== null && received.size > (await this.roomFor(name, quota))) throw overQuota(quota);
        await rename(temp, target);
        renamed = true;
      });
      await syncDirectory(this.dir);
      // After the rename: a crash before this line leaves a stale entry, which the
      // inode check in lookUp() notices.
      const meta: ImageMeta = { size: received.size, mtimeNs: String(stat.mtimeNs), ino: String(stat.ino), type: received.type, sha256: received.sha256 };
      await this.index.put(this.datasetId, name, meta);
      return { size: received.size, type: received.type, etag: etagOf(meta.sha256) };
    } catch (err) {
      throw translate(err, source);
    } finally {
      await handle?.close().catch(() => undefined);
      if (!renamed) await rm(temp, { force: true }).catch(() => undefined);
    }
  }

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
      // From the handle opened before any replace: a reader keeps the version it opened.
      return {
        size: meta.size,
        type: meta.type,
        etag: etagOf(meta.sha256),
        modified: stat.mtime,
        stream: (start, end) => handle.createReadStream({ start, end, autoClose: true }),
        close: () => handle.close(),
      };
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  async list(): Promise<{ stored: StoredImage[]; leftovers: StoredImage[] }> {
    const stored: StoredImage[] = [];
    const leftovers: StoredImage[] = [];
    for (const name of await listFolder(this.dir)) {
      const info = await stat(path.join(this.dir, name)).catch(() => undefined);
      if (!info?.isFile()) continue;
      const file = { name, size: info.size, modifiedMs: info.mtimeMs };
      if (isTempFile(name)) leftovers.push(file);
      else if (isPlainImageName(name)) stored.push(file);
    }
    return { stored, leftovers };
  }

  async deleteIfOlder(name: string, cutoffMs: number): Promise<boolean> {
    const full = path.join(this.dir, name);
    const now = await stat(full).catch(() => undefined);
    if (!now?.isFile() || now.mtimeMs >= cutoffMs) return false;
    await rm(full, { force: true });
    await this.index.delete(this.datasetId, name);
    return true;
  }

  async usage(): Promise<{ images: number; bytes: number }> {
    const { images, bytes } = await imageFolderUsage(this.dir);
    return { images, bytes };
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

/** The rename is durable only once the folder itself is flushed. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function listFolder(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

function translate(err: unknown, source: Readable): unknown {
  if (err instanceof ApiError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return ApiError.insufficientStorage('not enough disk space to store the image');
  return interrupted(err, source) ?? err;
}
