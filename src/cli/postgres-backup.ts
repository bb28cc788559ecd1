import { mkdtemp, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { createBackup, type BackupProgress, type BackupSummary } from '../backup/backup.js';
import type { Manifest } from '../backup/manifest.js';
import { extractArchive } from '../backup/restore.js';
import type { Config } from '../config.js';
import { copyStore, parseLocation, type Location } from './copy-store-command.js';
import { GENERATED_TOKEN_FILE } from './token.js';

/*
 * backup and restore with DATABASE_URL: the same archive as from a SQLite folder,
 * made by way of one. A backup copies the database (one REPEATABLE READ snapshot,
 * while servers keep running) and its images into a SQLite folder beside the
 * archive and archives that; a restore unpacks the archive into such a folder and
 * copies it into PostgreSQL. An archive made either way restores either way.
 */

export async function backupFromPostgres(config: Config, file: string, onProgress?: (p: BackupProgress) => void): Promise<BackupSummary> {
  return withStagingFolder(file, async (staging) => {
    await copyStore(postgres(config), staging, config.maxImageBytes);
    return createBackup({ dataDir: staging.dataDir!, imagesDir: imagesOf(staging) }, file, onProgress);
  });
}

/** `replace`: the database holds data that goes (restore --force, once it was kept in an archive of its own). */
export async function restoreIntoPostgres(config: Config, file: string, archive: FileHandle, manifest: Manifest, replace: boolean): Promise<void> {
  await withStagingFolder(file, async (staging) => {
    await extractArchive(archive, manifest, { dataDir: staging.dataDir!, imagesDir: imagesOf(staging), tokenFile: path.join(staging.dataDir!, GENERATED_TOKEN_FILE) });
    await copyStore(staging, postgres(config), config.maxImageBytes, { replace });
  });
}

/** Where restore --force keeps what the database held: an archive beside the one restored. */
export function replacedArchiveFor(file: string, now = new Date()): string {
  return path.join(path.dirname(path.resolve(file)), `replaced-by-restore-${now.toISOString().replace(/[:.]/g, '-')}.tar.gz`);
}

function postgres(config: Config): Location {
  return parseLocation(config.databaseUrl!);
}

function imagesOf(location: Location): string {
  return path.join(location.dataDir!, 'images');
}

/** A private folder beside `file` (its file system has room for the archive), removed whatever happens. */
async function withStagingFolder<T>(file: string, work: (staging: Location) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(path.dirname(path.resolve(file)), '.ascently-staging-'));
  try {
    return await work({ label: dir, dataDir: dir });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
