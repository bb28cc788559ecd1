import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { startChildServer } from '../helpers/child-server.js';
import { cli } from '../helpers/cli.js';
import { tempDir, TEST_TOKEN } from '../helpers/server.js';

test('`token` prints a new random 256-bit token', async () => {
  const first = await cli(['token'], {});
  const second = await cli(['token'], {});
  assert.equal(first.code, 0);
  assert.match(first.stdout, /^[0-9a-f]{64}\n$/);
  assert.notEqual(first.stdout, second.stdout);
});

const startErrors: [string, Record<string, string>, RegExp][] = [
  ['a bad PORT', { PORT: 'http', AUTH_TOKEN: 'x' }, /PORT \(--port\): "http" is not a port; use a whole number from 0 to 65535/],
  ['no token and no device', {}, /no token and no device: .*`ascently-sync accounts add NAME`.*AUTH_TOKEN.*--generate-token/],
  ['an unreadable token file', { AUTH_TOKEN_FILE: '/nonexistent/token' }, /AUTH_TOKEN_FILE: cannot read \/nonexistent\/token \(ENOENT\)/],
];
for (const [name, env, message] of startErrors) {
  test(`the server refuses to start with ${name}, saying why in one line`, async (t) => {
    const result = await cli(['serve'], { DATA_DIR: tempDir(t), ...env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  });
}

test('a token file is read and trimmed (Docker secrets)', async (t) => {
  const dir = tempDir(t);
  const tokenFile = path.join(dir, 'secret');
  writeFileSync(tokenFile, `${TEST_TOKEN}\n`);
  const server = await startChildServer(path.join(dir, 'data'), { AUTH_TOKEN: '', AUTH_TOKEN_FILE: tokenFile });
  t.after(() => server.kill9());
  assert.equal((await server.fetch('/health')).status, 200);
});

test('--generate-token makes a 0600 token file, prints it once and reuses it', async (t) => {
  const dataDir = tempDir(t);
  const first = await startChildServer(dataDir, { AUTH_TOKEN: '' }, ['--generate-token']);
  const printed = /\n {4}([0-9a-f]{64})\n/.exec(first.output())?.[1];
  assert.ok(printed, `token printed:\n${first.output()}`);
  const file = path.join(dataDir, 'auth-token');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const ok = await fetch(`${first.url}/health`, { headers: { authorization: `Bearer ${printed}` } });
  assert.equal(ok.status, 200);
  assert.equal((await first.stop()), 0);
  assert.ok(!/"msg":"[^"]*[0-9a-f]{64}/.test(first.output()), 'the token is not in any log line');

  const second = await startChildServer(dataDir, { AUTH_TOKEN: '' }, ['--generate-token']);
  t.after(() => second.kill9());
  assert.ok(!second.output().includes(printed), 'not printed again');
  const again = await fetch(`${second.url}/health`, { headers: { authorization: `Bearer ${printed}` } });
  assert.equal(again.status, 200);
});

test('SIGTERM finishes the request in flight, then exits 0', async (t) => {
  const server = await startChildServer(tempDir(t));
  t.after(() => server.kill9());
  const body = JSON.stringify({ gyms: [{ id: 'g1', name: 'Boulderhalle', updatedAt: '2024-01-15T10:30:00.000Z' }] });
  const answer = new Promise<{ status: number; text: string; connection?: string }>((resolve, reject) => {
    const req = request(`${server.url}/sync/delta`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, connection: res.headers.connection }));
    });
    req.on('error', reject);
    // Half the body now, the rest after the signal: the request is in flight when SIGTERM arrives.
    req.write(body.slice(0, 20));
    setTimeout(() => {
      server.process.kill('SIGTERM');
      setTimeout(() => req.end(body.slice(20)), 300);
    }, 200);
  });
  const exit = new Promise<number | null>((resolve) => server.process.once('exit', (code) => resolve(code)));
  const { status, text, connection } = await answer;
  assert.equal(status, 200);
  assert.equal(connection, 'close', 'the answer tells the client not to wait on this connection');
  assert.deepEqual(JSON.parse(text).gyms, []);
  assert.equal(await exit, 0);
  assert.match(server.output(), /shutting down/);
});
