import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { syncDirectory } from '../images/image-store.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../private-files.js';
import { SQLITE_SCHEMA_VERSION } from '../store/migrations.js';
import { Database } from '../store/sqlite-driver.js';
import { DATABASE_FILE } from '../store/sqlite-store.js';
import { HOLDS_DATA } from '../store/store-copy.js';
import { DamagedArchiveError, DATABASE_ENTRY, IMAGES_PREFIX, isSafeEntryName, MANIFEST_ENTRY, parseManifest, TOKEN_ENTRY, type Manifest } from './manifest.js';

export interface RestoreTargets {
  dataDir: string;
  imagesDir: string;
  tokenFile: string;
}

/** An entry's bytes, read once. */
type EntryBody = AsyncIterable<Buffer>;

/** A manifest is a few hundred bytes per file; anything past this is not ours. */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/**
 * Reads the whole archive once without writing anything: every entry must be a
 * file the manifest lists, with its size and SHA-256, and the manifest must list
 * nothing that is missing. A truncated, bit-flipped or foreign archive fails here.
 */
export async function verifyArchive(archive: FileHandle): Promise<Manifest> {
  const seen = new Map<string, { size: number; sha256: string }>();
  let manifestText: string | undefined;
  await forEachEntry(archive, async (name, body) => {
    if (name === MANIFEST_ENTRY) {
      manifestText = (await readAtMost(body, MAX_MANIFEST_BYTES)).toString('utf8');
      return;
    }
    if (!isSafeEntryName(name) || seen.has(name)) throw new DamagedArchiveError(`it holds an unexpected entry (${JSON.stringify(name.slice(0, 200))})`);
    const found = await digest(body);
    if (name === DATABASE_ENTRY) checkDatabaseHeader(found.head);
    seen.set(name, found);
  });
  if (manifestText === undefined) throw new DamagedArchiveError('it has no manifest: it is not an ascently-sync backup');
  const manifest = parseManifest(manifestText);
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const file of manifest.files) {
    const found = seen.get(file.path);
    if (!found) throw new DamagedArchiveError(`${file.path} is missing`);
    if (found.size !== file.size || found.sha256 !== file.sha256) throw new DamagedArchiveError(`${file.path} does not match its manifest entry`);
  }
  for (const name of seen.keys()) if (!listed.has(name)) throw new DamagedArchiveError(`${name} is not in its manifest`);
  return manifest;
}

/**
 * Writes a verified archive into empty folders. Each file is checked against the
 * manifest again as it is written (the archive could have changed since it was
 * verified). The database goes in last, by rename: a restore cut short leaves no
 * database, never a part of one, and on any failure everything written is removed.
 */
export async function extractArchive(archive: FileHandle, manifest: Manifest, targets: RestoreTargets): Promise<void> {
  const expected = new Map(manifest.files.map((f) => [f.path, f]));
  const written: string[] = [];
  const databasePartial = path.join(targets.dataDir, `${DATABASE_FILE}.restoring`);
  try {
    await forEachEntry(archive, async (name, body, modified) => {
      if (name === MANIFEST_ENTRY) return void (await digest(body));
      const file = expected.get(name);
      if (!file) throw new DamagedArchiveError(`${name} is not in its manifest`);
      const destination = name === DATABASE_ENTRY ? databasePartial : destinationOf(name, targets);
      // Listed before its folder is made: a failure on the way still cleans up what was made.
      written.push(destination);
      await mkdir(path.dirname(destination), { recursive: true, mode: PRIVATE_DIR_MODE });
      // An image keeps its time: a restored server answers the same Last-Modified.
      const found = await writeFile(body, destination, PRIVATE_FILE_MODE, name === DATABASE_ENTRY ? undefined : modified);
      if (found.size !== file.size || found.sha256 !== file.sha256) throw new DamagedArchiveError(`${name} changed since it was verified`);
    });
    await checkRestoredDatabase(databasePartial);
    const database = path.join(targets.dataDir, DATABASE_FILE);
    await rename(databasePartial, database);
    written.push(database);
    await syncDirectory(targets.dataDir);
  } catch (err) {
    for (const file of written) await rm(file, { force: true });
    await removeEmptyFolders(written.map((file) => path.dirname(file)), [targets.dataDir, targets.imagesDir]);
    throw err;
  }
}

/** The folders a failed extraction made under its targets, if nothing else is in them: a retry finds the targets as they were. */
async function removeEmptyFolders(folders: string[], roots: string[]): Promise<void> {
  const candidates = new Set<string>();
  for (let dir of folders) {
    while (!roots.includes(dir) && roots.some((root) => dir.startsWith(root + path.sep))) {
      candidates.add(dir);
      dir = path.dirname(dir);
    }
  }
  // Deepest first, so that a parent is empty by the time its turn comes.
  for (const dir of [...candidates].sort((a, b) => b.length - a.length)) await rmdir(dir).catch(() => undefined);
}

/** Whether a folder holds anything at all (a restore moves it aside first); a missing folder holds nothing. */
export async function hasEntries(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Whether a SQLite install holds data a restore would replace, judged as for
 * PostgreSQL and copy-store: its database (HOLDS_DATA) or any image file. A folder
 * a server or the CLI once started in, with nothing synced, or a new volume's
 * lost+found, holds none. A database that cannot be read is taken to hold data.
 */
export async function sqliteHoldsData(dataDir: string, imagesDir: string): Promise<boolean> {
  return databaseHoldsData(path.join(dataDir, DATABASE_FILE)) || (await holdsFiles(imagesDir));
}

function databaseHoldsData(file: string): boolean {
  if (!existsSync(file)) return false;
  let db: Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    return db.prepare(HOLDS_DATA).pluck().get() === 1;
  } catch {
    return true;
  } finally {
    db?.close();
  }
}

async function holdsFiles(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir, { recursive: true, withFileTypes: true })).some((entry) => entry.isFile());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Moves everything in `dir` into a new sub-folder of it, and returns that folder.
 * Within the folder rather than beside it: a Docker volume's mount point cannot be
 * renamed, and a rename inside one file system is instant and never copies.
 */
export async function moveAside(dir: string, now = new Date()): Promise<string> {
  const aside = path.join(dir, `replaced-by-restore-${now.toISOString().replace(/[:.]/g, '-')}`);
  const entries = await readdir(dir);
  // Private like the data it takes in (a data folder another user may list, say).
  await mkdir(aside, { mode: PRIVATE_DIR_MODE });
  for (const name of entries) await rename(path.join(dir, name), path.join(aside, name));
  await syncDirectory(dir);
  return aside;
}

/** Undoes moveAside, for a restore that failed after it: `dir` must hold nothing of the restore's any more. */
export async function moveBack(aside: string): Promise<void> {
  const dir = path.dirname(aside);
  for (const name of await readdir(aside)) await rename(path.join(aside, name), path.join(dir, name));
  await rmdir(aside);
  await syncDirectory(dir);
}

function destinationOf(name: string, targets: RestoreTargets): string {
  if (name === TOKEN_ENTRY) return targets.tokenFile;
  return path.join(targets.imagesDir, ...name.slice(IMAGES_PREFIX.length).split('/'));
}

/** Streams the archive through gunzip and tar, calling `each` for every file entry in order. */
async function forEachEntry(archive: FileHandle, each: (name: string, body: EntryBody, modified: Date | undefined) => Promise<void>): Promise<void> {
  const extract = tar.extract();
  const source = archive.createReadStream({ start: 0, autoClose: false });
  // Its failure is taken now, not when awaited below: an entry's write failing (a full
  // disk) ends the pipeline while that write is still being cleaned up, and a
  // rejection nobody handled yet would end the process.
  const feeding = pipeline(source, createGunzip(), extract).then(
    () => undefined,
    (err: unknown) => err,
  );
  let failure: unknown;
  try {
    for await (const entry of extract) {
      if (entry.header.type !== 'file') throw new DamagedArchiveError(`it holds a ${entry.header.type} entry (${JSON.stringify(entry.header.name.slice(0, 200))})`);
      await each(entry.header.name, entry as AsyncIterable<Buffer>, entry.header.mtime);
    }
  } catch (err) {
    failure = err;
    extract.destroy();
  }
  failure ??= await feeding;
  if (failure === undefined) return;
  // Writing its files may fail too (a full disk, a folder not ours): said as such, not blamed on the archive.
  if (failure instanceof DamagedArchiveError || (failure as NodeJS.ErrnoException).syscall !== undefined) throw failure;
  throw new DamagedArchiveError(`it cannot be read: ${(failure as Error).message}`);
}

/** An SQLite file's header: its first 100 bytes, with `user_version` at offset 60. */
const SQLITE_HEADER_BYTES = 100;
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * The database an archive holds must be an SQLite file of a schema this release
 * knows, checked from its header before anything is written: a newer release's
 * archive restored here would stop the server at its next start.
 */
function checkDatabaseHeader(head: Buffer): void {
  if (head.length < SQLITE_HEADER_BYTES || !head.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) throw new DamagedArchiveError(`its ${DATABASE_ENTRY} is not an SQLite database`);
  const schema = head.readUInt32BE(60);
  if (schema > SQLITE_SCHEMA_VERSION) throw new DamagedArchiveError(`it was made by a newer ascently-sync (database schema ${schema}; this one knows ${SQLITE_SCHEMA_VERSION}): restore it with that version or a newer one`);
}

/**
 * The database as written, read whole before it takes the database's name: an
 * archive whose manifest was made to match a damaged or foreign database passes
 * the checks of bytes and header, and would otherwise be restored, and the server
 * refuse to start on it. Ours has its schema version and the datasets table.
 */
async function checkRestoredDatabase(file: string): Promise<void> {
  let db: Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new DamagedArchiveError(`its ${DATABASE_ENTRY} is damaged (${String(check).slice(0, 120)})`);
    const ours = (db.pragma('user_version', { simple: true }) as number) >= 1 && db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'datasets'").get() !== undefined;
    if (!ours) throw new DamagedArchiveError(`its ${DATABASE_ENTRY} is an SQLite database, but not ascently-sync's`);
  } catch (err) {
    if (err instanceof DamagedArchiveError) throw err;
    throw new DamagedArchiveError(`its ${DATABASE_ENTRY} cannot be read as a database (${(err as Error).message})`);
  } finally {
    db?.close();
    // Reading a WAL-mode file makes its -wal and -shm, which a reader leaves behind; nothing was written to them.
    for (const suffix of ['-wal', '-shm']) await rm(`${file}${suffix}`, { force: true });
  }
}

async function digest(body: EntryBody): Promise<{ size: number; sha256: string; head: Buffer }> {
  const hash = createHash('sha256');
  const head: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < SQLITE_HEADER_BYTES) head.push(chunk.subarray(0, SQLITE_HEADER_BYTES - size));
    size += chunk.length;
    hash.update(chunk);
  }
  return { size, sha256: hash.digest('hex'), head: Buffer.concat(head) };
}

async function readAtMost(body: EntryBody, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) throw new DamagedArchiveError('its manifest is too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Writes one entry to its place, flushed to disk, hashing it on the way. */
async function writeFile(body: EntryBody, destination: string, mode: number, modified?: Date): Promise<{ size: number; sha256: string }> {
  const handle = await open(destination, 'wx', mode);
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of body) {
      size += chunk.length;
      hash.update(chunk);
      await handle.write(chunk);
    }
    if (modified) await handle.utimes(modified, modified);
    await handle.sync();
  } catch (err) {
    // A write's error (ENOSPC) names no file: this one is where it happened.
    (err as NodeJS.ErrnoException).path ??= destination;
    throw err;
  } finally {
    await handle.close();
  }
  return { size, sha256: hash.digest('hex') };
}
