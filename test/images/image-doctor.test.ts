import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cli } from '../helpers/cli.js';
import { postJson, startTestServer } from '../helpers/server.js';
import { plantImage, storedImage, TINY_IMAGES, upload } from './fixtures.js';

const TWO_DAYS_AGO = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);

function problem(id: string, imagePaths: unknown): Record<string, unknown> {
  return { id, gymId: 'g1', name: id, climbType: 'BOULDER', imagePaths, createdAt: '2024-01-15T10:00:00.000Z', updatedAt: '2024-01-15T10:00:00.000Z' };
}

test('images check finds a missing and an orphan image; --delete-orphans deletes only old orphans', async (t) => {
  const server = await startTestServer(t);
  const sync = await postJson(server, '/sync', {
    gyms: [{ id: 'g1', name: 'Gym', createdAt: '2024-01-15T10:00:00.000Z', updatedAt: '2024-01-15T10:00:00.000Z' }],
    problems: [problem('p1', ['kept.jpg', 'gone.jpg']), problem('p2', ['kept.jpg']), problem('p3', null)],
  });
  assert.equal(sync.status, 200);
  assert.equal((await upload(server, 'kept.jpg', TINY_IMAGES['image/jpeg'])).status, 200);
  await plantImage(server, 'old-orphan.png', TINY_IMAGES['image/png'], TWO_DAYS_AGO);
  await plantImage(server, 'new-orphan.gif', TINY_IMAGES['image/gif'], new Date());
  // Referenced but old: never an orphan, whatever its age.
  await plantImage(server, 'kept.jpg', TINY_IMAGES['image/jpeg'], TWO_DAYS_AGO);

  const env = { DATA_DIR: server.dataDir };
  const check = await cli(['images', 'check'], env);
  assert.equal(check.code, 1, 'a missing image needs a person');
  const lines = check.stdout.split('\n');
  assert.match(check.stdout, /3 images .*problems reference 2/);
  assert.match(check.stdout, /Missing .*: 1\n {2}gone\.jpg {2}problem p1\n/);
  assert.match(check.stdout, /Orphans .*: 2\n/);
  assert.ok(lines.some((l) => new RegExp(`^ {2}old-orphan\\.png {2}${TINY_IMAGES['image/png'].length} B .*older than a day`).test(l)), check.stdout);
  assert.ok(lines.some((l) => new RegExp(`^ {2}new-orphan\\.gif {2}${TINY_IMAGES['image/gif'].length} B .*recent`).test(l)), check.stdout);
  assert.ok(!lines.some((l) => l.includes('kept.jpg')), 'a referenced image is neither missing nor an orphan');
  assert.ok(await storedImage(server, 'old-orphan.png'), 'check alone deletes nothing');

  const cleanup = await cli(['images', 'check', '--delete-orphans'], env);
  assert.match(cleanup.stdout, /Deleted 1 file/);
  assert.equal(cleanup.code, 1, 'gone.jpg is still missing after deleting orphans');
  assert.equal(await storedImage(server, 'old-orphan.png'), undefined);
  assert.ok(await storedImage(server, 'new-orphan.gif'), 'a young orphan may be waiting for its delta');
  assert.ok(await storedImage(server, 'kept.jpg'));
  assert.equal((await server.fetch('/images/download?filename=kept.jpg')).status, 200);
});

test('images check on an empty server reports nothing to do, and exits 0', async (t) => {
  const server = await startTestServer(t);
  const { stdout, code } = await cli(['images', 'check'], { DATA_DIR: server.dataDir });
  assert.equal(code, 0);
  assert.match(stdout, /0 images .*problems reference 0/);
  assert.match(stdout, /Missing .*: 0/);
  assert.match(stdout, /Orphans .*: 0/);
});

test('images check lists the first 10 of each kind; --all lists every one, --json gives the whole report', async (t) => {
  const server = await startTestServer(t);
  const names = Array.from({ length: 25 }, (_, i) => `lost-${String(i).padStart(2, '0')}.jpg`);
  assert.equal((await postJson(server, '/sync', { problems: [problem('p1', names)] })).status, 200);
  const env = { DATA_DIR: server.dataDir };

  const summary = await cli(['images', 'check'], env);
  assert.equal(summary.code, 1);
  assert.match(summary.stdout, /Missing .*: 25\n/);
  assert.equal(summary.stdout.split('\n').filter((l) => /^ {2}lost-/.test(l)).length, 10);
  assert.match(summary.stdout, /\n {2}… and 15 more \(--all lists every one, --json gives the whole report\)\n/);

  const all = await cli(['images', 'check', '--all'], env);
  assert.equal(all.stdout.split('\n').filter((l) => /^ {2}lost-/.test(l)).length, 25);

  const json = await cli(['images', 'check', '--json'], env);
  assert.equal(json.code, 1);
  assert.equal(json.stdout.split('\n').length, 2, '--json is one line (and its line end)');
  const report = JSON.parse(json.stdout) as { missing: { name: string; problems: string[] }[]; orphans: unknown[] };
  assert.deepEqual(report.missing.map((m) => m.name), names);
  assert.deepEqual(report.missing[0]!.problems, ['p1']);
  assert.deepEqual(report.orphans, []);
});
