import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { test } from 'node:test';
import { postJson, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Large answers are streamed page by page from a read of their own. A client that
 * hangs up in the middle (a phone leaving Wi-Fi) leaves that read in the middle of
 * a query: the server must end it and go on serving, uncompressed as well as gzip.
 */

/** Sends the request, reads the first chunk of the answer and hangs up. */
function abandon(server: TestServer, encoding: string, method: 'GET' | 'POST', path: string, body?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${server.url}${path}`,
      { method, headers: { authorization: 'Bearer test-token-0123456789abcdef', 'accept-encoding': encoding, 'content-type': 'application/json' } },
      (res) => {
        assert.equal(res.statusCode, 200);
        res.once('data', () => {
          req.destroy();
          resolve();
        });
        res.on('end', () => reject(new Error('the whole answer came before the client hung up: make it larger')));
      },
    );
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.end(body);
  });
}

/** The log lines at error level or above: none is a server fault. */
function errorLines(server: TestServer): string[] {
  return server.logs.filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
}

test('a client that hangs up in the middle of a GET /sync or from-scratch delta, in any encoding, leaves the server serving and logs no error', async (t) => {
  const server = await startTestServer(t);
  // About 10 MiB of JSON: more than the socket's buffers hold, so the read is still going when the client hangs up.
  const problems = Array.from({ length: 40_000 }, (_, i) => ({ id: `p${i}`, name: `Problem ${i}`, notes: randomBytes(160).toString('base64') }));
  assert.equal((await postJson(server, '/sync', { problems })).status, 200);

  for (const encoding of ['identity', 'identity', 'identity', 'gzip', 'br']) {
    await abandon(server, encoding, 'GET', '/sync');
    await abandon(server, encoding, 'POST', '/sync/delta', '{"lastSyncTime":null}');
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(errorLines(server), []);
  assert.ok(server.logs.some((line) => line.includes('"msg":"client hung up before the answer ended"')), 'a hang-up is logged, as information');
  assert.equal((await server.fetch('/health')).status, 200);
  const whole = (await (await server.fetch('/sync', { headers: { 'accept-encoding': 'identity' } })).json()) as { problems: unknown[] };
  assert.equal(whole.problems.length, 40_000);
  // The reads were ended: a write still gets through, and the next answer carries it.
  assert.equal((await postJson(server, '/sync/delta', { lastSyncTime: null, problems: [{ id: 'new', name: 'after' }] })).status, 200);
  const after = (await (await server.fetch('/sync', { headers: { 'accept-encoding': 'identity' } })).json()) as { problems: unknown[] };
  assert.equal(after.problems.length, 40_001);
});

test('HEAD /sync answers GET\'s headers without reading the export, and logs no error', async (t) => {
  const server = await startTestServer(t);
  assert.equal((await server.fetch('/sync', { method: 'HEAD' })).status, 404);
  const problems = Array.from({ length: 2_000 }, (_, i) => ({ id: `p${i}`, name: `Problem ${i}` }));
  assert.equal((await postJson(server, '/sync', { problems })).status, 200);
  for (const encoding of ['identity', 'gzip']) {
    const head = await server.fetch('/sync', { method: 'HEAD', headers: { 'accept-encoding': encoding } });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(await head.text(), '');
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(errorLines(server), []);
  // No read was left open: a write gets through and GET sees it.
  assert.equal((await postJson(server, '/sync/delta', { lastSyncTime: null, problems: [{ id: 'new' }] })).status, 200);
  assert.equal(((await (await server.fetch('/sync')).json()) as { problems: unknown[] }).problems.length, 2_001);
});
