import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import tar from 'tar-stream';
import { CLI_ENTRY, startChildServer, type ChildServer } from '../helpers/child-server.js';
import { cli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { listTree, patternedJpeg } from '../images/fixtures.js';

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const SUMMARY = /^Backed up [\d,]+ items? \(\d+ accounts?\) and [\d,]+ images?: [\d.]+ MB in [\d.]+ MB to .+ in [\d.]+ s\.\n$/;

async function postJson(server: ChildServer, route: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await server.fetch(route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function syncState(server: ChildServer): Promise<Record<string, unknown>> {
  const response = await server.fetch('/sync');
  assert.equal(response.status, 200);
  const { exportedAt: _ignored, ...rest } = (await response.json()) as Record<string, unknown>;
  return rest;
}

/** A server with a little of everything: items, a deletion, images at the top and in an account's dot-folder. */
async function seededServer(t: TestContext): Promise<{ server: ChildServer; dataDir: string; images: Map<string, Buffer> }> {
  const dataDir = tempDir(t);
  const server = await startChildServer(dataDir);
  t.after(() => server.kill9());
  const gyms = Array.from({ length: 30 }, (_, i) => ({ id: `gym-${i}`, name: `Halle ${i}`, updatedAt: '2024-01-15T10:30:00.000Z' }));
  assert.equal((await postJson(server, '/sync', { gyms, problems: [], sessions: [], attempts: [], deletedItems: [{ id: 'gone', type: 'gym', deletedAt: '2024-01-15T10:30:00.000Z' }] })).status, 200);
  const images = new Map<string, Buffer>();
  for (let i = 0; i < 5; i++) {
    const bytes = patternedJpeg(20_000 + i * 5_000, i);
    assert.equal((await server.fetch(`/images/upload?filename=p-${i}.jpg`, { method: 'POST', body: bytes })).status, 200);
    images.set(`p-${i}.jpg`, bytes);
  }
  // Accounts keep their images under .accounts/<id>/: the backup must carry dot-folders too.
  const accountImage = patternedJpeg(12_345, 99);
  mkdirSync(path.join(dataDir, 'images', '.accounts', '7'), { recursive: true });
  writeFileSync(path.join(dataDir, 'images', '.accounts', '7', 'a.jpg'), accountImage);
  images.set('.accounts/7/a.jpg', accountImage);
  return { server, dataDir, images };
}

test('backup while running, restore into an empty folder: the same answers, the same image bytes', async (t) => {
  const { server, dataDir, images } = await seededServer(t);
  const before = await syncState(server);
  const file = path.join(tempDir(t), 'nightly.tar.gz');
  const backup = await cli(['backup', file], { DATA_DIR: dataDir });
  assert.equal(backup.code, 0, backup.stderr);
  assert.match(backup.stdout, SUMMARY);
  assert.match(backup.stdout, /^Backed up 30 items \(1 account\) and 6 images/);
  assert.equal(backup.stderr, '', 'no progress when not on a terminal');
  assert.equal(statSync(file).mode & 0o777, 0o600, 'the archive holds the data: readable by its owner only');

  const target = path.join(tempDir(t), 'restored');
  const restore = await cli(['restore', file, '--data-dir', target], {});
  assert.equal(restore.code, 0, restore.stderr);
  assert.match(restore.stdout, /^Restored 30 items \(1 account\) and 6 images, [\d.]+ MB, backed up at .+, into .+ in [\d.]+ s\.\n$/);
  for (const [name, bytes] of images) assert.deepEqual(readFileSync(path.join(target, 'images', ...name.split('/'))), bytes, name);

  const restored = await startChildServer(target);
  t.after(() => restored.kill9());
  assert.deepEqual(await syncState(restored), before);
  const download = await restored.fetch('/images/download?filename=p-3.jpg');
  assert.equal(sha(Buffer.from(await download.arrayBuffer())), sha(images.get('p-3.jpg')!));
});

test('progress shows on a terminal, and the summary line always', async (t) => {
  const { dataDir } = await seededServer(t);
  const file = path.join(tempDir(t), 'b.tar.gz');
  // script(1) gives the CLI a pseudo-terminal, as when someone runs it by hand.
  const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_ENTRY)} backup ${JSON.stringify(file)}`;
  const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], { env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, TERM: 'dumb' } });
  assert.match(stdout, /backing up: \d+\/7 files, [\d.]+ MB of [\d.]+ MB \(\d+%\)/);
  assert.match(stdout, /backing up: 7\/7 files, .*\(100%\)/);
  assert.match(stdout, /Backed up 30 items \(1 account\) and 6 images/);
});

test('a truncated, bit-flipped or foreign archive is refused before anything is written', async (t) => {
  const { dataDir } = await seededServer(t);
  const dir = tempDir(t);
  const good = path.join(dir, 'good.tar.gz');
  assert.equal((await cli(['backup', good], { DATA_DIR: dataDir })).code, 0);
  const bytes = readFileSync(good);

  const truncated = path.join(dir, 'truncated.tar.gz');
  writeFileSync(truncated, bytes);
  truncateSync(truncated, Math.floor(bytes.length * 0.7));
  const flipped = path.join(dir, 'flipped.tar.gz');
  const copy = Buffer.from(bytes);
  copy[Math.floor(copy.length / 2)]! ^= 0x10;
  writeFileSync(flipped, copy);
  const foreign = path.join(dir, 'foreign.tar.gz');
  const pack = tar.pack();
  pack.entry({ name: 'database/ascently.db' }, 'not a database');
  pack.entry({ name: 'etc/passwd' }, 'root:x:0:0');
  pack.finalize();
  await pipeline(pack, createGzip(), createWriteStream(foreign));
  const noise = path.join(dir, 'noise.tar.gz');
  writeFileSync(noise, randomBytes(50_000));

  const occupied = path.join(dir, 'occupied');
  mkdirSync(path.join(occupied, 'images'), { recursive: true });
  writeFileSync(path.join(occupied, 'ascently.db'), 'old data');
  const occupiedBefore = listTree(occupied);
  for (const archive of [truncated, flipped, foreign, noise]) {
    const empty = path.join(dir, `into-${path.basename(archive)}`);
    const refused = await cli(['restore', archive, '--data-dir', empty], {});
    assert.notEqual(refused.code, 0, archive);
    assert.match(refused.stderr, /cannot be restored: .*; nothing was changed\.\n$/, archive);
    assert.equal(refused.stderr.split('\n').length, 2, `one line: ${refused.stderr}`);
    assert.throws(() => statSync(empty), /ENOENT/, `${archive}: the folder was not even created`);
    // --force must not move anything aside for an archive it will not restore.
    const forced = await cli(['restore', archive, '--data-dir', occupied, '--force'], {});
    assert.notEqual(forced.code, 0);
    assert.deepEqual(listTree(occupied), occupiedBefore);
    assert.equal(readFileSync(path.join(occupied, 'ascently.db'), 'utf8'), 'old data');
  }
});

test('a folder with data is refused without --force; with it, the old data is moved aside, not deleted', async (t) => {
  const { dataDir, server } = await seededServer(t);
  const before = await syncState(server);
  const file = path.join(tempDir(t), 'b.tar.gz');
  assert.equal((await cli(['backup', file], { DATA_DIR: dataDir })).code, 0);

  const target = tempDir(t);
  mkdirSync(path.join(target, 'images'));
  writeFileSync(path.join(target, 'ascently.db'), 'the old database');
  writeFileSync(path.join(target, 'images', 'old.jpg'), 'old image');
  const listing = listTree(target);

  const refused = await cli(['restore', file, '--data-dir', target], {});
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /already holds data; nothing was changed\. .*--force/);
  assert.deepEqual(listTree(target), listing);

  const forced = await cli(['restore', file, '--data-dir', target, '--force'], {});
  assert.equal(forced.code, 0, forced.stderr);
  const aside = /kept in (\S+)\.\n$/.exec(forced.stdout)?.[1];
  assert.ok(aside && path.dirname(aside) === target, forced.stdout);
  assert.equal(readFileSync(path.join(aside, 'ascently.db'), 'utf8'), 'the old database');
  assert.equal(readFileSync(path.join(aside, 'images', 'old.jpg'), 'utf8'), 'old image');
  const restored = await startChildServer(target);
  t.after(() => restored.kill9());
  assert.deepEqual(await syncState(restored), before);
});
