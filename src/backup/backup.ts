import { createHash } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { mkdtemp, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import tar from 'tar-stream';
import { walkImageTree, type TreeFile } from '../images/image-tree.js';
import { copyDatabase } from '../store/sqlite-backup.js';
import { GzipMembers } from './gzip-members.js';
import { syncDirectory } from '../images/image-store.js';
import { BACKUP_FORMAT, BACKUP_VERSION, DATABASE_ENTRY, IMAGES_PREFIX, MANIFEST_ENTRY, type Manifest, type ManifestFile } from './manifest.js';

const CHUNK = 1024 * 1024;

export interface BackupSources {
  dataDir: string;
  imagesDir: string;
}

export interface BackupProgress {
  readonly files: number;
  readonly totalFiles: number;
  readonly bytes: number;
  readonly totalBytes: number;
}

export interface BackupSummary {
  readonly items: number;
  readonly accounts: number;
  readonly images: number;
  /** Bytes of the files archived, and of the archive written. */
  readonly fileBytes: number;
  readonly archiveBytes: number;
}

/**
 * Writes the backup to `file` while the server keeps running: the database
 * through SQLite's online backup, then every image, each read from a handle
 * opened before reading, so that an image replaced meanwhile (uploads rename a
 * whole new file into place) is archived whole, old or new. The archive is
 * written beside `file` and renamed into place once complete and on disk.
 */
export async function createBackup(sources: BackupSources, file: string, onProgress: (p: BackupProgress) => void = () => undefined): Promise<BackupSummary> {
  const target = path.resolve(file);
  const partial = `${target}.partial`;
  const workDir = await mkdtemp(path.join(path.dirname(target), '.ascently-backup-'));
  let complete = false;
  try {
    const databaseCopy = path.join(workDir, 'ascently.db');
    const counts = await copyDatabase(sources.dataDir, databaseCopy);
    // The archive being written may itself sit in the images folder: never archive it.
    const own = (f: TreeFile): boolean => f.full === partial || f.full === target || f.full.startsWith(workDir + path.sep);
    const images: TreeFile[] = [];
    for await (const image of walkImageTree(sources.imagesDir)) if (!own(image)) images.push(image);
    const databaseSize = (await stat(databaseCopy)).size;
    let progress: BackupProgress = { files: 0, totalFiles: images.length + 1, bytes: 0, totalBytes: databaseSize + images.reduce((sum, f) => sum + f.size, 0) };

    const pack = tar.pack();
    // Level 1 shrinks the database's JSON about threefold at half the default level's
    // cost; images are compressed already, so they go in a second gzip member of
    // stored blocks (level 0), many times faster than any level that tries.
    const gzip = new GzipMembers(createWriteStream(partial, { mode: 0o600, highWaterMark: CHUNK }), 1);
    const written = gzip.consume(pack as unknown as AsyncIterable<Buffer>);
    written.catch(() => undefined); // awaited below; a failure while adding entries is reported there
    const files: ManifestFile[] = [];
    const add = async (name: string, fullPath: string, mode: number): Promise<boolean> => {
      const entry = await addFile(pack, name, fullPath, mode, (bytes) => {
        progress = { ...progress, bytes: progress.bytes + bytes };
        onProgress(progress);
      });
      if (!entry) return false;
      files.push(entry);
      progress = { ...progress, files: progress.files + 1 };
      onProgress(progress);
      return true;
    };
    await add(DATABASE_ENTRY, databaseCopy, 0o644);
    gzip.setLevel(0);
    let imageCount = 0;
    for (const image of images) if (await add(`${IMAGES_PREFIX}${image.relative}`, image.full, 0o644)) imageCount += 1;

    const manifest: Manifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      createdAt: new Date().toISOString(),
      items: counts.items,
      accounts: counts.accounts,
      images: imageCount,
      files,
    };
    pack.entry({ name: MANIFEST_ENTRY, mode: 0o644, mtime: new Date() }, `${JSON.stringify(manifest, null, 1)}\n`);
    pack.finalize();
    await written;
    const handle = await open(partial, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(partial, target);
    await syncDirectory(path.dirname(target));
    complete = true;
    const archiveBytes = (await stat(target)).size;
    return { items: counts.items, accounts: counts.accounts, images: imageCount, fileBytes: files.reduce((sum, f) => sum + f.size, 0), archiveBytes };
  } finally {
    await rm(workDir, { recursive: true, force: true });
    if (!complete) await rm(partial, { force: true });
  }
}

/**
 * Archives one file as it is when opened, hashing it on the way; undefined when
 * it is gone (an image deleted since the folder was listed, no token file).
 */
async function addFile(pack: tar.Pack, name: string, fullPath: string, mode: number, onBytes: (bytes: number) => void): Promise<ManifestFile | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(fullPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if (['ENOENT', 'ELOOP'].includes((err as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw err;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return undefined;
    const size = info.size;
    const hash = createHash('sha256');
    let done!: (err?: Error | null) => void;
    const finished = new Promise<void>((resolve, reject) => (done = (err) => (err ? reject(err) : resolve())));
    const entry = pack.entry({ name, size, mode, mtime: info.mtime, type: 'file' }, done);
    let read = 0;
    if (size > 0) {
      for await (const chunk of handle.createReadStream({ start: 0, end: size - 1, autoClose: false, highWaterMark: CHUNK }) as AsyncIterable<Buffer>) {
        read += chunk.length;
        hash.update(chunk);
        onBytes(chunk.length);
        if (!entry.write(chunk)) await new Promise<void>((resolve) => entry.once('drain', () => resolve()));
      }
    }
    if (read !== size) throw new Error(`${fullPath} shrank while it was being archived`);
    entry.end(null);
    await finished;
    return { path: name, size, sha256: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}
