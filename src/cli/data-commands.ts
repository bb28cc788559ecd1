import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { ConfigError, type Config } from '../config.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { CommandError } from './command-error.js';
import { importDocumentFile } from '../sync/legacy-import.js';
import { SyncService } from '../sync/sync-service.js';
import { formatInstant } from '../sync/timestamps.js';

/** Progress lines go to stderr, and only on a terminal: pipes and logs stay clean. */
function progress(message: string): void {
  if (process.stderr.isTTY) process.stderr.write(`${message}\n`);
}

/** Runs a task on the named account's data (`--account`, `default` when not given); an unknown name is exit 1. */
export async function withAccount<T>(config: Config, accountName: string, task: (store: SqliteStore, datasetId: number) => Promise<T>): Promise<T> {
  const store = new SqliteStore(config.dataDir);
  try {
    const account = await store.accounts.find(accountName);
    if (!account) throw new CommandError(`no account named "${accountName}"; see \`ascently-sync accounts list\``);
    return await task(store, account.id);
  } finally {
    await store.close();
  }
}

export function historyCommand(config: Config, args: string[], account: string): Promise<number> {
  const [action, id] = args;
  return withAccount(config, account, async (store, datasetId) => {
    if (action === 'list' || action === undefined) {
      const entries = await store.listHistory(datasetId);
      if (entries.length === 0) process.stdout.write('No history yet: a snapshot is kept before each full upload.\n');
      for (const e of entries) {
        process.stdout.write(
          `#${e.id}  ${formatInstant(e.createdAt)}  ${e.items} items, ${e.tombstones} deletions, ${megabytes(e.rawBytes)} (${megabytes(e.storedBytes)} stored)  ${e.reason}\n`,
        );
      }
      return 0;
    }
    if (action === 'restore' && id !== undefined && /^\d+$/.test(id)) {
      if (!(await store.readHistory(datasetId, Number(id)))) throw new ConfigError(`no history entry #${id}; see \`ascently-sync history list\``);
      const { stamp } = await new SyncService(store, { historyKeep: config.historyKeep }).restore(datasetId, Number(id));
      process.stdout.write(`Restored #${id} at ${formatInstant(stamp)}; devices pick it up at their next sync. The replaced data is kept as a new history entry.\n`);
      return 0;
    }
    throw new ConfigError('usage: ascently-sync history list | history restore <id>');
  });
}

export function importCommand(config: Config, args: string[], account: string): Promise<number> {
  const [file] = args;
  if (file === undefined) throw new ConfigError('usage: ascently-sync import <file> [--account NAME]');
  return withAccount(config, account, async (store, datasetId) => {
    progress(`Importing ${file}…`);
    const started = Date.now();
    const counts = await importDocumentFile(store, datasetId, file, config.historyKeep);
    process.stdout.write(
      `Imported ${counts.gyms} gyms, ${counts.problems} problems, ${counts.sessions} sessions, ${counts.attempts} attempts and ${counts.deletedItems} deletions (${megabytes(counts.bytes)}) in ${Date.now() - started} ms.\n`,
    );
    return 0;
  });
}

export function exportCommand(config: Config, args: string[], account: string): Promise<number> {
  const [file] = args;
  return withAccount(config, account, async (store, datasetId) => {
    const exported = await new SyncService(store, { historyKeep: config.historyKeep }).openExport(datasetId);
    if (!exported) throw new ConfigError('nothing to export: the server holds no data yet');
    try {
      return await writeExport(exported.chunks, file);
    } finally {
      exported.close();
    }
  });
}

async function writeExport(chunks: AsyncIterable<string>, file: string | undefined): Promise<number> {
  if (file === undefined) {
    await pipeline(Readable.from(chunks), process.stdout);
    return 0;
  }
  // Written beside the target and renamed, so a failed export never leaves half a file.
  const temporary = `${file}.partial`;
  let written = 0;
  const counted = Readable.from(chunks).map((chunk: string) => {
    written += chunk.length;
    if (written % (16 * 1024 * 1024) < chunk.length) progress(`  ${megabytes(written)} written`);
    return chunk;
  });
  try {
    await pipeline(counted, createWriteStream(temporary));
    renameSync(temporary, file);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
  progress(`Exported ${megabytes(written)} to ${file}.`);
  return 0;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
