import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { startChildServer } from '../helpers/child-server.js';
import { startTestServer, tempDir, TEST_TOKEN } from '../helpers/server.js';
import { rawRequest, requestBytes } from './raw-http.js';

interface Answer {
  status: number;
  retryAfter?: string;
  body: string;
}

/** node:http, because fetch cannot choose the local address a request comes from. */
function send(url: string, localAddress: string, token: string, method = 'GET', path = '/health', body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, localAddress, agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('a burst of wrong tokens from one address is throttled; a device on another address syncs throughout', async (t) => {
  const server = await startTestServer(t);
  const attacker = '127.0.0.1';
  const device = '127.0.0.2';
  const guesses = Array.from({ length: 300 }, (_, i) => `${TEST_TOKEN.slice(0, -2)}${i.toString(36).padStart(2, '0')}`).filter((g) => g !== TEST_TOKEN);

  // The attack and the device's syncs run interleaved, 20 guesses in flight at a time.
  const attack = (async () => {
    const statuses: Answer[] = [];
    for (let i = 0; i < guesses.length; i += 20) {
      statuses.push(...(await Promise.all(guesses.slice(i, i + 20).map((g) => send(server.url, attacker, g, 'POST', '/sync/delta', '{}')))));
    }
    return statuses;
  })();
  const syncs = (async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 30; i++) {
      answers.push(await send(server.url, device, TEST_TOKEN, 'POST', '/sync/delta', JSON.stringify({ lastSyncTime: null, gyms: [{ id: `g${i}`, updatedAt: '2024-01-15T10:30:00.000Z' }] })));
    }
    return answers;
  })();
  const [attackAnswers, deviceAnswers] = await Promise.all([attack, syncs]);

  assert.ok(deviceAnswers.every((a) => a.status === 200), `device statuses: ${[...new Set(deviceAnswers.map((a) => a.status))].join(', ')}`);
  const stored = await send(server.url, device, TEST_TOKEN, 'GET', '/sync');
  assert.equal((JSON.parse(stored.body) as { gyms: unknown[] }).gyms.length, 30, 'every device write was kept');
  assert.ok(attackAnswers.every((a) => a.status === 401 || a.status === 429), 'no guess got in');
  const throttled = attackAnswers.filter((a) => a.status === 429);
  assert.ok(throttled.length >= guesses.length - 20, `only the first few guesses are even checked (${throttled.length} of ${guesses.length} throttled)`);
  for (const a of throttled) assert.ok(Number(a.retryAfter) >= 1 && Number(a.retryAfter) <= 60, `Retry-After ${a.retryAfter}`);
  // The owner's token still works from the attacked address (a shared NAT), and the device's address was never counted.
  assert.equal((await send(server.url, attacker, TEST_TOKEN)).status, 200);
  assert.equal((await send(server.url, device, 'wrong')).status, 401);
});

test('behind a proxy (TRUST_PROXY) the throttle counts X-Forwarded-For, not the proxy address', async (t) => {
  const server = await startTestServer(t, { trustProxy: 'true' });
  const from = (address: string, token: string): Promise<Response> =>
    fetch(`${server.url}/health`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': address } });
  for (let i = 0; i < 15; i++) await (await from('203.0.113.7', `wrong-${i}`)).arrayBuffer();
  assert.equal((await from('203.0.113.7', 'wrong')).status, 429);
  assert.equal((await from('198.51.100.9', TEST_TOKEN)).status, 200);
  assert.equal((await from('198.51.100.9', 'wrong')).status, 401);
  // A client may send an X-Forwarded-For of its own: the proxy appends the address it
  // saw, and only that last one is believed, so made-up ones in front change nothing.
  for (let i = 0; i < 15; i++) await (await from(`10.9.9.${i}, 192.0.2.44`, `wrong-${i}`)).arrayBuffer();
  assert.equal((await from('10.9.9.99, 192.0.2.44', 'wrong')).status, 429);
});

test('the token never appears in any log line at trace level, whatever the request', async (t) => {
  const server = await startChildServer(tempDir(t), { LOG_LEVEL: 'trace' });
  t.after(() => server.kill9());
  const auth: [string, string] = ['Authorization', `Bearer ${TEST_TOKEN}`];
  const bad = [
    requestBytes('GET', '/health', [auth]),
    requestBytes('POST', '/sync/delta', [auth, ['Content-Length', '9']], '{"gyms":['),
    requestBytes('POST', '/sync', [auth, ['Content-Length', '5']], 'nope!'),
    requestBytes('GET', `/sync?token=${TEST_TOKEN}`, [auth]),
    requestBytes('GET', '/no-such-route', [auth]),
    requestBytes('DELETE', '/sync', [auth]),
    requestBytes('GET', '/health', [['Authorization', `Bearer ${TEST_TOKEN}x`]]),
    requestBytes('GET', '/health', [['Authorization', `Basic ${Buffer.from(`u:${TEST_TOKEN}`).toString('base64')}`]]),
    requestBytes('GET', '/health', [auth, ['X-Huge', 'h'.repeat(40_000)]]), // 431
    requestBytes('GET', '/health', [auth, ['Bad Header', 'x']]), // unparsable: Node's 400
    requestBytes('POST', '/sync', [auth, ['Content-Length', '2'], ['Transfer-Encoding', 'chunked']], '{}'),
    requestBytes('POST', '/images/upload?filename=../../etc/passwd', [auth, ['Content-Length', '4']], 'GIF8'),
    requestBytes('GET', '/images/download?filename=%00', [auth]),
  ];
  for (const bytes of bad) await rawRequest(server.url, bytes);
  for (let i = 0; i < 12; i++) await rawRequest(server.url, requestBytes('GET', '/health', [['Authorization', `Bearer ${TEST_TOKEN.slice(0, 10)}-${i}`]]));
  assert.equal(await server.stop(), 0);

  const output = server.output();
  assert.ok(output.includes('"level":10') || output.includes('"level":20'), 'trace/debug lines were written');
  const forms = [
    TEST_TOKEN,
    Buffer.from(TEST_TOKEN).toString('base64'),
    Buffer.from(TEST_TOKEN).toString('hex'),
    [...Buffer.from(TEST_TOKEN)].join(','), // a Buffer serialised as JSON
  ];
  for (const form of forms) assert.ok(!output.includes(form), `the token appears in the log as ${form.slice(0, 12)}…`);
});
