import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { startTestServer, TEST_TOKEN } from '../helpers/server.js';
import { assertHealthy, rawRequest, requestBytes, syncState } from './raw-http.js';
import { startTunedServer } from './tuned-server.js';

const SEED = JSON.stringify({ gyms: [{ id: 'g1', name: 'Seed', updatedAt: '2024-01-15T10:30:00.000Z' }] });

/** Opens n sockets that send a request's headers one byte a second and never finish. */
function slowloris(server: { url: string }, n: number, t: TestContext): { sockets: net.Socket[]; closedByServer: () => number } {
  const head = Buffer.from(`POST /sync/delta HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n`);
  const { port } = new URL(server.url);
  let closed = 0;
  const sockets = Array.from({ length: n }, () => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let at = 0;
    const timer = setInterval(() => {
      if (at < head.length && !socket.destroyed) socket.write(head.subarray(at, ++at));
    }, 1000);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      closed += 1;
    });
    return socket;
  });
  t.after(() => sockets.forEach((s) => s.destroy()));
  return { sockets, closedByServer: () => closed };
}

test('50 connections sending headers a byte a second do not stop a normal client from syncing', async (t) => {
  const server = await startTestServer(t);
  // The production limits are set: headers within 20 s, and idle sockets dropped.
  assert.ok(server.app.server.headersTimeout > 0 && server.app.server.headersTimeout <= 60_000, `headersTimeout ${server.app.server.headersTimeout}`);
  assert.ok(server.app.server.requestTimeout > 0 && server.app.server.requestTimeout <= 30 * 60_000, `requestTimeout ${server.app.server.requestTimeout}`);
  assert.ok(server.app.server.timeout > 0, 'idle socket timeout is set');

  const attack = slowloris(server, 50, t);
  await sleep(1500);
  // A normal device syncs while all 50 are still open: a full upload, a delta and a download.
  const upload = await server.fetch('/sync', { method: 'POST', headers: { 'content-type': 'application/json' }, body: SEED, signal: AbortSignal.timeout(5000) });
  assert.equal(upload.status, 200);
  const delta = await server.fetch('/sync/delta', { method: 'POST', body: '{"lastSyncTime":null,"problems":[{"id":"p1"}]}', signal: AbortSignal.timeout(5000) });
  assert.equal(delta.status, 200);
  assert.equal(((await delta.json()) as { gyms: unknown[] }).gyms.length, 1);
  assert.equal(attack.closedByServer(), 0, 'the slow sockets are still open while the device synced');
  assert.ok(attack.sockets.every((s) => !s.destroyed));
  // Hung up here, not in an after hook: those run in order, and the server's close would wait for them.
  attack.sockets.forEach((s) => s.destroy());
});

test('the server drops a header trickle once the headers timeout passes', async (t) => {
  // The real 20 s limit, shortened to 1 s so that the test sees it fire.
  const url = await startTunedServer(t, { headersTimeout: 1000, requestTimeout: 5000 });
  const attack = slowloris({ url }, 10, t);
  // Bounded wait: all ten must be closed by the server well before the test gives up.
  for (let waited = 0; attack.closedByServer() < 10 && waited < 15_000; waited += 250) await sleep(250);
  assert.equal(attack.closedByServer(), 10, 'every slow-header socket was dropped');
  await assertHealthy(url);
});

test('a client that stops mid-body is dropped and leaves no partial write', async (t) => {
  const server = await startTestServer(t);
  assert.equal((await server.fetch('/sync', { method: 'POST', body: SEED })).status, 200);
  const before = await syncState(server.url);
  // Idle sockets are dropped after connectionTimeout (60 s); shortened here for new sockets.
  server.app.server.timeout = 1000;

  const body = JSON.stringify({ gyms: Array.from({ length: 2000 }, (_, i) => ({ id: `half-${i}`, updatedAt: '2024-01-15T10:30:00.000Z' })) });
  for (const path of ['/sync', '/sync/delta']) {
    const half = requestBytes('POST', path, [['Content-Type', 'application/json'], ['Content-Length', String(Buffer.byteLength(body))]], body.slice(0, body.length / 2));
    // The client stalls with half the body sent; the server must hang up on it.
    const stalled = await rawRequest(server.url, half, { timeoutMs: 30_000 });
    assert.ok(stalled.status === 0 || stalled.status === 408 || stalled.status === 400, `stalled upload got ${stalled.status}`);
    // And a client that hangs up half way.
    const cut = await rawRequest(server.url, half, { endAfterWrite: true });
    assert.ok(cut.status === 0 || cut.status === 400, `cut upload got ${cut.status}`);
  }
  assert.equal(await syncState(server.url), before, 'nothing of the half-sent uploads was written');
  await assertHealthy(server.url);
});

test('size limits hold under concurrent uploads: 413s, the server stays up, the accepted uploads are whole', async (t) => {
  const limit = 256 * 1024;
  const server = await startTestServer(t, { maxJsonBytes: String(limit) });
  const doc = (tag: string, bytes: number): string => {
    const n = Math.ceil(bytes / 80);
    return JSON.stringify({ tag, gyms: Array.from({ length: n }, (_, i) => ({ id: `${tag}-${i}`, updatedAt: '2024-01-15T10:30:00.000Z', pad: 'x'.repeat(30) })) });
  };
  const small = Array.from({ length: 8 }, (_, i) => doc(`ok${i}`, limit / 2));
  const big = Array.from({ length: 8 }, (_, i) => doc(`big${i}`, limit * 4));
  for (const text of small) assert.ok(Buffer.byteLength(text) < limit);
  const attempts = [
    ...small.map((body) => ({ body, expect: 200, chunked: false })),
    ...big.map((body, i) => ({ body, expect: 413, chunked: i % 2 === 0 })),
  ];
  const results = await Promise.all(
    attempts.map(async ({ body, expect, chunked }) => {
      // Chunked: no Content-Length to refuse up front; the limit must cut the stream.
      const init: RequestInit & { duplex?: 'half' } = chunked
        ? { method: 'POST', body: new Blob([body]).stream(), duplex: 'half' }
        : { method: 'POST', body };
      const response = await server.fetch('/sync', init).catch((err: unknown) => ({ status: -1, err }) as const);
      if ('err' in response) return { expect, status: -1 };
      await (response as Response).arrayBuffer().catch(() => undefined);
      return { expect, status: (response as Response).status };
    }),
  );
  for (const r of results) {
    if (r.expect === 413) assert.ok(r.status === 413 || r.status === -1, `oversize upload got ${r.status}`);
    else assert.equal(r.status, 200);
  }
  assert.ok(results.filter((r) => r.expect === 413 && r.status === 413).length >= 4, 'most oversize uploads were answered 413');

  // 64 MB of zeros in 64 KB of gzip: compressed bodies are refused before a byte is inflated.
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
  const bombed = await rawRequest(server.url, requestBytes('POST', '/sync', [['Content-Type', 'application/json'], ['Content-Encoding', 'gzip'], ['Content-Length', String(bomb.length)]], bomb));
  assert.equal(bombed.status, 415, `gzip bomb got ${bombed.status}`);

  await assertHealthy(server.url);
  const state = JSON.parse(await syncState(server.url)) as { tag: string; gyms: { id: string }[] };
  assert.ok(state.tag.startsWith('ok'), `the data is one of the accepted uploads, not ${state.tag}`);
  const expected = JSON.parse(small[Number(state.tag.slice(2))]!) as { gyms: { id: string }[] };
  assert.deepEqual(state.gyms.map((g) => g.id), expected.gyms.map((g) => g.id), 'and it is whole');
});

test('image size limits hold under concurrent uploads: 413s, nothing partial on disk, the accepted images whole', async (t) => {
  const limit = 256 * 1024;
  const server = await startTestServer(t, { maxImageBytes: String(limit) });
  const png = (size: number, fill: number): Buffer => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(size - 8, fill)]);
  const uploads = Array.from({ length: 16 }, (_, i) => {
    const big = i % 2 === 1;
    return { name: `img${i}.png`, bytes: png(big ? limit * 3 : limit / 2, i), big, chunked: i % 4 === 3 };
  });
  const results = await Promise.all(
    uploads.map(async ({ name, bytes, chunked }) => {
      const init: RequestInit & { duplex?: 'half' } = chunked ? { method: 'POST', body: new Blob([bytes]).stream(), duplex: 'half' } : { method: 'POST', body: bytes };
      try {
        const response = await server.fetch(`/images/upload?filename=${name}`, init);
        await response.arrayBuffer();
        return response.status;
      } catch {
        return -1; // the server may hang up on a body it refused
      }
    }),
  );
  uploads.forEach((u, i) => {
    if (u.big) assert.ok(results[i] === 413 || results[i] === -1, `${u.name}: ${results[i]}`);
    else assert.equal(results[i], 200, u.name);
  });
  assert.ok(results.filter((s) => s === 413).length >= 4, 'most oversize images were answered 413');
  await assertHealthy(server.url);
  const onDisk = readdirSync(server.config.imagesDir).sort();
  assert.deepEqual(onDisk, uploads.filter((u) => !u.big).map((u) => u.name).sort(), 'only the accepted images, and no temporary files');
  for (const u of uploads.filter((x) => !x.big)) assert.ok(readFileSync(path.join(server.config.imagesDir, u.name)).equals(u.bytes), `${u.name} is whole`);
});
