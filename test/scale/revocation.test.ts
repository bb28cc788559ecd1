import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addAccount, addDevice, cli } from '../helpers/cli.js';
import { openTestStore, tempDir } from '../helpers/server.js';
import { ON_POSTGRES } from '../helpers/test-store.js';
import { Fleet, POSTGRES_ONLY } from './fleet.js';

/*
 * Revocation through the CLI takes effect on the next request on every process
 * (scale-out.md): no process keeps a token it once accepted.
 */
test('a device revoked, or an account removed, through the CLI is refused on the next request by every process', { skip: !ON_POSTGRES && POSTGRES_ONLY, timeout: 120_000 }, async (t) => {
  const dataDir = tempDir(t);
  const store = await openTestStore(dataDir);
  const { account, token, deviceId } = await addAccount(store, 'anna');
  const other = await addDevice(store, account);
  await store.close();
  const fleet = await Fleet.start(t, dataDir, [0, 0, 0]);
  const statuses = (bearer: string): Promise<number[]> =>
    Promise.all(fleet.servers.map(async (server) => (await server.fetch('/sync/delta', { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: '{}' })).status));

  // Every process has accepted both devices, so any cache would now hold them.
  assert.deepEqual(await statuses(token), [200, 200, 200]);
  assert.deepEqual(await statuses(other.token), [200, 200, 200]);

  const revoked = await cli(['devices', 'revoke', 'anna', deviceId], { DATA_DIR: dataDir });
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.deepEqual(await statuses(token), [401, 401, 401], 'the revoked device is refused by every process');
  assert.deepEqual(await statuses(other.token), [200, 200, 200], "the account's other device still works everywhere");

  const removed = await cli(['accounts', 'remove', 'anna', '--yes'], { DATA_DIR: dataDir });
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual(await statuses(other.token), [401, 401, 401], "a removed account's devices are refused by every process");
  assert.deepEqual(
    await Promise.all(fleet.servers.map(async (server) => (await server.fetch('/health')).status)),
    [200, 200, 200],
    'AUTH_TOKEN still works',
  );
});
