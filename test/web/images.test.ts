import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { startChildServer } from '../helpers/child-server.js';
import { cli } from '../helpers/cli.js';
import { startTestServer, tempDir } from '../helpers/server.js';
import { download, upload } from '../images/fixtures.js';
import { login, webFetch } from './helpers.js';

async function photo(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 40 } } }).jpeg().toBuffer();
}

test('/web/images answers the original with the headers of /images/download', async (t) => {
  const server = await startTestServer(t);
  const bytes = await photo(640, 480);
  assert.equal((await upload(server, 'problem_p1_0.jpg', bytes)).status, 200);
  const session = await login(server);
  const web = await webFetch(server, session, '/web/images/problem_p1_0.jpg');
  const api = await download(server, 'problem_p1_0.jpg');
  assert.equal(web.status, 200);
  assert.deepEqual(Buffer.from(await web.arrayBuffer()), bytes);
  for (const header of ['content-type', 'content-length', 'etag', 'cache-control', 'x-content-type-options', 'accept-ranges', 'last-modified']) {
    assert.equal(web.headers.get(header), api.headers.get(header), header);
  }
  const ranged = await webFetch(server, session, '/web/images/problem_p1_0.jpg', { headers: { range: 'bytes=0-9' } });
  assert.equal(ranged.status, 206);
  assert.equal((await ranged.arrayBuffer()).byteLength, 10);
});

test('a photo with the longest name an upload takes (255 characters) is served and thumbnailed on the dashboard too', async (t) => {
  const server = await startTestServer(t);
  const name = `problem_${'a'.repeat(243)}.jpg`;
  assert.equal(name.length, 255);
  const bytes = await photo(640, 480);
  assert.equal((await upload(server, name, bytes)).status, 200);
  const session = await login(server);
  const original = await webFetch(server, session, `/web/images/${name}`);
  assert.equal(original.status, 200);
  assert.deepEqual(Buffer.from(await original.arrayBuffer()), bytes);
  const thumbnail = await webFetch(server, session, `/web/thumbnails/${name}`);
  assert.equal(thumbnail.status, 200);
  assert.equal((await sharp(Buffer.from(await thumbnail.arrayBuffer())).metadata()).width, 320);
});

test('thumbnails: at most 320 px on the long side, made once and kept on disk', async (t) => {
  const server = await startTestServer(t);
  await upload(server, 'wide.jpg', await photo(1600, 900));
  await upload(server, 'tall.jpg', await photo(500, 1000));
  await upload(server, 'small.jpg', await photo(100, 50));
  const session = await login(server);
  const expected: Record<string, [number, number]> = { 'wide.jpg': [320, 180], 'tall.jpg': [160, 320], 'small.jpg': [100, 50] };
  for (const [name, [width, height]] of Object.entries(expected)) {
    const response = await webFetch(server, session, `/web/thumbnails/${name}`);
    assert.equal(response.status, 200, name);
    assert.equal(response.headers.get('content-type'), 'image/webp');
    const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
    assert.deepEqual([meta.width, meta.height], [width, height], name);
  }
  // A folder per account, so that its thumbnails go with it.
  const thumbnails = path.join(server.dataDir, 'thumbnails');
  assert.equal(readdirSync(thumbnails).length, 1);
  const dir = path.join(thumbnails, readdirSync(thumbnails)[0]!);
  const files = readdirSync(dir).filter((f) => f.endsWith('.webp'));
  assert.equal(files.length, 3);
  // Thumbnails show the climber's photos: private like the rest of the data folder.
  for (const folder of [thumbnails, dir]) assert.equal(statSync(folder).mode & 0o777, 0o700);
  const before = files.map((f) => statSync(path.join(dir, f)).mtimeMs);
  const again = await webFetch(server, session, '/web/thumbnails/wide.jpg');
  assert.equal(again.status, 200);
  await again.arrayBuffer();
  assert.deepEqual(files.map((f) => statSync(path.join(dir, f)).mtimeMs), before, 'served from disk, not made again');
  const cached = await webFetch(server, session, '/web/thumbnails/wide.jpg', { headers: { 'if-none-match': again.headers.get('etag')! } });
  assert.equal(cached.status, 304);
  // Compared weakly, as for /images/download: a weak tag or one in a list matches too.
  for (const ifNoneMatch of [`W/${again.headers.get('etag')!}`, `"other", ${again.headers.get('etag')!}`]) {
    assert.equal((await webFetch(server, session, '/web/thumbnails/wide.jpg', { headers: { 'if-none-match': ifNoneMatch } })).status, 304, ifNoneMatch);
  }

  // A replaced photo gets a new thumbnail, which replaces the old one on disk.
  await upload(server, 'wide.jpg', await photo(900, 1600));
  const replaced = await sharp(Buffer.from(await (await webFetch(server, session, '/web/thumbnails/wide.jpg')).arrayBuffer())).metadata();
  assert.deepEqual([replaced.width, replaced.height], [180, 320]);
  assert.equal(readdirSync(dir).length, 3);
});

test('an account\'s thumbnails go with it: at its removal, or at the next start after a removal cut short', async (t) => {
  const dataDir = tempDir(t);
  const first = await startChildServer(dataDir);
  t.after(() => first.kill9());
  const added = await cli(['accounts', 'add', 'erin', '--json'], { DATA_DIR: dataDir });
  const { token } = (JSON.parse(added.stdout) as { device: { token: string } }).device;
  const erin = { authorization: `Bearer ${token}` };
  assert.equal((await fetch(`${first.url}/images/upload?filename=e.jpg`, { method: 'POST', headers: erin, body: await photo(800, 400) })).status, 200);
  const login = await fetch(`${first.url}/web/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${token}`, redirect: 'manual' });
  const cookie = /ascently_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')![0];
  assert.equal((await fetch(`${first.url}/web/thumbnails/e.jpg`, { headers: { cookie } })).headers.get('content-type'), 'image/webp');
  const thumbnails = path.join(dataDir, 'thumbnails');
  assert.equal(readdirSync(thumbnails).length, 1, 'erin\'s folder');

  const removed = await cli(['accounts', 'remove', 'erin', '--yes'], { DATA_DIR: dataDir });
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual(readdirSync(thumbnails), [], 'removed with the account');

  // What a removal cut short, or an earlier release's flat layout, leaves: gone at the next start.
  mkdirSync(path.join(thumbnails, '999'));
  writeFileSync(path.join(thumbnails, '999', 'x.webp'), 'left');
  writeFileSync(path.join(thumbnails, '0123abcd.webp'), 'flat');
  await first.stop();
  const second = await startChildServer(dataDir);
  t.after(() => second.kill9());
  assert.deepEqual(readdirSync(thumbnails), []);
});

test('a missing, broken or unsafe image answers the placeholder, never an error', async (t) => {
  const server = await startTestServer(t);
  await upload(server, 'broken.jpg', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 7)]));
  writeFileSync(path.join(server.dataDir, 'secret.txt'), 'not for the browser');
  const session = await login(server);
  for (const name of ['missing.jpg', 'broken.jpg', '..%2Fsecret.txt', '.hidden', '%3Cimg%20src%3Dx%3E']) {
    for (const route of ['thumbnails', 'images']) {
      if (route === 'images' && name === 'broken.jpg') continue; // the original is served as stored
      const response = await webFetch(server, session, `/web/${route}/${name}`);
      assert.equal(response.status, 200, `${route}/${name}`);
      assert.equal(response.headers.get('content-type'), 'image/svg+xml', `${route}/${name}`);
      assert.doesNotMatch(await response.text(), /not for the browser/);
    }
  }
});
