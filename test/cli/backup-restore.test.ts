import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { createGunzip, createGzip, gunzipSync } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import tar from 'tar-stream';
import { Database } from '../../src/store/sqlite-driver.js';
import { CLI_ENTRY, startChildServer, type ChildServer } from '../helpers/child-server.js';
import { cli, oneLine } from '../helpers/cli.js';
import { TEST_TOKEN, tempDir } from '../helpers/server.js';
import { listTree, patternedJpeg } from '../images/fixtures.js';
import { ON_POSTGRES } from '../helpers/test-store.js';

/** These look at a SQLite data folder's own files (modes, a folder moved aside); the PostgreSQL half tests backup and restore with DATABASE_URL below. */
const SQLITE_BACKUP = 'about the SQLite data folder\'s files; the PostgreSQL half runs its own backup and restore test';

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const SUMMARY = /^Backed up [\d,]+ items? \(\d+ accounts?\) and [\d,]+ images?: [\d.]+ (?:B|kB|MB|GB) in [\d.]+ (?:B|kB|MB|GB) to .+ in [\d.]+ (?:ms|s)\.\n$/;

async function postJson(server: ChildServer, route: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await server.fetch(route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function syncState(server: ChildServer): Promise<Record<string, unknown>> {
  const response = await server.fetch('/sync');
  assert.equal(response.status, 200);
  const state = (await response.json()) as Record<string, unknown>;
  delete state['exportedAt'];
  return state;
}

/** A restored server answers GET /sync as the backed-up one did, and an image with its bytes and its Last-Modified. */
async function assertAnswersAsBefore(restored: ChildServer, before: Record<string, unknown>, image: string, bytes: Buffer, modified: string | null): Promise<void> {
  assert.deepEqual(await syncState(restored), before);
  const download = await restored.fetch(`/images/download?filename=${image}`);
  assert.equal(sha(Buffer.from(await download.arrayBuffer())), sha(bytes));
  assert.ok(modified);
  assert.equal(download.headers.get('last-modified'), modified, 'an image keeps its time');
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

/** A seeded server, what it answers, and a backup of it taken while it runs. */
async function backedUpServer(t: TestContext): Promise<{ server: ChildServer; dataDir: string; before: Record<string, unknown>; file: string }> {
  const { dataDir, server } = await seededServer(t);
  const before = await syncState(server);
  const file = path.join(tempDir(t), 'b.tar.gz');
  assert.equal((await cli(['backup', file], { DATA_DIR: dataDir })).code, 0);
  return { dataDir, server, before, file };
}

test('backup while running, restore into an empty folder: the same answers, the same image bytes', { skip: ON_POSTGRES && SQLITE_BACKUP }, async (t) => {
  const { server, dataDir, images } = await seededServer(t);
  const before = await syncState(server);
  const modified = (await server.fetch('/images/download?filename=p-3.jpg', { method: 'HEAD' })).headers.get('last-modified');
  // Restored a second later, so that a time taken at the restore would differ.
  await new Promise((resolve) => setTimeout(resolve, 1100));
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
  assert.match(restore.stdout, /^Restored 30 items \(1 account\) and 6 images, [\d.]+ (?:B|kB|MB|GB), backed up at .+, into .+ in [\d.]+ (?:ms|s)\.\n$/);
  for (const [name, bytes] of images) assert.deepEqual(readFileSync(path.join(target, 'images', ...name.split('/'))), bytes, name);

  const restored = await startChildServer(target);
  t.after(() => restored.kill9());
  await assertAnswersAsBefore(restored, before, 'p-3.jpg', images.get('p-3.jpg')!, modified);
});

test('a backup holds no token, and a restore writes the data private to its owner', { skip: ON_POSTGRES && SQLITE_BACKUP }, async (t) => {
  const { dataDir } = await seededServer(t);
  // The token --generate-token keeps in the data folder, and a device's token, which only the database's hash of it stands for.
  const generated = `asy_${randomBytes(32).toString('base64url')}`;
  writeFileSync(path.join(dataDir, 'auth-token'), `${generated}\n`, { mode: 0o600 });
  const added = await cli(['accounts', 'add', 'anna', '--json'], { DATA_DIR: dataDir });
  assert.equal(added.code, 0, added.stderr);
  const deviceToken = (JSON.parse(added.stdout) as { device: { token: string } }).device.token;
  const file = path.join(tempDir(t), 'b.tar.gz');
  assert.equal((await cli(['backup', file], { DATA_DIR: dataDir })).code, 0);
  const archive = gunzipSync(readFileSync(file)).toString('latin1');
  assert.ok(archive.includes('Halle 29'), 'the archive is read whole');
  for (const token of [generated, deviceToken, TEST_TOKEN]) assert.ok(!archive.includes(token), 'no token in the archive');

  const target = path.join(tempDir(t), 'restored');
  assert.equal((await cli(['restore', file, '--data-dir', target], {})).code, 0);
  for (const dir of [target, path.join(target, 'images'), path.join(target, 'images', '.accounts', '7')]) assert.equal(statSync(dir).mode & 0o777, 0o700, dir);
  for (const name of ['ascently.db', 'images/p-0.jpg', 'images/.accounts/7/a.jpg']) assert.equal(statSync(path.join(target, name)).mode & 0o777, 0o600, name);
  // The phones keep syncing with the token they have, set again where the restored server runs.
  const restored = await startChildServer(target);
  t.after(() => restored.kill9());
  assert.equal((await restored.fetch('/sync')).status, 200);
  assert.equal((await fetch(`${restored.url}/health`, { headers: { authorization: `Bearer ${deviceToken}` } })).status, 200);
});

test('progress shows on a terminal, and the summary line always', { skip: ON_POSTGRES && SQLITE_BACKUP }, async (t) => {
  const { dataDir } = await seededServer(t);
  const file = path.join(tempDir(t), 'b.tar.gz');
  // script(1) gives the CLI a pseudo-terminal, as when someone runs it by hand.
  const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_ENTRY)} backup ${JSON.stringify(file)}`;
  const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], { env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, TERM: 'dumb' } });
  assert.match(stdout, /backing up: \d+\/7 files, [\d.]+ (?:B|kB|MB|GB) of [\d.]+ (?:B|kB|MB|GB) \(\d+%\)/);
  assert.match(stdout, /backing up: 7\/7 files, .*\(100%\)/);
  assert.match(stdout, /Backed up 30 items \(1 account\) and 6 images/);
});

/** A copy of an archive whose database `edit` changed in place, with the manifest made to match again. */
async function rewriteDatabase(from: string, to: string, edit: (database: Buffer) => Buffer | void): Promise<void> {
  const entries: { name: string; body: Buffer }[] = [];
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    stream.on('end', () => {
      entries.push({ name: header.name, body: Buffer.concat(chunks) });
      next();
    });
  });
  await pipeline(createReadStream(from), createGunzip(), extract);
  const database = entries.find((e) => e.name === 'database/ascently.db')!;
  database.body = edit(database.body) ?? database.body;
  const manifestEntry = entries.find((e) => e.name === 'manifest.json')!;
  const manifest = JSON.parse(manifestEntry.body.toString('utf8')) as { files: { path: string; size: number; sha256: string }[] };
  for (const file of manifest.files) if (file.path === database.name) Object.assign(file, { size: database.body.length, sha256: sha(database.body) });
  manifestEntry.body = Buffer.from(JSON.stringify(manifest));
  const pack = tar.pack();
  for (const entry of entries) pack.entry({ name: entry.name }, entry.body);
  pack.finalize();
  await pipeline(pack, createGzip(), createWriteStream(to));
}

test('a truncated, bit-flipped or foreign archive, or one of a newer release, is refused before anything is written', { skip: ON_POSTGRES && SQLITE_BACKUP }, async (t) => {
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
  // Whole and as their manifests say, but holding what this release must not restore.
  const newer = path.join(dir, 'newer.tar.gz');
  await rewriteDatabase(good, newer, (db) => void db.writeUInt32BE(99, 60)); // SQLite's user_version: a newer release's schema
  const garbage = path.join(dir, 'garbage.tar.gz');
  await rewriteDatabase(good, garbage, (db) => db.fill(0x2a, 0, 100));
  // Past the header: a database cut short, and another program's SQLite file.
  const cut = path.join(dir, 'cut.tar.gz');
  await rewriteDatabase(good, cut, (db) => db.subarray(0, 8192));
  const otherFile = path.join(dir, 'other.db');
  const other = new Database(otherFile);
  other.exec('CREATE TABLE foo (x); INSERT INTO foo VALUES (1);');
  other.close();
  const otherProgram = path.join(dir, 'other-program.tar.gz');
  await rewriteDatabase(good, otherProgram, () => readFileSync(otherFile));

  const occupied = path.join(dir, 'occupied');
  mkdirSync(path.join(occupied, 'images'), { recursive: true });
  writeFileSync(path.join(occupied, 'ascently.db'), 'old data');
  const occupiedBefore = listTree(occupied);
  for (const archive of [truncated, flipped, foreign, noise, newer, garbage, cut, otherProgram]) {
    const empty = path.join(dir, `into-${path.basename(archive)}`);
    const refused = await cli(['restore', archive, '--data-dir', empty], {});
    assert.equal(refused.code, 4, `${archive}: exit 4, a file that is not what it should be`);
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

test('a folder with data is refused without --force; with it, the old data is moved aside, not deleted', { skip: ON_POSTGRES && SQLITE_BACKUP }, async (t) => {
  const { dataDir, server, before, file } = await backedUpServer(t);

  const target = tempDir(t);
  mkdirSync(path.join(target, 'images'));
  writeFileSync(path.join(target, 'ascently.db'), 'the old database');
  writeFileSync(path.join(target, 'images', 'old.jpg'), 'old image');
  const listing = listTree(target);

  const refused = await cli(['restore', file, '--data-dir', target], {});
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /already holds data; nothing was changed\. .*--force/);
  assert.deepEqual(listTree(target), listing);

  // Not from under a running server, even with --force.
  const running = await cli(['restore', file, '--data-dir', dataDir, '--force'], {});
  assert.equal(running.code, 1);
  assert.match(running.stderr, /a server is running on .*: stop it before restoring; nothing was changed\./);
  assert.deepEqual(await syncState(server), before);

  const forced = await cli(['restore', file, '--data-dir', target, '--force'], {});
  assert.equal(forced.code, 0, forced.stderr);
  const aside = /kept in (\S+)\.\n$/.exec(forced.stdout)?.[1];
  assert.ok(aside && path.dirname(aside) === target, forced.stdout);
  assert.equal(statSync(aside).mode & 0o777, 0o700, 'what was moved aside stays private');
  assert.equal(readFileSync(path.join(aside, 'ascently.db'), 'utf8'), 'the old database');
  assert.equal(readFileSync(path.join(aside, 'images', 'old.jpg'), 'utf8'), 'old image');
  const restored = await startChildServer(target);
  t.after(() => restored.kill9());
  assert.deepEqual(await syncState(restored), before);
});

test('a folder a server started in once, with nothing synced, holds no data: restored into without --force, its files kept aside', { skip: ON_POSTGRES && SQLITE_BACKUP }, async (t) => {
  const { before, file } = await backedUpServer(t);

  // A new volume's lost+found, and the database and folders a first start makes.
  const target = tempDir(t);
  mkdirSync(path.join(target, 'lost+found'));
  const first = await startChildServer(target);
  assert.equal((await first.fetch('/health')).status, 200);
  await first.stop();
  assert.ok(existsSync(path.join(target, 'ascently.db')));

  const restoredRun = await cli(['restore', file, '--data-dir', target], {});
  assert.equal(restoredRun.code, 0, restoredRun.stderr);
  const aside = /kept in (\S+)\.\n$/.exec(restoredRun.stdout)?.[1];
  assert.ok(aside && existsSync(path.join(aside, 'lost+found')), restoredRun.stdout);
  const restored = await startChildServer(target);
  t.after(() => restored.kill9());
  assert.deepEqual(await syncState(restored), before);
});

interface Device {
  index: number;
  serverTime: string | null;
  ackedRounds: number;
  images: { name: string; sha: string; ackedAt: number | undefined }[];
}

const ROUND_ITEMS = 5;

function roundItems(device: number, round: number): Record<string, unknown>[] {
  return Array.from({ length: ROUND_ITEMS }, (_, k) => ({ id: `d${device}-r${round}-${k}`, status: 'COMPLETED', round, updatedAt: '2024-02-01T10:00:00.000Z', pad: 'x'.repeat(300) }));
}

/** One device: a delta of five new attempts and its counter gym, and every third round an image, until told to stop. */
async function runDevice(server: ChildServer, device: Device, running: () => boolean): Promise<void> {
  for (let round = 0; running(); round++) {
    const counter = { id: `counter-${device.index}`, name: 'counter', round, updatedAt: new Date(Date.UTC(2024, 1, 1) + round * 1000).toISOString() };
    const answer = await postJson(server, '/sync/delta', { lastSyncTime: device.serverTime, gyms: [counter], attempts: roundItems(device.index, round), deletedItems: [] });
    assert.equal(answer.status, 200);
    device.serverTime = answer.json['serverTime'] as string;
    device.ackedRounds = round + 1;
    if (round % 3 === 0) {
      // Four names per device, replaced again and again: a replace must be archived whole, old or new.
      const name = `dev${device.index}-${(round / 3) % 4}.jpg`;
      const bytes = patternedJpeg(100_000 + ((round * 7919) % 200_000), device.index * 1000 + round);
      const entry = { name, sha: sha(bytes), ackedAt: undefined as number | undefined };
      device.images.push(entry);
      const response = await server.fetch(`/images/upload?filename=${name}`, { method: 'POST', body: bytes });
      assert.equal(response.status, 200);
      await response.arrayBuffer();
      entry.ackedAt = Date.now();
    }
  }
}

test('a backup taken while three devices sync and upload restores one moment of the server, with whole images', { skip: ON_POSTGRES && SQLITE_BACKUP }, async (t) => {
  const dataDir = tempDir(t);
  const server = await startChildServer(dataDir);
  t.after(() => server.kill9());
  // Some bulk, so that the backup overlaps many writes.
  const attempts = Array.from({ length: 4_000 }, (_, i) => ({ id: `seed-${i}`, status: 'COMPLETED', updatedAt: '2024-01-15T10:30:00.000Z', pad: 'y'.repeat(400) }));
  assert.equal((await postJson(server, '/sync', { gyms: [], problems: [], sessions: [], attempts, deletedItems: [] })).status, 200);
  for (let i = 0; i < 20; i++) assert.equal((await server.fetch(`/images/upload?filename=seed-${i}.jpg`, { method: 'POST', body: patternedJpeg(300_000, i) })).status, 200);

  let running = true;
  const devices: Device[] = [0, 1, 2].map((index) => ({ index, serverTime: null, ackedRounds: 0, images: [] }));
  const loops = Promise.all(devices.map((d) => runDevice(server, d, () => running)));
  loops.catch(() => (running = false));
  const waitRounds = async (n: number): Promise<void> => {
    while (running && devices.some((d) => d.ackedRounds < n)) await new Promise((resolve) => setTimeout(resolve, 20));
  };
  await waitRounds(4);
  const backupStarted = Date.now();
  const roundsBefore = devices.map((d) => d.ackedRounds);
  const file = path.join(tempDir(t), 'busy.tar.gz');
  const backup = await cli(['backup', file], { DATA_DIR: dataDir }, 60_000);
  const roundsAfter = devices.map((d) => d.ackedRounds);
  await waitRounds(Math.max(...roundsAfter) + 3);
  running = false;
  await loops;
  assert.equal(backup.code, 0, backup.stderr);
  t.diagnostic(`rounds acknowledged before the backup ${roundsBefore.join('/')}, after it ${roundsAfter.join('/')}`);
  assert.ok(roundsAfter.some((after, i) => after > roundsBefore[i]!), 'devices kept syncing while the backup ran');

  const target = path.join(tempDir(t), 'restored');
  const restore = await cli(['restore', file, '--data-dir', target], {}, 60_000);
  assert.equal(restore.code, 0, restore.stderr);
  const restored = await startChildServer(target);
  t.after(() => restored.kill9());
  const state = await syncState(restored);
  const attemptsById = new Map((state['attempts'] as { id: string }[]).map((a) => [a.id, a]));
  const gymsById = new Map((state['gyms'] as { id: string; round: number }[]).map((g) => [g.id, g]));
  assert.equal([...attemptsById.keys()].filter((id) => id.startsWith('seed-')).length, 4_000);

  for (const device of devices) {
    // Each delta is there whole or not at all, and the ones there are a prefix of what the device sent,
    // ending where its counter says: one moment, seen the same way by every table.
    const present: number[] = [];
    for (let round = 0; round < device.ackedRounds; round++) {
      const items = roundItems(device.index, round);
      const found = items.filter((item) => attemptsById.has(item['id'] as string));
      assert.ok(found.length === 0 || found.length === ROUND_ITEMS, `device ${device.index} round ${round}: ${found.length} of ${ROUND_ITEMS} items`);
      if (found.length > 0) {
        present.push(round);
        for (const item of items) assert.deepEqual(attemptsById.get(item['id'] as string), item);
      }
    }
    const last = present.length - 1;
    assert.deepEqual(present, Array.from({ length: present.length }, (_, i) => i), `device ${device.index}: a prefix`);
    assert.ok(present.length >= roundsBefore[device.index]! && present.length <= roundsAfter[device.index]! + 1, `device ${device.index}: ${present.length} rounds`);
    assert.equal(gymsById.get(`counter-${device.index}`)?.round, last, `device ${device.index}: counter and items agree`);
  }

  // Every image is whole: byte for byte one that a device uploaded and had acknowledged.
  const uploads = new Map<string, Set<string>>();
  for (let i = 0; i < 20; i++) uploads.set(`seed-${i}.jpg`, new Set([sha(patternedJpeg(300_000, i))]));
  for (const d of devices) for (const image of d.images) if (image.ackedAt !== undefined) (uploads.get(image.name) ?? uploads.set(image.name, new Set()).get(image.name)!).add(image.sha);
  const restoredImages = listTree(path.join(target, 'images'));
  for (const name of restoredImages) {
    assert.ok(uploads.get(name)?.has(sha(readFileSync(path.join(target, 'images', name)))), `${name} is one acknowledged upload, whole`);
  }
  for (const d of devices) for (const image of d.images) {
    if (image.ackedAt !== undefined && image.ackedAt < backupStarted) assert.ok(restoredImages.includes(image.name), `${image.name}, acknowledged before the backup, is in it`);
  }

  // The devices' next deltas, with the lastSyncTime the original server gave them
  // (later than anything in the backup). The first is later than every stamp the
  // restored server issued, so it is sent everything; each is sent what the
  // devices before it wrote since the restore; and from there on only changes.
  const answers: Set<string>[] = [];
  for (const device of devices) {
    const next = await postJson(restored, '/sync/delta', { lastSyncTime: device.serverTime, attempts: roundItems(device.index, 1_000), deletedItems: [] });
    assert.equal(next.status, 200);
    device.serverTime = next.json['serverTime'] as string;
    answers.push(new Set((next.json['attempts'] as { id: string }[]).map((a) => a.id)));
  }
  for (const id of attemptsById.keys()) assert.ok(answers[0]!.has(id), `the first device is sent ${id}`);
  for (const [d, answer] of answers.entries()) {
    for (let earlier = 0; earlier < d; earlier++) {
      for (const item of roundItems(earlier, 1_000)) assert.ok(answer.has(item['id'] as string), `device ${d} is sent ${String(item['id'])}`);
    }
  }
  const again = await postJson(restored, '/sync/delta', { lastSyncTime: devices[0]!.serverTime, deletedItems: [] });
  const newer = (again.json['attempts'] as { id: string }[]).map((a) => a.id).sort();
  assert.deepEqual(newer, [...roundItems(1, 1_000), ...roundItems(2, 1_000)].map((item) => item['id'] as string).sort(), 'then only what changed since');
});

test('with DATABASE_URL, backup and restore work alike: the archive restores into PostgreSQL or a SQLite folder, and --force keeps what it replaces', { skip: !ON_POSTGRES && 'the PostgreSQL half runs this' }, async (t) => {
  const dataDir = tempDir(t);
  const server = await startChildServer(dataDir);
  t.after(() => server.kill9());
  const gyms = Array.from({ length: 30 }, (_, i) => ({ id: `gym-${i}`, name: `Halle ${i}`, updatedAt: '2024-01-15T10:30:00.000Z' }));
  assert.equal((await postJson(server, '/sync', { gyms, deletedItems: [{ id: 'gone', type: 'gym', deletedAt: '2024-01-15T10:30:00.000Z' }] })).status, 200);
  const device = await postJson(server, '/sync/delta', { lastSyncTime: null });
  const images = new Map<string, Buffer>();
  for (let i = 0; i < 3; i++) {
    const bytes = patternedJpeg(20_000 + i * 5_000, i);
    assert.equal((await server.fetch(`/images/upload?filename=p-${i}.jpg`, { method: 'POST', body: bytes })).status, 200);
    images.set(`p-${i}.jpg`, bytes);
  }
  const added = await cli(['accounts', 'add', 'anna', '--json'], { DATA_DIR: dataDir });
  assert.equal(added.code, 0, added.stderr);
  const annaToken = (JSON.parse(added.stdout) as { device: { token: string } }).device.token;
  const before = await syncState(server);
  const modified = (await server.fetch('/images/download?filename=p-2.jpg', { method: 'HEAD' })).headers.get('last-modified');
  await new Promise((resolve) => setTimeout(resolve, 1100));

  const folder = tempDir(t);
  const file = path.join(folder, 'nightly.tar.gz');
  const backup = await cli(['backup', file], { DATA_DIR: dataDir });
  assert.equal(backup.code, 0, backup.stderr);
  assert.match(backup.stdout, SUMMARY);
  assert.match(backup.stdout, /^Backed up 30 items \(2 accounts\) and 3 images/);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(listTree(folder), ['nightly.tar.gz'], 'nothing staged is left beside it');
  assert.ok(!gunzipSync(readFileSync(file)).toString('latin1').includes(annaToken), 'no token in the archive');

  // Into an empty database: the same answers, images, tokens and stamps.
  const target = tempDir(t);
  const restore = await cli(['restore', file], { DATA_DIR: target });
  assert.equal(restore.code, 0, restore.stderr);
  assert.match(restore.stdout, /^Restored 30 items \(2 accounts\) and 3 images, .* into postgres:\/\/.* in [\d.]+ (?:ms|s)\.\n$/);
  const restored = await startChildServer(target);
  t.after(() => restored.kill9());
  await assertAnswersAsBefore(restored, before, 'p-2.jpg', images.get('p-2.jpg')!, modified);
  assert.equal((await fetch(`${restored.url}/health`, { headers: { authorization: `Bearer ${annaToken}` } })).status, 200);
  const since = await postJson(restored, '/sync/delta', { lastSyncTime: device.json['serverTime'] });
  assert.deepEqual([since.json['gyms'], since.json['deletedItems']], [[], []], 'a device that synced before the backup has nothing new');

  // Into a SQLite folder: the same archive format either way.
  const folderTarget = path.join(tempDir(t), 'sqlite');
  assert.equal((await cli(['restore', file, '--data-dir', folderTarget], {})).code, 0);
  const exported = await cli(['export', '--data-dir', folderTarget], {});
  assert.equal(exported.code, 0, exported.stderr);
  const fromFolder = JSON.parse(exported.stdout) as Record<string, unknown>;
  delete fromFolder['exportedAt'];
  assert.deepEqual(fromFolder, before);
  for (const [name, bytes] of images) assert.deepEqual(readFileSync(path.join(folderTarget, 'images', name)), bytes, name);

  // A database that holds data is refused; with --force, what it held is kept in an archive beside FILE first.
  assert.equal((await postJson(server, '/sync/delta', { gyms: [{ id: 'after-backup', updatedAt: '2024-02-01T00:00:00.000Z' }] })).status, 200);
  const refused = await cli(['restore', file], { DATA_DIR: dataDir });
  assert.equal(refused.code, 1);
  assert.match(oneLine(refused), /already holds data; nothing was changed\. .*--force/);
  assert.ok(((await syncState(server))['gyms'] as { id: string }[]).some((g) => g.id === 'after-backup'));
  const forced = await cli(['restore', file, '--force'], { DATA_DIR: dataDir });
  assert.equal(forced.code, 0, forced.stderr);
  const aside = /kept in (\S+\.tar\.gz)\.\n$/.exec(forced.stdout)?.[1];
  assert.ok(aside && path.dirname(aside) === folder, forced.stdout);
  assert.deepEqual(await syncState(server), before, 'the running server answers from the restored data');
  const replacedTarget = tempDir(t);
  assert.equal((await cli(['restore', aside], { DATA_DIR: replacedTarget })).code, 0);
  const replaced = await startChildServer(replacedTarget);
  t.after(() => replaced.kill9());
  assert.ok(((await syncState(replaced))['gyms'] as { id: string }[]).some((g) => g.id === 'after-backup'), 'the replaced data is in its archive');
});
