import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { postJson, startTestServer, storeRow } from '../helpers/server.js';
import { databaseUrlFor, ON_POSTGRES } from '../helpers/test-store.js';

const IDLE_MS = 300;

/**
 * The socket's idle timeout is for clients that stall. A phone whose request has
 * arrived whole waits for its answer and sends nothing meanwhile: however long
 * the server takes (a large upload on slow hardware, a wait for the account's
 * lock), that wait must not cost it the answer to a write that was stored.
 */
test(
  'uploads that wait longer than the idle timeout for the account, full and delta, get their answers',
  { skip: !ON_POSTGRES && "only PostgreSQL's row lock can be held from outside while the server waits without blocking (the PostgreSQL half of npm test runs this)" },
  async (t) => {
    const server = await startTestServer(t, {}, { idleTimeoutMs: IDLE_MS });
    assert.equal((await postJson(server, '/sync/delta', { lastSyncTime: null, gyms: [{ id: 'g0', name: 'before' }] })).status, 200);
    const { id } = (await storeRow(server, "SELECT id FROM datasets WHERE name = 'default'")) as { id: number };

    // Another writer (another process, the CLI) holds the account while both uploads arrive.
    const holder = new pg.Client({ connectionString: databaseUrlFor(server.dataDir) });
    await holder.connect();
    let full, delta;
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM datasets WHERE id = $1 FOR UPDATE', [id]);
      full = postJson(server, '/sync', { gyms: [{ id: 'g1', name: 'full upload' }] });
      delta = postJson(server, '/sync/delta', { lastSyncTime: null, gyms: [{ id: 'g2', name: 'delta' }] });
      await new Promise((resolve) => setTimeout(resolve, 4 * IDLE_MS));
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }

    const [fullReply, deltaReply] = await Promise.all([full, delta]);
    assert.equal(fullReply.status, 200);
    assert.equal(deltaReply.status, 200);
    const stored = (await (await server.fetch('/sync')).json()) as { gyms: { id: string }[] };
    assert.ok(stored.gyms.some((gym) => gym.id === 'g1'), 'the full upload was stored');
  },
);
