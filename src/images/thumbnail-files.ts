import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Where the dashboard keeps its thumbnails: DATA_DIR/thumbnails/<account id>/,
 * one file per image and version. They are a cache of the account's photos, so
 * they go with them: an older version once its successor is made, an account's
 * folder when the account is removed (or at the next start or `images check`,
 * after a crash).
 */
export function thumbnailsDirOf(dataDir: string): string {
  return path.join(dataDir, 'thumbnails');
}

export interface ThumbnailFile {
  /** The account's folder. */
  readonly dir: string;
  /** The file of this version of the image. */
  readonly file: string;
  /** What every version's file of this image starts with. */
  readonly prefix: string;
  /** Names the image and its version: the thumbnail's ETag and the key of its making. */
  readonly key: string;
}

/** The thumbnail's file for one version (`etag`) of an account's image, in a store (`location`). */
export function thumbnailFile(thumbnailsDir: string, accountId: number, location: string, name: string, etag: string): ThumbnailFile {
  const dir = path.join(thumbnailsDir, String(accountId));
  const prefix = createHash('sha256').update(`${location}\u0000${name}`).digest('hex').slice(0, 32);
  const version = createHash('sha256').update(etag).digest('hex').slice(0, 16);
  return { dir, file: path.join(dir, `${prefix}-${version}.webp`), prefix: `${prefix}-`, key: `${accountId}-${prefix}-${version}` };
}

/** Deletes the thumbnails of the image's earlier versions, once `current` is made. */
export async function removeOtherVersions(thumbnail: ThumbnailFile): Promise<void> {
  const current = path.basename(thumbnail.file);
  for (const entry of await readdir(thumbnail.dir)) {
    if (entry.startsWith(thumbnail.prefix) && entry.endsWith('.webp') && entry !== current) await rm(path.join(thumbnail.dir, entry), { force: true });
  }
}

/** An account's thumbnails, when it is removed. */
export async function removeAccountThumbnails(thumbnailsDir: string, accountId: number): Promise<void> {
  await rm(path.join(thumbnailsDir, String(accountId)), { recursive: true, force: true });
}

/**
 * At start and in `images check`: the folders of accounts that are gone (a
 * removal cut short), and the files of the earlier flat layout, which nothing
 * names any more.
 */
export async function removeStaleThumbnails(thumbnailsDir: string, liveAccountIds: ReadonlySet<number>): Promise<void> {
  let entries;
  try {
    entries = await readdir(thumbnailsDir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const entry of entries) {
    const isAccountFolder = entry.isDirectory() && /^\d+$/.test(entry.name);
    if (isAccountFolder && liveAccountIds.has(Number(entry.name))) continue;
    await rm(path.join(thumbnailsDir, entry.name), { recursive: true, force: true });
  }
}
