import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import pg from 'pg';
import { startChildServer } from '../helpers/child-server.js';
import { tempDir } from '../helpers/server.js';
import { closeBeforeDrop, databaseUrlFor, ON_POSTGRES } from '../helpers/test-store.js';
import { Fleet, getDocument, POSTGRES_ONLY, postDelta } from './fleet.js';

/*
 * The tombstone prune of a process that starts (or whose day comes round) while
 * another process is in the middle of a full upload of the same account. The
 * upload re-sends the account's deletions, as the apps do; the prune forgets
 * them. Both must get through, whichever waits for the other: the prune that
 * deleted the tombstones and then waited for the account's row deadlocked with
 * the upload holding that row and waiting for the tombstones, and PostgreSQL
 * failed one of them (the upload answered 500).
 */

const DAY = 24 * 60 * 60 * 1000;

test("a process's tombstone prune while another process writes a full upload that re-sends those deletions: both get through", { skip: !ON_POSTGRES && POSTGRES_ONLY, timeout: 120_000 }, async (t) => {
  const dataDir = tempDir(t);
  // Three days behind: the deletions it stamps are past a one-day retention.
  const fleet = await Fleet.start(t, dataDir, [-3 * DAY]);
  const writer = fleet.servers[0]!;
  const deletedItems = Array.from({ length: 2000 }, (_, i) => ({ id: `t${i}`, type: 'gym' as const, deletedAt: '2024-01-01T00:00:00.000Z' }));
  await postDelta(writer, { deletedItems });

  // Large enough that its writes hold the account's row for seconds.
  const gyms = Array.from({ length: 100_000 }, (_, i) => ({ id: `g${i}`, updatedAt: '2024-01-01T00:00:00.000Z', name: `gym ${i}` }));
  const body = JSON.stringify({ exportedAt: '2024-01-01T00:00:00.000Z', version: '2.0', formatVersion: '2.0', gyms, problems: [], sessions: [], attempts: [], deletedItems });
  const upload = writer.fetch('/sync', { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(async (r) => ({ status: r.status, text: await r.text() }));

  // Once the upload holds the account's row (a write's FOR UPDATE), another process starts and prunes.
  const db = new pg.Client({ connectionString: databaseUrlFor(dataDir) });
  await db.connect();
  // Ended before the test's database is dropped.
  closeBeforeDrop(dataDir, { close: () => db.end() });
  const rowLocked = async (): Promise<boolean> =>
    (
      await db.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND c.relname = 'datasets' AND l.mode = 'RowShareLock'",
      )
    ).rows[0]!.n !== '0';
  for (let waited = 0; !(await rowLocked()); waited += 20) {
    assert.ok(waited < 60_000, 'the upload never took the row lock');
    await sleep(20);
  }
  const pruner = await startChildServer(dataDir, { TOMBSTONE_RETENTION_DAYS: '1' });
  t.after(() => pruner.kill9());

  const answer = await upload;
  assert.equal(answer.status, 200, `the full upload failed: ${answer.text}`);
  assert.doesNotMatch(pruner.output(), /could not forget old deletions/);
  assert.match(pruner.output(), /forgot old deletions/);

  // Pruned after the upload: its re-sent deletions kept their old stamps and are forgotten too.
  const document = await getDocument(pruner);
  assert.equal(document.gyms.length, gyms.length);
  assert.deepEqual(document.deletedItems, []);
  const { rows } = await db.query<{ recorded: string; actual: string }>(
    `SELECT json_bytes AS recorded, (SELECT coalesce(sum(octet_length(json)), 0) FROM items WHERE dataset_id = d.id)
       + (SELECT coalesce(sum(octet_length(json)), 0) FROM tombstones WHERE dataset_id = d.id) AS actual FROM datasets d WHERE name = 'default'`,
  );
  assert.equal(rows[0]!.recorded, rows[0]!.actual, "the account's byte count is exact");
});
