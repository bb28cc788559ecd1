import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TINY_IMAGES } from '../images/fixtures.js';
import { rawRequest } from '../hostile/raw-http.js';
import { startTestServer, TEST_TOKEN } from '../helpers/server.js';

/**
 * A client that ends its side of the connection once its request is written asks
 * for nothing to be dropped: every request is answered, whichever store answers
 * it and however long that takes, and the connection closes after the answer.
 */
test('requests whose client half-closes after sending them are answered, writes included', async (t) => {
  const server = await startTestServer(t);
  const auth = `Authorization: Bearer ${TEST_TOKEN}\r\n`;
  const post = (path: string, type: string, body: Buffer | string): Buffer =>
    Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`), Buffer.from(body)]);
  const halfClosed = (bytes: Buffer | string) => rawRequest(server.url, bytes, { endAfterWrite: true });

  const health = await halfClosed(`GET /health HTTP/1.1\r\nHost: x\r\n${auth}\r\n`);
  assert.equal(health.status, 200);
  assert.deepEqual(JSON.parse(health.body.toString()), { status: 'ok', version: '2.0.0' });
  const delta = await halfClosed(post('/sync/delta', 'application/json', JSON.stringify({ lastSyncTime: null, gyms: [{ id: 'g1', name: 'Wall' }] })));
  assert.equal(delta.status, 200);
  const full = await halfClosed(post('/sync', 'application/json', JSON.stringify({ gyms: [{ id: 'g2', name: 'Cave' }] })));
  assert.equal(full.status, 200);
  const image = await halfClosed(post('/images/upload?filename=a.png', 'image/png', TINY_IMAGES['image/png']));
  assert.equal(image.status, 200);
  const download = await halfClosed(`GET /sync HTTP/1.1\r\nHost: x\r\n${auth}Accept-Encoding: identity\r\n\r\n`);
  assert.equal(download.status, 200);
  assert.deepEqual(
    (JSON.parse(download.body.toString()) as { gyms: { id: string }[] }).gyms.map((gym) => gym.id),
    ['g2'],
  );
  const photo = await halfClosed(`GET /images/download?filename=a.png HTTP/1.1\r\nHost: x\r\n${auth}\r\n`);
  assert.equal(photo.status, 200);
  assert.deepEqual(photo.body, TINY_IMAGES['image/png']);
});
