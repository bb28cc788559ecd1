import { existsSync } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { createBackup, type BackupProgress } from '../backup/backup.js';
import { DamagedArchiveError } from '../backup/manifest.js';
import { extractArchive, holdsData, moveAside, verifyArchive } from '../backup/restore.js';
import { ConfigError, type Config } from '../config.js';
import { CommandError } from './command-error.js';
import { databaseInUse } from '../store/sqlite-backup.js';
import { DATABASE_FILE } from '../store/sqlite-store.js';
import { GENERATED_TOKEN_FILE } from './token.js';

/** `ascently-sync backup FILE`: one .tar.gz of the database, the images and the generated token, while the server runs. */
export async function backupCommand(config: Config, args: string[]): Promise<number> {
  const [file] = args;
  if (file === undefined || args.length > 1) throw new ConfigError('usage: ascently-sync backup FILE (a .tar.gz to write)');
  if (!existsSync(path.join(config.dataDir, DATABASE_FILE))) throw new CommandError(`nothing to back up: no database in ${config.dataDir} (DATA_DIR)`);
  const started = Date.now();
  const line = progressLine('backing up');
  const summary = await createBackup({ dataDir: config.dataDir, imagesDir: config.imagesDir, tokenFile: tokenFile(config) }, file, line.update).finally(line.end);
  process.stdout.write(
    `Backed up ${count(summary.items, 'item')} (${count(summary.accounts, 'account')}) and ${count(summary.images, 'image')}: ${megabytes(summary.fileBytes)} in ${megabytes(summary.archiveBytes)} to ${file} in ${seconds(started)}.\n`,
  );
  return 0;
}

/**
 * Usage mistakes are ConfigErrors (exit 2); an archive or folder that cannot be
 * used is a CommandError (exit 1). Either is one line, and nothing was changed.
 *
 * `ascently-sync restore FILE [--data-dir DIR] [--force]`: checks the whole
 * archive first and changes nothing if it is damaged; refuses folders that hold
 * data unless --force, which moves that data aside rather than deleting it.
 * Run it with the server stopped.
 */
export async function restoreCommand(config: Config, args: string[], options: { force: boolean }): Promise<number> {
  const [file] = args;
  if (file === undefined || args.length > 1) throw new ConfigError('usage: ascently-sync restore FILE [--data-dir DIR] [--force]');
  const started = Date.now();
  let archive: FileHandle;
  try {
    // One handle for both passes: the archive may sit in a folder about to be moved aside.
    archive = await open(file, 'r');
  } catch (err) {
    throw new CommandError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  try {
    progress(`Checking ${file} against its manifest…`);
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
    await mkdir(config.dataDir, { recursive: true });
    await mkdir(config.imagesDir, { recursive: true });
    progress(`Restoring into ${config.dataDir}…`);
    await extractArchive(archive, manifest, { dataDir: config.dataDir, imagesDir: config.imagesDir, tokenFile: tokenFile(config) }).catch(damaged(file));
    const bytes = manifest.files.reduce((sum, f) => sum + f.size, 0);
    const kept = aside.length > 0 ? ` The data that was there is kept in ${aside.join(' and ')}.` : '';
    process.stdout.write(
      `Restored ${count(manifest.items, 'item')} (${count(manifest.accounts, 'account')}) and ${count(manifest.images, 'image')}, ${megabytes(bytes)}, backed up at ${manifest.createdAt}, into ${config.dataDir} in ${seconds(started)}.${kept}\n`,
    );
    return 0;
  } finally {
    await archive.close();
  }
}

function damaged(file: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof DamagedArchiveError) throw new CommandError(`${file} cannot be restored: ${err.message}; nothing was changed.`);
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

/** Progress on a terminal only, one line rewritten in place at most four times a second. */
function progressLine(label: string): { update(p: BackupProgress): void; end(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let shown = false;
  return {
    update(p) {
      const now = Date.now();
      if (!tty || (now - last < 250 && p.files < p.totalFiles)) return;
      last = now;
      shown = true;
      const percent = p.totalBytes === 0 ? 100 : Math.floor((100 * p.bytes) / p.totalBytes);
      process.stderr.write(`\r${label}: ${p.files}/${p.totalFiles} files, ${megabytes(p.bytes)} of ${megabytes(p.totalBytes)} (${percent}%)\x1b[K`);
    },
    end() {
      if (shown) process.stderr.write('\n');
    },
  };
}

function progress(message: string): void {
  if (process.stderr.isTTY) process.stderr.write(`${message}\n`);
}

function count(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function seconds(startedMs: number): string {
  return `${((Date.now() - startedMs) / 1000).toFixed(1)} s`;
}
