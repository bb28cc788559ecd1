import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { renameSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { get } from 'node:http';
import { test } from 'node:test';
import { addAccount } from '../helpers/cli.js';
import { startTestServer, storeRow, TEST_TOKEN } from '../helpers/server.js';
import { ON_POSTGRES } from '../helpers/test-store.js';
import { download, FILES_ONLY, patternedJpeg, storedImages, TINY_IMAGES, upload } from './fixtures.js';

const etagOf = (bytes: Buffer): string => `"${createHash('sha256').update(bytes).digest('base64url')}"`;

test('a reader during a replace gets the whole old or the whole new image, with matching headers', async (t) => {
  const server = await startTestServer(t);
  const versions = [patternedJpeg(1_500_000, 1), Buffer.concat([TINY_IMAGES['image/png'], patternedJpeg(1_200_000, 2)])];
  const known = new Map(versions.map((bytes) => [etagOf(bytes), bytes]));
  assert.equal((await upload(server, 'wall.jpg', versions[0]!)).status, 200);

  const seen = new Set<string>();
  for (let round = 1; round <= 8; round++) {
    const next = versions[round % 2]!;
    const readers = Array.from({ length: 4 }, async () => {
      const response = await download(server, 'wall.jpg');
      const body = Buffer.from(await response.arrayBuffer());
      const etag = response.headers.get('etag')!;
      const expected = known.get(etag);
      assert.ok(expected, 'the ETag is one of the versions');
      assert.ok(body.equals(expected), 'the body is exactly the version its ETag names');
      assert.equal(response.headers.get('content-type'), expected[0] === 0xff ? 'image/jpeg' : 'image/png');
      seen.add(etag);
    });
    const [written] = await Promise.all([upload(server, 'wall.jpg', next), ...readers]);
    assert.equal(written.status, 200);
  }
  assert.ok(seen.size >= 1);
  assert.deepEqual(await storedImages(server), ['wall.jpg'], 'no temporary files remain');
  const last = Buffer.from(await (await download(server, 'wall.jpg')).arrayBuffer());
  assert.ok(last.equals(versions[0]!), 'the last upload wins');
});

test('files put in the folder by hand (a copy from the reference server) are typed and tagged from their bytes', { skip: ON_POSTGRES && FILES_ONLY }, async (t) => {
  const server = await startTestServer(t);
  writeFileSync(path.join(server.config.imagesDir, 'problem_ref_0.jpg'), TINY_IMAGES['image/webp']);
  writeFileSync(path.join(server.config.imagesDir, 'notes.jpg'), 'not an image');
  const response = await download(server, 'problem_ref_0.jpg');
  assert.equal(response.headers.get('content-type'), 'image/webp');
  assert.equal(response.headers.get('etag'), etagOf(TINY_IMAGES['image/webp']));
  assert.deepEqual(Buffer.from(await response.arrayBuffer()), TINY_IMAGES['image/webp']);
  // Served, but never as something a browser would run.
  const odd = await download(server, 'notes.jpg');
  assert.equal(odd.headers.get('content-type'), 'application/octet-stream');
  assert.equal(odd.headers.get('x-content-type-options'), 'nosniff');
});

test('a file changed behind the index (as after a crash between rename and index write) is described afresh', { skip: ON_POSTGRES && FILES_ONLY }, async (t) => {
  const server = await startTestServer(t);
  await upload(server, 'swap.png', TINY_IMAGES['image/png']);
  assert.equal((await download(server, 'swap.png')).headers.get('content-type'), 'image/png');

  // Same size, same mtime, different bytes and type: only the inode tells them apart.
  const file = path.join(server.config.imagesDir, 'swap.png');
  const replacement = Buffer.concat([TINY_IMAGES['image/gif'], Buffer.alloc(TINY_IMAGES['image/png'].length - TINY_IMAGES['image/gif'].length)]);
  const staged = path.join(server.config.imagesDir, 'staged');
  writeFileSync(staged, replacement);
  utimesSync(staged, new Date('2024-01-01T00:00:00Z'), new Date('2024-01-01T00:00:00Z'));
  utimesSync(file, new Date('2024-01-01T00:00:00Z'), new Date('2024-01-01T00:00:00Z'));
  renameSync(staged, file);

  const response = await download(server, 'swap.png');
  assert.equal(response.headers.get('content-type'), 'image/gif');
  assert.equal(response.headers.get('etag'), etagOf(replacement));
  assert.deepEqual(Buffer.from(await response.arrayBuffer()), replacement);
});

test('type and ETag survive a restart', async (t) => {
  const server = await startTestServer(t);
  await upload(server, 'keep.webp', TINY_IMAGES['image/webp']);
  const before = (await download(server, 'keep.webp')).headers.get('etag');
  await server.app.close();
  const again = await startTestServer(t, {}, { dataDir: server.dataDir });
  const after = await download(again, 'keep.webp');
  assert.equal(after.headers.get('etag'), before);
  assert.equal(after.headers.get('content-type'), 'image/webp');
  const row = await storeRow(again, 'SELECT type, sha256 FROM images WHERE name = $1', ['keep.webp']);
  assert.deepEqual(row, { type: 'image/webp', sha256: createHash('sha256').update(TINY_IMAGES['image/webp']).digest('base64url') });
});

/** A download whose client reads its first bytes and then stops reading: it stays open until `release`. */
function pausedDownload(url: string, token: string, name: string): Promise<{ first: Buffer; resume(): Promise<Buffer>; release(): void }> {
  return new Promise((resolve, reject) => {
    const request = get(`${url}/images/download?filename=${name}`, { headers: { authorization: `Bearer ${token}` } }, (response) => {
      response.once('data', (first: Buffer) => {
        response.pause();
        resolve({
          first,
          resume: () =>
            new Promise((done, failed) => {
              const rest: Buffer[] = [first];
              response.on('data', (chunk: Buffer) => rest.push(chunk));
              response.on('end', () => done(Buffer.concat(rest)));
              response.on('error', failed);
              response.resume();
            }),
          release: () => request.destroy(),
        });
      });
    });
    request.on('error', reject);
  });
}

test('downloads whose clients stop reading hold nothing up: other accounts\' images still go both ways, and a paused one resumes with the version it opened', async (t) => {
  const server = await startTestServer(t);
  const big = patternedJpeg(6_000_000, 7);
  assert.equal((await upload(server, 'big.jpg', big)).status, 200);
  // More paused downloads than PostgreSQL's image connections (ten), which each of them used to hold.
  const paused = await Promise.all(Array.from({ length: 12 }, () => pausedDownload(server.url, TEST_TOKEN, 'big.jpg')));
  // Released here, not in an after hook: the server's own hook, made first, would wait for them to end.
  try {

    const bob = await addAccount(server.store, 'bob');
    const asBob = { fetch: (p: string, init: RequestInit = {}) => fetch(server.url + p, { ...init, headers: { ...init.headers, authorization: `Bearer ${bob.token}` }, signal: AbortSignal.timeout(20_000) }) };
    const small = patternedJpeg(50_000, 8);
    assert.equal((await upload(asBob, 'small.jpg', small)).status, 200, 'an upload of another account is not held up');
    assert.ok(Buffer.from(await (await download(asBob, 'small.jpg')).arrayBuffer()).equals(small), 'nor a download');

    // One of them outlives a replace of its image: it still reads the whole version it opened.
    const replaced = patternedJpeg(5_000_000, 9);
    assert.equal((await upload(server, 'big.jpg', replaced)).status, 200);
    assert.ok((await paused[0]!.resume()).equals(big), 'the paused download ends with the old version, whole');
    assert.ok(Buffer.from(await (await download(server, 'big.jpg')).arrayBuffer()).equals(replaced));
  } finally {
    for (const download of paused) download.release();
  }
});
