import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import type { PgStore } from '../../src/store/pg-store.js';
import { pgOf, postJson, sqliteOf, startTestServer, type TestServer } from '../helpers/server.js';

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

/**
 * PostgreSQL: the transactions left open in the test's database. A read is closed
 * (its COMMIT sent) as its answer ends, so the last answer's may still be on its
 * way when the client has read it all: on a busy server it was seen open for a
 * moment. One left open for good is still open after five seconds.
 */
async function transactionsLeftOpen(pg: PgStore): Promise<number> {
  const count = async (): Promise<number> => {
    const { rows } = await pg.pool.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'");
    return Number(rows[0]!.n);
  };
  let open = await count();
  for (let waited = 0; open > 0 && waited < 5_000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    open = await count();
  }
  return open;
}

/** Sends the request and closes the connection at once, before any answer: the read is being opened meanwhile. */
function hangUpAtOnce(server: TestServer, request: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1', () => {
      socket.end(request);
      socket.destroy();
      resolve();
    });
    socket.on('error', reject);
  });
}

test('clients that hang up the moment they have asked for a streamed answer leave no read open behind them', async (t) => {
  const server = await startTestServer(t);
  const problems = Array.from({ length: 5_000 }, (_, i) => ({ id: `p${i}`, name: `Problem ${i}` }));
  assert.equal((await postJson(server, '/sync', { problems })).status, 200);
  const auth = 'Authorization: Bearer test-token-0123456789abcdef\r\n';
  const body = '{"lastSyncTime":null}';
  // More than PostgreSQL's ten connections, each of which such a request used to keep for good.
  for (let i = 0; i < 12; i++) {
    await hangUpAtOnce(server, `GET /sync HTTP/1.1\r\nHost: x\r\n${auth}\r\n`);
    await hangUpAtOnce(server, `POST /sync/delta HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  // Each answer below needs a read of its own, and a write needs the lock no open read may hold up (SQLite's checkpoint).
  assert.equal((await postJson(server, '/sync/delta', { lastSyncTime: null, problems: [{ id: 'new' }] })).status, 200);
  for (let i = 0; i < 12; i++) assert.equal(((await (await server.fetch('/sync', { signal: AbortSignal.timeout(10_000) })).json()) as { problems: unknown[] }).problems.length, 5_001);
  const pg = pgOf(server);
  if (pg) assert.equal(await transactionsLeftOpen(pg), 0, 'no transaction is left open');
});

test('an answer its client stops taking, without hanging up, is dropped after the idle timeout, and its read released', async (t) => {
  const server = await startTestServer(t, {}, { idleTimeoutMs: 1_500 });
  const problems = Array.from({ length: 40_000 }, (_, i) => ({ id: `p${i}`, name: `Problem ${i}`, notes: randomBytes(160).toString('base64') }));
  // In deltas of 5,000: one upload of all of them can take longer than this idle timeout on a loaded PostgreSQL, which drops its socket meanwhile.
  for (let from = 0; from < problems.length; from += 5_000) assert.equal((await postJson(server, '/sync/delta', { problems: problems.slice(from, from + 5_000) })).status, 200);
  // The client reads a little, then takes no more: it neither reads nor hangs up (so it cannot tell the drop itself).
  const stalled = http.get(`${server.url}/sync`, { headers: { authorization: 'Bearer test-token-0123456789abcdef', 'accept-encoding': 'identity' } }, (res) => {
    res.once('data', () => res.pause());
  });
  stalled.on('error', () => undefined);
  t.after(() => stalled.destroy());
  const hungUp = () => server.logs.some((line) => line.includes('"msg":"client hung up before the answer ended"'));
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.ok(!hungUp(), 'not before the idle timeout');
  for (let waited = 0; !hungUp() && waited < 20_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(hungUp(), 'the answer was ended by the server');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const sqlite = sqliteOf(server);
  // SQLite: no snapshot is left to hold the WAL back. PostgreSQL: no transaction is left open.
  if (sqlite) assert.deepEqual(sqlite.database.pragma('wal_checkpoint(TRUNCATE)'), [{ busy: 0, log: 0, checkpointed: 0 }]);
  const pg = pgOf(server);
  if (pg) assert.equal(await transactionsLeftOpen(pg), 0);
  assert.equal((await server.fetch('/health')).status, 200);
});

test('streamed answers queued behind another on a pipelining connection are ended when it goes: no read left open, no error logged', async (t) => {
  const server = await startTestServer(t);
  // About 10 MiB: the first answer is still being written when the client hangs up, the ones behind it not yet begun.
  const problems = Array.from({ length: 40_000 }, (_, i) => ({ id: `p${i}`, name: `Problem ${i}`, notes: randomBytes(160).toString('base64') }));
  for (let from = 0; from < problems.length; from += 10_000) assert.equal((await postJson(server, '/sync/delta', { problems: problems.slice(from, from + 10_000) })).status, 200);
  const auth = 'Authorization: Bearer test-token-0123456789abcdef\r\nAccept-Encoding: identity\r\n';
  const body = '{"lastSyncTime":null}';
  const delta = `POST /sync/delta HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: ${body.length}\r\n\r\n${body}`;
  const download = `GET /sync HTTP/1.1\r\nHost: x\r\n${auth}\r\n`;
  // Four connections of three: more queued answers than PostgreSQL lets one account stream at once (three).
  for (let i = 0; i < 4; i++) {
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.pause();
    socket.write(download + delta + download);
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.destroy();
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  // Each needs a streamed answer of the account's, and a write the lock no open read may hold up.
  assert.equal((await postJson(server, '/sync/delta', { lastSyncTime: null, problems: [{ id: 'new' }] })).status, 200);
  for (let i = 0; i < 4; i++) assert.equal(((await (await server.fetch('/sync', { signal: AbortSignal.timeout(10_000) })).json()) as { problems: unknown[] }).problems.length, 40_001);
  const sqlite = sqliteOf(server);
  if (sqlite) assert.deepEqual(sqlite.database.pragma('wal_checkpoint(TRUNCATE)'), [{ busy: 0, log: 0, checkpointed: 0 }]);
  const pg = pgOf(server);
  if (pg) {
    const { rows } = await pg.pool.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'FETCH%' AND state <> 'active'");
    assert.equal(Number(rows[0]!.n), 0, 'no held delta answer is left with its connection');
    assert.equal(await transactionsLeftOpen(pg), 0);
  }
  assert.deepEqual(errorLines(server), []);
});
