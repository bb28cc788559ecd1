import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import pg from 'pg';
import { secretHash } from '../../src/auth/secrets.js';
import { openTestStore, tempDir } from '../helpers/server.js';
import { closeBeforeDrop, databaseUrlFor, ON_POSTGRES } from '../helpers/test-store.js';
import { POSTGRES_ONLY } from './fleet.js';

/*
 * `accounts remove` in one process while the dashboard of another revokes one of
 * the account's devices. The removal holds the account's row and deletes its web
 * sessions, then its devices; a revoke that locked its device first and then
 * deleted that device's web sessions waited for the removal as the removal waited
 * for it, and PostgreSQL failed one of them as a deadlock. A test-owned lock on
 * the web session holds both at that point, so they meet there every run.
 */
test('an account removed while a device of it is revoked through another process: both get through', { skip: !ON_POSTGRES && POSTGRES_ONLY, timeout: 60_000 }, async (t) => {
  const dataDir = tempDir(t);
  const remover = await openTestStore(dataDir);
  const revoker = await openTestStore(dataDir);
  const device = { id: 'd1', name: 'phone', tokenHash: secretHash('token-d1') };
  const anna = (await remover.accounts.create('anna', device, { maxBytes: null, maxImageBytes: null }, 1))!;
  await remover.accounts.createWebSession({ id: 'w1', idHash: secretHash('cookie'), accountId: anna.id, deviceId: 'd1', from: 'a' }, 2);

  const db = new pg.Client({ connectionString: databaseUrlFor(dataDir) });
  await db.connect();
  // Ended before the test's database is dropped.
  closeBeforeDrop(dataDir, { close: () => db.end() });
  const waitingForLocks = async (n: number): Promise<void> => {
    for (let waited = 0; ; waited += 20) {
      const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
      if (Number(rows[0]!.n) >= n) return;
      assert.ok(waited < 20_000, `never ${n} waiting for a lock`);
      await sleep(20);
    }
  };
  await db.query('BEGIN');
  await db.query("SELECT 1 FROM web_sessions WHERE id = 'w1' FOR UPDATE");
  const removal = remover.accounts.remove(anna.id, 3).then(
    (removed) => ({ removed }),
    (err: Error) => ({ err }),
  );
  await waitingForLocks(1);
  const revocation = revoker.accounts.revoke(anna.id, 'd1').then(
    (outcome) => ({ outcome }),
    (err: Error) => ({ err }),
  );
  await waitingForLocks(2);
  await db.query('COMMIT');

  assert.deepEqual(await removal, { removed: true });
  const revoked = await revocation;
  assert.ok('outcome' in revoked, `the revoke failed: ${'err' in revoked ? revoked.err.message : ''}`);
  assert.equal(revoked.outcome, 'not_found', 'the account, and its device, were gone when the revoke got its turn');
  assert.equal(await revoker.accounts.find('anna'), undefined);
  assert.equal(await revoker.accounts.findByTokenHash(secretHash('token-d1')), undefined);
});
