import type { Config } from '../config.js';
import type { Store } from './store.js';

/**
 * The store the settings name: PostgreSQL with DATABASE_URL, else SQLite in DATA_DIR.
 * Only that store's module (and driver) is loaded: a CLI run on SQLite need not load pg.
 */
export async function openStore(config: Pick<Config, 'databaseUrl' | 'dataDir'>): Promise<Store> {
  if (config.databaseUrl !== undefined) return (await import('./pg-store.js')).PgStore.open(config.databaseUrl);
  const { SqliteStore } = await import('./sqlite-store.js');
  return new SqliteStore(config.dataDir);
}
