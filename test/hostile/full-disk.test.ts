import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { cli, oneLine } from '../helpers/cli.js';
import { listTree } from '../images/fixtures.js';
import { sqliteOf, startTestServer, TEST_TOKEN, tempDir } from '../helpers/server.js';
import { syncState } from './raw-http.js';

/** A full upload of n new gyms, big enough that it cannot fit in a database held at its current size. */
function upload(tag: string, n: number): string {
  const gyms = Array.from({ length: n }, (_, i) => ({ id: `${tag}-${i}`, name: `${tag} gym ${i} ${'x'.repeat(200)}`, updatedAt: '2024-01-15T10:30:00.000Z' }));
  return JSON.stringify({ gyms, deletedItems: [] });
}

function post(url: string, pathName: string, body: string, token: string): Promise<Response> {
  return fetch(url + pathName, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
}

async function assertInsufficientStorage(response: Response, what: string): Promise<void> {
  const text = await response.text();
  assert.equal(response.status, 507, `${what}: ${text.slice(0, 200)}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const body = JSON.parse(text) as { error: string; code: string };
  assert.equal(body.code, 'insufficient_storage');
  assert.equal(typeof body.error, 'string');
}

test('a full database (max_page_count) fails writes with a JSON 507, keeps the data, logs once, and recovers', async (t) => {
  const server = await startTestServer(t);
  const token = TEST_TOKEN;
  assert.equal((await post(server.url, '/sync', upload('seed', 50), token)).status, 200);
  const before = await syncState(server.url);
  const logLinesBefore = server.logs.length;

  // SQLite refuses to grow the file past max_page_count: SQLITE_FULL, as on a full disk.
  const db = sqliteOf(server)!.database;
  const pages = db.pragma('page_count', { simple: true }) as number;
  db.pragma(`max_page_count = ${pages}`);

  const faults = [
    ['/sync', upload('big-full', 3000)],
    ['/sync/delta', upload('big-delta', 3000)],
    ['/sync', upload('again', 3000)],
    ['/sync/delta', upload('again-delta', 3000)],
  ] as const;
  for (const [pathName, body] of faults) await assertInsufficientStorage(await post(server.url, pathName, body, token), `POST ${pathName}`);
  assert.equal(await syncState(server.url), before, 'the stored data is exactly as before the failed writes');

  const newLines = server.logs.slice(logLinesBefore).map((line) => JSON.parse(line) as { level: number; msg: string; err?: unknown });
  const warnings = newLines.filter((line) => line.level >= 40);
  assert.equal(warnings.length, 1, `one warning for ${faults.length} refused writes: ${JSON.stringify(warnings)}`);
  assert.match(warnings[0]!.msg, /storage full/);
  assert.ok(!server.logs.slice(logLinesBefore).some((line) => line.includes('"stack"')), 'no stack in the log');

  // Space returns: the next write succeeds and is kept.
  db.pragma('max_page_count = 1073741823');
  const recovered = await post(server.url, '/sync/delta', upload('after', 100), token);
  assert.equal(recovered.status, 200, await recovered.text());
  const after = JSON.parse(await syncState(server.url)) as { gyms: { id: string }[] };
  assert.equal(after.gyms.length, 150);
  assert.ok(after.gyms.some((gym) => gym.id === 'after-99'));
  assert.ok(server.logs.slice(logLinesBefore).some((line) => line.includes('storage writable again')));
});

/**
 * The real thing: DATA_DIR on a 4 MiB tmpfs that a filler file has filled up.
 * Needs root and mount(2); the test says why it skips rather than fake it.
 */
function mountTinyTmpfs(dir: string, size: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `cannot mount a tmpfs here (${String((err as { stderr?: Buffer }).stderr ?? err).trim() || 'mount failed'}): needs root and CAP_SYS_ADMIN`;
  }
}

function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

test('a really full disk (tmpfs) fails writes with 507, keeps the data, and recovers when space is freed', async (t) => {
  const mountPoint = mkdtempSync(path.join(tmpdir(), 'ascently-tmpfs-'));
  const skip = mountTinyTmpfs(mountPoint, '4m');
  if (skip) {
    rmSync(mountPoint, { recursive: true, force: true });
    return t.skip(skip);
  }
  const started: ChildServer[] = [];
  // One hook, in this order: the server lets go of its files, the mount goes, then the folder.
  t.after(async () => {
    for (const child of started) await child.kill9();
    execFileSync('umount', ['-l', mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });
  const dataDir = path.join(mountPoint, 'data');
  mkdirSync(dataDir);
  // A child process: should SQLite ever take a SIGBUS on a full tmpfs, the test sees it, not the runner.
  const server = await startChildServer(dataDir, { HISTORY_KEEP: '0' });
  started.push(server);
  const token = TEST_TOKEN;
  assert.equal((await post(server.url, '/sync', upload('seed', 50), token)).status, 200);
  const before = await syncState(server.url);

  const filler = path.join(mountPoint, 'filler');
  fillDisk(filler);
  await assertInsufficientStorage(await post(server.url, '/sync', upload('big', 3000), token), 'full upload on a full disk');
  await assertInsufficientStorage(await post(server.url, '/sync/delta', upload('big-delta', 3000), token), 'delta on a full disk');
  assert.equal(await syncState(server.url), before);
  // An image write hits ENOSPC: 507, and neither the name nor a temporary file is left behind.
  const image = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(512 * 1024, 7)]);
  const imageUpload = (): Promise<Response> => fetch(`${server.url}/images/upload?filename=full.png`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: image });
  await assertInsufficientStorage(await imageUpload(), 'image upload on a full disk');
  assert.deepEqual(readdirSync(path.join(dataDir, 'images')), [], 'no image and no temporary file left');

  rmSync(filler);
  assert.equal((await imageUpload()).status, 200, 'an image upload succeeds once space is back');
  const recovered = await post(server.url, '/sync/delta', upload('after', 100), token);
  assert.equal(recovered.status, 200, await recovered.text());
  assert.equal((JSON.parse(await syncState(server.url)) as { gyms: unknown[] }).gyms.length, 150);
  assert.equal(await server.stop(), 0);
  const output = server.output();
  const warnings = output.split('\n').filter((line) => /"level":(40|50|60)/.test(line));
  assert.equal(warnings.length, 1, `one warning for three refused writes, not one per request: ${warnings.join('\n')}`);
  assert.match(warnings[0]!, /storage full/);
  assert.ok(!output.includes('"stack"'), 'no stack in the log');
});

test('a restore onto a full disk stops in one line (exit 3) and leaves the target as it found it, so a retry can run', async (t) => {
  const source = tempDir(t);
  const gyms = Array.from({ length: 6_000 }, (_, i) => ({ id: `g${i}`, name: 'x'.repeat(250) }));
  writeFileSync(path.join(source, 'doc.json'), JSON.stringify({ gyms }));
  assert.equal((await cli(['import', path.join(source, 'doc.json')], { DATA_DIR: path.join(source, 'data') })).code, 0);
  const archive = path.join(source, 'backup.tar.gz');
  assert.equal((await cli(['backup', archive], { DATA_DIR: path.join(source, 'data') })).code, 0);

  // Room for the archive's images folder, not for its 2 MB database.
  const mountPoint = mkdtempSync(path.join(tmpdir(), 'ascently-tmpfs-'));
  const skip = mountTinyTmpfs(mountPoint, '1200k');
  if (skip) {
    rmSync(mountPoint, { recursive: true, force: true });
    return t.skip(skip);
  }
  t.after(() => {
    execFileSync('umount', ['-l', mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });
  mkdirSync(path.join(mountPoint, 'empty'));
  // And one holding data, which --force moves aside first: it must be back in place.
  const occupied = path.join(mountPoint, 'occupied');
  mkdirSync(path.join(occupied, 'images'), { recursive: true });
  writeFileSync(path.join(occupied, 'ascently.db'), 'the old database');
  writeFileSync(path.join(occupied, 'images', 'old.jpg'), 'old image');
  const occupiedBefore = listTree(occupied);
  for (const target of ['new', 'new', 'empty', 'occupied']) {
    const restored = await cli(['restore', archive, '--data-dir', path.join(mountPoint, target), '--force'], {});
    assert.equal(restored.code, 3, restored.stderr);
    assert.match(oneLine(restored), /^ascently-sync: .*: no space left on the disk; free some space and try again$/);
    assert.deepEqual(readdirSync(mountPoint).sort(), ['empty', 'occupied'], `${target}: nothing left behind, and a folder that was there stays`);
    assert.deepEqual(readdirSync(path.join(mountPoint, 'empty')), []);
    assert.deepEqual(listTree(occupied), occupiedBefore, `${target}: the data that was there is as it was`);
  }
});
