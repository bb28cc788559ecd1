import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.js';

async function expectUnauthorized(server: TestServer, authorization: string | undefined): Promise<void> {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  // fetch always sets the header we give; for "no header" we must not let the helper add the token.
  const response = await fetch(`${server.url}/health`, { headers });
  assert.equal(response.status, 401, `authorization ${JSON.stringify(authorization)}`);
  assert.equal(response.headers.get('www-authenticate'), 'Bearer');
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await response.json()) as { error: unknown };
  assert.equal(typeof body.error, 'string');
  assert.ok(!JSON.stringify(body).includes(TEST_TOKEN));
}

test('every route refuses requests without the right bearer token', async (t) => {
  const server = await startTestServer(t);
  for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${TEST_TOKEN}`, 'Bearer ', 'Bearer', TEST_TOKEN, `Bearer ${TEST_TOKEN}x`, `Bearer ${TEST_TOKEN.slice(0, -1)}`]) {
    await expectUnauthorized(server, authorization);
  }
  // A second server: the first has used up this address's failure allowance.
  const other = await startTestServer(t);
  for (const [method, path] of [['GET', '/sync'], ['POST', '/sync'], ['POST', '/sync/delta'], ['GET', '/no-such-route']] as const) {
    const response = await fetch(other.url + path, { method, body: method === 'POST' ? '{}' : undefined });
    assert.equal(response.status, 401, `${method} ${path}`);
  }
});

test('the scheme is case-insensitive', async (t) => {
  const server = await startTestServer(t);
  for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
    const response = await fetch(`${server.url}/health`, { headers: { authorization: `${scheme} ${TEST_TOKEN}` } });
    assert.equal(response.status, 200, scheme);
  }
});

function getHealthFrom(server: TestServer, localAddress: string, token: string): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}/health`, { localAddress, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('repeated failures from one address are throttled with 429 and Retry-After; others are not', async (t) => {
  const server = await startTestServer(t);
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) statuses.push((await getHealthFrom(server, '127.0.0.1', 'wrong')).status);
  assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
  const throttled = await getHealthFrom(server, '127.0.0.1', 'wrong');
  assert.equal(throttled.status, 429);
  assert.ok(Number(throttled.retryAfter) >= 1 && Number(throttled.retryAfter) <= 60, `Retry-After ${throttled.retryAfter}`);

  // Another address is neither throttled nor counted against the first.
  assert.equal((await getHealthFrom(server, '127.0.0.2', TEST_TOKEN)).status, 200);
  assert.equal((await getHealthFrom(server, '127.0.0.2', 'wrong')).status, 401);
  // The owner's correct token is served even from the throttled address.
  assert.equal((await getHealthFrom(server, '127.0.0.1', TEST_TOKEN)).status, 200);
});

test('requests with no token guess nothing: never counted, never throttled, always 401', async (t) => {
  const server = await startTestServer(t);
  // A check script asking every address without a token, more than ten times a minute.
  for (let i = 0; i < 15; i++) await expectUnauthorized(server, i % 3 === 0 ? undefined : i % 3 === 1 ? 'Basic dXNlcjpwdw==' : 'Bearer');
  // Guessing is still counted from the first wrong token: ten, then 429.
  for (let i = 0; i < 10; i++) await expectUnauthorized(server, 'Bearer wrong');
  assert.equal((await fetch(`${server.url}/health`, { headers: { authorization: 'Bearer wrong' } })).status, 429);
  await expectUnauthorized(server, undefined);
});

test('the token never appears in the logs, even at trace level', async (t) => {
  const server = await startTestServer(t, { logLevel: 'trace' });
  await server.fetch('/health');
  await fetch(`${server.url}/health`, { headers: { authorization: `Bearer ${TEST_TOKEN}-wrong` } });
  await server.fetch('/sync/delta', { method: 'POST', body: '{"gyms":[{"id":"secret-body-marker"}]}' });
  const logs = server.logs.join('');
  assert.ok(logs.includes('"route":"/health"'), 'request lines are logged');
  assert.ok(!logs.includes(TEST_TOKEN), 'token absent from logs');
  assert.ok(!logs.includes('secret-body-marker'), 'bodies absent from logs');
});

function getWithHeaders(server: TestServer, path: string, authorization: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // Headers as a list, so that one may come twice (Node's client then sends no Host of its own).
    const req = request(`${server.url}${path}`, { headers: ['Host', new URL(server.url).host, ...authorization.flatMap((value) => ['Authorization', value])] }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('two Authorization headers are refused, whichever comes first: Node would read only the first', async (t) => {
  const server = await startTestServer(t);
  for (const path of ['/health', '/sync', '/web/api/summary']) {
    for (const pair of [[`Bearer ${TEST_TOKEN}`, 'Bearer nope'], ['Bearer nope', `Bearer ${TEST_TOKEN}`], [`Bearer ${TEST_TOKEN}`, `Bearer ${TEST_TOKEN}`]]) {
      const response = await getWithHeaders(server, path, pair);
      assert.equal(response.status, 401, `${path} ${pair.join(' | ')}`);
      assert.ok(!response.body.includes(TEST_TOKEN));
    }
  }
  const one = await getWithHeaders(server, '/health', [`Bearer ${TEST_TOKEN}`]);
  assert.equal(one.status, 200);
  assert.match((await getWithHeaders(server, '/sync', ['Bearer nope', 'Bearer nope'])).body, /several Authorization headers/);
});
