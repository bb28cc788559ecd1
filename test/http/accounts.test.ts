import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DEVICE_TOKEN_PREFIX } from '../../src/auth/secrets.js';
import { download, TINY_IMAGES, upload } from '../images/fixtures.js';
import { addAccount, addDevice, cli } from '../helpers/cli.js';
import { startChildServer } from '../helpers/child-server.js';
import { everyRowAsText, startTestServer, storeRow, tempDir, TEST_TOKEN, type TestServer } from '../helpers/server.js';
import { ON_POSTGRES } from '../helpers/test-store.js';

function as(server: TestServer, token: string) {
  return (pathAndQuery: string, init: RequestInit = {}): Promise<Response> =>
    fetch(server.url + pathAndQuery, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
}

const gym = (id: string, name: string, updatedAt = '2024-05-01T10:00:00.000Z') => ({ id, name, updatedAt });

test('two accounts with the same item ids and image names never see or touch each other', async (t) => {
  const server = await startTestServer(t);
  const anna = as(server, (await addAccount(server.store, 'anna')).token);
  const ben = as(server, (await addAccount(server.store, 'ben')).token);
  const post = (f: typeof anna, route: string, body: unknown) => f(route, { method: 'POST', body: JSON.stringify(body) });

  assert.equal((await anna('/sync')).status, 404, 'a new account has no data yet');
  assert.equal((await post(anna, '/sync', { gyms: [gym('g1', 'Anna gym'), gym('g2', 'Anna two')] })).status, 200);
  assert.equal((await ben('/sync')).status, 404, "another account's upload is not ben's data");
  const delta = (await (await post(ben, '/sync/delta', { gyms: [gym('g1', 'Ben gym')] })).json()) as { gyms: unknown[] };
  assert.deepEqual(delta.gyms, [], "ben's delta from the beginning holds nothing of anna's");
  // Ben deletes g2 and uploads in full with no g1: anna's g1 and g2 stay.
  await post(ben, '/sync/delta', { deletedItems: [{ id: 'g2', type: 'gym', deletedAt: '2024-05-02T00:00:00Z' }] });
  await post(ben, '/sync', { gyms: [] });
  const annas = (await (await anna('/sync')).json()) as { gyms: { name: string }[]; deletedItems: unknown[] };
  assert.deepEqual(annas.gyms.map((g) => g.name), ['Anna gym', 'Anna two']);
  assert.deepEqual(annas.deletedItems, []);
  // Default (AUTH_TOKEN) is an account like the others.
  assert.equal((await server.fetch('/sync')).status, 404);

  assert.equal((await upload({ fetch: anna }, 'wall.png', TINY_IMAGES['image/png'])).status, 200);
  assert.equal((await download({ fetch: ben }, 'wall.png')).status, 404);
  assert.equal((await download(server, 'wall.png')).status, 404);
  assert.equal((await upload({ fetch: ben }, 'wall.png', TINY_IMAGES['image/gif'])).status, 200);
  assert.equal((await download({ fetch: anna }, 'wall.png')).headers.get('content-type'), 'image/png');
  assert.equal((await download({ fetch: ben }, 'wall.png')).headers.get('content-type'), 'image/gif');
  // default keeps IMAGES_DIR itself; the others live where no image name reaches.
  if (!ON_POSTGRES) assert.deepEqual(readdirSync(server.config.imagesDir), ['.accounts']);
});

test('a device revoked, or an account removed, by the CLI in another process is refused from the next request', async (t) => {
  const server = await startTestServer(t);
  const env = { DATA_DIR: server.dataDir };
  const { account, token, deviceId } = await addAccount(server.store, 'anna');
  const other = await addDevice(server.store, account);
  assert.equal((await as(server, token)('/health')).status, 200);

  const revoked = await cli(['devices', 'revoke', 'anna', deviceId, '--json'], env);
  assert.deepEqual([revoked.code, revoked.stdout, revoked.stderr], [0, `{"revoked":"${deviceId}"}\n`, '']);
  assert.equal((await as(server, token)('/health')).status, 401);
  assert.equal((await as(server, other.token)('/health')).status, 200, "the account's other device still works");

  const removed = await cli(['accounts', 'remove', 'anna', '--yes'], env);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal((await as(server, other.token)('/health')).status, 401);
  assert.equal((await server.fetch('/health')).status, 200);
});

test('a token used many times is refused from the next request after a revocation or a removal, and carries a new quota at once, whoever made the change', async (t) => {
  const server = await startTestServer(t);
  const env = { DATA_DIR: server.dataDir };
  const { account, token } = await addAccount(server.store, 'anna');
  const second = await addDevice(server.store, account);
  const third = await addDevice(server.store, account);
  const health = async (deviceToken: string): Promise<number> => (await as(server, deviceToken)('/health')).status;
  // The first request writes "last seen"; the later ones are those a server could answer from memory.
  const useOften = async (deviceToken: string): Promise<void> => {
    for (let i = 0; i < 3; i++) assert.equal(await health(deviceToken), 200);
  };

  await useOften(token);
  assert.equal((await upload({ fetch: as(server, token) }, 'a.png', TINY_IMAGES['image/png'])).status, 200);
  await useOften(token);
  const limited = await cli(['accounts', 'set', 'anna', '--max-image-bytes', String(TINY_IMAGES['image/png'].length + 10)], env);
  assert.equal(limited.code, 0, limited.stderr);
  const refused = await upload({ fetch: as(server, token) }, 'b.png', TINY_IMAGES['image/png']);
  assert.equal(refused.status, 413, 'the quota set by the CLI counts from the next upload');
  assert.equal(((await refused.json()) as { code: string }).code, 'quota_exceeded');

  await useOften(second.token);
  assert.equal(await server.store.accounts.revoke(account.id, second.deviceId), 'revoked');
  assert.equal(await health(second.token), 401, 'revoked in this process');

  await useOften(third.token);
  assert.equal((await cli(['devices', 'revoke', 'anna', third.deviceId], env)).code, 0);
  assert.equal(await health(third.token), 401, 'revoked by the CLI');

  await useOften(token);
  assert.equal((await cli(['accounts', 'remove', 'anna', '--yes'], env)).code, 0);
  assert.equal(await health(token), 401, 'account removed by the CLI');
  assert.equal(await health(TEST_TOKEN), 200);
});

test('tokens are asy_ and 43 base64url characters, and neither the database, its WAL nor a trace log holds one', async (t) => {
  const server = await startTestServer(t, { logLevel: 'trace' });
  const made = await cli(['accounts', 'add', 'anna', '--json'], { DATA_DIR: server.dataDir });
  const { device } = JSON.parse(made.stdout) as { device: { token: string } };
  assert.match(device.token, /^asy_[A-Za-z0-9_-]{43}$/);
  assert.equal(Buffer.from(device.token.slice(DEVICE_TOKEN_PREFIX.length), 'base64url').length, 32);
  const anna = as(server, device.token);
  await anna('/sync', { method: 'POST', body: JSON.stringify({ gyms: [gym('g1', 'x')] }) });
  await anna('/sync/delta', { method: 'POST', body: '{}' });
  await anna(`/sync?token=${device.token}`);
  await fetch(`${server.url}/health`, { headers: { authorization: `Bearer ${device.token}x` } });
  await upload({ fetch: anna }, 'a.png', TINY_IMAGES['image/png']);

  const raw = Buffer.from(device.token.slice(DEVICE_TOKEN_PREFIX.length), 'base64url');
  const forms = [device.token, device.token.slice(DEVICE_TOKEN_PREFIX.length), raw.toString('hex'), raw.toString('base64')];
  const db = ON_POSTGRES ? await everyRowAsText(server) : readFileSync(path.join(server.dataDir, 'ascently.db'));
  // PostgreSQL's own WAL is the server's, outside the test's reach: the rows stand for both there.
  const wal = ON_POSTGRES ? db : readFileSync(path.join(server.dataDir, 'ascently.db-wal'));
  assert.ok(wal.length > 0, 'the WAL holds the recent writes');
  const logs = server.logs.join('');
  assert.ok(logs.includes('"level":10') || logs.includes('"route"'), 'the log was written');
  for (const form of forms) {
    for (const [where, bytes] of [['database', db], ['WAL', wal], ['log', Buffer.from(logs)]] as const) {
      assert.equal(bytes.includes(form), false, `${form.slice(0, 8)}… in the ${where}`);
      assert.equal(bytes.includes(raw), false, `the raw token bytes in the ${where}`);
    }
  }
});

test('last seen is written once a minute per device, not on every request', async (t) => {
  let clock = Date.parse('2025-01-01T00:00:00Z');
  const server = await startTestServer(t, {}, { now: () => clock });
  const { account, token } = await addAccount(server.store, 'anna');
  const seen = async () => (await server.store.accounts.listDevices(account.id)).map((d) => d.lastSeenAt);
  const changes = async () => ((await storeRow(server, 'SELECT last_seen_at FROM devices WHERE dataset_id = $1', [account.id])) as { last_seen_at: number }).last_seen_at;
  await as(server, token)('/sync/delta', { method: 'POST', body: '{}' });
  assert.deepEqual(await seen(), [clock]);
  const first = clock;
  for (let i = 0; i < 5; i++) {
    clock += 10_000;
    assert.equal((await as(server, token)('/sync/delta', { method: 'POST', body: '{}' })).status, 200);
  }
  assert.equal(await changes(), first, 'five deltas within the minute: last seen untouched');
  clock += 10_000;
  await as(server, token)('/health');
  assert.deepEqual(await seen(), [clock]);
  const listed = JSON.parse((await cli(['devices', 'list', 'anna', '--json'], { DATA_DIR: server.dataDir })).stdout) as { lastSeenAt: string; lastSeenFrom: string }[];
  assert.deepEqual(listed.map((d) => [d.lastSeenAt, d.lastSeenFrom]), [[new Date(clock).toISOString(), '127.0.0.1']]);
});

test('without AUTH_TOKEN the server starts when a device exists, and the AUTH_TOKEN device goes with the variable', async (t) => {
  const dataDir = tempDir(t);
  const withEnv = await startChildServer(dataDir);
  assert.equal((await withEnv.fetch('/health')).status, 200);
  await withEnv.stop();
  const listed = await cli(['devices', 'list', 'default', '--json'], { DATA_DIR: dataDir });
  assert.deepEqual((JSON.parse(listed.stdout) as { name: string }[]).map((d) => d.name), ['AUTH_TOKEN']);
  const revokeEnv = await cli(['devices', 'revoke', 'default', 'auth-token'], { DATA_DIR: dataDir });
  assert.equal(revokeEnv.code, 1);
  assert.match(revokeEnv.stderr, /^ascently-sync: the AUTH_TOKEN device comes from the environment.*\n$/);

  const made = JSON.parse((await cli(['accounts', 'add', 'anna', '--json'], { DATA_DIR: dataDir })).stdout) as { device: { token: string } };
  const child = await startChildServer(dataDir, { AUTH_TOKEN: '' });
  t.after(() => child.stop());
  assert.equal((await child.fetch('/health')).status, 401, 'the old AUTH_TOKEN no longer works');
  assert.equal((await child.fetch('/health', { headers: { authorization: `Bearer ${made.device.token}` } })).status, 200);
  assert.equal((await child.fetch('/health', { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).status, 401);
  // Docker's healthcheck has no device token to send: the server's JSON 401 shows it is up.
  const port = new URL(child.url).port;
  assert.equal((await cli(['healthcheck'], { DATA_DIR: dataDir, PORT: port })).code, 0);
  assert.equal((await cli(['healthcheck'], { DATA_DIR: dataDir, PORT: port, AUTH_TOKEN: 'not-the-token' })).code, 1);
});
