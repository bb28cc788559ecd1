import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { addAccount, cli } from '../helpers/cli.js';
import { startTestServer, storeRow } from '../helpers/server.js';
import { ON_POSTGRES } from '../helpers/test-store.js';
import { listTree, patternedJpeg } from './fixtures.js';

/*
 * An account removed through the CLI (another process) while one of its images
 * is arriving: the upload is refused as the account's tokens now are (401), and
 * nothing of it stays. It was a 400 that blamed the client ("interrupted before
 * the body ended"): a body fully read is destroyed too, so the store's failure
 * (PostgreSQL's foreign key, SQLite's vanished folder) was taken for a cut body.
 */
test('an image upload under way when its account is removed through the CLI is refused as the token now is, and nothing stays', async (t) => {
  const server = await startTestServer(t);
  const { token } = await addAccount(server.store, 'anna');
  const bytes = patternedJpeg(600_000, 1);
  let removed!: () => void;
  const afterRemoval = new Promise<void>((resolve) => (removed = resolve));
  // The first bytes now, so that the request is let in; the rest once the account is gone.
  async function* body(): AsyncGenerator<Buffer> {
    yield bytes.subarray(0, 100_000);
    await afterRemoval;
    yield bytes.subarray(100_000);
  }
  const answer = server.fetch('/images/upload?filename=wall.jpg', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'image/jpeg' },
    body: body() as unknown as RequestInit['body'],
    duplex: 'half',
  } as RequestInit);
  await sleep(300);
  const removal = await cli(['accounts', 'remove', 'anna', '--yes'], ON_POSTGRES ? { DATABASE_URL: server.config.databaseUrl! } : { DATA_DIR: server.config.dataDir });
  assert.equal(removal.code, 0, removal.stderr);
  removed();

  const response = await answer;
  const refusal = (await response.json()) as { code: string; error: string };
  assert.equal(response.status, 401, refusal.error);
  assert.equal(refusal.code, 'unauthorized');
  const left = (await storeRow(server, `SELECT (SELECT count(*) FROM images)${ON_POSTGRES ? ' + (SELECT count(*) FROM image_chunks)' : ''} AS n`)) as { n: number };
  assert.equal(Number(left.n), 0, 'no image stays');
  if (!ON_POSTGRES) assert.deepEqual(listTree(server.config.imagesDir).filter((f) => f.endsWith('.jpg') || f.endsWith('.tmp')), [], 'no file stays');
});
