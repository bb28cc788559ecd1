import { existsSync } from 'node:fs';
import { mkdir, open, rmdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { createBackup, type BackupProgress } from '../backup/backup.js';
import { DamagedArchiveError, type Manifest } from '../backup/manifest.js';
import { extractArchive, hasEntries, moveAside, moveBack, sqliteHoldsData, verifyArchive } from '../backup/restore.js';
import { ConfigError, postgresLabel, type Config } from '../config.js';
import { PRIVATE_DIR_MODE } from '../private-files.js';
import { CommandError } from './command-error.js';
import { checkNotFolder, checkWritableTarget } from './data-commands.js';
import { CliError } from './exit-codes.js';
import { backupFromPostgres, replacedArchiveFor, restoreIntoPostgres } from './postgres-backup.js';
import { counted, formatBytes, formatDuration, Progress } from './progress.js';
import { openStore } from '../store/open-store.js';
import { databaseInUse } from '../store/sqlite-backup.js';
import { DATABASE_FILE } from '../store/sqlite-store.js';
import { GENERATED_TOKEN_FILE } from './token.js';

/** `ascently-sync backup FILE`: one .tar.gz of the database and the images, while the server runs; from SQLite or PostgreSQL alike. */
export async function backupCommand(config: Config, args: string[]): Promise<number> {
  const [file] = args;
  if (file === undefined || args.length > 1) throw new ConfigError('usage: ascently-sync backup FILE (a .tar.gz to write)');
  checkWritableTarget(file);
  const onPostgres = config.databaseUrl !== undefined;
  if (!onPostgres && !existsSync(path.join(config.dataDir, DATABASE_FILE))) throw new CommandError(`nothing to back up: no database in ${config.dataDir} (DATA_DIR)`);
  const started = Date.now();
  const progress = new Progress();
  const show = (p: BackupProgress): void => {
    const percent = p.totalBytes === 0 ? 100 : Math.floor((100 * p.bytes) / p.totalBytes);
    progress.update(`backing up: ${p.files}/${p.totalFiles} files, ${formatBytes(p.bytes)} of ${formatBytes(p.totalBytes)} (${percent}%)`, p.files === p.totalFiles);
  };
  const summary = await (onPostgres ? backupFromPostgres(config, file, show) : createBackup({ dataDir: config.dataDir, imagesDir: config.imagesDir }, file, show)).finally(() =>
    progress.done(),
  );
  process.stdout.write(
    `Backed up ${counted(summary.items, 'item')} (${counted(summary.accounts, 'account')}) and ${counted(summary.images, 'image')}: ${formatBytes(summary.fileBytes)} in ${formatBytes(summary.archiveBytes)} to ${file} in ${formatDuration(Date.now() - started)}.\n`,
  );
  return 0;
}

/**
 * Usage mistakes exit 2, a damaged or foreign archive 4, an occupied folder or a
 * running server 1; each is one line, and nothing was changed.
 *
 * `ascently-sync restore FILE [--data-dir DIR] [--force]`: checks the whole
 * archive first and changes nothing if it is damaged; refuses folders (or, with
 * DATABASE_URL, a database) that hold data unless --force, which keeps that data
 * aside rather than deleting it. Run it with the server stopped.
 */
export async function restoreCommand(config: Config, args: string[], options: { force: boolean }): Promise<number> {
  const [file] = args;
  if (file === undefined || args.length > 1) throw new ConfigError('usage: ascently-sync restore FILE [--data-dir DIR] [--force]');
  checkNotFolder(file);
  const started = Date.now();
  // One handle for both passes: the archive may sit in a folder about to be moved aside.
  const archive = await open(file, 'r');
  const progress = new Progress();
  try {
    progress.update(`checking ${file} against its manifest…`, true);
    const manifest = await verifyArchive(archive).catch(damaged(file));
    if (config.databaseUrl !== undefined) return await restorePostgres(config, file, archive, manifest, { force: options.force, started, progress });
    const imagesApart = !isInside(config.imagesDir, config.dataDir);
    const folders = imagesApart ? [config.dataDir, config.imagesDir] : [config.dataDir];
    const occupied: string[] = [];
    for (const dir of folders) if (await hasEntries(dir)) occupied.push(dir);
    if (occupied.length > 0 && !options.force && (await sqliteHoldsData(config.dataDir, config.imagesDir))) {
      throw new CommandError(`${occupied.join(' and ')} already holds data; nothing was changed. Restore into an empty folder (--data-dir DIR), or add --force to move that data aside first.`);
    }
    // What is there holds no data (a server started once, a volume's lost+found) or --force says so: kept aside all the same.
    if (databaseInUse(config.dataDir)) throw new CommandError(`a server is running on ${config.dataDir}: stop it before restoring; nothing was changed.`);
    const aside: string[] = [];
    for (const dir of occupied) aside.push(await moveAside(dir));
    // The first folder each made, if any: a failed restore removes those it made (when empty), or a retry would find them holding data.
    const made = [await mkdir(config.dataDir, { recursive: true, mode: PRIVATE_DIR_MODE }), await mkdir(config.imagesDir, { recursive: true, mode: PRIVATE_DIR_MODE })];
    const madeHere = (dir: string): boolean => made.some((first) => first !== undefined && isInside(dir, first));
    progress.update(`restoring into ${config.dataDir}…`, true);
    await extractArchive(archive, manifest, { dataDir: config.dataDir, imagesDir: config.imagesDir, tokenFile: tokenFile(config) }).catch(async (err: unknown) => {
      // What the restore wrote is gone by now: the data it moved aside goes back, so that "nothing was changed" holds.
      for (const dir of [config.imagesDir, config.dataDir]) if (madeHere(dir)) await rmdir(dir).catch(() => undefined);
      for (const folder of aside.reverse()) await moveBack(folder);
      return damaged(file)(err);
    });
    progress.done();
    reportRestore(manifest, config.dataDir, started, aside);
    return 0;
  } finally {
    progress.done();
    await archive.close();
  }
}

/**
 * The same into PostgreSQL: a database that holds data is refused unless --force,
 * which first keeps that data in an archive of its own beside FILE (restorable
 * like any backup), then replaces it in one transaction.
 */
async function restorePostgres(config: Config, file: string, archive: FileHandle, manifest: Manifest, run: { force: boolean; started: number; progress: Progress }): Promise<number> {
  const target = postgresLabel(config.databaseUrl!);
  const store = await openStore(config);
  // Images too: with PostgreSQL they are in the database, and one already there would mix with the restored ones.
  const held = await (async () => (await store.holdsData()) || (await store.images(config.imagesDir).totals()).files > 0)().finally(() => store.close());
  if (held && !run.force) throw new CommandError(`${target} already holds data; nothing was changed. Restore into an empty database, or add --force to keep that data in an archive beside ${file} first.`);
  const aside: string[] = [];
  if (held) {
    const replaced = replacedArchiveFor(file);
    run.progress.update(`keeping what ${target} holds in ${replaced}…`, true);
    await backupFromPostgres(config, replaced);
    aside.push(replaced);
  }
  run.progress.update(`restoring into ${target}…`, true);
  await restoreIntoPostgres(config, file, archive, manifest, held).catch(damaged(file));
  run.progress.done();
  reportRestore(manifest, target, run.started, aside);
  return 0;
}

function reportRestore(manifest: Manifest, into: string, started: number, aside: readonly string[]): void {
  const bytes = manifest.files.reduce((sum, f) => sum + f.size, 0);
  const kept = aside.length > 0 ? ` The data that was there is kept in ${aside.join(' and ')}.` : '';
  process.stdout.write(
    `Restored ${counted(manifest.items, 'item')} (${counted(manifest.accounts, 'account')}) and ${counted(manifest.images, 'image')}, ${formatBytes(bytes)}, backed up at ${manifest.createdAt}, into ${into} in ${formatDuration(Date.now() - started)}.${kept}\n`,
  );
}

function damaged(file: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof DamagedArchiveError) throw new CliError('data', `${file} cannot be restored: ${err.message}; nothing was changed.`);
    throw err;
  };
}

function tokenFile(config: Config): string {
  return path.join(config.dataDir, GENERATED_TOKEN_FILE);
}

function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}
