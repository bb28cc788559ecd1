import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Store } from '../store/store.js';
import { SyncService } from './sync-service.js';

/**
 * A reference server keeps everything in one `ascently.json`. On the first start
 * over an empty database, that file is imported in one transaction; the file is
 * left as it is, so the old server still works from it.
 */
export async function importLegacyFileOnFirstStart(store: Store, datasetId: number, config: Config, logger: Logger): Promise<void> {
  if ((await store.stats(datasetId)).written || !existsSync(config.dataFile)) return;
  const counts = await importDocumentFile(store, datasetId, config.dataFile, config.historyKeep);
  logger.info({ file: config.dataFile, ...counts }, 'imported the reference server data file');
}

export async function importDocumentFile(store: Store, datasetId: number, file: string, historyKeep: number) {
  const text = await readFile(file, 'utf8');
  try {
    await new SyncService(store, { historyKeep }).fullUpload(datasetId, text, `import of ${file}`);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
  const stats = await store.stats(datasetId);
  return { ...stats.items, deletedItems: stats.tombstones, bytes: Buffer.byteLength(text) };
}
