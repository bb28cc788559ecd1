import type { TestContext } from 'node:test';
import { buildApp } from '../../src/app.js';
import { resolveConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { tempDir, TEST_TOKEN } from '../helpers/server.js';

/**
 * The real app with Node's timeout checks sped up. Node looks for expired
 * header and request timeouts every connectionsCheckingInterval (30 s), read
 * once when the server starts listening; so it is set here, before listen, and
 * the timeouts are shortened so that a test sees them fire in a second or two.
 */
export async function startTunedServer(t: TestContext, timeouts: { headersTimeout: number; requestTimeout: number }): Promise<string> {
  const dataDir = tempDir(t);
  const config = resolveConfig({ dataDir, host: '127.0.0.1', port: '0', logLevel: 'silent' });
  const store = new SqliteStore(config.dataDir);
  const app = await buildApp(config, { store, token: TEST_TOKEN, logger: createLogger('silent') });
  const server = app.server;
  (server as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval = 250;
  server.headersTimeout = timeouts.headersTimeout;
  server.requestTimeout = timeouts.requestTimeout;
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await store.close();
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  return `http://127.0.0.1:${address.port}`;
}
