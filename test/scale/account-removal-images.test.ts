import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import pg from 'pg';
import { addAccount, cli } from '../helpers/cli.js';
import { openTestStore, tempDir } from '../helpers/server.js';
import { closeBeforeDrop, databaseUrlFor, ON_POSTGRES } from '../helpers/test-store.js';
import { patternedJpeg, upload } from '../images/fixtures.js';
import { Fleet, POSTGRES_ONLY, postDelta } from './fleet.js';

/*
 * An account removed through the CLI while a server process replaces one of its
 * images (scale-out.md: images live in the database, and removing an account
 * removes all it holds). The removal deleted the chunks of the blobs its images
 * named first and the image rows last: an upload that replaced an image in
 * between got a 200, and its chunks, named by no row, stayed in the database for
 * good. Here a lock on one of the account's items holds the removal in that
 * window, as a large account's many rows do.
 */
test('an image replaced while its account is being removed leaves none of its bytes behind', { skip: !ON_POSTGRES && POSTGRES_ONLY, timeout: 120_000 }, async (t) => {
  const dataDir = tempDir(t);
  const store = await openTestStore(dataDir);
  const { token } = await addAccount(store, 'anna');
  await store.close();
  const [server] = (await Fleet.start(t, dataDir, [0])).servers;
  const asAnna = { fetch: (p: string, init: RequestInit = {}) => server!.fetch(p, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } }) };
  await postDelta(server!, { gyms: [{ id: 'g1', rev: '1', updatedAt: '2024-01-01T00:00:00.000Z', name: 'wall' }] }, token);
  assert.equal((await upload(asAnna, 'wall.jpg', patternedJpeg(700_000, 1))).status, 200);

  // One connection holds the lock; the other looks (activity seen inside a transaction is a snapshot).
  const [locker, db] = [new pg.Client({ connectionString: databaseUrlFor(dataDir) }), new pg.Client({ connectionString: databaseUrlFor(dataDir) })];
  for (const client of [locker, db]) {
    await client.connect();
    closeBeforeDrop(dataDir, { close: () => client.end() });
  }
  const query = async <T extends pg.QueryResultRow>(sql: string): Promise<T> => (await db.query<T>(sql)).rows[0]!;

  await locker.query("BEGIN; SELECT 1 FROM items WHERE dataset_id = (SELECT id FROM datasets WHERE name = 'anna') FOR UPDATE");
  const removal = cli(['accounts', 'remove', 'anna', '--yes'], { DATABASE_URL: databaseUrlFor(dataDir) });
  for (let waited = 0; ; waited += 20) {
    const { n } = await query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM items%'");
    if (n > 0) break;
    assert.ok(waited < 30_000, 'the removal never reached the items');
    await sleep(20);
  }
  // The removal is under way; the image is replaced (or the upload waits for the removal).
  const replaced = upload(asAnna, 'wall.jpg', patternedJpeg(600_000, 2));
  await Promise.race([replaced, sleep(1000)]);
  await locker.query('COMMIT');

  const removed = await removal;
  assert.equal(removed.code, 0, removed.stderr);
  const status = (await replaced).status;
  t.diagnostic(`the replacing upload answered ${status}`);
  assert.ok(status === 200 || status === 401, `the replacing upload answered ${status}`);
  const { orphans } = await query<{ orphans: number }>(
    `SELECT count(*)::int AS orphans FROM image_chunks c
     WHERE NOT EXISTS (SELECT 1 FROM images i WHERE i.blob_id = c.blob_id) AND NOT EXISTS (SELECT 1 FROM retired_image_blobs r WHERE r.blob_id = c.blob_id)`,
  );
  assert.equal(orphans, 0, 'chunks of an image no row names stayed behind');
  const { images } = await query<{ images: number }>('SELECT count(*)::int AS images FROM images');
  assert.equal(images, 0);
});
