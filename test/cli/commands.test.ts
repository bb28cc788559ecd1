import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { SETTINGS } from '../../src/config.js';
import { CLI_ENTRY } from '../helpers/child-server.js';
import { oneLine, cli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { storeEnv } from '../helpers/test-store.js';

const DOCUMENT = JSON.stringify({
  gyms: [{ id: 'g1', name: 'Boulderhalle', updatedAt: '2024-01-15T10:00:00.000Z' }],
  problems: [{ id: 'p1', gymId: 'g1', name: 'Crimp', updatedAt: '2024-01-15T10:00:00.000Z' }],
});

function withDocument(dir: string, text: string | Buffer = DOCUMENT): string {
  const file = path.join(dir, 'ascently.json');
  writeFileSync(file, text);
  return file;
}

const failures: [string, (dir: string) => string[], number, (dir: string) => RegExp][] = [
  ['a missing import file', (dir) => ['import', path.join(dir, 'nope.json')], 3, (dir) => new RegExp(`^ascently-sync: ${dir}/nope\\.json: no such file or folder; check the path$`)],
  ['a folder to import', (dir) => ['import', dir], 3, (dir) => new RegExp(`^ascently-sync: ${dir}: is a folder; give the path of a file$`)],
  ['a file that is not JSON', (dir) => ['import', withDocument(dir, '{"gyms": [')], 4, () => /^ascently-sync: .*ascently\.json is not a document the server accepts: the file is not valid JSON/],
  ['a file that is not UTF-8', (dir) => ['import', withDocument(dir, Buffer.from('{"gyms": [{"id": "caf\xe9"}]}', 'latin1'))], 4, () => /^ascently-sync: .*ascently\.json is not a document the server accepts: the file is not valid UTF-8, as JSON text must be$/],
  ['an account name with a line break and a terminal escape', () => ['accounts', 'add', 'abc\nx\u001b[31m'], 1, () => /^ascently-sync: "abc\\nx\\u001b\[31m" is not an account name/],
  ['a document the server refuses', (dir) => ['import', withDocument(dir, '{"gyms": 3}')], 4, () => /^ascently-sync: .*ascently\.json is not a document the server accepts: gyms must be an array$/],
  ['an export into a missing folder', (dir) => ['export', path.join(dir, 'missing', 'out.json')], 3, (dir) => new RegExp(`^ascently-sync: cannot write .*out\\.json: the folder ${dir}/missing does not exist; create it or choose another path$`)],
  ['an unknown command', () => ['frobnicate'], 2, () => /^ascently-sync: unknown command "frobnicate"; `ascently-sync help` lists the commands$/],
  ['an unknown option', () => ['export', '--bogus'], 2, () => /^ascently-sync: Unknown option '--bogus'; `ascently-sync help` lists the options$/],
  ['an option of other commands', () => ['export', '--json'], 2, () => /^ascently-sync: --json is an option of `images` and `accounts` and `devices`, not of `export`$/],
  ['a backup into a folder', (dir) => ['backup', dir], 3, (dir) => new RegExp(`^ascently-sync: ${dir}: is a folder; give the path of a file$`)],
  ['a backup into a missing folder', (dir) => ['backup', path.join(dir, 'missing', 'b.tar.gz')], 3, (dir) => new RegExp(`^ascently-sync: cannot write .*b\\.tar\\.gz: the folder ${dir}/missing does not exist; create it or choose another path$`)],
  ['a folder to restore', (dir) => ['restore', dir], 3, (dir) => new RegExp(`^ascently-sync: ${dir}: is a folder; give the path of a file$`)],
  ['a quota on accounts add', () => ['accounts', 'add', 'bob', '--max-bytes', '1MB'], 2, () => /^ascently-sync: --max-bytes is an option of `accounts set`, not of `accounts add`$/],
  ['--yes on accounts add', () => ['accounts', 'add', 'bob', '--yes'], 2, () => /^ascently-sync: --yes is an option of `accounts remove`, not of `accounts add`$/],
  ['--device on accounts set', () => ['accounts', 'set', 'default', '--device', 'x', '--max-bytes', '7'], 2, () => /^ascently-sync: --device is an option of `accounts add`, not of `accounts set`$/],
  ['a quota on accounts remove', () => ['accounts', 'remove', 'bob', '--yes', '--max-image-bytes', '9'], 2, () => /^ascently-sync: --max-image-bytes is an option of `accounts set`, not of `accounts remove`$/],
];
for (const [name, args, code, message] of failures) {
  test(`${name}: one line saying what to do, exit code ${code}, no stack`, async (t) => {
    const dir = tempDir(t);
    const dataDir = path.join(dir, 'data');
    const result = await cli(args(dir), { DATA_DIR: dataDir });
    assert.equal(result.code, code, result.stderr);
    assert.match(oneLine(result), message(dir));
    assert.ok(!readdirSync(dir).some((f) => f.endsWith('.partial')), 'no partial file left');
  });
}

test('a failed import creates no data folder', async (t) => {
  const dir = tempDir(t);
  await cli(['import', path.join(dir, 'nope.json')], { DATA_DIR: path.join(dir, 'data') });
  assert.equal(existsSync(path.join(dir, 'data')), false);
});

test('LOG_LEVEL=debug adds the stack to the one line', async (t) => {
  const dir = tempDir(t);
  const result = await cli(['import', path.join(dir, 'nope.json')], { DATA_DIR: dir, LOG_LEVEL: 'debug' });
  assert.equal(result.code, 3);
  assert.match(result.stderr, /^ascently-sync: .*no such file or folder.*\nError: ENOENT[^\n]*\n {4}at /);
});

test('import and export say what they did in a summary line', async (t) => {
  const dir = tempDir(t);
  const env = { DATA_DIR: path.join(dir, 'data') };
  const imported = await cli(['import', withDocument(dir)], env);
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /^Imported 1 gyms, 1 problems, 0 sessions, 0 attempts and 0 deletions \(\d+ B\) in \d+ ms\.\n$/);
  assert.equal(imported.stderr, '', 'no progress when stderr is not a terminal');

  const out = path.join(dir, 'out.json');
  const exported = await cli(['export', out], env);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, new RegExp(`^Exported \\d+ B to ${out} in \\d+ ms\\.\\n$`));
  assert.equal(JSON.parse((await cli(['export'], env)).stdout).gyms[0].id, 'g1');
  assert.match((await cli(['export'], env)).stderr, /^Exported \d+ B to standard output in \d+ ms\.\n$/, 'beside the document, on stderr');
});

test('history restore takes the id as `history list` prints it, and sizes read as bytes', async (t) => {
  const dir = tempDir(t);
  const env = { DATA_DIR: path.join(dir, 'data') };
  assert.equal((await cli(['import', withDocument(dir)], env)).code, 0);
  assert.equal((await cli(['import', withDocument(dir, '{"gyms": []}')], env)).code, 0);
  const list = await cli(['history', 'list'], env);
  const id = /^(#\d+) /m.exec(list.stdout)?.[1];
  assert.ok(id, list.stdout);
  assert.match(list.stdout, /\d+ B \(\d+ B stored\)/, 'a small snapshot is not "0.0 MB"');
  const restored = await cli(['history', 'restore', id], env);
  assert.equal(restored.code, 0, restored.stderr);
  assert.match(restored.stdout, new RegExp(`^Restored ${id} at `));
  // Past what PostgreSQL's integer ids hold, an id names no entry there either (it was exit 70, "out of range").
  for (const unknown of ['2147483648', '99999999999999999999']) {
    const refused = await cli(['history', 'restore', unknown], env);
    assert.deepEqual([refused.code, oneLine(refused)], [1, `ascently-sync: no history entry #${unknown}; see \`ascently-sync history list\``]);
  }
});

test('`help` and --help print aligned columns; every setting and command has its row', async () => {
  const help = await cli(['help']);
  assert.equal(help.code, 0);
  assert.equal((await cli(['--help'])).stdout, help.stdout);
  for (const s of SETTINGS) {
    // A flag's text starts two spaces or more after it (or on the next line), never glued on.
    assert.match(help.stdout, new RegExp(`\\n  --${s.flag} <value>( {2,}|\\n {4,})${s.env}: `), s.flag);
  }
  const commandRows = help.stdout.split('\n\n')[1]!.split('\n').slice(1);
  const starts = new Set(commandRows.filter((l) => /^ {2}\S.* {2}\S/.test(l)).map((l) => /^ {2}\S.*? {2,}/.exec(l)![0].length));
  assert.equal(starts.size, 1, `one column for the summaries:\n${commandRows.join('\n')}`);
  assert.match(help.stdout, /\n {2}70 {2}an unexpected error/);
});

test('on a terminal, import and export show their progress on stderr', async (t) => {
  const script = '/usr/bin/script';
  if (!existsSync(script)) {
    assert.ok(!process.env['CI'], 'util-linux `script` is needed in CI to give the CLI a terminal');
    t.skip('util-linux `script` is not installed: it gives the CLI a real terminal');
    return;
  }
  const dir = tempDir(t);
  const file = withDocument(dir);
  mkdirSync(path.join(dir, 'data'));
  const env = { PATH: process.env.PATH ?? '', DATA_DIR: path.join(dir, 'data'), TERM: 'dumb' };
  const command = (args: string): string => `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_ENTRY)} ${args}`;
  const { stdout } = await promisify(execFile)(script, ['-qec', command(`import ${JSON.stringify(file)}`), '/dev/null'], { env, timeout: 30_000 });
  assert.match(stdout, new RegExp(`Reading ${file}: \\d+ B of \\d+ B`));
  assert.match(stdout, /Checking and writing \d+ B/);
  assert.ok(stdout.includes('\r\u001b[KImported 1 gyms'), 'the progress line is cleared before the summary');
  const exported = await promisify(execFile)(script, ['-qec', command(`export ${JSON.stringify(path.join(dir, 'out.json'))}`), '/dev/null'], { env, timeout: 30_000 });
  assert.match(exported.stdout, /Exporting: \d+ B written/);
});

test('PostgreSQL that cannot be reached: one line naming DATABASE_URL, exit code 6', async () => {
  // Port 1 on this machine: nothing listens there.
  const result = await cli(['accounts', 'list'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/ascently' });
  assert.equal(result.code, 6, result.stderr);
  assert.match(oneLine(result), /^ascently-sync: cannot reach PostgreSQL \(ECONNREFUSED at 127\.0\.0\.1:1\); is it running\? check DATABASE_URL$/);
});

const POSTGRES_URL = process.env['TEST_DATABASE_URL'];

test(
  'a PostgreSQL database that does not exist: one line with its refusal, exit code 6',
  { skip: POSTGRES_URL === undefined && !process.env['CI'] && 'set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run it' },
  async () => {
    const url = new URL(POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
    url.pathname = '/ascently_never_made';
    const result = await cli(['accounts', 'list'], { DATABASE_URL: url.href });
    assert.equal(result.code, 6, result.stderr);
    assert.match(oneLine(result), /^ascently-sync: PostgreSQL refused: database "ascently_never_made" does not exist \(3D000\); check DATABASE_URL$/);
  },
);

test(
  'a PostgreSQL user that may not make the tables: one line saying what it needs, exit code 6',
  { skip: POSTGRES_URL === undefined && !process.env['CI'] && 'set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run it' },
  async (t) => {
    const admin = new URL(POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
    const suffix = `${process.pid}_${Date.now()}`;
    const [database, role] = [`ascently_no_rights_${suffix}`, `ascently_no_rights_${suffix}`];
    const run = async (sql: string[], on = admin.href): Promise<void> => {
      const client = new pg.Client({ connectionString: on });
      await client.connect();
      try {
        for (const statement of sql) await client.query(statement);
      } finally {
        await client.end();
      }
    };
    await run([`CREATE DATABASE ${database}`, `CREATE ROLE ${role} LOGIN`]);
    t.after(() => run([`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`, `DROP ROLE IF EXISTS ${role}`]));
    const inDatabase = new URL(admin.href);
    inDatabase.pathname = `/${database}`;
    // USAGE but not CREATE on public (PostgreSQL 15's default), then not even USAGE.
    await run(['REVOKE CREATE ON SCHEMA public FROM PUBLIC'], inDatabase.href);
    const asRole = new URL(inDatabase.href);
    asRole.username = role;
    asRole.password = '';
    for (const revoke of [undefined, 'REVOKE ALL ON SCHEMA public FROM PUBLIC']) {
      if (revoke) await run([revoke], inDatabase.href);
      const result = await cli(['accounts', 'list'], { DATABASE_URL: asRole.href });
      assert.equal(result.code, 6, result.stderr);
      assert.match(oneLine(result), /^ascently-sync: PostgreSQL refused: .* \((?:42501|3F000)\); the DATABASE_URL user must own its database, or may create tables in it$/);
    }
  },
);

test('an export whose reader stops early (| head): one line saying the output is incomplete, exit code 3', async (t) => {
  const dir = tempDir(t);
  const dataDir = path.join(dir, 'data');
  // Several times what a pipe holds, so the export is still writing when the reader goes.
  const gyms = Array.from({ length: 5_000 }, (_, i) => ({ id: `g${i}`, name: `Boulderhalle ${i}`, updatedAt: '2024-01-15T10:00:00.000Z' }));
  assert.equal((await cli(['import', withDocument(dir, JSON.stringify({ gyms }))], { DATA_DIR: dataDir })).code, 0);
  const child = spawn(process.execPath, [CLI_ENTRY, 'export'], { env: { PATH: process.env.PATH ?? '', ...(await storeEnv(dataDir)), DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 3, stderr);
  assert.match(oneLine({ code: 3, stdout: '', stderr }), /^ascently-sync: the program reading the output closed it before the end \(EPIPE\): what it got is incomplete$/);
});

test('a listing whose reader is already gone (| head): the same one line and exit code 3, no stack', async (t) => {
  const dataDir = tempDir(t);
  const child = spawn(process.execPath, [CLI_ENTRY, 'history', 'list'], { env: { PATH: process.env.PATH ?? '', ...(await storeEnv(dataDir)) }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Closed before the first write: written line by line, the listing fails on an event, not in a stream.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 3, stderr);
  assert.match(oneLine({ code: 3, stdout: '', stderr }), /\(EPIPE\): what it got is incomplete$/);
});

test('copy-store from a folder that holds no database exits 3 in one line and makes nothing there', async (t) => {
  const missing = path.join(tempDir(t), 'typo');
  const result = await cli(['copy-store', '--from', `sqlite:${missing}`, '--to', `sqlite:${path.join(tempDir(t), 'copy')}`]);
  assert.equal(result.code, 3, result.stderr);
  assert.match(oneLine(result), /holds no database \(ascently\.db\); check the folder given to --from/);
  assert.equal(existsSync(missing), false);
});
