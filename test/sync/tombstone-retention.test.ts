import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startChildServer } from '../helpers/child-server.js';
import { postJson, startTestServer, tempDir } from '../helpers/server.js';

const DAY = 24 * 60 * 60 * 1000;

test('with TOMBSTONE_RETENTION_DAYS, deletions older than the retention are forgotten at start; newer ones kept', async (t) => {
  const dataDir = tempDir(t);
  let now = Date.now() - 3 * DAY;
  const early = await startTestServer(t, {}, { now: () => now, dataDir });
  await postJson(early, '/sync/delta', { deletedItems: [{ id: 'old', type: 'gym', deletedAt: '2024-01-01T00:00:00.000Z' }] });
  now = Date.now() - DAY / 2;
  await postJson(early, '/sync/delta', { deletedItems: [{ id: 'recent', type: 'gym', deletedAt: '2024-01-02T00:00:00.000Z' }] });
  await early.app.close();
  await early.store.close();

  const server = await startChildServer(dataDir, { TOMBSTONE_RETENTION_DAYS: '1' });
  t.after(() => server.kill9());
  const document = (await (await server.fetch('/sync')).json()) as { deletedItems: { id: string }[] };
  assert.deepEqual(document.deletedItems.map((d) => d.id), ['recent']);
  assert.match(server.output(), /forgot old deletions/);
});

test('without a retention, deletions are kept forever', async (t) => {
  const dataDir = tempDir(t);
  const early = await startTestServer(t, {}, { now: () => Date.now() - 400 * DAY, dataDir });
  await postJson(early, '/sync/delta', { deletedItems: [{ id: 'ancient', type: 'gym', deletedAt: '2020-01-01T00:00:00.000Z' }] });
  await early.app.close();
  await early.store.close();

  const server = await startChildServer(dataDir);
  t.after(() => server.kill9());
  const document = (await (await server.fetch('/sync')).json()) as { deletedItems: { id: string }[] };
  assert.deepEqual(document.deletedItems.map((d) => d.id), ['ancient']);
});
