import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { startChildServer } from '../helpers/child-server.js';
import { cli, oneLine } from '../helpers/cli.js';
import { tempDir, TEST_TOKEN } from '../helpers/server.js';
import { ON_POSTGRES } from '../helpers/test-store.js';
import { patternedJpeg, TINY_IMAGES } from '../images/fixtures.js';

test('`token` prints a new random 256-bit token', async () => {
  const first = await cli(['token'], {});
  const second = await cli(['token'], {});
  assert.equal(first.code, 0);
  assert.match(first.stdout, /^[0-9a-f]{64}\n$/);
  assert.notEqual(first.stdout, second.stdout);
});

test('help and token run whatever the environment holds: help is where a bad setting is explained', async () => {
  const bad = { PORT: 'abc', AUTH_TOKEN: 'x', AUTH_TOKEN_FILE: '/nonexistent' };
  for (const args of [['help'], ['--help'], ['token']]) {
    const result = await cli(args, bad);
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    assert.ok(result.stdout.length > 0);
  }
  assert.equal((await cli(['accounts', 'list'], bad)).code, 2, 'a command that reads the settings still refuses them');
});

const startErrors: [string, Record<string, string>, RegExp][] = [
  ['a bad PORT', { PORT: 'http', AUTH_TOKEN: 'x' }, /PORT \(--port\): "http" is not a port; use a whole number from 0 to 65535/],
  ['no token and no device', {}, /no token and no device: .*`ascently-sync accounts add NAME`.*AUTH_TOKEN.*--generate-token/],
  ['an unreadable token file', { AUTH_TOKEN_FILE: '/nonexistent/token' }, /AUTH_TOKEN_FILE: cannot read \/nonexistent\/token \(ENOENT\)/],
  ['a token no HTTP header can carry', { AUTH_TOKEN: 'tökén with spaces and more than 32 characters' }, /AUTH_TOKEN: the token must be printable ASCII without spaces/],
  // Not "cannot reach PostgreSQL": the name lookup that fails is the listener's.
  ['a HOST that does not resolve', { HOST: 'no-such-host.invalid', AUTH_TOKEN: 'x'.repeat(32) }, /HOST "no-such-host\.invalid" is not an address of this machine or a name it resolves/],
];
for (const [name, env, message] of startErrors) {
  test(`the server refuses to start with ${name}, saying why in one line`, async (t) => {
    const result = await cli(['serve'], { DATA_DIR: tempDir(t), ...env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  });
}

test('DATA_DIR or IMAGES_DIR naming a file is refused, naming the setting', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'a-file');
  writeFileSync(file, 'not a folder');
  const cases: [Record<string, string>, string][] = [[{ DATA_DIR: file }, 'DATA_DIR']];
  // With DATABASE_URL images are kept in the database, and IMAGES_DIR is not read.
  if (!ON_POSTGRES) cases.push([{ DATA_DIR: path.join(dir, 'data'), IMAGES_DIR: file }, 'IMAGES_DIR']);
  for (const [env, setting] of cases) {
    const result = await cli(['serve'], { ...env, AUTH_TOKEN: TEST_TOKEN });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`^ascently-sync: ${setting} \\(--[a-z-]+\\) is .*a-file, which is a file: give a folder`));
  }
});

test('a token file of two lines is refused: no header can carry the token it makes', async (t) => {
  const dir = tempDir(t);
  const tokenFile = path.join(dir, 'secret');
  writeFileSync(tokenFile, `${TEST_TOKEN}\n${TEST_TOKEN}\n`);
  const result = await cli(['serve'], { DATA_DIR: path.join(dir, 'data'), AUTH_TOKEN_FILE: tokenFile });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^ascently-sync: AUTH_TOKEN_FILE \(.*secret\): the token must be printable ASCII without spaces or line breaks/);
});

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
  assert.ok(!second.output().includes(printed), 'not printed again');
  const again = await fetch(`${second.url}/health`, { headers: { authorization: `Bearer ${printed}` } });
  assert.equal(again.status, 200);
  assert.equal(await second.stop(), 0);

  // A plain restart, as a supervisor or `npm start` does it: the kept token, no flag needed.
  const plain = await startChildServer(dataDir, { AUTH_TOKEN: '' });
  t.after(() => plain.kill9());
  assert.match(plain.output(), /Using the token kept in .*auth-token/);
  assert.equal((await fetch(`${plain.url}/health`, { headers: { authorization: `Bearer ${printed}` } })).status, 200);
});

test('a token shorter than 32 characters is accepted with a warning; a long one without', async (t) => {
  const short = await startChildServer(tempDir(t), { AUTH_TOKEN: 'abc' });
  t.after(() => short.kill9());
  assert.match(short.output(), /Warning: the token from AUTH_TOKEN is only 3 characters long and may be guessed; use at least 32/);
  assert.equal((await fetch(`${short.url}/health`, { headers: { authorization: 'Bearer abc' } })).status, 200);
  const long = await startChildServer(tempDir(t), { AUTH_TOKEN: 'a'.repeat(32) });
  t.after(() => long.kill9());
  assert.doesNotMatch(long.output(), /Warning/);
});

// With PostgreSQL, the database and the images are the database server's files, not ours.
const SQLITE_FILES = ON_POSTGRES && 'about the SQLite file and image folder in DATA_DIR';

test('the data folder is private: the folder 0700, the database, its WAL and the images 0600', { skip: SQLITE_FILES }, async (t) => {
  const dataDir = path.join(tempDir(t), 'data');
  const server = await startChildServer(dataDir);
  t.after(() => server.kill9());
  const body = JSON.stringify({ gyms: [{ id: 'g1', name: 'Gym', updatedAt: '2024-01-15T10:00:00.000Z' }] });
  assert.equal((await server.fetch('/sync', { method: 'POST', body, headers: { 'content-type': 'application/json' } })).status, 200);
  assert.equal((await server.fetch('/images/upload?filename=a.png', { method: 'POST', body: TINY_IMAGES['image/png'] })).status, 200);
  const mode = (file: string): string => (statSync(path.join(dataDir, file)).mode & 0o777).toString(8);
  assert.equal(mode('.'), '700');
  assert.equal(mode('images'), '700');
  for (const file of ['ascently.db', 'ascently.db-wal', 'ascently.db-shm', 'images/a.png']) assert.equal(mode(file), '600', file);
});

test('IMAGES_DIR that is DATA_DIR (or holds it) is refused at start: devices could download the database by name', { skip: SQLITE_FILES }, async (t) => {
  const dataDir = tempDir(t);
  const linked = path.join(tempDir(t), 'same-data');
  symlinkSync(dataDir, linked);
  for (const imagesDir of [dataDir, `${dataDir}/`, path.dirname(dataDir), linked, path.join(dataDir, 'thumbnails', 'x')]) {
    const result = await cli(['serve'], { DATA_DIR: dataDir, IMAGES_DIR: imagesDir, AUTH_TOKEN: TEST_TOKEN });
    assert.equal(result.code, 2, imagesDir);
    assert.match(result.stderr, /^ascently-sync: IMAGES_DIR \(--images-dir\) is /, imagesDir);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.ok(!existsSync(path.join(dataDir, 'ascently.db')), 'nothing is made');
  }
  const dataFile = await cli(['serve'], { DATA_DIR: dataDir, DATA_FILE: path.join(linked, 'images', 'ascently.json'), AUTH_TOKEN: TEST_TOKEN });
  assert.equal(dataFile.code, 2);
  assert.match(dataFile.stderr, /^ascently-sync: DATA_FILE \(--data-file\) is inside IMAGES_DIR/);
  // The token file too: any device of the account could download the AUTH_TOKEN device's token.
  const images = path.join(dataDir, 'images');
  mkdirSync(images, { recursive: true });
  writeFileSync(path.join(images, 'token.txt'), `${TEST_TOKEN}\n`);
  const tokenFile = await cli(['serve'], { DATA_DIR: dataDir, AUTH_TOKEN: '', AUTH_TOKEN_FILE: path.join(images, 'token.txt') });
  assert.equal(tokenFile.code, 2);
  assert.match(tokenFile.stderr, /^ascently-sync: AUTH_TOKEN_FILE \(--auth-token-file\) is inside IMAGES_DIR/);
});

test('a database left readable by an earlier version is made private at start', { skip: SQLITE_FILES }, async (t) => {
  const dataDir = tempDir(t);
  const first = await startChildServer(dataDir);
  await first.kill9();
  chmodSync(path.join(dataDir, 'ascently.db'), 0o644);
  const second = await startChildServer(dataDir);
  t.after(() => second.kill9());
  assert.equal(statSync(path.join(dataDir, 'ascently.db')).mode & 0o777, 0o600);
});

test('a port in use is one line and exit code 5, without a stack; LOG_LEVEL=debug adds the stack', async (t) => {
  const server = await startChildServer(tempDir(t));
  t.after(() => server.kill9());
  const port = new URL(server.url).port;
  const taken = await cli(['serve'], { DATA_DIR: tempDir(t), AUTH_TOKEN: 'x'.repeat(32), PORT: port });
  assert.equal(taken.code, 5);
  assert.equal(oneLine(taken), `ascently-sync: cannot listen on 127.0.0.1:${port}: the port is in use by another program; stop it or set PORT to a free port`);
  const debug = await cli(['serve'], { DATA_DIR: tempDir(t), AUTH_TOKEN: 'x'.repeat(32), PORT: port, LOG_LEVEL: 'debug' });
  assert.equal(debug.code, 5);
  assert.match(debug.stderr, /EADDRINUSE[\s\S]*\n {4}at /);
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

test('SIGTERM during a download whose headers are already out: the download completes and the process exits 0', async (t) => {
  const server = await startChildServer(tempDir(t));
  t.after(() => server.kill9());
  const image = patternedJpeg(8_000_000, 7);
  const uploaded = await server.fetch('/images/upload?filename=big.jpg', { method: 'POST', body: image });
  assert.equal(uploaded.status, 200);
  const exit = new Promise<number | null>((resolve) => server.process.once('exit', (code) => resolve(code)));
  // A client that reads slowly: the answer's headers went out before the signal, so
  // they could not say Connection: close, and its connection must not be left open
  // as an idle keep-alive once the body is sent (the stop would wait on it, then give up).
  const body = await new Promise<Buffer>((resolve, reject) => {
    const req = request(`${server.url}/images/download?filename=big.jpg`, { headers: { authorization: `Bearer ${TEST_TOKEN}` }, agent: new Agent({ keepAlive: true }) });
    req.on('response', (res) => {
      res.pause();
      server.process.kill('SIGTERM');
      setTimeout(() => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.resume();
      }, 300);
    });
    req.on('error', reject);
    req.end();
  });
  assert.ok(body.equals(image), 'the whole image arrives');
  assert.equal(await exit, 0, server.output());
});

test('SIGTERM the moment the server listens, before its start-up line, is still a graceful stop', async (t) => {
  // startChildServer resolves on the "Server listening" line; the start-up summary
  // (which reads the store) comes after it, so the signal lands while start-up ends.
  for (let round = 0; round < 10; round++) {
    const server = await startChildServer(tempDir(t));
    t.after(() => server.kill9());
    server.process.kill('SIGTERM');
    assert.equal(await server.stop(), 0, `round ${round}: ${server.output()}`);
    assert.match(server.output(), /shutting down/);
  }
});

test('healthcheck says in one line whether the server is healthy, and why not', async (t) => {
  const dataDir = tempDir(t);
  const server = await startChildServer(dataDir);
  t.after(() => server.kill9());
  const port = new URL(server.url).port;
  const healthy = await cli(['healthcheck'], { DATA_DIR: dataDir, AUTH_TOKEN: TEST_TOKEN, PORT: port });
  assert.equal(healthy.code, 0);
  assert.match(healthy.stdout, new RegExp(`^healthy: http://127\\.0\\.0\\.1:${port}/health answered 200 in \\d+ ms\\n$`));
  const refused = await cli(['healthcheck'], { DATA_DIR: dataDir, AUTH_TOKEN: 'wrong', PORT: port });
  assert.equal(refused.code, 1);
  assert.match(oneLine(refused), /^unhealthy: .* refused the token \(401\)/);
  await server.kill9();
  const down = await cli(['healthcheck'], { DATA_DIR: dataDir, AUTH_TOKEN: TEST_TOKEN, PORT: port });
  assert.equal(down.code, 1);
  assert.match(oneLine(down), /^unhealthy: nothing answers at .* \(connection refused\); is the server running/);
});
