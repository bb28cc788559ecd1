import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { resolveConfig, type Config, type RawSettings } from '../../src/config.js';
import type { LingerBound } from '../../src/http/lingering-close.js';
import { createLogger } from '../../src/logger.js';
import { openStore } from '../../src/store/open-store.js';
import { PgStore } from '../../src/store/pg-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { closeBeforeDrop, databaseUrlFor, dropDatabaseAfter, ensureDatabase, ON_POSTGRES } from './test-store.js';

export const TEST_TOKEN = 'test-token-0123456789abcdef';

export interface TestServer {
  url: string;
  app: FastifyInstance;
  config: Config;
  /** SQLite or PostgreSQL, as the suite runs (test-store.ts). */
  store: Store;
  dataDir: string;
  /** Every log line the server wrote, as text. */
  logs: string[];
  /** fetch against the server with the test token unless headers say otherwise. */
  fetch(pathAndQuery: string, init?: RequestInit): Promise<Response>;
}

export function tempDir(t: TestContext, prefix = 'ascently-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  dropDatabaseAfter(t, dir);
  return dir;
}

/** A real server on 127.0.0.1 and an ephemeral port, over a fresh SQLite file or PostgreSQL database; closed after the test. */
export async function startTestServer(
  t: TestContext,
  settings: RawSettings = {},
  options: { now?: () => number; dataDir?: string; linger?: LingerBound; idleTimeoutMs?: number } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir(t);
  await ensureDatabase(dataDir);
  const databaseUrl = ON_POSTGRES ? databaseUrlFor(dataDir) : undefined;
  const config = resolveConfig({ dataDir, databaseUrl, host: '127.0.0.1', port: '0', logLevel: 'info', ...settings });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  const store = await openStore(config);
  const app = await buildApp(config, { store, token: TEST_TOKEN, logger, now: options.now, linger: options.linger, idleTimeoutMs: options.idleTimeoutMs });
  // The close waits for every connection to end, and two kinds were left to the
  // client's keep-alive (30 s less a margin): a spare connection fetch's pool
  // opened and never sent on (Node 20 counts one that has sent nothing as busy),
  // and one whose refused body (413) was still arriving when the close began and
  // only became idle after the close had ended the idle ones. So a test took 28 s
  // longer to end, one run in ten (web/login's session expiry) or one in two
  // (slow-clients' image limits). Neither holds a request: the test's close ends
  // them as they come, until the server is closed.
  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const endUnused = (): void => {
    app.server.closeIdleConnections();
    for (const socket of sockets) if (socket.bytesRead === 0) socket.destroy();
  };
  const close = async (): Promise<void> => {
    const closing = app.close();
    endUnused();
    const sweep = setInterval(endUnused, 100);
    try {
      await closing;
    } finally {
      clearInterval(sweep);
    }
    await store.close();
  };
  closeBeforeDrop(dataDir, { close });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(close);
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  const url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    app,
    config,
    store,
    dataDir,
    logs,
    fetch: (pathAndQuery, init = {}) => {
      const headers = new Headers(init.headers);
      if (!headers.has('authorization')) headers.set('authorization', `Bearer ${TEST_TOKEN}`);
      return fetch(url + pathAndQuery, { ...init, headers });
    },
  };
}

/** The store a data folder stands for in this half of the suite (SQLite in it, or its PostgreSQL database). */
export async function openTestStore(dataDir: string): Promise<Store> {
  await ensureDatabase(dataDir);
  const store = await openStore({ dataDir, databaseUrl: ON_POSTGRES ? databaseUrlFor(dataDir) : undefined });
  closeBeforeDrop(dataDir, store);
  return store;
}

/** The SQLite store under a test server, for the checks that only mean something there (WAL, page limits). */
export function sqliteOf(server: TestServer): SqliteStore | undefined {
  return server.store instanceof SqliteStore ? server.store : undefined;
}

/** The PostgreSQL store under a test server, for checks of its own (chunks, open transactions). */
export function pgOf(server: TestServer): PgStore | undefined {
  return server.store instanceof PgStore ? server.store : undefined;
}

/** One row of a query on the test server's own database, whichever store it is (`$1` placeholders on both). */
export async function storeRow(server: TestServer, sql: string, params: unknown[] = []): Promise<unknown> {
  const sqlite = sqliteOf(server);
  if (sqlite) return sqlite.database.prepare(sql.replace(/\$\d+/g, '?')).get(...params);
  const { rows } = await (server.store as unknown as PgStore).pool.query(sql, params);
  return rows[0];
}

/** PostgreSQL: every row of every table of the test server's database as text (bytea as hex), to grep for what must not be stored. */
export async function everyRowAsText(server: TestServer): Promise<Buffer> {
  const pool = (server.store as unknown as PgStore).pool;
  const tables = await pool.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
  let text = '';
  for (const { table_name: table } of tables.rows) {
    const { rows } = await pool.query<{ rows: string | null }>(`SELECT string_agg(t::text, E'\\n') AS rows FROM "${table}" t`);
    text += rows[0]?.rows ?? '';
  }
  return Buffer.from(text);
}

/** POST a JSON body and return status and parsed answer (typed loosely: tests index into it freely). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function postJson(server: TestServer, pathAndQuery: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await server.fetch(pathAndQuery, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}
