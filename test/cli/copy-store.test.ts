import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { CLI_ENTRY, startChildServer, type ChildServer } from '../helpers/child-server.js';
import { tempDir } from '../helpers/server.js';
import { databaseUrlFor, ensureDatabase, ON_POSTGRES } from '../helpers/test-store.js';
import { download, patternedJpeg, TINY_IMAGES, upload } from '../images/fixtures.js';

const run = promisify(execFile);
const at = (minute: number): string => new Date(Date.parse('2024-05-01T00:00:00.000Z') + minute * 60_000).toISOString();
const SQLITE = { DATABASE_URL: '' };

/*
 * copy-store moves an install between SQLite and PostgreSQL. The proof that
 * nothing changed: servers on the source and on the copy, each with the same
 * frozen clock (so a stamp is always last + 1 ms), get the same next deltas from
 * every device and must answer them byte for byte alike, and GET /sync and the
 * images too. Then the copy is copied back to SQLite and checked the same way.
 */
test('copy-store SQLite → PostgreSQL → SQLite: every device\'s next delta is answered exactly as before', { skip: !ON_POSTGRES && 'needs PostgreSQL (the PostgreSQL half of npm test runs this)', timeout: 120_000 }, async (t) => {
  const sqliteDir = tempDir(t);
  const pgDir = tempDir(t);
  await ensureDatabase(pgDir);
  const pgUrl = databaseUrlFor(pgDir);

  // Devices sync with the original server, on its real clock.
  const original = await startChildServer(sqliteDir, SQLITE);
  const devices = await seed(original);
  await original.stop();

  const copied = await copyStore(`sqlite:${sqliteDir}`, pgUrl);
  assert.match(copied, /Copied 1 account: 5 items, 1 deletion, 1 history snapshot, 1 device, 0 web sessions and 2 images/);
  const refused = await copyStore(`sqlite:${sqliteDir}`, pgUrl).catch((err: { code: number; stderr: string }) => err);
  assert.equal(typeof refused === 'object' && refused.code, 1, 'a second copy into the same database is refused');
  assert.match((refused as { stderr: string }).stderr, /already holds data/);

  const frozen = frozenClock(tempDir(t));
  const onSqlite = await startChildServer(sqliteDir, { ...SQLITE, ...frozen });
  const onPostgres = await startChildServer(pgDir, { DATABASE_URL: pgUrl, ...frozen });
  t.after(() => Promise.all([onSqlite.kill9(), onPostgres.kill9()]));
  await assertAnsweredAlike(onSqlite, onPostgres, devices, 10);
  await onPostgres.stop();

  const backDir = tempDir(t);
  assert.match(await copyStore(pgUrl, `sqlite:${backDir}`), /Copied 1 account:/);
  const back = await startChildServer(backDir, { ...SQLITE, ...frozen });
  t.after(() => back.kill9());
  await assertAnsweredAlike(onSqlite, back, devices, 20);
});

async function copyStore(from: string, to: string, env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI_ENTRY, 'copy-store', '--from', from, '--to', to], { env: { ...process.env, LOG_LEVEL: 'warn', ...env } });
  return stdout;
}

const NEEDS_POSTGRES = !ON_POSTGRES && 'needs PostgreSQL (the PostgreSQL half of npm test runs this)';

test('copy-store refuses a target that holds only images, and finds a SQLite install\'s images in IMAGES_DIR', { skip: NEEDS_POSTGRES, timeout: 60_000 }, async (t) => {
  const sqliteDir = tempDir(t);
  const imagesDir = path.join(tempDir(t), 'photos');
  const install = await startChildServer(sqliteDir, { ...SQLITE, IMAGES_DIR: imagesDir });
  await seed(install);
  assert.equal((await upload(install, 'wall.png', TINY_IMAGES['image/png'])).status, 200);
  await install.stop();

  // A PostgreSQL target a server ran on: no account written, but an image of the default account.
  const pgDir = tempDir(t);
  await ensureDatabase(pgDir);
  const target = await startChildServer(pgDir);
  assert.equal((await upload(target, 'target-only.png', TINY_IMAGES['image/png'])).status, 200);
  await target.stop();
  const refused = await copyStore(`sqlite:${sqliteDir}`, databaseUrlFor(pgDir), { IMAGES_DIR: imagesDir }).catch((err: { code: number; stderr: string }) => err);
  assert.equal(typeof refused === 'object' && refused.code, 1, 'refused');
  assert.match((refused as { stderr: string }).stderr, /already holds data/);

  const emptyDir = tempDir(t);
  await ensureDatabase(emptyDir);
  const copied = await copyStore(`sqlite:${sqliteDir}`, databaseUrlFor(emptyDir), { IMAGES_DIR: imagesDir });
  assert.match(copied, / and 3 images /, 'the images of IMAGES_DIR, not of DIR/images');
  const copy = await startChildServer(emptyDir);
  t.after(() => copy.stop());
  assert.deepEqual(Buffer.from(await (await download(copy, 'wall.png')).arrayBuffer()), TINY_IMAGES['image/png']);
});

interface Device {
  lastSyncTime?: string;
}

async function delta(server: ChildServer, device: Device, body: Record<string, unknown>): Promise<string> {
  const response = await server.fetch('/sync/delta', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...(device.lastSyncTime ? { lastSyncTime: device.lastSyncTime } : {}), ...body }),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return text;
}

/** A full upload, then three devices' deltas with edits, a deletion and images. */
async function seed(server: ChildServer): Promise<Device[]> {
  const full = await server.fetch('/sync', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ gyms: [{ id: 'g1', name: 'Old', updatedAt: at(0) }], problems: [{ id: 'p1', gymId: 'g1', updatedAt: at(0) }], customField: { kept: true } }),
  });
  assert.equal(full.status, 200);
  // Replaced by a second one: one history snapshot.
  const again = await server.fetch('/sync', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ gyms: [{ id: 'g1', name: 'Gym', updatedAt: at(1) }], problems: [{ id: 'p1', gymId: 'g1', updatedAt: at(1) }, { id: 'p2', gymId: 'g1', updatedAt: at(1) }], customField: { kept: true } }),
  });
  assert.equal(again.status, 200);
  const devices: Device[] = [{}, {}, {}];
  const answers = [
    { gyms: [{ id: 'g2', name: 'Second', updatedAt: at(2) }] },
    { problems: [{ id: 'p3', gymId: 'g2', imagePaths: ['wall.jpg'], updatedAt: at(3) }] },
    { sessions: [{ id: 's1', gymId: 'g1', status: 'completed', updatedAt: at(4) }], deletedItems: [{ id: 'p2', type: 'problem', deletedAt: at(4) }] },
  ];
  for (const [i, body] of answers.entries()) devices[i]!.lastSyncTime = (JSON.parse(await delta(server, devices[i]!, body)) as { serverTime: string }).serverTime;
  assert.equal((await upload(server, 'wall.jpg', patternedJpeg(700_000, 3))).status, 200);
  assert.equal((await upload(server, 'tiny.png', TINY_IMAGES['image/png'])).status, 200);
  return devices;
}

/** Each device's next delta, sent to both servers: the answers, GET /sync and the images must be the same bytes. */
async function assertAnsweredAlike(a: ChildServer, b: ChildServer, devices: Device[], minute: number): Promise<void> {
  const nextDeltas = [
    { gyms: [{ id: 'g1', name: 'Renamed', updatedAt: at(minute) }] },
    { problems: [{ id: 'p1', gymId: 'g1', updatedAt: at(0) }] }, // older than stored: the stored one is sent back
    {},
  ];
  for (const [i, body] of nextDeltas.entries()) {
    const device = devices[i]!;
    const [fromA, fromB] = [await delta(a, device, body), await delta(b, device, body)];
    assert.equal(fromB, fromA, `device ${i}: the copy answers its next delta differently`);
  }
  const [syncA, syncB] = await Promise.all([a.fetch('/sync'), b.fetch('/sync')]);
  assert.equal(await syncB.text(), await syncA.text(), 'GET /sync differs');
  for (const name of ['wall.jpg', 'tiny.png']) {
    const [imageA, imageB] = await Promise.all([download(a, name), download(b, name)]);
    assert.equal(imageB.headers.get('etag'), imageA.headers.get('etag'));
    assert.deepEqual(Buffer.from(await imageB.arrayBuffer()), Buffer.from(await imageA.arrayBuffer()), `${name} differs`);
  }
}

/** A clock stopped in 1970: every stamp is the last one + 1 ms, the same on every server. */
function frozenClock(dir: string): Record<string, string> {
  const preload = path.join(dir, 'frozen-clock.mjs');
  writeFileSync(preload, 'Date.now = () => 86_400_000;\n');
  return { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` };
}
