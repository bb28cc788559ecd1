import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { tempDir, TEST_TOKEN } from '../helpers/server.js';
import { databaseUrlFor, ON_POSTGRES } from '../helpers/test-store.js';

const METRICS_TOKEN = 'metrics-secret-5a4b3c2d1e';
const DATABASE_PASSWORD = 'db-password-9f8e7d6c5b';

async function startupLine(server: ChildServer): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const line = server.output().split('\n').find((l) => l.includes('ascently-sync started'));
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`no start-up line in:\n${server.output()}`);
}

/** The secret as it could leak: as is, in base64, in hex, or any 12-character piece of it. */
function assertAbsent(text: string, secret: string, what: string): void {
  const forms = [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('hex')];
  for (let i = 0; i + 12 <= secret.length; i++) forms.push(secret.slice(i, i + 12));
  for (const form of forms) assert.ok(!text.includes(form), `${what} leaks in the start-up line as ${form}`);
}

test('the start-up line: effective settings, where the data is, accounts and devices, the address; no secret', async (t) => {
  const dataDir = tempDir(t);
  // A password in the URL and in its parameters (trust authentication ignores both).
  const database = ON_POSTGRES ? new URL(databaseUrlFor(dataDir)) : undefined;
  if (database) {
    database.password = DATABASE_PASSWORD;
    database.search = `?password=${DATABASE_PASSWORD}&application_name=startup`;
  }
  const server = await startChildServer(dataDir, { METRICS_TOKEN, MAX_IMAGE_BYTES: '10MB', HISTORY_KEEP: '7', ...(database ? { DATABASE_URL: database.href } : {}) });
  t.after(() => server.kill9());
  const line = await startupLine(server);
  const entry = JSON.parse(line) as Record<string, unknown>;
  const settings = entry['settings'] as Record<string, unknown>;
  assert.equal(settings['MAX_IMAGE_BYTES'], 10_000_000);
  assert.equal(settings['HISTORY_KEEP'], 7);
  assert.equal(settings['DATA_DIR'], dataDir);
  assert.equal(settings['AUTH_TOKEN'], '(set)');
  assert.equal(settings['METRICS_TOKEN'], '(set)');
  assert.equal(settings['LOG_FORMAT'], 'json');
  // With PostgreSQL, where the data is: user, host, port and database, never a password.
  const shown = database ? `postgres://${database.username}@${database.host}${database.pathname}` : undefined;
  assert.equal(entry['database'], shown ?? path.join(dataDir, 'ascently.db'));
  assert.equal(entry['images'], shown ? `in the database (${shown})` : path.join(dataDir, 'images'));
  assertAbsent(line, DATABASE_PASSWORD, 'the database password');
  assert.equal(settings['DATABASE_URL'], ON_POSTGRES ? '(set)' : '(not set)');
  assert.equal(entry['accounts'], 1);
  assert.equal(entry['devices'], 1, 'the AUTH_TOKEN device');
  assert.deepEqual(entry['listening'], [server.url]);
  assert.equal(line.split('\n').length, 1);
  assertAbsent(line, TEST_TOKEN, 'AUTH_TOKEN');
  assertAbsent(line, METRICS_TOKEN, 'METRICS_TOKEN');
});

test('no secret in the start-up line whether the token comes from a file or is generated', async (t) => {
  const dir = tempDir(t);
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, 'file-token-0123456789abcdef\n');
  const fromFile = await startChildServer(path.join(dir, 'a'), { AUTH_TOKEN: '', AUTH_TOKEN_FILE: tokenFile, METRICS_TOKEN });
  t.after(() => fromFile.kill9());
  const fileLine = await startupLine(fromFile);
  assertAbsent(fileLine, 'file-token-0123456789abcdef', 'the token file');
  assert.match(fileLine, /"AUTH_TOKEN_FILE":"[^"]+token"/, 'the path is shown, not what it holds');

  const generatedDir = path.join(dir, 'b');
  const generated = await startChildServer(generatedDir, { AUTH_TOKEN: '' }, ['--generate-token']);
  t.after(() => generated.kill9());
  const generatedLine = await startupLine(generated);
  assertAbsent(generatedLine, readFileSync(path.join(generatedDir, 'auth-token'), 'utf8').trim(), 'the generated token');
  assert.match(generatedLine, /"METRICS_TOKEN":"\(not set\)"/);
});

test('LOG_FORMAT=pretty writes readable lines instead of JSON', async (t) => {
  const server = await startChildServer(tempDir(t), { LOG_FORMAT: 'pretty', METRICS_TOKEN });
  t.after(() => server.kill9());
  const line = await startupLine(server);
  assert.throws(() => JSON.parse(line));
  assert.match(line, /INFO.*ascently-sync started/);
  assert.ok((await server.fetch('/health')).ok);
  assertAbsent(server.output(), METRICS_TOKEN, 'METRICS_TOKEN');
  assertAbsent(server.output(), TEST_TOKEN, 'AUTH_TOKEN');
});
