import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Database } from '../../src/store/sqlite-driver.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { DATABASE_FILE, SqliteStore } from '../../src/store/sqlite-store.js';
import { download, TINY_IMAGES } from '../images/fixtures.js';
import pg from 'pg';
import { PG_MIGRATIONS } from '../../src/store/pg-migrations.js';
import { databaseUrlFor, dropDatabaseAfter, ensureDatabase, ON_POSTGRES, storeEnv } from '../helpers/test-store.js';
import { openTestStore, postJson as postJsonTo, sqliteOf, startTestServer, tempDir } from '../helpers/server.js';
import { cli } from '../helpers/cli.js';

/**
 * A data folder as today's release (schema 2, before accounts) leaves it: built
 * with the released migrations, which are never edited, and rows written the way
 * that release wrote them.
 */
function releasedDataFolder(dataDir: string, options: { withData: boolean }): void {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(path.join(dataDir, DATABASE_FILE));
  db.pragma('journal_mode = WAL');
  for (const [i, sql] of MIGRATIONS.slice(0, 2).entries()) {
    db.exec(sql);
    db.pragma(`user_version = ${i + 1}`);
  }
  if (options.withData) {
    db.prepare("INSERT INTO datasets (id, name, last_stamp, written, extra_json, created_at) VALUES (1, 'default', 1700000000500, 1, '{}', 1700000000000)").run();
    const item = db.prepare('INSERT INTO items (dataset_id, collection, id, updated_ms, stamp, json) VALUES (1, ?, ?, ?, ?, ?)');
    item.run('gyms', 'g1', 1700000000000, 1700000000100, '{"id":"g1","name":"Bloc Café ☕","updatedAt":"2023-11-14T22:13:20.000Z"}');
    item.run('problems', 'p1', 1700000000000, 1700000000200, '{"id":"p1","gymId":"g1","imagePaths":["wall.png"],"updatedAt":"2023-11-14T22:13:20.000Z"}');
    db.prepare("INSERT INTO tombstones (dataset_id, type_key, id, stamp, json) VALUES (1, 'problem', 'p0', 1700000000300, ?)").run(
      '{"id":"p0","type":"problem","deletedAt":"2023-11-14T22:13:20.000Z"}',
    );
    db.prepare("INSERT INTO images (name, size, mtime_ns, ino, type, sha256) VALUES ('wall.png', 1, '0', '0', 'image/png', 'stale')").run();
    mkdirSync(path.join(dataDir, 'images'), { recursive: true });
    writeFileSync(path.join(dataDir, 'images', 'wall.png'), TINY_IMAGES['image/png']);
  }
  db.close();
}

/** Why these are skipped in the PostgreSQL half: they are about SQLite files released before PostgreSQL existed. */
/** Long enough that the server starts without a warning line before the one under test. */
const QUIET_TOKEN = 'a-token-long-enough-to-start-quietly-0123';

const SQLITE_SCHEMA = 'about SQLite data folders of earlier releases; PostgreSQL has its own migrations (pg-migrations.ts)';

test('migration 3 makes a released data folder the default account, data, byte count and images in place', { skip: ON_POSTGRES && SQLITE_SCHEMA }, async (t) => {
  const dataDir = tempDir(t);
  releasedDataFolder(dataDir, { withData: true });
  const server = await startTestServer(t, {}, { dataDir });

  const db = sqliteOf(server)!.database;
  assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  assert.deepEqual(db.pragma('foreign_key_check'), []);
  const accounts = await server.store.accounts.list();
  assert.deepEqual(
    accounts.map((a) => [a.id, a.name, a.items, a.tombstones, a.lastSyncAt]),
    [[1, 'default', 2, 1, 1700000000500]],
  );
  const recount = db
    .prepare('SELECT (SELECT sum(length(CAST(json AS BLOB))) FROM items) + (SELECT sum(length(CAST(json AS BLOB))) FROM tombstones)')
    .pluck()
    .get();
  assert.equal(accounts[0]!.bytes, recount as number, 'bytes counted as stored, in UTF-8');
  assert.deepEqual(db.prepare("SELECT dataset_id AS datasetId, name FROM images").all(), [{ datasetId: 1, name: "wall.png" }]);

  // The phones keep working with AUTH_TOKEN, and see exactly what was there.
  const document = (await (await server.fetch('/sync')).json()) as { gyms: { name: string }[]; problems: unknown[]; deletedItems: unknown[] };
  assert.equal(document.gyms[0]!.name, 'Bloc Café ☕');
  assert.equal(document.problems.length, 1);
  assert.equal(document.deletedItems.length, 1);
  const image = await download(server, 'wall.png');
  assert.equal(image.status, 200);
  assert.deepEqual(Buffer.from(await image.arrayBuffer()), TINY_IMAGES['image/png']);
  assert.deepEqual(
    (await server.store.accounts.listDevices(1)).map((d) => [d.name, d.kind, d.fromEnvironment]),
    [['AUTH_TOKEN', 'device', true]],
  );
});

test('migration 3 on a released database that never held data still makes the default account', { skip: ON_POSTGRES && SQLITE_SCHEMA }, async (t) => {
  const dataDir = tempDir(t);
  releasedDataFolder(dataDir, { withData: false });
  const store = new SqliteStore(dataDir);
  t.after(() => store.close());
  assert.deepEqual((await store.accounts.list()).map((a) => [a.name, a.items, a.bytes, a.lastSyncAt]), [['default', 0, 0, null]]);
  assert.equal(await store.datasetId('default'), (await store.accounts.find('default'))!.id);
});

test('migrating twice is a no-op, and a newer schema is refused', { skip: ON_POSTGRES && SQLITE_SCHEMA }, async (t) => {
  const dataDir = tempDir(t);
  releasedDataFolder(dataDir, { withData: true });
  await new SqliteStore(dataDir).close();
  const store = new SqliteStore(dataDir);
  assert.equal((await store.accounts.list()).length, 1);
  store.database.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  await store.close();
  assert.throws(() => new SqliteStore(dataDir), /written by a newer ascently-sync/);
  // Said in one line, with its own exit code (as on PostgreSQL), not as a bug.
  const serve = await cli(['serve', '--port', '0', '--host', '127.0.0.1'], { DATA_DIR: dataDir, AUTH_TOKEN: QUIET_TOKEN });
  assert.equal(serve.code, 7, serve.stderr);
  assert.match(serve.stderr, /^ascently-sync: the database was written by a newer ascently-sync \(schema \d+; this one knows \d+\)[^\n]*\n$/);
});

test('a PostgreSQL database a newer release migrated is refused in one line (exit 7, as on SQLite), by the server and the CLI', { skip: !ON_POSTGRES && 'the PostgreSQL half runs this' }, async (t) => {
  const dataDir = tempDir(t);
  dropDatabaseAfter(t, dataDir);
  await (await openTestStore(dataDir)).close();
  const client = new pg.Client({ connectionString: databaseUrlFor(dataDir) });
  await client.connect();
  await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)', [PG_MIGRATIONS.length + 5]).finally(() => client.end());
  const env = await storeEnv(dataDir);
  for (const args of [['serve', '--port', '0', '--host', '127.0.0.1'], ['accounts', 'list']]) {
    const refused = await cli(args, { ...env, AUTH_TOKEN: QUIET_TOKEN });
    assert.equal(refused.code, 7, `${args[0]}: ${refused.stderr}`);
    assert.match(refused.stderr, /^ascently-sync: the database was written by a newer ascently-sync \(schema \d+; this one knows \d+\)[^\n]*\n$/);
  }
});

test('PostgreSQL migration 4 keys the long ids stored before it by their hash, so later writes find them', { skip: !ON_POSTGRES && 'the PostgreSQL half runs this' }, async (t) => {
  const dataDir = tempDir(t);
  await ensureDatabase(dataDir);
  dropDatabaseAfter(t, dataDir);
  // A database at schema 3, holding an id too long for an index entry unless it compresses (as this one does).
  const longId = 'a'.repeat(3000);
  const client = new pg.Client({ connectionString: databaseUrlFor(dataDir) });
  await client.connect();
  try {
    await client.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)');
    for (const [i, sql] of PG_MIGRATIONS.slice(0, 3).entries()) {
      await client.query(sql);
      await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)', [i + 1]);
    }
    await client.query(`UPDATE datasets SET last_stamp = 1700000000100, written = true WHERE name = 'default'`);
    await client.query(`INSERT INTO items (dataset_id, collection, id, updated_ms, stamp, json) SELECT id, 'gyms', $1, 1700000000000, 1700000000100, $2 FROM datasets WHERE name = 'default'`, [
      longId,
      JSON.stringify({ id: longId, name: 'before', updatedAt: '2023-11-14T22:13:20.000Z' }),
    ]);
  } finally {
    await client.end();
  }
  const server = await startTestServer(t, {}, { dataDir });
  assert.equal((await postJsonTo(server, '/sync/delta', { gyms: [{ id: longId, name: 'after', updatedAt: '2024-01-01T00:00:00.000Z' }] })).status, 200);
  const gyms = ((await (await server.fetch('/sync')).json()) as { gyms: { name: string }[] }).gyms;
  assert.deepEqual(gyms.map((g) => g.name), ['after'], 'the stored item is the one replaced');
});
