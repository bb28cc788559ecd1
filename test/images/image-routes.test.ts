import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { startTestServer } from '../helpers/server.js';
import { download, patternedJpeg, storedImage, storedImages, TINY_IMAGES, upload } from './fixtures.js';

test('each of the four types round-trips byte for byte with the Content-Type of its bytes', async (t) => {
  const server = await startTestServer(t);
  for (const [type, bytes] of Object.entries(TINY_IMAGES)) {
    // The name's extension and the request's Content-Type are deliberately misleading.
    const name = `problem_${type.slice(6)}_0.txt`;
    const up = await upload(server, name, bytes, 'application/octet-stream');
    assert.equal(up.status, 200, `${type}: ${await up.clone().text()}`);
    assert.deepEqual(await up.json(), { filename: name, size: bytes.length, contentType: type });
    assert.deepEqual(await storedImage(server, name), bytes, 'stored as sent');

    const down = await download(server, name);
    assert.equal(down.status, 200);
    assert.equal(down.headers.get('content-type'), type);
    assert.equal(down.headers.get('content-length'), String(bytes.length));
    assert.equal(down.headers.get('cache-control'), 'private');
    assert.equal(down.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(down.headers.get('etag'), `"${createHash('sha256').update(bytes).digest('base64url')}"`);
    assert.deepEqual(Buffer.from(await down.arrayBuffer()), bytes);
  }
});

test('any request Content-Type is accepted, including none and image/jpeg', async (t) => {
  const server = await startTestServer(t);
  for (const contentType of [undefined, 'image/jpeg', 'image/png', 'text/plain', 'application/json', 'multipart/form-data; boundary=x']) {
    const response = await upload(server, 'any.jpg', TINY_IMAGES['image/gif'], contentType);
    assert.equal(response.status, 200, `Content-Type ${contentType}`);
  }
  const down = await download(server, 'any.jpg');
  assert.equal(down.headers.get('content-type'), 'image/gif', 'the bytes decide, not the name');
});

test('a body that is not one of the four types is 415 and nothing is kept', async (t) => {
  const server = await startTestServer(t);
  const bodies = [Buffer.from('hello, I am a text file pretending to be x.jpg\n'), Buffer.alloc(0), Buffer.from([0xff, 0xd8]), Buffer.from('RIFF\0\0\0\0WAVEfmt ')];
  for (const body of bodies) {
    const response = await upload(server, 'x.jpg', body, 'image/jpeg');
    assert.equal(response.status, 415, `body ${body.toString('hex').slice(0, 20)}`);
    assert.equal(((await response.json()) as { code: string }).code, 'unsupported_media_type');
  }
  assert.deepEqual(await storedImages(server), [], 'no image and no temporary file left');
  assert.equal((await download(server, 'x.jpg')).status, 404);
});

test('an unknown name is a JSON 404; both routes require the token', async (t) => {
  const server = await startTestServer(t);
  const missing = await download(server, 'never-uploaded.jpg');
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { code: string }).code, 'not_found');

  await upload(server, 'secret.png', TINY_IMAGES['image/png']);
  const unauthenticated = { authorization: 'Bearer wrong-token' };
  const down = await server.fetch('/images/download?filename=secret.png', { headers: unauthenticated });
  assert.equal(down.status, 401);
  assert.equal(((await down.json()) as { code: string }).code, 'unauthorized');
  const up = await server.fetch('/images/upload?filename=other.png', { method: 'POST', body: TINY_IMAGES['image/png'], headers: { authorization: '' } });
  assert.equal(up.status, 401);
  assert.equal(await storedImage(server, 'other.png'), undefined);
});

test('ETag answers 304 to a matching If-None-Match and changes with the content', async (t) => {
  const server = await startTestServer(t);
  await upload(server, 'e.png', TINY_IMAGES['image/png']);
  const first = await download(server, 'e.png');
  const etag = first.headers.get('etag')!;
  await first.arrayBuffer();

  for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
    const cached = await download(server, 'e.png', { 'if-none-match': ifNoneMatch });
    assert.equal(cached.status, 304, ifNoneMatch);
    assert.equal(cached.headers.get('etag'), etag);
    assert.equal(await cached.text(), '');
  }
  assert.equal((await download(server, 'e.png', { 'if-none-match': '"stale"' })).status, 200);
  // A client that keeps the date instead: its Last-Modified, unless an If-None-Match is there to decide.
  const lastModified = first.headers.get('last-modified')!;
  assert.equal((await download(server, 'e.png', { 'if-modified-since': lastModified })).status, 304);
  assert.equal((await download(server, 'e.png', { 'if-modified-since': 'Mon, 01 Jan 2001 00:00:00 GMT' })).status, 200);
  assert.equal((await download(server, 'e.png', { 'if-modified-since': lastModified, 'if-none-match': '"stale"' })).status, 200);
  assert.equal((await download(server, 'e.png', { 'if-range': lastModified, range: 'bytes=0-3' })).status, 206);

  await upload(server, 'e.png', TINY_IMAGES['image/webp']);
  const replaced = await download(server, 'e.png', { 'if-none-match': etag });
  assert.equal(replaced.status, 200, 'a replaced image is not the cached one');
  assert.notEqual(replaced.headers.get('etag'), etag);
  assert.deepEqual(Buffer.from(await replaced.arrayBuffer()), TINY_IMAGES['image/webp']);
});

test('a single byte Range answers 206 with Content-Range; unsatisfiable is 416', async (t) => {
  const server = await startTestServer(t);
  const bytes = patternedJpeg(100_000, 1);
  await upload(server, 'big.jpg', bytes);
  const cases: [string, number, number][] = [
    ['bytes=0-99', 0, 99],
    ['bytes=50000-', 50_000, 99_999],
    ['bytes=-10', 99_990, 99_999],
    ['bytes=99999-200000', 99_999, 99_999],
  ];
  for (const [range, start, end] of cases) {
    const response = await download(server, 'big.jpg', { range, 'accept-encoding': 'gzip' });
    assert.equal(response.status, 206, range);
    assert.equal(response.headers.get('content-range'), `bytes ${start}-${end}/100000`);
    assert.equal(response.headers.get('content-length'), String(end - start + 1));
    assert.equal(response.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), bytes.subarray(start, end + 1));
  }

  const outside = await download(server, 'big.jpg', { range: 'bytes=100000-' });
  assert.equal(outside.status, 416);
  assert.equal(outside.headers.get('content-range'), 'bytes */100000');

  // A resume against another version of the file gets the whole new file.
  const stale = await download(server, 'big.jpg', { range: 'bytes=0-9', 'if-range': '"not-this-version"' });
  assert.equal(stale.status, 200);
  assert.equal((await stale.arrayBuffer()).byteLength, 100_000);
  const current = await download(server, 'big.jpg', { range: 'bytes=0-9', 'if-range': stale.headers.get('etag')! });
  assert.equal(current.status, 206);
  await current.arrayBuffer();
});

test('images are never compressed, even for a client that accepts it', async (t) => {
  const server = await startTestServer(t);
  // Highly compressible bytes, far above the compression threshold.
  const bytes = Buffer.concat([TINY_IMAGES['image/png'], Buffer.alloc(50_000)]);
  await upload(server, 'zeros.png', bytes);
  const response = await download(server, 'zeros.png', { 'accept-encoding': 'br, gzip, deflate' });
  assert.equal(response.headers.get('content-encoding'), null);
  assert.equal(response.headers.get('content-length'), String(bytes.length));
  assert.deepEqual(Buffer.from(await response.arrayBuffer()), bytes);
});

test('HEAD answers the headers of GET without a body', async (t) => {
  const server = await startTestServer(t);
  const bytes = patternedJpeg(5000, 2);
  await upload(server, 'h.jpg', bytes);
  const head = await download(server, 'h.jpg', {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), '5000');
  assert.equal(head.headers.get('content-type'), 'image/jpeg');
  assert.match(head.headers.get('etag') ?? '', /^"[\w-]{43}"$/);
  assert.equal(await head.text(), '');
  assert.equal((await download(server, 'nothing.jpg', {}, 'HEAD')).status, 404);
  // The server still answers on the same connections afterwards.
  assert.equal((await download(server, 'h.jpg')).status, 200);
});
