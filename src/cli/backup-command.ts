import { existsSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { createBackup, type BackupProgress } from '../backup/backup.js';
import { DamagedArchiveError } from '../backup/manifest.js';
import { extractArchive, holdsData, moveAside, verifyArchive } from '../backup/restore.js';
import { ConfigError, type Config } from '../config.js';
import { PRIVATE_DIR_MODE } from '../private-files.js';
import { CommandError } from './command-error.js';
import { CliError } from './exit-codes.js';
import { formatBytes, formatDuration, Progress } from './progress.js';
import { databaseInUse } from '../store/sqlite-backup.js';
import { DATABASE_FILE } from '../store/sqlite-store.js';
import { GENERATED_TOKEN_FILE } from './token.js';

/** Backups are of the SQLite folder; PostgreSQL has its own tools, and copy-store moves data between the two. */
const ON_POSTGRESQL =
  'backup and restore work on the SQLite folder (DATA_DIR); with DATABASE_URL, back up the database with pg_dump, or copy it to a folder with `ascently-sync copy-store --from postgres://… --to sqlite:DIR`';

/** `ascently-sync backup FILE`: one .tar.gz of the database, the images and the generated token, while the server runs. */
export async function backupCommand(config: Config, args: string[]): Promise<number> {
  const [file] = args;
  if (file === undefined || args.length > 1) throw new ConfigError('usage: ascently-sync backup FILE (a .tar.gz to write)');
  if (config.databaseUrl !== undefined) throw new CommandError(ON_POSTGRESQL);
  if (!existsSync(path.join(config.dataDir, DATABASE_FILE))) throw new CommandError(`nothing to back up: no database in ${config.dataDir} (DATA_DIR)`);
  const started = Date.now();
  const progress = new Progress();
  const show = (p: BackupProgress): void => {
    const percent = p.totalBytes === 0 ? 100 : Math.floor((100 * p.bytes) / p.totalBytes);
    progress.update(`backing up: ${p.files}/${p.totalFiles} files, ${formatBytes(p.bytes)} of ${formatBytes(p.totalBytes)} (${percent}%)`, p.files === p.totalFiles);
  };
  const summary = await createBackup({ dataDir: config.dataDir, imagesDir: config.imagesDir }, file, show).finally(() => progress.done());
  process.stdout.write(
    `Backed up ${count(summary.items, 'item')} (${count(summary.accounts, 'account')}) and ${count(summary.images, 'image')}: ${formatBytes(summary.fileBytes)} in ${formatBytes(summary.archiveBytes)} to ${file} in ${formatDuration(Date.now() - started)}.\n`,
  );
  return 0;
}

/**
 * Usage mistakes exit 2, a damaged or foreign archive 4, an occupied folder or a
 * running server 1; each is one line, and nothing was changed.
 *
 * `ascently-sync restore FILE [--data-dir DIR] [--force]`: checks the whole
 * archive first and changes nothing if it is damaged; refuses folders that hold
 * data unless --force, which moves that data aside rather than deleting it.
 * Run it with the server stopped.
 */
export async function restoreCommand(config: Config, args: string[], options: { force: boolean }): Promise<number> {
  const [file] = args;
  if (file === undefined || args.length > 1) throw new ConfigError('usage: ascently-sync restore FILE [--data-dir DIR] [--force]');
  if (config.databaseUrl !== undefined) throw new CommandError(ON_POSTGRESQL);
  const started = Date.now();
  // One handle for both passes: the archive may sit in a folder about to be moved aside.
  const archive = await open(file, 'r');
  const progress = new Progress();
  try {
    progress.update(`checking ${file} against its manifest…`, true);
    const manifest = await verifyArchive(archive).catch(damaged(file));
    const imagesApart = !isInside(config.imagesDir, config.dataDir);
    const folders = imagesApart ? [config.dataDir, config.imagesDir] : [config.dataDir];
    const occupied: string[] = [];
    for (const dir of folders) if (await holdsData(dir)) occupied.push(dir);
    if (occupied.length > 0 && !options.force) {
      throw new CommandError(`${occupied.join(' and ')} already holds data; nothing was changed. Restore into an empty folder (--data-dir DIR), or add --force to move that data aside first.`);
    }
    if (databaseInUse(config.dataDir)) throw new CommandError(`a server is running on ${config.dataDir}: stop it before restoring; nothing was changed.`);
    const aside: string[] = [];
    for (const dir of occupied) aside.push(await moveAside(dir));
    await mkdir(config.dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    await mkdir(config.imagesDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    progress.update(`restoring into ${config.dataDir}…`, true);
    await extractArchive(archive, manifest, { dataDir: config.dataDir, imagesDir: config.imagesDir, tokenFile: tokenFile(config) }).catch(damaged(file));
    progress.done();
    const bytes = manifest.files.reduce((sum, f) => sum + f.size, 0);
    const kept = aside.length > 0 ? ` The data that was there is kept in ${aside.join(' and ')}.` : '';
    process.stdout.write(
      `Restored ${count(manifest.items, 'item')} (${count(manifest.accounts, 'account')}) and ${count(manifest.images, 'image')}, ${formatBytes(bytes)}, backed up at ${manifest.createdAt}, into ${config.dataDir} in ${formatDuration(Date.now() - started)}.${kept}\n`,
    );
    return 0;
  } finally {
    progress.done();
    await archive.close();
  }
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

function count(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}
