import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * The SQLite driver for the Node running us. better-sqlite3 12 aborts on Node
 * 24.19+ when a statement is garbage-collected (it is built on node::ObjectWrap,
 * whose teardown changed); 13 is built on Node-API and fixes that, but needs Node
 * 22+ and crashes on 20. The lock file pins both: 12 as `better-sqlite3`, 13 as
 * the optional alias `better-sqlite3-napi`, which npm skips on Node 20 and which
 * ships prebuilt binaries, so nothing is compiled for it. The API is the same.
 * Everything else imports the driver from here, never from the package.
 */
export const SQLITE_DRIVER = Number(process.versions.node.split('.')[0]) >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3';

function load(): typeof BetterSqlite3 {
  try {
    return createRequire(import.meta.url)(SQLITE_DRIVER) as typeof BetterSqlite3;
  } catch (err) {
    throw new Error(`cannot load the SQLite driver ${SQLITE_DRIVER} on Node ${process.version}: run \`npm ci\` with this Node (${(err as Error).message})`, {
      cause: err,
    });
  }
}

export const Database = load();
export type Database = BetterSqlite3.Database;
export type Statement = BetterSqlite3.Statement;
