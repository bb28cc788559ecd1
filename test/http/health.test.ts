import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestServer, TEST_TOKEN } from '../helpers/server.js';
import { rawRequest } from '../hostile/raw-http.js';

test('GET /health answers exactly {"status":"ok","version":"2.0.0"}', async (t) => {
  const server = await startTestServer(t);
  const response = await server.fetch('/health');
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(await response.text(), '{"status":"ok","version":"2.0.0"}');
});

test('one log line per request with method, route, status, duration and bytes', async (t) => {
  const server = await startTestServer(t);
  await server.fetch('/health');
  const lines = server.logs.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'request');
  assert.equal(lines.length, 1);
  const [line] = lines;
  assert.equal(line.method, 'GET');
  assert.equal(line.route, '/health');
  assert.equal(line.status, 200);
  assert.equal(typeof line.ms, 'number');
  assert.ok(line.bytes > 33, 'bytes counts the response');
  assert.equal(typeof line.reqId, 'string');
});

test('unknown routes answer a JSON 404 and wrong methods a JSON 405 with Allow', async (t) => {
  const server = await startTestServer(t);
  const missing = await server.fetch('/nothing-here');
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { code: string }).code, 'not_found');

  const wrongMethod = await server.fetch('/sync', { method: 'DELETE' });
  assert.equal(wrongMethod.status, 405);
  assert.match(wrongMethod.headers.get('allow') ?? '', /GET/);
  assert.match(wrongMethod.headers.get('allow') ?? '', /POST/);
  assert.equal(typeof ((await wrongMethod.json()) as { error: string }).error, 'string');

  const deltaGet = await server.fetch('/sync/delta');
  assert.equal(deltaGet.status, 405);
});

test('a 5xx hides its cause from the client and is logged once with the request id', async (t) => {
  const server = await startTestServer(t);
  await server.store.close(); // every store call now throws an internal error
  const response = await server.fetch('/sync/delta', { method: 'POST', body: '{}' });
  assert.equal(response.status, 500);
  const body = (await response.json()) as { error: string; code: string };
  assert.equal(body.code, 'internal');
  assert.doesNotMatch(body.error, /database|sqlite|connection|at /i);
  const errors = server.logs.map((line) => JSON.parse(line)).filter((entry) => entry.level >= 50);
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.match(errors[0].reqId, /\S/);
  assert.match(body.error, new RegExp(errors[0].reqId), 'the client can quote the request id');
});

test('CONNECT, which asks for a tunnel, is told with a JSON 501 that this is no proxy, not closed without a word', async (t) => {
  const server = await startTestServer(t);
  for (const target of ['climb.example.org:443', '/sync']) {
    const answer = await rawRequest(server.url, `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\nAuthorization: Bearer ${TEST_TOKEN}\r\n\r\n`);
    assert.equal(answer.status, 501, target);
    assert.equal(answer.headers['connection'], 'close', target);
    assert.deepEqual(JSON.parse(answer.body.toString('utf8')), { error: 'CONNECT is not supported: this server is not a proxy', code: 'not_implemented' }, target);
  }
  assert.equal((await server.fetch('/health')).status, 200);
});
