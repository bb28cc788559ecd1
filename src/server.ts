import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp, DEFAULT_DATASET } from './app.js';
import type { Config } from './config.js';
import { importLegacyFileOnFirstStart } from './sync/legacy-import.js';
import { SqliteStore } from './store/sqlite-store.js';
import type { Store } from './store/store.js';

export interface RunningServer {
  app: FastifyInstance;
  store: SqliteStore;
  /** Stops accepting, finishes in-flight requests, closes storage. */
  close(): Promise<void>;
}

export async function startServer(config: Config, token: string, logger: Logger): Promise<RunningServer> {
  const store = new SqliteStore(config.dataDir);
  try {
    await importLegacyFileOnFirstStart(store, await store.datasetId(DEFAULT_DATASET), config, logger);
    const app = await buildApp(config, { store, token, logger });
    await app.listen({ port: config.port, host: config.host });
    const stopPruning = pruneTombstonesDaily(store, await store.datasetId(DEFAULT_DATASET), config, logger);
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      stopPruning();
      closing ??= app.close().finally(() => store.close());
      return closing;
    };
    return { app, store, close };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** SIGTERM/SIGINT: a graceful stop, then exit 0; a second signal or 10 s later, exit at once. */
export function closeOnSignals(server: RunningServer, logger: Logger): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing requests in flight');
    const force = setTimeout(() => {
      logger.warn('requests still in flight after 10 s: exiting anyway');
      process.exit(1);
    }, 10_000);
    force.unref();
    server.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** With a tombstone retention set, forgets old deletions at start and then daily. */
function pruneTombstonesDaily(store: Store, datasetId: number, config: Config, logger: Logger): () => void {
  if (config.tombstoneRetentionDays === 0) return () => undefined;
  const prune = (): void => {
    store.pruneTombstones(datasetId, Date.now() - config.tombstoneRetentionDays * DAY_MS).then(
      (removed) => {
        if (removed > 0) logger.info({ removed, retentionDays: config.tombstoneRetentionDays }, 'forgot old deletions');
      },
      (err: unknown) => logger.error({ err }, 'could not forget old deletions'),
    );
  };
  prune();
  const timer = setInterval(prune, DAY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
