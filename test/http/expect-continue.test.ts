import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startTestServer, TEST_TOKEN } from '../helpers/server.js';
import { rawRequest, syncState } from '../hostile/raw-http.js';

const AUTH = `Authorization: Bearer ${TEST_TOKEN}\r\n`;
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(3000, 7)]);

/** A request head saying `Expect: 100-continue`, as curl sends for bodies over 1 MiB. */
function expecting(path: string, headers: string, contentLength: number): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${headers}Content-Length: ${contentLength}\r\nExpect: 100-continue\r\n\r\n`;
}

/**
 * A client that sends the head alone and sends its body only on `100 Continue`,
 * like curl and OkHttp. `received` is everything the server wrote; `ended` settles
 * when the server ends the connection.
 */
function openExpecting(url: string, head: string): { socket: net.Socket; received: () => string; ended: Promise<void>; waitFor: (pattern: RegExp) => Promise<void> } {
  const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
  let text = '';
  const waiters: (() => void)[] = [];
  socket.on('data', (data: Buffer) => {
    text += data.toString('latin1');
    for (const waiter of waiters.splice(0)) waiter();
  });
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => socket.once('end', resolve));
  socket.write(head);
  const waitFor = async (pattern: RegExp): Promise<void> => {
    const deadline = Date.now() + 5_000;
    while (!pattern.test(text)) {
      assert.ok(Date.now() < deadline, `no ${pattern} within 5 s; got ${JSON.stringify(text.slice(0, 300))}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  };
  return { socket, received: () => text, ended, waitFor };
}

const ANSWER = /HTTP\/1\.1 [2-5]\d\d [^]*\r\n\r\n(\{[^]*\}|[^]*\r\n0\r\n\r\n)$/;

test('an upload sent with Expect: 100-continue is asked for its body and stored, on every upload route', async (t) => {
  const server = await startTestServer(t);
  const delta = Buffer.from(JSON.stringify({ lastSyncTime: null, gyms: [{ id: 'g1', name: 'Boulderhalle', updatedAt: '2024-01-01T00:00:00.000Z' }] }));
  const full = Buffer.from(JSON.stringify({ gyms: [{ id: 'g2', name: 'Kletterhalle', updatedAt: '2024-01-01T00:00:00.000Z' }] }));
  const cases: [string, Buffer][] = [
    ['/sync/delta', delta],
    ['/images/upload?filename=a.jpg', JPEG],
    ['/sync', full],
  ];
  for (const [path, body] of cases) {
    const client = openExpecting(server.url, expecting(path, AUTH, body.length));
    t.after(() => client.socket.destroy());
    await client.waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    client.socket.write(body);
    await client.waitFor(ANSWER);
    assert.match(client.received(), /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /, path);
    assert.match(client.received(), /^connection: keep-alive$/im, path);
  }
  assert.match(await syncState(server.url), /"id":"g2"/);
  assert.equal((await server.fetch('/images/download?filename=a.jpg')).status, 200);
});

test('an upload refused before its body is read is answered without 100 Continue, and the connection closed, without the body ever sent', async (t) => {
  const server = await startTestServer(t, { maxJsonBytes: '1MB', maxImageBytes: '1MB' });
  const refusals: { name: string; head: string; status: number; code: string }[] = [
    { name: 'no token', head: expecting('/sync', '', 5_000_000), status: 401, code: 'unauthorized' },
    { name: 'a wrong token', head: expecting('/sync/delta', 'Authorization: Bearer wrong\r\n', 5_000_000), status: 401, code: 'unauthorized' },
    { name: 'a full upload over MAX_JSON_BYTES', head: expecting('/sync', AUTH, 5_000_000), status: 413, code: 'payload_too_large' },
    { name: 'a delta over MAX_JSON_BYTES', head: expecting('/sync/delta', AUTH, 5_000_000), status: 413, code: 'payload_too_large' },
    { name: 'an image over MAX_IMAGE_BYTES', head: expecting('/images/upload?filename=a.jpg', AUTH, 5_000_000), status: 413, code: 'payload_too_large' },
    { name: 'a compressed body', head: expecting('/sync/delta', `${AUTH}Content-Encoding: gzip\r\n`, 5_000), status: 415, code: 'unsupported_media_type' },
  ];
  const ask = async (r: { name: string; head: string; status: number; code: string }): Promise<void> => {
    const client = openExpecting(server.url, r.head);
    t.after(() => client.socket.destroy());
    await client.waitFor(ANSWER);
    const text = client.received();
    assert.match(text, new RegExp(`^HTTP/1\\.1 ${r.status} `), `${r.name}: the refusal comes first, with no 100 Continue before it`);
    assert.equal((JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { code: string }).code, r.code, r.name);
    // The client was not asked for the body, so the server cannot read another request after it.
    assert.match(text, /^connection: close$/im, r.name);
    await client.ended;
  };
  for (const r of refusals) await ask(r);

  // The wrong token above was the first of the ten failures that throttle the address.
  for (let i = 0; i < 9; i++) assert.equal((await server.fetch('/health', { headers: { authorization: 'Bearer guess' } })).status, 401);
  await ask({ name: 'a throttled address', head: expecting('/sync/delta', 'Authorization: Bearer guess\r\n', 5_000_000), status: 429, code: 'too_many_requests' });
  assert.equal(await syncState(server.url), '(never written)');
});

test('a client that sends its body anyway after the refusal reads the refusal whole', async (t) => {
  const server = await startTestServer(t);
  const client = openExpecting(server.url, expecting('/sync/delta', 'Authorization: Bearer wrong\r\n', 3_000_000));
  t.after(() => client.socket.destroy());
  // Sent at once, without waiting: curl does so after a second without an answer.
  client.socket.write(Buffer.alloc(3_000_000, 0x20));
  await client.ended;
  assert.match(client.received(), /^HTTP\/1\.1 401 [^]*\r\n\r\n\{"error":"invalid bearer token","code":"unauthorized"\}$/);
});

test('a body the server must look at to refuse (not an image) is asked for', async (t) => {
  const server = await startTestServer(t);
  const client = openExpecting(server.url, expecting('/images/upload?filename=a.jpg', AUTH, 3000));
  t.after(() => client.socket.destroy());
  await client.waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
  client.socket.write(Buffer.alloc(3000, 0x25));
  await client.waitFor(ANSWER);
  assert.match(client.received(), /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 415 /);
  assert.match(client.received(), /^connection: keep-alive$/im);
});

test('any other expectation is refused with a JSON 417, and nothing is stored', async (t) => {
  const server = await startTestServer(t);
  const body = JSON.stringify({ gyms: [{ id: 'g1', updatedAt: '2024-01-01T00:00:00.000Z' }] });
  for (const path of ['/sync', '/sync/delta']) {
    const head = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${AUTH}Expect: 200-ok\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    const answer = await rawRequest(server.url, head + body);
    assert.equal(answer.status, 417, path);
    assert.equal((JSON.parse(answer.body.toString('utf8')) as { code: string }).code, 'expectation_failed', path);
  }
  assert.equal(await syncState(server.url), '(never written)');
});
