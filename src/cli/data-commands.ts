import { createReadStream, createWriteStream, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { ConfigError, type Config } from '../config.js';
import { ApiError } from '../errors.js';
import { PRIVATE_FILE_MODE } from '../private-files.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { importDocumentText, NOT_UTF8 } from '../sync/legacy-import.js';
import { Utf8Check } from '../sync/utf8-check.js';
import { CommandError } from './command-error.js';
import { SyncService } from '../sync/sync-service.js';
import { formatInstant } from '../sync/timestamps.js';
import { CliError } from './exit-codes.js';
import { counted, formatBytes, formatDuration, Progress } from './progress.js';

/** Runs a task on the named account's data (`--account`, `default` when not given); an unknown name is exit 1. */
export async function withAccount<T>(config: Config, accountName: string, task: (store: Store, datasetId: number) => Promise<T>): Promise<T> {
  const store = await openStore(config);
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
          `#${e.id}  ${formatInstant(e.createdAt)}  ${counted(e.items, 'item')}, ${counted(e.tombstones, 'deletion')}, ${formatBytes(e.rawBytes)} (${formatBytes(e.storedBytes)} stored)  ${e.reason}\n`,
        );
      }
      return 0;
    }
    // `history list` prints ids as "#3", so "#3" is taken as well as "3".
    const number = /^#?(\d+)$/.exec(id ?? '')?.[1];
    if (action === 'restore' && number !== undefined && args.length === 2) {
      if (!(await store.readHistory(datasetId, Number(number)))) throw new CommandError(`no history entry #${number}; see \`ascently-sync history list\``);
      const { stamp } = await new SyncService(store, { historyKeep: config.historyKeep }).restore(datasetId, Number(number)).catch((err: unknown) => {
        // The account's quota holds for the operator's restore too: said as import says it.
        throw err instanceof ApiError && err.code === 'quota_exceeded' ? new CommandError(`#${number} was not restored: ${err.message}`) : err;
      });
      process.stdout.write(`Restored #${number} at ${formatInstant(stamp)}; devices pick it up at their next sync. The replaced data is kept as a new history entry.\n`);
      return 0;
    }
    throw new ConfigError('usage: ascently-sync history list | history restore <id>');
  });
}

export function importCommand(config: Config, args: string[], account: string): Promise<number> {
  const [file, ...extra] = args;
  if (file === undefined || extra.length > 0) throw new ConfigError('usage: ascently-sync import <file> [--account NAME]');
  // Checked before the store opens, so a wrong path creates no data folder.
  const size = statSync(file).size;
  return withAccount(config, account, async (store, datasetId) => {
    const started = Date.now();
    const progress = new Progress();
    const text = await readWithProgress(file, size, progress);
    // Validating and writing is one synchronous transaction: nothing to count meanwhile.
    progress.update(`Checking and writing ${formatBytes(Buffer.byteLength(text))} (the data is replaced at the end, or not at all)…`, true);
    try {
      const counts = await importDocumentText(store, datasetId, file, text, config.historyKeep);
      progress.done();
      process.stdout.write(
        `Imported ${counts.gyms} gyms, ${counts.problems} problems, ${counts.sessions} sessions, ${counts.attempts} attempts and ${counts.deletedItems} deletions (${formatBytes(counts.bytes)}) in ${formatDuration(Date.now() - started)}.\n`,
      );
      return 0;
    } finally {
      progress.done();
    }
  });
}

async function readWithProgress(file: string, total: number, progress: Progress): Promise<string> {
  const decoder = new StringDecoder('utf8');
  // Decoding would put U+FFFD where bytes are not UTF-8: refused, not changed.
  const utf8 = new Utf8Check();
  const parts: string[] = [];
  let read = 0;
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      read += chunk.length;
      utf8.add(chunk);
      parts.push(decoder.write(chunk));
      progress.update(`Reading ${file}: ${formatBytes(read)} of ${formatBytes(total)}`);
    }
  } catch (err) {
    // A read error (EISDIR) carries no path; the one-line message needs it.
    (err as NodeJS.ErrnoException).path ??= file;
    throw err;
  }
  parts.push(decoder.end());
  if (!utf8.ok) throw new CliError('data', `${file} is not a document the server accepts: ${NOT_UTF8}`);
  return parts.join('');
}

export function exportCommand(config: Config, args: string[], account: string): Promise<number> {
  const [file, ...extra] = args;
  if (extra.length > 0) throw new ConfigError('usage: ascently-sync export [file] [--account NAME]');
  if (file !== undefined) checkWritableTarget(file);
  return withAccount(config, account, async (store, datasetId) => {
    const exported = await new SyncService(store, { historyKeep: config.historyKeep }).openExport(datasetId);
    if (!exported) throw new ConfigError('nothing to export: the server holds no data yet');
    const started = Date.now();
    try {
      const written = await writeExport(exported.chunks, file);
      const summary = `Exported ${formatBytes(written)} to ${file ?? 'standard output'} in ${formatDuration(Date.now() - started)}.\n`;
      // On stdout the document is the output; the summary goes beside it.
      (file === undefined ? process.stderr : process.stdout).write(summary);
      return 0;
    } finally {
      exported.close();
    }
  });
}

/** Refuses before any work a target whose folder is missing, or that is a folder. */
export function checkWritableTarget(file: string): void {
  const folder = path.dirname(path.resolve(file));
  if (!existsSync(folder)) throw new CliError('file', `cannot write ${file}: the folder ${folder} does not exist; create it or choose another path`);
  checkNotFolder(file);
}

/** Said of the path given, before any work: a message about a temporary file beside it, or "a file", names the wrong thing. */
export function checkNotFolder(file: string): void {
  if (statSync(file, { throwIfNoEntry: false })?.isDirectory()) throw new CliError('file', `${file}: is a folder; give the path of a file`);
}

/** Writes the document; answers the bytes written. */
async function writeExport(chunks: AsyncIterable<string>, file: string | undefined): Promise<number> {
  const progress = new Progress();
  let written = 0;
  const counted = Readable.from(chunks).map((chunk: string) => {
    written += Buffer.byteLength(chunk);
    progress.update(`Exporting: ${formatBytes(written)} written`);
    return chunk;
  });
  if (file === undefined) {
    await pipeline(counted, process.stdout);
    progress.done();
    return written;
  }
  // Written beside the target and renamed, so a failed export never leaves half a file.
  const temporary = `${file}.partial`;
  try {
    // Private, as the data folder and backups are: it holds the same data.
    await pipeline(counted, createWriteStream(temporary, { mode: PRIVATE_FILE_MODE }));
    renameSync(temporary, file);
  } catch (err) {
    rmSync(temporary, { force: true });
    // The temporary name means nothing to the user: name the file they asked for.
    const failure = err as NodeJS.ErrnoException;
    if (failure.path === temporary) failure.path = file;
    throw err;
  } finally {
    progress.done();
  }
  return written;
}
