import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { secretHash } from '../../src/auth/secrets.js';
import { resolveToken } from '../../src/auth/identity.js';
import type { NewDevice } from '../../src/store/account-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { parseDocument, validateDelta } from '../../src/sync/validate.js';
import { Readable } from 'node:stream';
import { TINY_IMAGES } from '../images/fixtures.js';
import { openTestStore, tempDir } from '../helpers/server.js';

const TINY_PNG = TINY_IMAGES['image/png'];

/**
 * The account part of the Store, through the interface only, so that another
 * backend can run the same file with its own factory.
 */
/** A delta from scratch straight to the store, as SyncService makes it: its streamed answer's share reserved first, where the store has such shares. */
async function deltaFromScratch(store: Store, accountId: number, text: string, now: number): ReturnType<Store['applyDelta']> {
  return store.applyDelta(accountId, validateDelta(parseDocument(text), text), now, await store.reserveStreamedAnswer?.(accountId));
}

async function openStore(t: TestContext): Promise<Store> {
  const dataDir = tempDir(t);
  const store = await openTestStore(dataDir);
  t.after(() => store.close());
  return store;
}

const NO_QUOTAS = { maxBytes: null, maxImageBytes: null };
const device = (id: string, token = `token-${id}`): NewDevice => ({ id, name: `phone ${id}`, tokenHash: secretHash(token) });

test('an account is made with its first device; a taken name is refused and changes nothing', async (t) => {
  const store = await openStore(t);
  const made = await store.accounts.create('anna', device('d1'), { maxBytes: 1000, maxImageBytes: null }, 1_000);
  assert.deepEqual(made && { name: made.name, createdAt: made.createdAt, maxBytes: made.maxBytes, maxImageBytes: made.maxImageBytes }, {
    name: 'anna',
    createdAt: 1_000,
    maxBytes: 1000,
    maxImageBytes: null,
  });
  assert.equal(await store.accounts.create('anna', device('d2'), NO_QUOTAS, 2_000), undefined);
  assert.equal(await store.accounts.findByTokenHash(secretHash('token-d2')), undefined, 'the refused device was not kept');
  const list = await store.accounts.list();
  assert.deepEqual(
    list.map((a) => [a.name, a.devices, a.items, a.tombstones, a.bytes, a.lastSyncAt, a.maxBytes]),
    [
      ['anna', 1, 0, 0, 0, null, 1000],
      ['default', 0, 0, 0, 0, null, null],
    ],
  );
});

test('a token resolves to its account and device by its hash; an unknown one to nothing', async (t) => {
  const store = await openStore(t);
  const anna = (await store.accounts.create('anna', device('d1'), NO_QUOTAS, 1))!;
  const owner = await store.accounts.findByTokenHash(secretHash('token-d1'));
  assert.deepEqual(owner, { accountId: anna.id, accountName: 'anna', deviceId: 'd1', lastSeenAt: null, maxImageBytes: null });
  assert.equal(await store.accounts.findByTokenHash(secretHash('token-d1 ')), undefined);
});

test('last seen is written at most once a minute per device', async (t) => {
  const store = await openStore(t);
  await store.accounts.create('anna', device('d1'), NO_QUOTAS, 1);
  const seen = async (): Promise<[number | null, string | null]> => {
    const d = (await store.accounts.listDevices((await store.accounts.find('anna'))!.id))[0]!;
    return [d.lastSeenAt, d.lastSeenFrom];
  };
  await resolveToken(store.accounts, 'token-d1', '10.0.0.1', 100_000);
  assert.deepEqual(await seen(), [100_000, '10.0.0.1']);
  await resolveToken(store.accounts, 'token-d1', '10.0.0.2', 159_999);
  assert.deepEqual(await seen(), [100_000, '10.0.0.1'], 'within the minute: no write');
  await resolveToken(store.accounts, 'token-d1', '10.0.0.2', 160_000);
  assert.deepEqual(await seen(), [160_000, '10.0.0.2']);
});

test('revoking a device ends its web sessions; the AUTH_TOKEN device is not revocable; unknown ids are not found', async (t) => {
  const store = await openStore(t);
  const anna = (await store.accounts.create('anna', device('d1'), NO_QUOTAS, 1))!;
  await store.accounts.addDevice(anna.id, device('d2'), 2);
  await store.accounts.createWebSession({ id: 'w1', idHash: secretHash('cookie-1'), accountId: anna.id, deviceId: 'd1', from: '10.0.0.1' }, 3);
  await store.accounts.createWebSession({ id: 'w2', idHash: secretHash('cookie-2'), accountId: anna.id, deviceId: 'd2', from: '10.0.0.1' }, 4);
  assert.deepEqual(
    (await store.accounts.listDevices(anna.id)).map((d) => [d.id, d.kind]),
    [
      ['d1', 'device'],
      ['d2', 'device'],
      ['w1', 'web'],
      ['w2', 'web'],
    ],
  );
  assert.equal(await store.accounts.revoke(anna.id, 'd1'), 'revoked');
  assert.equal(await store.accounts.findByTokenHash(secretHash('token-d1')), undefined);
  assert.equal(await store.accounts.findWebSession(secretHash('cookie-1'), 5, 1e9, 'x'), undefined);
  assert.equal(await store.accounts.revoke(anna.id, 'w2'), 'revoked', 'a web session is revoked by its own id');
  assert.equal(await store.accounts.findWebSession(secretHash('cookie-2'), 5, 1e9, 'x'), undefined);
  assert.ok(await store.accounts.findByTokenHash(secretHash('token-d2')), 'the other device stays');

  const defaultId = await store.datasetId('default');
  await store.accounts.setEnvironmentDevice(defaultId, secretHash('env-token'), 6);
  const env = (await store.accounts.listDevices(defaultId))[0]!;
  assert.deepEqual([env.name, env.fromEnvironment], ['AUTH_TOKEN', true]);
  assert.equal(await store.accounts.revoke(defaultId, env.id), 'from_environment');
  assert.equal(await store.accounts.revoke(anna.id, env.id), 'not_found', "another account's device is not found");
  assert.equal(await store.accounts.revoke(anna.id, 'nope'), 'not_found');
  await store.accounts.setEnvironmentDevice(defaultId, undefined, 7);
  assert.equal(await store.accounts.findByTokenHash(secretHash('env-token')), undefined, 'gone from the environment, gone');
});

test('a web session for a device revoked, or an account removed, since its token was checked is not opened, and fails nothing', async (t) => {
  const store = await openStore(t);
  const anna = (await store.accounts.create('anna', device('d1'), NO_QUOTAS, 1))!;
  await store.accounts.addDevice(anna.id, device('d2'), 2);
  const session = (id: string, deviceId: string) => ({ id, idHash: secretHash(`cookie-${id}`), accountId: anna.id, deviceId, from: 'a' });
  await store.accounts.createWebSession(session('w1', 'd1'), 3);
  assert.equal((await store.accounts.findWebSession(secretHash('cookie-w1'), 3, 1e9, 'x'))?.sessionId, 'w1');
  assert.equal(await store.accounts.revoke(anna.id, 'd1'), 'revoked');
  assert.equal(await store.accounts.createWebSession(session('w2', 'd1'), 4), false, 'its device was revoked');
  assert.equal(await store.accounts.createWebSession({ ...session('w3', 'd2'), accountId: await store.datasetId('default') }, 4), false, "another account's device");
  assert.equal(await store.accounts.remove(anna.id, 5), true);
  assert.equal(await store.accounts.createWebSession(session('w4', 'd2'), 6), false, 'its account was removed');
  for (const id of ['w1', 'w2', 'w3', 'w4']) assert.equal(await store.accounts.findWebSession(secretHash(`cookie-${id}`), 7, 1e9, 'x'), undefined, id);
});

test('a web session ends after the idle time, and is touched at most once a minute', async (t) => {
  const store = await openStore(t);
  const anna = (await store.accounts.create('anna', device('d1'), NO_QUOTAS, 0))!;
  await store.accounts.createWebSession({ id: 'w1', idHash: secretHash('c'), accountId: anna.id, deviceId: 'd1', from: 'a' }, 0);
  const idle = 10 * 60_000;
  assert.equal((await store.accounts.findWebSession(secretHash('c'), idle, idle, 'b'))?.accountName, 'anna', 'just within');
  assert.equal((await store.accounts.findWebSession(secretHash('c'), 2 * idle, idle, 'b'))?.sessionId, 'w1', 'the use above renewed it');
  assert.equal(await store.accounts.findWebSession(secretHash('c'), 3 * idle + 1, idle, 'b'), undefined);
  assert.equal(await store.accounts.findWebSession(secretHash('c'), 3 * idle + 2, 1e12, 'b'), undefined, 'an expired session was deleted');
  await store.accounts.createWebSession({ id: 'w2', idHash: secretHash('d'), accountId: anna.id, deviceId: 'd1', from: 'a' }, 0);
  await store.accounts.deleteWebSession(secretHash('d'));
  assert.equal(await store.accounts.findWebSession(secretHash('d'), 1, idle, 'b'), undefined);
});

test('removing an account removes all it holds and nothing of the others; its id is never given again', async (t) => {
  const store = await openStore(t);
  const anna = (await store.accounts.create('anna', device('d1'), NO_QUOTAS, 1))!;
  const ben = (await store.accounts.create('ben', device('d2'), NO_QUOTAS, 1))!;
  const imagesDir = tempDir(t);
  for (const account of [anna, ben]) {
    const text = '{"gyms":[{"id":"g1","updatedAt":"2024-01-01T00:00:00Z"}]}';
    // From scratch, the answer is an open read of the store: closed, as the sync service closes it once sent.
    (await deltaFromScratch(store, account.id, text, 10)).close();
    await (await store.images(imagesDir).account(account, { maxBytes: 1000, removeLeftovers: true })).save('a.png', Readable.from([TINY_PNG]));
  }
  await store.accounts.createWebSession({ id: 'w1', idHash: secretHash('c'), accountId: anna.id, deviceId: 'd1', from: 'a' }, 0);
  assert.equal(await store.accounts.remove(anna.id, 20), true);
  assert.equal(await store.accounts.remove(anna.id, 21), false);
  assert.equal(await store.accounts.find('anna'), undefined);
  assert.equal(await store.accounts.findByTokenHash(secretHash('token-d1')), undefined);
  if (store instanceof SqliteStore) {
    assert.equal(await store.imageIndex.get(anna.id, 'a.png'), undefined, 'the index entry goes with the account');
    assert.ok(await store.imageIndex.get(ben.id, 'a.png'));
  }
  await store.images(imagesDir).removeAccount(anna); // as `accounts remove` does after the commit
  const imagesOf = async (account: { id: number; name: string }) =>
    (await (await store.images(imagesDir).account(account, { maxBytes: 1000, removeLeftovers: false })).list()).stored.map((i) => i.name);
  assert.deepEqual(await imagesOf(anna), []);
  assert.deepEqual(await imagesOf(ben), ['a.png']);
  assert.equal((await store.stats(ben.id)).items.gyms, 1);
  assert.equal((await store.stats(anna.id).catch(() => undefined))?.items.gyms ?? 0, 0);
  // A request that was let in before the removal and reaches the store after it: refused as its token now is, not a 500.
  const text = '{"gyms":[{"id":"g2"}]}';
  for (const late of [() => deltaFromScratch(store, anna.id, text, 22), () => store.lastStamp(anna.id)]) {
    await assert.rejects(late, (err: { status?: number; code?: string }) => err.status === 401 && err.code === 'unauthorized');
  }

  const again = (await store.accounts.create('anna', device('d3'), NO_QUOTAS, 30))!;
  assert.ok(again.id > ben.id, `a new account gets a new id (${again.id})`);
});

test('forgetting old deletions keeps the byte figure exact, and only for that account', async (t) => {
  const store = await openStore(t);
  const anna = (await store.accounts.create('anna', device('d1'), NO_QUOTAS, 1))!;
  const ben = (await store.accounts.create('ben', device('d2'), NO_QUOTAS, 1))!;
  const text = '{"gyms":[{"id":"g1","updatedAt":"2024-01-01T00:00:00Z"}],"deletedItems":[{"id":"p1","type":"problem","deletedAt":"2024-01-01T00:00:00Z"}]}';
  for (const account of [anna, ben]) (await deltaFromScratch(store, account.id, text, 1_000)).close();
  const bytes = async (id: number) => (await store.accounts.list()).find((a) => a.id === id)!.bytes;
  const before = await bytes(anna.id);
  assert.equal(await store.pruneTombstones(anna.id, 2_000), 1);
  assert.equal(await bytes(anna.id), before - Buffer.byteLength('{"id":"p1","type":"problem","deletedAt":"2024-01-01T00:00:00Z"}'));
  assert.equal(await bytes(ben.id), before);
  assert.equal((await store.stats(ben.id)).tombstones, 1);
});
