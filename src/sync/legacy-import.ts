import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import { DatasetWritten, type Store } from '../store/store.js';
import { SyncService } from './sync-service.js';

/**
 * A reference server keeps everything in one `ascently.json`. On the first start
 * over an empty database, that file is imported in one transaction; the file is
 * left as it is, so the old server still works from it. Whether the dataset was
 * ever written is decided again inside that transaction: another process on the
 * same database (or a write while this one read the file) may have written it
 * since the first look, and the old file must not replace what was written.
 */
export async function importLegacyFileOnFirstStart(store: Store, datasetId: number, config: Config, logger: Logger): Promise<void> {
  if ((await store.stats(datasetId)).written || !existsSync(config.dataFile)) return;
  let counts;
  try {
    counts = await importDocumentText(store, datasetId, config.dataFile, await readFile(config.dataFile), config.historyKeep, true);
  } catch (err) {
    // Written meanwhile: as if it had been at the first look.
    if (err instanceof DatasetWritten) return;
    throw err;
  }
  logger.info({ file: config.dataFile, ...counts }, 'imported the reference server data file');
}

export const NOT_UTF8 = 'the file is not valid UTF-8, as JSON text must be';

/** Replaces the data with a document read from `file` (its bytes, or its text); a refusal names the file, not a request. */
export async function importDocumentText(store: Store, datasetId: number, file: string, document: Buffer | string, historyKeep: number, onlyIfNeverWritten = false) {
  const bytes = typeof document === 'string' ? Buffer.from(document, 'utf8') : document;
  try {
    await new SyncService(store, { historyKeep }).fullUpload(datasetId, bytes, `import of ${file}`, onlyIfNeverWritten);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status >= 500) throw err;
    // The document is fine; the account's limit is what refuses it.
    if (err.code === 'quota_exceeded') throw new Error(`${file} was not imported: ${err.message}`, { cause: err });
    const reason = err.message.replace(/^request body/, 'the file');
    throw new Error(`${file} is not a document the server accepts: ${reason}`, { cause: err });
  }
  const stats = await store.stats(datasetId);
  return { ...stats.items, deletedItems: stats.tombstones, bytes: bytes.length };
}
