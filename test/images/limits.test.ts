import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { startTestServer, TEST_TOKEN } from '../helpers/server.js';
import { ON_POSTGRES } from '../helpers/test-store.js';
import { download, FILES_ONLY, storedImages, TINY_IMAGES } from './fixtures.js';

test('an over-limit stream is 413, leaves no file, and the server answers meanwhile', async (t) => {
  const server = await startTestServer(t, { maxImageBytes: '1000' });
  let sendRest!: () => void;
  const gate = new Promise<void>((resolve) => (sendRest = resolve));
  let started!: () => void;
  const streaming = new Promise<void>((resolve) => (started = resolve));
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(Buffer.concat([TINY_IMAGES['image/png'], Buffer.alloc(600 - TINY_IMAGES['image/png'].length)]));
      started();
      await gate;
      for (let i = 0; i < 50; i++) controller.enqueue(Buffer.alloc(1000, i));
      controller.close();
    },
  });
  const uploading = server.fetch('/images/upload?filename=huge.png', { method: 'POST', body, duplex: 'half' } as RequestInit);

  await streaming;
  // Mid-upload: other requests are served.
  const health = await server.fetch('/health');
  assert.equal(health.status, 200);
  sendRest();

  const response = await uploading;
  assert.equal(response.status, 413);
  assert.equal(((await response.json()) as { code: string }).code, 'payload_too_large');
  assert.deepEqual(await storedImages(server), [], 'no image and no temporary file');
  assert.equal((await download(server, 'huge.png')).status, 404);
  assert.equal((await server.fetch('/health')).status, 200);

  // Exactly at the limit is fine.
  const atLimit = Buffer.concat([TINY_IMAGES['image/png'], Buffer.alloc(1000 - TINY_IMAGES['image/png'].length)]);
  const ok = await server.fetch('/images/upload?filename=fits.png', { method: 'POST', body: atLimit });
  assert.equal(ok.status, 200);
});

test('a declared Content-Length above the limit is refused before the body is sent', async (t) => {
  const server = await startTestServer(t, { maxImageBytes: '1000' });
  const { port } = new URL(server.url);
  // Headers only: the client waits for the answer before sending anything.
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/images/upload?filename=declared.jpg',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-length': '5000000', 'content-type': 'image/jpeg' },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', reject);
    req.flushHeaders();
  });
  assert.equal(status, 413);
  assert.deepEqual(await storedImages(server), []);
});

test('temporary files left by a crash are removed at start; images and other files stay', { skip: ON_POSTGRES && FILES_ONLY }, async (t) => {
  const server = await startTestServer(t);
  const dataDir = server.dataDir;
  await server.app.close();
  const imagesDir = path.join(dataDir, 'images');
  mkdirSync(imagesDir, { recursive: true });
  writeFileSync(path.join(imagesDir, '.upload-0b7d.tmp'), Buffer.alloc(100));
  writeFileSync(path.join(imagesDir, 'kept.gif'), TINY_IMAGES['image/gif']);
  writeFileSync(path.join(imagesDir, '.not-ours'), 'x');

  const restarted = await startTestServer(t, {}, { dataDir });
  assert.deepEqual(readdirSync(restarted.config.imagesDir).sort(), ['.not-ours', 'kept.gif']);
});
