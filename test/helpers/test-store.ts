import { createHash } from 'node:crypto';
import { after, type TestContext } from 'node:test';
import pg from 'pg';

/**
 * One suite, two stores. `npm test` runs every test file on SQLite, then the
 * store-facing ones again with TEST_STORE=postgres (scripts/run-tests.sh), where
 * each data folder a test makes gets a fresh database of its own on the server
 * TEST_DATABASE_URL names, dropped when the test ends.
 */
export const ON_POSTGRES = process.env['TEST_STORE'] === 'postgres';

const adminUrl = (): string => {
  const url = process.env['TEST_DATABASE_URL'];
  if (url === undefined || url === '') throw new Error('TEST_STORE=postgres needs TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/postgres');
  return url;
};

/** The database that stands for a data folder: named from its path, so restarts on one folder find the same data. */
export function databaseUrlFor(dataDir: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${databaseNameFor(dataDir)}`;
  return url.href;
}

function databaseNameFor(dataDir: string): string {
  return `ascently_test_${createHash('sha256').update(dataDir).digest('hex').slice(0, 20)}`;
}

/** Each database made, as its making: callers that come while it is under way wait for it too. */
const created = new Map<string, Promise<void>>();

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * On PostgreSQL: creates the folder's database, once. Servers started together on
 * one folder (test/scale) all wait for it: a flag set before the CREATE finished
 * let the second and third start on a database that did not exist yet.
 */
export async function ensureDatabase(dataDir: string): Promise<void> {
  if (!ON_POSTGRES) return;
  const name = databaseNameFor(dataDir);
  let creating = created.get(name);
  if (creating === undefined) {
    creating = admin(`CREATE DATABASE ${name}`);
    created.set(name, creating);
  }
  await creating;
}

/** Stores this process opened on each test database, closed before it is dropped. */
const openStores = new Map<string, Set<{ close(): Promise<void> }>>();

/** On PostgreSQL: a store on the folder's database, to be closed before the database is dropped. */
export function closeBeforeDrop(dataDir: string, store: { close(): Promise<void> }): void {
  if (!ON_POSTGRES) return;
  const name = databaseNameFor(dataDir);
  openStores.set(name, (openStores.get(name) ?? new Set()).add(store));
}

/** On PostgreSQL: drops the folder's database when the test ends, if one was made. */
export function dropDatabaseAfter(t: TestContext, dataDir: string): void {
  if (!ON_POSTGRES) return;
  const name = databaseNameFor(dataDir);
  t.after(() => dropDatabase(name));
}

async function dropDatabase(name: string): Promise<void> {
  // The drop ends every connection to the database; one of ours still checked
  // out (a transaction's COMMIT in flight) would get that as an uncaught error.
  // Hooks run in the order they were made, and a test's drop is made first.
  for (const store of openStores.get(name) ?? []) await store.close();
  openStores.delete(name);
  if (!created.delete(name)) return;
  // FORCE: a child server killed with -9 may hold a connection the server has not noticed yet.
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

// A folder no test registered (a sub-folder of a test's folder, say a restore
// target, or a CLI run pointed at a missing one) still gets a database: those
// are dropped when the file's tests are done, so no run leaves any behind.
if (ON_POSTGRES) {
  after(async () => {
    for (const name of [...created.keys()]) await dropDatabase(name);
  });
}

/**
 * The settings (as environment variables) that point a server or a CLI run at a
 * data folder's store: DATA_DIR, and on PostgreSQL also DATABASE_URL.
 */
export async function storeEnv(dataDir: string): Promise<Record<string, string>> {
  await ensureDatabase(dataDir);
  return ON_POSTGRES ? { DATA_DIR: dataDir, DATABASE_URL: databaseUrlFor(dataDir) } : { DATA_DIR: dataDir };
}
