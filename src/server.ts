import type { FastifyInstance } from 'fastify';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { buildApp, DEFAULT_DATASET } from './app.js';
import { ConfigError, effectiveSettings, postgresLabel, type Config } from './config.js';
import { secretHash } from './auth/secrets.js';
import { importLegacyFileOnFirstStart } from './sync/legacy-import.js';
import { removeImagesOfRemovedAccounts } from './images/account-images.js';
import { thumbnailsDirOf } from './images/thumbnail-files.js';
import { makePrivateDir } from './private-files.js';
import { openStore } from './store/open-store.js';
import { DATABASE_FILE } from './store/sqlite-store.js';
import type { Store } from './store/store.js';

export interface RunningServer {
  app: FastifyInstance;
  store: Store;
  /** Stops accepting, finishes in-flight requests, closes storage. */
  close(): Promise<void>;
}

/** Why the server will not start when nothing could authenticate; names the command that fixes it. */
export const NOTHING_CAN_AUTHENTICATE =
  'no token and no device: make an account and its first device with `ascently-sync accounts add NAME`, ' +
  'or set AUTH_TOKEN (make one with `ascently-sync token`) or AUTH_TOKEN_FILE, or start with --generate-token.';

/**
 * A database file or an images folder the server may read but not write (left
 * owned by root, say) opens fine and then fails every request: refused at the
 * start instead, naming the path (exit 3).
 */
function requireWritableFiles(config: Config): void {
  const database = path.join(config.dataDir, DATABASE_FILE);
  makePrivateDir(config.imagesDir);
  for (const file of [config.dataDir, database, `${database}-wal`, `${database}-shm`, config.imagesDir]) {
    if (existsSync(file)) accessSync(file, constants.R_OK | constants.W_OK);
  }
}

/** `token`: AUTH_TOKEN or the generated one, if any; without it, the devices in the database must do. */
export async function startServer(config: Config, token: string | undefined, logger: Logger): Promise<RunningServer> {
  const store = await openStore(config);
  try {
    if (config.databaseUrl === undefined) requireWritableFiles(config);
    const defaultId = await store.datasetId(DEFAULT_DATASET);
    // Before refusing: a device the database holds is enough, but an AUTH_TOKEN
    // device left by an earlier start is not, since the environment no longer has it.
    await store.accounts.setEnvironmentDevice(defaultId, token === undefined ? undefined : secretHash(token), Date.now());
    if ((await store.accounts.countDevices()) === 0) throw new ConfigError(NOTHING_CAN_AUTHENTICATE);
    const removedAccounts = await removeImagesOfRemovedAccounts(store, config.imagesDir, thumbnailsDirOf(config.dataDir));
    if (removedAccounts.length > 0) logger.info({ accounts: removedAccounts }, 'deleted the images of removed accounts');
    await importLegacyFileOnFirstStart(store, defaultId, config, logger);
    const app = await buildApp(config, { store, token, logger });
    // Before listening: the first answers already leave old deletions out.
    const stopPruning = await pruneTombstonesDaily(store, config, logger);
    await app.listen({ port: config.port, host: config.host }).catch((err: unknown) => {
      // A HOST that does not resolve fails in getaddrinfo, as an unreachable PostgreSQL host would: said as what it is.
      const lookup = err as NodeJS.ErrnoException & { hostname?: string };
      if (lookup.syscall === 'getaddrinfo') throw new ConfigError(`HOST ${JSON.stringify(config.host)} is not an address of this machine or a name it resolves (${lookup.code}); set HOST to an IP address, localhost, or 0.0.0.0`);
      throw err;
    });
    await logStartup(app, store, config, logger);
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

/**
 * One line that answers "what is this server doing?": its settings (secrets only
 * as set or not), where its data lives, how many accounts and devices it serves and
 * where it listens.
 */
async function logStartup(app: FastifyInstance, store: Store, config: Config, logger: Logger): Promise<void> {
  const accounts = await store.accounts.list();
  logger.info(
    {
      settings: effectiveSettings(config),
      database: config.databaseUrl === undefined ? path.join(config.dataDir, DATABASE_FILE) : postgresLabel(config.databaseUrl),
      images: config.databaseUrl === undefined ? config.imagesDir : `in the database (${postgresLabel(config.databaseUrl)})`,
      accounts: accounts.length,
      devices: accounts.reduce((sum, a) => sum + a.devices, 0),
      listening: app.addresses().map((a) => (typeof a === 'string' ? a : a.family === 'IPv6' ? `http://[${a.address}]:${a.port}` : `http://${a.address}:${a.port}`)),
      metrics: config.metricsToken === undefined ? 'off' : '/metrics',
    },
    'ascently-sync started',
  );
}

/**
 * SIGTERM/SIGINT: a graceful stop, then exit 0; a second signal or 10 s later, exit at once.
 * Installed before the server starts, so a stop asked for while it starts (a
 * supervisor's stop right after the listening line) still ends gracefully.
 */
export function closeOnSignals(starting: Promise<RunningServer>, logger: Logger): void {
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
    starting.then((server) => server.close()).then(
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

/** With a tombstone retention set, forgets every account's old deletions at start and then daily. */
async function pruneTombstonesDaily(store: Store, config: Config, logger: Logger): Promise<() => void> {
  if (config.tombstoneRetentionDays === 0) return () => undefined;
  const pruneAll = async (): Promise<number> => {
    let removed = 0;
    for (const account of await store.accounts.list()) {
      removed += await store.pruneTombstones(account.id, Date.now() - config.tombstoneRetentionDays * DAY_MS);
    }
    return removed;
  };
  const prune = (): Promise<void> =>
    pruneAll().then(
      (removed) => {
        if (removed > 0) logger.info({ removed, retentionDays: config.tombstoneRetentionDays }, 'forgot old deletions');
      },
      (err: unknown) => logger.error({ err }, 'could not forget old deletions'),
    );
  await prune();
  const timer = setInterval(() => void prune(), DAY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
