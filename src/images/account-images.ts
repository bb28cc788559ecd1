import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_ACCOUNT } from '../store/account-store.js';
import type { Store } from '../store/store.js';
import { isPlainImageName } from './filename.js';
import { removeStaleThumbnails } from './thumbnail-files.js';

/**
 * Other accounts' folders, under a name no image name can reach (a valid image
 * name never starts with a dot), by account id: ids are never reused.
 */
const ACCOUNTS_FOLDER = '.accounts';

/** `default` keeps IMAGES_DIR itself, as before accounts existed, so a reference server's folder still fits. */
export function accountImagesDir(imagesDir: string, account: { id: number; name: string }): string {
  return account.name === DEFAULT_ACCOUNT ? imagesDir : path.join(imagesDir, ACCOUNTS_FOLDER, String(account.id));
}

/** Deletes a removed account's image folder (after the database forgot the account). */
export async function removeAccountImages(imagesDir: string, account: { id: number; name: string }): Promise<void> {
  if (account.name === DEFAULT_ACCOUNT) return;
  await rm(accountImagesDir(imagesDir, account), { recursive: true, force: true });
}

/**
 * Deletes the image folders of accounts that no longer exist: what a crash
 * between an account's removal and the deletion of its files left. Returns the
 * ids whose folders went.
 */
export async function removeOrphanAccountFolders(imagesDir: string, liveAccountIds: ReadonlySet<number>): Promise<number[]> {
  const root = path.join(imagesDir, ACCOUNTS_FOLDER);
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: number[] = [];
  for (const entry of entries) {
    if (!/^[1-9]\d*$/.test(entry) || liveAccountIds.has(Number(entry))) continue;
    await rm(path.join(root, entry), { recursive: true, force: true });
    removed.push(Number(entry));
  }
  return removed;
}

/**
 * A crash between an account's removal and the deletion of its files leaves its
 * images and thumbnails; they go at the next start or `images check`. Returns the
 * account ids whose images went.
 */
export async function removeImagesOfRemovedAccounts(store: Store, imagesDir: string, thumbnailsDir: string): Promise<number[]> {
  const live = new Set((await store.accounts.list()).map((a) => a.id));
  await removeStaleThumbnails(thumbnailsDir, live);
  return store.images(imagesDir).removeOrphans(live);
}

export interface FolderUsage {
  readonly images: number;
  readonly bytes: number;
  /** The size of the image under the excluded name (not in the figures above), or 0. */
  readonly excludedBytes: number;
}

/** Counts the images in a folder from the files themselves: the figure image quotas use. */
export async function imageFolderUsage(dir: string, excludeName?: string): Promise<FolderUsage> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { images: 0, bytes: 0, excludedBytes: 0 };
    throw err;
  }
  let images = 0;
  let bytes = 0;
  let excludedBytes = 0;
  for (const entry of entries) {
    if (!entry.isFile() || !isPlainImageName(entry.name)) continue;
    const info = await stat(path.join(dir, entry.name)).catch(() => undefined);
    if (!info) continue;
    if (entry.name === excludeName) {
      excludedBytes = info.size;
      continue;
    }
    images += 1;
    bytes += info.size;
  }
  return { images, bytes, excludedBytes };
}
