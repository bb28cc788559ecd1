import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cli, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { patternedJpeg } from '../images/fixtures.js';
import { ON_POSTGRES } from '../helpers/test-store.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ID = /^[0-9a-f]{10}$/;
const TOKEN = /^asy_[A-Za-z0-9_-]{43}$/;

function json(result: CliResult): unknown {
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  assert.ok(result.stdout.endsWith('}\n') || result.stdout.endsWith(']\n'), 'one line of JSON');
  assert.equal(result.stdout.trim().split('\n').length, 1);
  return JSON.parse(result.stdout);
}

/** A refusal: one line on stderr, nothing on stdout, the given exit status. */
function refused(result: CliResult, code: 1 | 2, message: RegExp): void {
  assert.equal(result.code, code, `${result.stderr}${result.stdout}`);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /^ascently-sync: [^\n]+\n$/);
  assert.match(result.stderr, message);
}

test('accounts and devices print exactly the documented JSON', async (t) => {
  const env = { DATA_DIR: tempDir(t) };
  const added = json(await cli(['accounts', 'add', 'anna', '--json'], env)) as { account: string; device: { id: string; name: string; token: string } };
  assert.deepEqual(Object.keys(added), ['account', 'device']);
  assert.deepEqual(Object.keys(added.device), ['id', 'name', 'token']);
  assert.equal(added.account, 'anna');
  assert.equal(added.device.name, 'first device');
  assert.match(added.device.id, ID);
  assert.match(added.device.token, TOKEN);

  const phone = json(await cli(['devices', 'add', 'anna', 'Pixel 8', '--json'], env)) as { account: string; device: { name: string; token: string } };
  assert.deepEqual([phone.account, phone.device.name], ['anna', 'Pixel 8']);
  assert.notEqual(phone.device.token, added.device.token);
  const named = json(await cli(['accounts', 'add', 'ben', '--device', 'iPad', '--json'], { ...env, DEFAULT_MAX_BYTES: '1MB' })) as { device: { name: string } };
  assert.equal(named.device.name, 'iPad');

  const list = json(await cli(['accounts', 'list', '--json'], env)) as Record<string, unknown>[];
  assert.deepEqual(
    list.map((a) => a['name']),
    ['anna', 'ben', 'default'],
  );
  const anna = list[0]!;
  assert.deepEqual(Object.keys(anna), ['name', 'createdAt', 'devices', 'items', 'tombstones', 'bytes', 'images', 'imageBytes', 'lastSyncAt', 'maxBytes', 'maxImageBytes']);
  assert.match(anna['createdAt'] as string, ISO);
  assert.deepEqual({ ...anna, createdAt: 'x' }, { name: 'anna', createdAt: 'x', devices: 2, items: 0, tombstones: 0, bytes: 0, images: 0, imageBytes: 0, lastSyncAt: null, maxBytes: null, maxImageBytes: null });
  assert.equal(list[1]!['maxBytes'], 1_000_000, 'DEFAULT_MAX_BYTES gives a new account its limit');

  const set = json(await cli(['accounts', 'set', 'anna', '--max-bytes', '5MB', '--max-image-bytes', '1GiB', '--json'], env)) as Record<string, unknown>;
  assert.deepEqual([set['maxBytes'], set['maxImageBytes']], [5_000_000, 1024 ** 3]);
  assert.deepEqual(Object.keys(set), Object.keys(anna));
  const cleared = json(await cli(['accounts', 'set', 'anna', '--max-bytes', 'none', '--json'], env)) as Record<string, unknown>;
  assert.deepEqual([cleared['maxBytes'], cleared['maxImageBytes']], [null, 1024 ** 3], 'only the limit given changes');
  const zero = json(await cli(['accounts', 'set', 'anna', '--max-image-bytes', '0', '--json'], env)) as Record<string, unknown>;
  assert.equal(zero['maxImageBytes'], null);

  const devices = json(await cli(['devices', 'list', 'anna', '--json'], env)) as Record<string, unknown>[];
  assert.deepEqual(
    devices.map((d) => Object.keys(d)),
    [0, 1].map(() => ['id', 'name', 'kind', 'createdAt', 'lastSeenAt', 'lastSeenFrom']),
  );
  assert.deepEqual(
    devices.map((d) => [d['name'], d['kind'], d['lastSeenAt'], d['lastSeenFrom']]),
    [
      ['first device', 'device', null, null],
      ['Pixel 8', 'device', null, null],
    ],
  );
  assert.deepEqual(json(await cli(['devices', 'revoke', 'anna', added.device.id, '--json'], env)), { revoked: added.device.id });
  assert.deepEqual(json(await cli(['accounts', 'remove', 'ben', '--yes', '--json'], env)), { removed: 'ben' });
  assert.deepEqual((json(await cli(['accounts', 'list', '--json'], env)) as { name: string }[]).map((a) => a.name), ['anna', 'default']);

  // Without --json: words for people, and the token still shown once.
  const plain = await cli(['devices', 'add', 'anna', 'Tablet'], env);
  assert.equal(plain.code, 0);
  assert.match(plain.stdout, /\n {4}asy_[A-Za-z0-9_-]{43}\n/);
  assert.match((await cli(['accounts', 'list'], env)).stdout, /^ACCOUNT +DEVICES/);
});

test('bad input: one line on stderr, exit 1 or 2, and nothing changed', async (t) => {
  const dataDir = tempDir(t);
  const env = { DATA_DIR: dataDir };
  json(await cli(['accounts', 'add', 'anna', '--json'], env));
  const before = (await cli(['accounts', 'list', '--json'], env)).stdout;
  const devicesBefore = (await cli(['devices', 'list', 'anna', '--json'], env)).stdout;

  for (const name of ['Anna', '..', '.hidden', '_x', 'a'.repeat(65), 'ännä', 'a/b', 'a b']) {
    refused(await cli(['accounts', 'add', name], env), 1, /is not an account name/);
  }
  refused(await cli(['accounts', 'add', ''], env), 1, /is not an account name/);
  refused(await cli(['accounts', 'add', '-x'], env), 2, /Unknown option '-x'/);
  refused(await cli(['accounts', 'add', 'anna'], env), 1, /already exists/);
  refused(await cli(['accounts', 'add', 'default'], env), 1, /already exists/);
  refused(await cli(['accounts', 'set', 'bob', '--max-bytes', '1MB'], env), 1, /no account named "bob"/);
  refused(await cli(['accounts', 'set', 'anna', '--max-bytes', '-5'], env), 2, /--max-bytes: "-5" is not a size/);
  refused(await cli(['accounts', 'set', 'anna', '--max-bytes', '12XB'], env), 2, /--max-bytes: "12XB" is not a size/);
  refused(await cli(['accounts', 'set', 'anna', '--max-image-bytes', 'lots'], env), 2, /--max-image-bytes: "lots" is not a size/);
  refused(await cli(['accounts', 'set', 'anna'], env), 2, /usage: ascently-sync accounts/);
  refused(await cli(['accounts', 'remove', 'anna'], env), 2, /add --yes/);
  refused(await cli(['accounts', 'remove', 'default', '--yes'], env), 1, /default account cannot be removed/);
  refused(await cli(['accounts', 'remove', 'bob', '--yes'], env), 1, /no account named "bob"/);
  refused(await cli(['accounts', 'frobnicate'], env), 2, /usage: ascently-sync accounts/);
  refused(await cli(['devices', 'add', 'bob', 'phone'], env), 1, /no account named "bob"/);
  refused(await cli(['devices', 'add', 'anna'], env), 2, /usage: ascently-sync devices/);
  refused(await cli(['devices', 'add', 'anna', '  '], env), 1, /is not a device name/);
  refused(await cli(['devices', 'add', 'anna', 'x'.repeat(101)], env), 1, /is not a device name: use 1-100 printable characters/);
  // A control character is refused, and the refusal shows it escaped, not raw.
  refused(await cli(['devices', 'add', 'anna', 'phone\u007f'], env), 1, /"phone\\u007f" is not a device name/);
  refused(await cli(['devices', 'list', 'bob'], env), 1, /no account named "bob"/);
  refused(await cli(['devices', 'revoke', 'anna', 'nope'], env), 1, /no device or web session with id "nope"/);
  refused(await cli(['devices', 'revoke', 'anna'], env), 2, /usage: ascently-sync devices/);
  refused(await cli(['devices'], env), 2, /usage: ascently-sync devices/);
  refused(await cli(['accounts', 'list', '--bogus'], env), 2, /bogus/);
  refused(await cli(['export', '--account', 'bob'], env), 1, /no account named "bob"/);

  assert.equal((await cli(['accounts', 'list', '--json'], env)).stdout, before);
  assert.equal((await cli(['devices', 'list', 'anna', '--json'], env)).stdout, devicesBefore);
  // 100 characters as people count them: an emoji is one (two UTF-16 units).
  assert.equal((await cli(['devices', 'add', 'anna', '🧗'.repeat(100)], env)).code, 0);
});

test('a history restore the account\'s limit refuses is "not done" (1), said in one line', async (t) => {
  const dataDir = tempDir(t);
  const env = { DATA_DIR: dataDir };
  json(await cli(['accounts', 'add', 'anna', '--json'], env));
  const file = (name: string, gymName: string): string => {
    const at = path.join(dataDir, name);
    writeFileSync(at, JSON.stringify({ gyms: [{ id: 'g1', name: gymName }] }));
    return at;
  };
  assert.equal((await cli(['import', file('large.json', 'x'.repeat(500)), '--account', 'anna'], env)).code, 0);
  assert.equal((await cli(['import', file('small.json', 'x'), '--account', 'anna'], env)).code, 0);
  assert.equal((await cli(['accounts', 'set', 'anna', '--max-bytes', '100'], env)).code, 0);
  // The snapshot holds the large data: putting it back would take the account past its limit.
  const snapshot = /^#(\d+) /m.exec((await cli(['history', 'list', '--account', 'anna'], env)).stdout)![1]!;
  refused(await cli(['history', 'restore', snapshot, '--account', 'anna'], env), 1, new RegExp(`#${snapshot} was not restored: .*limit of 100 bytes`));
  assert.equal((JSON.parse((await cli(['export', '--account', 'anna'], env)).stdout) as { gyms: { name: string }[] }).gyms[0]!.name, 'x');
});

test('history, import, export and images check work on the account --account names', async (t) => {
  const dataDir = tempDir(t);
  const env = { DATA_DIR: dataDir };
  json(await cli(['accounts', 'add', 'anna', '--json'], env));
  const file = path.join(dataDir, 'anna.json');
  writeFileSync(file, JSON.stringify({ gyms: [{ id: 'g1', name: 'Anna gym' }], problems: [{ id: 'p1', imagePaths: ['wall.jpg', 'missing.jpg'] }] }));
  assert.equal((await cli(['import', file, '--account', 'anna'], env)).code, 0);
  // A second import that changes something keeps a snapshot of the first (an identical one would not).
  const renamed = path.join(dataDir, 'anna-renamed.json');
  writeFileSync(renamed, JSON.stringify({ gyms: [{ id: 'g1', name: 'Anna gym' }], problems: [{ id: 'p1', name: 'renamed', imagePaths: ['wall.jpg', 'missing.jpg'] }] }));
  assert.equal((await cli(['import', renamed, '--account', 'anna'], env)).code, 0);
  writeFileSync(renamed.replace('renamed', 'bigger'), JSON.stringify({ gyms: [{ id: 'g1', name: 'Anna gym, bigger than before'.repeat(20) }] }));

  const exported = await cli(['export', '--account', 'anna'], env);
  assert.equal((JSON.parse(exported.stdout) as { gyms: { name: string }[] }).gyms[0]!.name, 'Anna gym');
  refused(await cli(['export'], env), 2, /nothing to export/);
  assert.match((await cli(['history', 'list', '--account', 'anna'], env)).stdout, /^#\d+ .*2 items/m);
  assert.match((await cli(['history', 'list'], env)).stdout, /No history yet/);
  // An id that is not there is "not done" (1), like an unknown account; a malformed one is usage (2).
  refused(await cli(['history', 'restore', '999', '--account', 'anna'], env), 1, /no history entry #999/);
  refused(await cli(['history', 'restore', 'latest', '--account', 'anna'], env), 2, /usage: ascently-sync history/);
  // An import the account's limit refuses: the document is fine, so not "not a document the server accepts".
  assert.equal((await cli(['accounts', 'set', 'anna', '--max-bytes', '10'], env)).code, 0);
  refused(await cli(['import', renamed.replace('renamed', 'bigger'), '--account', 'anna'], env), 1, /was not imported: .*limit of 10 bytes/);
  assert.equal((await cli(['accounts', 'set', 'anna', '--max-bytes', 'none'], env)).code, 0);

  const list = json(await cli(['accounts', 'list', '--json'], env)) as { name: string; items: number; bytes: number; lastSyncAt: string | null }[];
  const anna = list.find((a) => a.name === 'anna')!;
  assert.equal(anna.items, 2);
  assert.ok(anna.bytes > 0);
  assert.match(anna.lastSyncAt ?? '', ISO);

  // Images planted as files in the account's folder: with PostgreSQL they live in the database (test/images covers the doctor there).
  if (ON_POSTGRES) return;
  const annaImages = path.join(dataDir, 'images', '.accounts', '2');
  mkdirSync(annaImages, { recursive: true });
  writeFileSync(path.join(annaImages, 'wall.jpg'), patternedJpeg(100, 1));
  writeFileSync(path.join(annaImages, 'orphan.jpg'), patternedJpeg(100, 2));
  const checked = await cli(['images', 'check', '--account', 'anna'], env);
  assert.equal(checked.code, 1, 'a missing image needs a person: exit 1');
  assert.match(checked.stdout, /Missing \(referenced by a problem, not on disk\): 1\n {2}missing\.jpg/);
  assert.match(checked.stdout, /Orphans \(on disk, referenced by no problem\): 1\n {2}orphan\.jpg/);
  // A removal cut short between its commit and its files: the folder of an account the database no longer has.
  const removedImages = path.join(dataDir, 'images', '.accounts', '999');
  mkdirSync(removedImages, { recursive: true });
  writeFileSync(path.join(removedImages, 'left.jpg'), patternedJpeg(100, 3));
  const defaultChecked = await cli(['images', 'check'], env);
  assert.match(defaultChecked.stdout, /: 0 images .*Missing[^\n]*: 0/s, 'the default account has none of them');
  assert.match(defaultChecked.stdout, /Deleted the images of 1 removed account,/);
  assert.equal(defaultChecked.code, 0);
  assert.ok(!existsSync(removedImages), 'images check removes what a cut-short account removal left');
  assert.ok(readFileSync(path.join(annaImages, 'wall.jpg')).length > 0, 'a live account keeps its images');
});

test('accounts remove whose images cannot be deleted yet: the account is gone and said so, with a one-line warning', { skip: ON_POSTGRES && 'images are files only with SQLite; on PostgreSQL they go with the account in one transaction' }, async (t) => {
  const dataDir = tempDir(t);
  // IMAGES_DIR a file, not a folder: deleting the account's images fails after the account is gone.
  const env = { DATA_DIR: dataDir, IMAGES_DIR: path.join(dataDir, 'not-a-folder') };
  assert.equal((await cli(['accounts', 'add', 'anna'], env)).code, 0);
  writeFileSync(env.IMAGES_DIR, 'in the way');
  const removed = await cli(['accounts', 'remove', 'anna', '--yes', '--json'], env);
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual(JSON.parse(removed.stdout), { removed: 'anna' });
  assert.match(removed.stderr, /^ascently-sync: warning: some of anna's images could not be deleted yet \([^\n]+\); the server deletes them at its next start\n$/);
  assert.deepEqual((json(await cli(['accounts', 'list', '--json'], { DATA_DIR: dataDir })) as { name: string }[]).map((a) => a.name), ['default']);
});
