import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { resolveConfig, type Config, type RawSettings } from '../../src/config.js';
import type { LingerBound } from '../../src/http/lingering-close.js';
import { createLogger } from '../../src/logger.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

export const TEST_TOKEN = 'test-token-0123456789abcdef';

export interface TestServer {
  url: string;
  app: FastifyInstance;
  config: Config;
  store: SqliteStore;
  dataDir: string;
  /** Every log line the server wrote, as text. */
  logs: string[];
  /** fetch against the server with the test token unless headers say otherwise. */
  fetch(pathAndQuery: string, init?: RequestInit): Promise<Response>;
}

export function tempDir(t: TestContext, prefix = 'ascently-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A real server on 127.0.0.1 and an ephemeral port, over a fresh SQLite file; closed after the test. */
export async function startTestServer(t: TestContext, settings: RawSettings = {}, options: { now?: () => number; dataDir?: string; linger?: LingerBound } = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir(t);
  const config = resolveConfig({ dataDir, host: '127.0.0.1', port: '0', logLevel: 'info', ...settings });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  const store = new SqliteStore(config.dataDir);
  const app = await buildApp(config, { store, token: TEST_TOKEN, logger, now: options.now, linger: options.linger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await store.close();
  });
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
