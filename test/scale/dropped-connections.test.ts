import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startChildServer } from '../helpers/child-server.js';
import { TEST_TOKEN, tempDir } from '../helpers/server.js';
import { databaseUrlFor, dropDatabaseAfter, ON_POSTGRES } from '../helpers/test-store.js';

const auth = { authorization: `Bearer ${TEST_TOKEN}` };

/** Ends every connection to the database but the caller's, as a restart, a failover or an administrator would. */
async function terminateConnections(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

test('connections the database drops, idle or in the middle of a streamed answer, cost that answer at most: the server goes on', { skip: !ON_POSTGRES && 'only PostgreSQL has connections to drop (the PostgreSQL half of npm test runs this)' }, async (t) => {
  const dataDir = tempDir(t);
  dropDatabaseAfter(t, dataDir);
  const server = await startChildServer(dataDir);
  t.after(() => server.stop());
  // 30 MB: more than the socket buffers between a paused client and the server hold, so the answer is still being read when its connection goes.
  const gyms = Array.from({ length: 30_000 }, (_, i) => ({ id: `g${i}`, name: 'x'.repeat(1000) }));
  const upload = await server.fetch('/sync', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ gyms }) });
  assert.equal(upload.status, 200);

  // Idle connections first. A request in the very instant they go may still be given
  // one (a 500); one a moment later, as after a restart of PostgreSQL, gets a new one.
  assert.ok((await terminateConnections(databaseUrlFor(dataDir))) > 0);
  await sleep(300);
  assert.equal((await server.fetch('/sync/delta', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' })).status, 200);

  // Then one checked out by a GET /sync its client reads slowly, between two of its cursor's fetches.
  const cutShort = await new Promise<boolean>((resolve, reject) => {
    const get = request(`${server.url}/sync`, { headers: auth }, (response) => {
      response.pause();
      setTimeout(() => {
        terminateConnections(databaseUrlFor(dataDir)).then(() => {
          response.on('error', () => resolve(true));
          response.on('end', () => resolve(false));
          response.resume();
        }, reject);
      }, 300);
    });
    get.on('error', () => resolve(true));
    get.end();
  });
  assert.ok(cutShort, 'the answer whose connection was dropped ends early, not with a whole document');

  const after = await server.fetch('/sync', { headers: auth });
  assert.equal(after.status, 200);
  assert.equal(((await after.json()) as { gyms: unknown[] }).gyms.length, gyms.length);
  assert.equal(server.process.exitCode, null, server.output());
  assert.match(server.output(), /the answer was cut short: reading it from the store failed/);
  assert.doesNotMatch(server.output(), /client hung up/);
});
