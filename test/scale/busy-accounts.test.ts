import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { addAccount } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/*
 * Many accounts busy at once on one process. On PostgreSQL every request borrows
 * connections from a pool of a few: these held up the whole process (for good, or
 * while slow clients read) before reads that can wait long got pools of their own.
 * They run in both halves of the suite: SQLite must answer the same.
 */

const GIVE_UP = AbortSignal.timeout.bind(AbortSignal);

function upload(server: TestServer, token: string, body: unknown, path = '/sync'): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: GIVE_UP(20_000),
  });
}

const gyms = (n: number, name: string): unknown[] => Array.from({ length: n }, (_, i) => ({ id: `g${i}`, name, updatedAt: '2024-01-15T10:00:00.000Z' }));

test('twelve accounts replacing their data at the same moment are all answered (each keeps a history snapshot)', { timeout: 60_000 }, async (t) => {
  const server = await startTestServer(t);
  const accounts = await Promise.all(Array.from({ length: 12 }, (_, i) => addAccount(server.store, `climber${i}`)));
  for (const round of ['first', 'second']) {
    const answers = await Promise.all(accounts.map(({ token }) => upload(server, token, { gyms: gyms(300, round) })));
    assert.deepEqual(
      answers.map((a) => a.status),
      accounts.map(() => 200),
      `${round} round`,
    );
  }
  for (const { account, token } of accounts) {
    const history = await server.store.listHistory(account.id);
    assert.equal(history.length, 1, `${account.name}: the first data kept before the second replaced it`);
    const now = await fetch(`${server.url}/sync`, { headers: { authorization: `Bearer ${token}` }, signal: GIVE_UP(10_000) });
    assert.equal(((await now.json()) as { gyms: { name: string }[] }).gyms[0]!.name, 'second');
  }
});

/** Asks for path over a socket of its own and reads nothing of the answer: a phone that stopped reading. */
function stalledReader(server: TestServer, token: string, path: string, body?: string): net.Socket {
  const { port } = new URL(server.url);
  const socket = net.connect({ port: Number(port), host: '127.0.0.1' });
  socket.on('error', () => undefined);
  const method = body === undefined ? 'GET' : 'POST';
  const length = body === undefined ? '' : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  socket.write(`${method} ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n${length}\r\n${body ?? ''}`);
  socket.pause();
  return socket;
}

test("three accounts' stalled readers leave other accounts, their own writes and /health answered", { timeout: 90_000 }, async (t) => {
  const server = await startTestServer(t);
  const stalled = await Promise.all(['anna', 'ben', 'cleo'].map((name) => addAccount(server.store, name)));
  const other = await addAccount(server.store, 'other');
  // 12 MB each: more than the socket buffers of a reader that takes nothing hold, so each answer stays under way.
  for (const { token } of stalled) assert.equal((await upload(server, token, { gyms: gyms(12_000, 'x'.repeat(1000)) })).status, 200);
  const seen = JSON.parse(await (await upload(server, stalled[0]!.token, {}, '/sync/delta')).text()) as { serverTime: string };
  assert.equal((await upload(server, other.token, { gyms: gyms(3, 'mine') })).status, 200);
  const readers = stalled.flatMap(({ token }) => [
    ...Array.from({ length: 4 }, () => stalledReader(server, token, '/sync')),
    ...Array.from({ length: 4 }, () => stalledReader(server, token, '/sync/delta', '{"lastSyncTime":null}')),
    // From scratch too, which shows only once its time is compared with the account's newest stamp.
    ...Array.from({ length: 2 }, () => stalledReader(server, token, '/sync/delta', '{"lastSyncTime":"2999-01-01T00:00:00.000Z"}')),
  ]);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await answeredMeanwhile(server, other.token);
    // The stalled account's own writes go on: its waiting from-scratch deltas hold no lock, whichever way they are from scratch.
    const delta = await upload(server, stalled[0]!.token, { lastSyncTime: seen.serverTime, gyms: [{ id: 'new', updatedAt: '2024-01-16T10:00:00.000Z' }] }, '/sync/delta');
    assert.equal(delta.status, 200);
  } finally {
    // Before the server closes, which waits for every connection to end.
    readers.forEach((r) => r.destroy());
  }
});

async function answeredMeanwhile(server: TestServer, token: string): Promise<void> {
  const health = await fetch(`${server.url}/health`, { headers: { authorization: `Bearer ${token}` }, signal: GIVE_UP(10_000) });
  assert.equal(health.status, 200);
  const delta = await upload(server, token, { lastSyncTime: null, gyms: [] }, '/sync/delta');
  assert.equal(delta.status, 200);
  assert.equal(((await delta.json()) as { gyms: unknown[] }).gyms.length, 3);
  const full = await fetch(`${server.url}/sync`, { headers: { authorization: `Bearer ${token}` }, signal: GIVE_UP(10_000) });
  assert.equal(((await full.json()) as { gyms: unknown[] }).gyms.length, 3, "another account's whole download");
  assert.equal((await upload(server, token, { gyms: gyms(4, 'more') })).status, 200, "another account's full upload");
}
