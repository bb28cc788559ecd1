import { existsSync } from 'node:fs';
import path from 'node:path';
import { Database } from './sqlite-driver.js';
import { DATABASE_FILE } from './sqlite-store.js';

export interface DatabaseCopy {
  /** Items over all accounts, and the accounts, in the copy. */
  readonly items: number;
  readonly accounts: number;
}

/**
 * A consistent copy of the live database through SQLite's online backup, while
 * the server keeps writing. The copy is made in one step: SQLite restarts a
 * step-by-step backup whenever another connection commits, and a server busy
 * with deltas commits many times a second. One step reads every page under one
 * read transaction, which in WAL mode never holds a writer up.
 */
export async function copyDatabase(dataDir: string, destination: string): Promise<DatabaseCopy> {
  const source = new Database(path.join(dataDir, DATABASE_FILE), { fileMustExist: true });
  try {
    source.pragma('busy_timeout = 5000');
    // The first step only counts the pages; the callback's answer sizes the next, which copies them all.
    await source.backup(destination, { progress: () => 0x7fffffff });
  } finally {
    source.close();
  }
  const copy = new Database(destination, { fileMustExist: true });
  try {
    const integrity = copy.pragma('quick_check', { simple: true });
    if (integrity !== 'ok') throw new Error(`the database copy failed its check: ${String(integrity)}`);
    return {
      items: copy.prepare('SELECT count(*) FROM items').pluck().get() as number,
      accounts: copy.prepare('SELECT count(*) FROM datasets').pluck().get() as number,
    };
  } finally {
    copy.close();
  }
}

/**
 * Whether a server (or any process) has the database open: it then holds a lock
 * that an exclusive transaction cannot get. Restoring under a running server
 * would pull its files from under it.
 */
export function databaseInUse(dataDir: string): boolean {
  const file = path.join(dataDir, DATABASE_FILE);
  if (!existsSync(file)) return false;
  let db: Database | undefined;
  try {
    db = new Database(file, { fileMustExist: true });
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
    return false;
  } catch (err) {
    return (err as { code?: string }).code === 'SQLITE_BUSY';
  } finally {
    db?.close();
  }
}
