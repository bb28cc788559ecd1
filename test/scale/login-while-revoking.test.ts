import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import pg from 'pg';
import { secretHash } from '../../src/auth/secrets.js';
import { startTestServer } from '../helpers/server.js';
import { closeBeforeDrop, databaseUrlFor, ON_POSTGRES } from '../helpers/test-store.js';
import { POSTGRES_ONLY } from './fleet.js';

/*
 * A dashboard login whose device another process revokes, or whose account it
 * removes, between the check of the token and the making of the web session.
 * The session's insert failed its foreign key and the login answered 500; the
 * token is wrong by then, so the answer is the 401 any wrong token gets, counted
 * by the failure throttle. A test-owned transaction holds the row the login
 * waits for, deletes it, and commits: the login meets the deletion every run.
 */
test('a login whose device is revoked, or whose account is removed, meanwhile by another process is a wrong token: 401, counted', { skip: !ON_POSTGRES && POSTGRES_ONLY, timeout: 60_000 }, async (t) => {
  const server = await startTestServer(t);
  const accounts = server.store.accounts;
  const NO_QUOTAS = { maxBytes: null, maxImageBytes: null };
  const anna = (await accounts.create('anna', { id: 'd1', name: 'phone', tokenHash: secretHash('token-anna') }, NO_QUOTAS, 1))!;
  const ben = (await accounts.create('ben', { id: 'd2', name: 'phone', tokenHash: secretHash('token-ben') }, NO_QUOTAS, 1))!;

  const db = new pg.Client({ connectionString: databaseUrlFor(server.dataDir) });
  await db.connect();
  // Ended before the test's database is dropped.
  closeBeforeDrop(server.dataDir, { close: () => db.end() });
  const aLoginWaits = async (): Promise<void> => {
    for (let waited = 0; ; waited += 20) {
      const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
      if (rows[0]!.n !== '0') return;
      assert.ok(waited < 20_000, 'the login never waited for the row');
      await sleep(20);
    }
  };
  const login = async (token: string): Promise<{ status: number; text: string; cookie: string | null }> => {
    const response = await fetch(`${server.url}/web/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
      redirect: 'manual',
    });
    return { status: response.status, text: await response.text(), cookie: response.headers.get('set-cookie') };
  };
  const raced = async (token: string, lock: string, remove: string[]): Promise<void> => {
    await db.query('BEGIN');
    await db.query(lock);
    const answer = login(token);
    await aLoginWaits();
    for (const statement of remove) await db.query(statement);
    await db.query('COMMIT');
    const { status, text, cookie } = await answer;
    assert.equal(status, 401, text);
    assert.equal(cookie, null, 'no session cookie');
  };

  // As a revoke does: the device's row, then its web sessions and itself.
  await raced('token-anna', "SELECT 1 FROM devices WHERE id = 'd1' FOR UPDATE", ["DELETE FROM web_sessions WHERE device_id = 'd1'", "DELETE FROM devices WHERE id = 'd1'"]);
  // As `accounts remove` does: the account's row, then all it holds and itself.
  await raced('token-ben', `SELECT 1 FROM datasets WHERE id = ${ben.id} FOR UPDATE`, [
    `DELETE FROM web_sessions WHERE dataset_id = ${ben.id}`,
    `DELETE FROM devices WHERE dataset_id = ${ben.id}`,
    `DELETE FROM datasets WHERE id = ${ben.id}`,
  ]);
  assert.deepEqual((await db.query('SELECT id FROM web_sessions')).rows, []);
  assert.deepEqual(await accounts.listDevices(anna.id), []);

  // Both counted: eight more wrong tokens reach the limit of ten.
  for (let i = 0; i < 8; i++) assert.equal((await login('wrong')).status, 401);
  assert.equal((await login('wrong')).status, 429);
});
