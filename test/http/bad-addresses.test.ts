import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { startTestServer, TEST_TOKEN } from '../helpers/server.js';
import { rawRequest, syncState } from '../hostile/raw-http.js';

/** Paths with a malformed %-escape cannot be routed at all; they are still answered in the server's own words. */

test('a malformed %-escape in a sync path: 400 with a JSON error that does not echo the path', async (t) => {
  const server = await startTestServer(t);
  for (const path of ['/sync%ZZ', '/images/download%E0%A4%A']) {
    const response = await fetch(`${server.url}${path}`);
    assert.equal(response.status, 400, path);
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    const body = (await response.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['error', 'code']);
    assert.match(String(body['error']), /not a valid URL/);
    assert.ok(!JSON.stringify(body).includes(path.slice(1)), 'the path is not repeated back');
  }
});

test('a malformed %-escape in a dashboard path: the 400 page with every page\'s security headers', async (t) => {
  const server = await startTestServer(t);
  for (const path of ['/web/%ff', '/web/problems/%ZZ']) {
    const response = await fetch(`${server.url}${path}`, { redirect: 'manual' });
    assert.equal(response.status, 400, path);
    assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(response.headers.get('content-security-policy') ?? '', /^default-src 'none'/);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.match(await response.text(), /<html/);
  }
});

test('an unparsable request pipelined behind an answer under way never writes into that answer', async (t) => {
  const server = await startTestServer(t);
  const gyms = Array.from({ length: 40_000 }, (_, i) => ({ id: `g${i}`, name: 'x'.repeat(300), updatedAt: '2024-01-15T10:00:00.000Z' }));
  const upload = await fetch(`${server.url}/sync`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ gyms }) });
  assert.equal(upload.status, 200);
  const { port } = new URL(server.url);
  const socket = net.connect({ port: Number(port), host: '127.0.0.1' });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  socket.write(`GET /sync HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_TOKEN}\r\n\r\n`);
  await once(socket, 'data');
  // The 14 MB answer has begun; a request Node cannot parse follows on the same socket.
  // (Seen inside the answer on PostgreSQL, whose pages come slower than they are taken.)
  socket.write('GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n');
  await once(socket, 'close');
  const received = Buffer.concat(chunks).toString('latin1');
  assert.match(received, /^HTTP\/1\.1 200 /);
  const refusal = received.indexOf('HTTP/1.1 400');
  const firstEnds = received.indexOf('\r\n0\r\n\r\n');
  assert.ok(refusal === -1 || (firstEnds !== -1 && refusal === firstEnds + 7), `a status line at ${refusal}, inside the first answer (it ends at ${firstEnds})`);
});

test('an HTTP/1.1 request without a Host header: 400 with a JSON error saying so, and nothing written; HTTP/1.0 needs none', async (t) => {
  const server = await startTestServer(t);
  const auth = `Authorization: Bearer ${TEST_TOKEN}\r\nConnection: close\r\n`;
  const body = JSON.stringify({ gyms: [{ id: 'g1', updatedAt: '2024-01-01T00:00:00.000Z' }] });
  for (const request of [`GET /health HTTP/1.1\r\n${auth}\r\n`, `POST /sync/delta HTTP/1.1\r\n${auth}Content-Length: ${body.length}\r\n\r\n${body}`]) {
    const answer = await rawRequest(server.url, request);
    assert.equal(answer.status, 400, request);
    assert.match(answer.headers['content-type'] ?? '', /^application\/json/);
    assert.deepEqual(JSON.parse(answer.body.toString('utf8')), { error: 'the Host header is missing: an HTTP/1.1 request must send one', code: 'bad_request' });
  }
  assert.equal(await syncState(server.url), '(never written)');
  assert.equal((await rawRequest(server.url, `GET /health HTTP/1.0\r\n${auth}\r\n`)).status, 200);
});

test('bytes that cannot be parsed after a request received whole: that request gets its own answer first, then the 400', async (t) => {
  const server = await startTestServer(t);
  const auth = `Host: x\r\nAuthorization: Bearer ${TEST_TOKEN}\r\n`;
  const body = JSON.stringify({ gyms: [{ id: 'g1', updatedAt: '2024-01-01T00:00:00.000Z' }] });
  // One byte more than Content-Length says (a client that counted the body wrong), or a garbled request pipelined behind.
  for (const after of [' ', `GET /health HTTP/1.1\r\n${auth}\r\nGET /health HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n`]) {
    const text = await exchange(server.url, `POST /sync/delta HTTP/1.1\r\n${auth}Content-Length: ${body.length}\r\n\r\n${body}${after}`);
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n[^]*"serverTime"/, 'the delta, stored, is answered 200, not with the refusal of what came after it');
    assert.match(text, /HTTP\/1\.1 400 Bad Request\r\n[^]*\{"error":"malformed HTTP request","code":"bad_request"\}$/);
    if (after !== ' ') assert.ok(text.indexOf('"status":"ok"') < text.indexOf('HTTP/1.1 400'), 'the answers come in the order of the requests');
  }
  assert.match(await syncState(server.url), /"id":"g1"/);

  // Bad framing inside a request's own body is still refused at once, and nothing of it is written.
  const chunked = await rawRequest(server.url, `POST /sync HTTP/1.1\r\n${auth}Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\nzz\r\n`);
  assert.equal(chunked.status, 400);
  assert.match(await syncState(server.url), /"id":"g1"/);
});

/** Everything the server writes back to `bytes` until it closes the connection, as text. */
async function exchange(url: string, bytes: string): Promise<string> {
  const socket = net.connect({ port: Number(new URL(url).port), host: '127.0.0.1' });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  socket.write(bytes);
  await once(socket, 'close');
  return Buffer.concat(chunks).toString('latin1');
}

test('a slash too many (an address typed with a slash at its end, a path with one at its end) reaches the route it names', async (t) => {
  const server = await startTestServer(t);
  const authorization = `Bearer ${TEST_TOKEN}`;
  for (const path of ['//health', '/health/']) assert.equal((await fetch(`${server.url}${path}`, { headers: { authorization } })).status, 200, path);
  const delta = await fetch(`${server.url}//sync/delta`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: '{"gyms":[{"id":"g1","updatedAt":"2024-01-15T10:00:00.000Z"}]}',
  });
  assert.equal(delta.status, 200);
  // What the doubled path wrote is there, as through the plain one.
  const stored = await fetch(`${server.url}/sync/`, { headers: { authorization } });
  assert.equal(stored.status, 200);
  assert.deepEqual(((await stored.json()) as { gyms: { id: string }[] }).gyms.map((g) => g.id), ['g1']);
  // Still refused without a token, and an unknown route is still one.
  assert.equal((await fetch(`${server.url}//sync`)).status, 401);
  assert.equal((await fetch(`${server.url}/syncs/`, { headers: { authorization } })).status, 404);
});
