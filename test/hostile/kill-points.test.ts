import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Database } from '../../src/store/sqlite-driver.js';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { tempDir } from '../helpers/server.js';
import { syncState } from './raw-http.js';
import { deltas, fullUploads, imageUploads, random, type Workload } from './kill-workloads.js';

/**
 * kill -9 at random moments while devices upload, then restart on the same
 * folder: SQLite must be intact, every acknowledged write there, and every
 * write the kill cut short wholly there or wholly absent. KILL_POINTS runs
 * more rounds; KILL_SEED replays the moments a failure printed.
 */
const KILL_POINTS = Number(process.env['KILL_POINTS'] ?? 54);
const SEED = Number(process.env['KILL_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

function assertIntact(dataDir: string): void {
  // Read-only, as an operator would look after a crash; it still replays the WAL.
  const db = new Database(path.join(dataDir, 'ascently.db'), { readonly: true, fileMustExist: true });
  try {
    assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
  } finally {
    db.close();
  }
}

test(`kill -9 at ${KILL_POINTS} random moments during uploads, deltas and image uploads loses no acknowledged write`, { timeout: 170_000 }, async (t) => {
  const dataDir = tempDir(t);
  const next = random(SEED);
  const env = { HISTORY_KEEP: '2' };
  let server: ChildServer = await startChildServer(dataDir, env);
  t.after(() => server.kill9());
  const counts = { full: 0, delta: 0, image: 0, acknowledged: 0, cutShort: 0, landed: 0 };

  for (let round = 0; round < KILL_POINTS; round++) {
    const mode = (['full', 'delta', 'image'] as const)[round % 3]!;
    const before = await syncState(server.url);
    const work: Workload = mode === 'full' ? fullUploads(server, round) : mode === 'delta' ? deltas(server, round) : imageUploads(server, round, path.join(dataDir, 'images'));
    const delay = Math.floor(next() * 400);
    await sleep(delay);
    await server.kill9();
    await work.done;
    counts[mode] += 1;
    counts.acknowledged += work.acknowledged();
    const context = `round ${round} (${mode}, killed after ${delay} ms; replay with KILL_SEED=${SEED})`;
    try {
      assertIntact(dataDir);
      server = await startChildServer(dataDir, env);
      const stateText = await syncState(server.url);
      // Never written (no write committed yet, on a slow machine): the empty document, as the checks read it.
      const state = stateText === '(never written)' ? { gyms: [], problems: [], sessions: [], attempts: [], deletedItems: [] } : (JSON.parse(stateText) as Record<string, unknown>);
      const outcome = await work.verify(state, before, stateText, server);
      counts.cutShort += outcome.cutShort;
      counts.landed += outcome.landed;
    } catch (err) {
      (err as Error).message = `${context}: ${(err as Error).message}`;
      throw err;
    }
  }
  t.diagnostic(`kill points: ${KILL_POINTS} (${counts.full} during full uploads, ${counts.delta} during deltas, ${counts.image} during image uploads), ${counts.acknowledged} acknowledged writes all present; ${counts.cutShort} writes cut short, ${counts.landed} wholly there and the rest wholly absent; seed ${SEED}`);
});
