import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { secretHash } from '../../src/auth/secrets.js';
import { accountImagesDir } from '../../src/images/account-images.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { SyncService } from '../../src/sync/sync-service.js';
import { CLI_ENTRY, startChildServer } from '../helpers/child-server.js';
import { addAccount } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { patternedJpeg } from '../images/fixtures.js';
import { random } from './kill-workloads.js';

/**
 * kill -9 at random moments while `accounts remove` runs: the database keeps
 * either the whole account or none of it, and image files left by a kill after
 * the commit are gone after the next start. REMOVAL_KILLS runs more rounds;
 * KILL_SEED replays the moments a failure printed.
 */
const ROUNDS = Number(process.env['REMOVAL_KILLS'] ?? 12);
const SEED = Number(process.env['KILL_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const ITEMS = 6_000;
const IMAGES = 30;
const TABLES = ['items', 'tombstones', 'history', 'images', 'devices', 'web_sessions'] as const;

async function buildTemplate(dataDir: string): Promise<{ victimId: number; bystanderId: number }> {
  const store = new SqliteStore(dataDir);
  try {
    const service = new SyncService(store, { historyKeep: 5 });
    const ids: number[] = [];
    for (const name of ['victim', 'bystander']) {
      const { account, deviceId } = await addAccount(store, name);
      const gyms = Array.from({ length: ITEMS }, (_, i) => ({ id: `g${i}`, name: `${name} gym ${i}`, updatedAt: '2024-01-01T00:00:00.000Z' }));
      const deletedItems = Array.from({ length: 50 }, (_, i) => ({ id: `x${i}`, type: 'gym', deletedAt: '2024-01-01T00:00:00.000Z' }));
      for (let upload = 0; upload < 3; upload++) await service.fullUpload(account.id, Buffer.from(JSON.stringify({ gyms: gyms.slice((2 - upload) * 10), deletedItems })));
      await store.accounts.createWebSession({ id: `w-${name}`, idHash: secretHash(`cookie-${name}`), accountId: account.id, deviceId, from: '127.0.0.1' }, 1);
      const dir = accountImagesDir(path.join(dataDir, 'images'), account);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < IMAGES; i++) {
        const name = `p${i}.jpg`;
        writeFileSync(path.join(dir, name), patternedJpeg(40_000, i));
        await store.imageIndex.put(account.id, name, { size: 40_000, mtimeNs: '0', ino: '0', type: 'image/jpeg', sha256: 'x' });
      }
      ids.push(account.id);
    }
    return { victimId: ids[0]!, bystanderId: ids[1]! };
  } finally {
    await store.close();
  }
}

/** Rows per table for one account, and whether the account row exists. */
function holdings(store: SqliteStore, id: number): { account: boolean; rows: Record<string, number> } {
  const db = store.database;
  const rows = Object.fromEntries(TABLES.map((table) => [table, db.prepare(`SELECT count(*) FROM ${table} WHERE dataset_id = ?`).pluck().get(id) as number]));
  return { account: db.prepare('SELECT count(*) FROM datasets WHERE id = ?').pluck().get(id) === 1, rows };
}

async function removeAndKill(dataDir: string, delayMs: number | undefined): Promise<number | null> {
  const child = spawn(process.execPath, [CLI_ENTRY, 'accounts', 'remove', 'victim', '--yes'], {
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir },
    stdio: 'ignore',
  });
  const exited = once(child, 'exit');
  if (delayMs !== undefined) {
    await sleep(delayMs);
    child.kill('SIGKILL');
  }
  const [code] = await exited;
  return code as number | null;
}

test(`kill -9 at ${ROUNDS} random moments during accounts remove leaves all of the account or none, and no files`, { timeout: 300_000 }, async (t) => {
  const template = tempDir(t);
  const { victimId, bystanderId } = await buildTemplate(template);
  const full = await (async () => {
    const store = new SqliteStore(template);
    try {
      return { victim: holdings(store, victimId), bystander: holdings(store, bystanderId) };
    } finally {
      await store.close();
    }
  })();
  assert.deepEqual(full.victim.rows, { items: ITEMS, tombstones: 50, history: 2, images: IMAGES, devices: 1, web_sessions: 1 });

  // How long an uninterrupted removal takes, so the kills fall across all of it.
  const timed = tempDir(t);
  cpSync(template, timed, { recursive: true });
  const started = Date.now();
  assert.equal(await removeAndKill(timed, undefined), 0);
  const span = Date.now() - started;

  const next = random(SEED);
  const outcomes = { whole: 0, gone: 0, filesLeft: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const dataDir = tempDir(t);
    cpSync(template, dataDir, { recursive: true });
    // Most of the span is Node starting up; the kills lean towards its end, where the work is.
    const delay = Math.floor(span * (0.4 + 0.65 * next()));
    const context = `round ${round}, killed after ${delay} of ~${span} ms (replay with KILL_SEED=${SEED})`;
    await removeAndKill(dataDir, delay);

    const victimImages = accountImagesDir(path.join(dataDir, 'images'), { id: victimId, name: 'victim' });
    const store = new SqliteStore(dataDir);
    try {
      assert.equal(store.database.pragma('integrity_check', { simple: true }), 'ok', context);
      const victim = holdings(store, victimId);
      if (victim.account) {
        outcomes.whole++;
        assert.deepEqual(victim, full.victim, `${context}: the whole account is there`);
        assert.equal(readdirSync(victimImages).length, IMAGES, `${context}: with all its images`);
      } else {
        outcomes.gone++;
        assert.deepEqual(victim.rows, { items: 0, tombstones: 0, history: 0, images: 0, devices: 0, web_sessions: 0 }, `${context}: none of it`);
        if (existsSync(victimImages)) outcomes.filesLeft++;
      }
      assert.deepEqual(holdings(store, bystanderId), full.bystander, `${context}: the other account is untouched`);
    } finally {
      await store.close();
    }
    // The next start deletes what a kill after the commit left.
    const server = await startChildServer(dataDir);
    await server.stop();
    const store2 = new SqliteStore(dataDir);
    const gone = !holdings(store2, victimId).account;
    await store2.close();
    assert.equal(existsSync(victimImages), !gone, `${context}: image folder after the next start`);
    assert.equal(readdirSync(accountImagesDir(path.join(dataDir, 'images'), { id: bystanderId, name: 'bystander' })).length, IMAGES, context);
  }
  t.diagnostic(`removal span ~${span} ms; outcomes ${JSON.stringify(outcomes)}`);
});

test('a removal whose process died after the commit leaves files that the next start deletes', async (t) => {
  const dataDir = tempDir(t);
  const store = new SqliteStore(dataDir);
  const { account } = await addAccount(store, 'victim');
  const dir = accountImagesDir(path.join(dataDir, 'images'), account);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'a.jpg'), patternedJpeg(1000, 1));
  // The database part of `accounts remove`, and then no file deletion: as if killed right after the commit.
  assert.equal(await store.accounts.remove(account.id, Date.now()), true);
  await store.close();
  assert.ok(existsSync(dir));
  const server = await startChildServer(dataDir);
  await server.stop();
  assert.equal(existsSync(dir), false);
  assert.match(server.output(), /deleted the images of removed accounts/);
});
