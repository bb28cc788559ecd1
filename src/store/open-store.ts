import type { Config } from '../config.js';
import { PgStore } from './pg-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

/** The store the settings name: PostgreSQL with DATABASE_URL, else SQLite in DATA_DIR. */
export function openStore(config: Pick<Config, 'databaseUrl' | 'dataDir'>): Promise<Store> {
  if (config.databaseUrl !== undefined) return PgStore.open(config.databaseUrl);
  return Promise.resolve(new SqliteStore(config.dataDir));
}
