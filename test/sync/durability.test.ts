import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { CLI_ENTRY, startChildServer, type ChildServer } from '../helpers/child-server.js';
import { tempDir } from '../helpers/server.js';
import { storeEnv } from '../helpers/test-store.js';

/*
 * Section 7 (a 2xx answer means the write is on disk) and the operator's tools,
 * against the real server in a child process that we kill -9.
 */

const COLLECTIONS = ['gyms', 'problems', 'sessions', 'attempts'] as const;
type Item = Record<string, unknown> & { id: string };
type Doc = Record<string, unknown> & Record<(typeof COLLECTIONS)[number] | 'deletedItems', Item[]>;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DAY = 86_400_000;
const execFileAsync = promisify(execFile);

async function start(t: TestContext, dataDir: string, env: Record<string, string> = {}): Promise<ChildServer> {
  const server = await startChildServer(dataDir, env);
  t.after(() => server.kill9());
  return server;
}

async function post(server: ChildServer, pathname: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> & { serverTime: string } }> {
  const response = await server.fetch(pathname, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? ({} as never) : JSON.parse(text) };
}

async function getSync(server: ChildServer): Promise<Doc> {
  const response = await server.fetch('/sync');
  assert.equal(response.status, 200);
  return (await response.json()) as Doc;
}

async function cli(dataDir: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [CLI_ENTRY, ...args], { env: { ...process.env, ...(await storeEnv(dataDir)), LOG_LEVEL: 'warn' } });
  return stdout;
}

const byId = (items: Item[]): Item[] => [...items].sort((a, b) => a.id.localeCompare(b.id));
const at = (minute: number): string => new Date(Date.parse('2024-01-01T00:00:00.000Z') + minute * 60_000).toISOString();

/** The live items of a document keyed "collection:id", for comparing whole datasets. */
function live(doc: Doc): Map<string, Item> {
  return new Map(COLLECTIONS.flatMap((c) => doc[c].map((item) => [`${c}:${item.id}`, item] as [string, Item])));
}

/** A server whose clock runs a day ahead: stamps it issues are later than a normal clock's. */
function clockAhead(dir: string): Record<string, string> {
  const preload = path.join(dir, 'clock-ahead.mjs');
  writeFileSync(preload, `const real = Date.now; Date.now = () => real() + ${DAY};\n`);
  return { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` };
}

test('every acknowledged write survives kill -9, and stamps keep rising after a restart on a clock a day behind', async (t) => {
  const dataDir = tempDir(t);
  let server = await start(t, dataDir, clockAhead(tempDir(t)));
  const expected = new Map<string, Item>();
  const tombstoneIds = new Set<string>();
  const serverTimes: number[] = [];
  let minute = 0;

  const full = (n: number): Doc => {
    const doc = { gyms: [], problems: [], sessions: [], attempts: [], deletedItems: [] } as unknown as Doc;
    for (let i = 0; i < n; i++) doc.problems.push({ id: `full-${minute}-${i}`, nested: { i, tags: ['x', null] }, updatedAt: at(++minute) });
    doc.gyms.push({ id: `gym-${minute}`, name: 'after a full upload', updatedAt: at(++minute) });
    return doc;
  };
  const upload = async (doc: Doc): Promise<void> => {
    assert.equal((await post(server, '/sync', doc)).status, 200);
    expected.clear(); // a full upload makes the live items exactly the uploaded ones
    for (const [key, item] of live(doc)) expected.set(key, item);
  };
  // Concurrent rounds only create: which of two concurrent edits wins is not what this test is about.
  const delta = async (round: number, concurrent = false): Promise<void> => {
    const created = [{ id: `d-${round}-a`, round, updatedAt: at(++minute) }, { id: `d-${round}-b`, round, note: null, updatedAt: at(++minute) }];
    const older = concurrent ? [] : [...expected.values()].filter((item) => expected.get(`problems:${item.id}`) === item);
    const editOf = older[round % Math.max(older.length, 1)];
    const edited = editOf ? [{ ...editOf, edited: round, updatedAt: at(++minute) }] : [];
    const deleteOf = older[(round * 7 + 3) % Math.max(older.length, 1)];
    const deleted = round % 3 === 0 && deleteOf && deleteOf !== editOf ? [{ id: deleteOf.id, type: 'problem', deletedAt: at(++minute) }] : [];
    const answer = await post(server, '/sync/delta', { lastSyncTime: null, problems: [...created, ...edited], deletedItems: deleted });
    assert.equal(answer.status, 200);
    serverTimes.push(Date.parse(answer.body.serverTime));
    for (const item of [...created, ...edited]) expected.set(`problems:${item.id}`, item);
    for (const tombstone of deleted) {
      expected.delete(`problems:${tombstone.id}`);
      tombstoneIds.add(tombstone.id);
    }
  };

  await upload(full(40));
  for (let round = 0; round < 15; round++) await delta(round);
  await upload(full(25));
  for (let round = 15; round < 30; round++) await delta(round);
  // Ten writers at once: each acknowledged one must be there too.
  await Promise.all(Array.from({ length: 10 }, (_, i) => delta(100 + i, true)));
  assert.ok(serverTimes[0]! > Date.now() + DAY / 2, 'the clock-ahead preload did not take: the restart would prove nothing');
  await server.kill9();

  server = await start(t, dataDir); // the real clock, a day behind every stamp issued so far
  const after = await getSync(server);
  assert.deepEqual(live(after), expected);
  assert.deepEqual(new Set(after.deletedItems.map((d) => d.id)), tombstoneIds);

  const newest = Math.max(...serverTimes);
  const quiet = await post(server, '/sync/delta', { lastSyncTime: new Date(newest).toISOString() });
  assert.ok(Date.parse(quiet.body.serverTime) > newest, `serverTime ${quiet.body.serverTime} is not after ${new Date(newest).toISOString()}`);
  for (const c of [...COLLECTIONS, 'deletedItems'] as const) assert.deepEqual(quiet.body[c], [], `nothing changed, yet ${c} came back`);
  const write = await post(server, '/sync/delta', { lastSyncTime: quiet.body.serverTime, gyms: [{ id: 'after-restart', updatedAt: at(++minute) }] });
  const other = await post(server, '/sync/delta', { lastSyncTime: new Date(newest).toISOString() });
  assert.deepEqual(other.body['gyms'], [{ id: 'after-restart', updatedAt: at(minute) }], 'a device synced before the crash misses a write made after it');
  assert.ok(Date.parse(write.body.serverTime) > Date.parse(quiet.body.serverTime));
});

test('kill -9 during large full uploads leaves the old data or the new, never a mix', async (t) => {
  const dataDir = tempDir(t);
  let server = await start(t, dataDir);
  const bulk = (tag: string): Doc =>
    ({ gyms: [{ id: `${tag}-gym`, updatedAt: at(1) }], problems: Array.from({ length: 30_000 }, (_, i) => ({ id: `${tag}-${i}`, name: 'x'.repeat(40), updatedAt: at(2) })) }) as unknown as Doc;
  const tagOf = (doc: Doc): string => {
    const tags = new Set([...doc.gyms, ...doc.problems].map((item) => item.id.split('-')[0]));
    assert.equal(tags.size, 1, `a mix after the crash: ${[...tags].join(', ')}`);
    assert.equal(doc.problems.length, 30_000, 'a partial upload after the crash');
    return [...tags][0]!;
  };
  // The kill must land while the upload is in flight: time one first, then kill at fractions of that.
  // The timed one replaces data, as the killed ones do (a snapshot is kept first).
  assert.equal((await post(server, '/sync', bulk('first'))).status, 200);
  const started = Date.now();
  assert.equal((await post(server, '/sync', bulk('calibrate'))).status, 200);
  const duration = Date.now() - started;
  let current = 'calibrate';
  for (const [attempt, fraction] of [0.6, 0.8, 0.95].entries()) {
    const next = `attempt${attempt}`;
    let acknowledged = false;
    const uploading = post(server, '/sync', bulk(next)).then((r) => (acknowledged = r.status === 200), () => undefined);
    await new Promise((resolve) => setTimeout(resolve, duration * fraction));
    await server.kill9();
    await uploading;
    server = await start(t, dataDir);
    const found = tagOf(await getSync(server));
    assert.ok(found === current || found === next, `after the crash the data is ${found}, neither ${current} nor ${next}`);
    if (acknowledged) assert.equal(found, next, 'the upload was acknowledged but is gone');
    current = found;
  }
});

const legacyDocument = {
  exportedAt: '2024-05-01T12:00:00.000Z',
  version: '2.0',
  formatVersion: '2.0',
  gyms: [{ id: 'g1', name: 'Boulderhalle', supportedClimbTypes: ['BOULDER'], notes: null, createdAt: '2024-01-01T10:00:00Z', updatedAt: '2024-01-01T12:00:00+02:00' }],
  problems: [
    { id: 'p1', gymId: 'g1', difficulty: { system: 'V_SCALE', grade: 'V5', numericValue: 5 }, tags: [], imagePaths: ['problem_p1_0.jpg'], appFuture: { a: [1, null] }, updatedAt: '2024-02-01T10:00:00.000Z' },
    { id: 'p2', gymId: 'g1', name: 'Ünïcödé "quoted"\n', updatedAt: '2024-02-02T10:00:00.000Z' },
  ],
  sessions: [{ id: 's1', gymId: 'g1', status: 'COMPLETED', duration: 90, updatedAt: '2024-02-01T12:00:00.000Z' }],
  attempts: [{ id: 'a1', sessionId: 's1', problemId: 'p1', result: 'FLASH', timestamp: '2024-02-01T11:00:00.000Z', createdAt: '2024-02-01T11:00:00.000Z' }],
  deletedItems: [{ id: 'p0', type: 'problem', deletedAt: '2024-01-20T00:00:00.000Z' }],
};

function assertSameData(actual: Doc, expected: Record<string, unknown>): void {
  for (const c of [...COLLECTIONS, 'deletedItems'] as const) assert.deepEqual(byId(actual[c]), byId(expected[c] as Item[]), c);
}

test('a legacy ascently.json is imported on first start, left untouched, and never imported again over newer data', async (t) => {
  const dataDir = tempDir(t);
  const file = path.join(dataDir, 'ascently.json');
  const text = `${JSON.stringify(legacyDocument, null, 2)}\n`;
  writeFileSync(file, text);
  const mtime = statSync(file).mtimeMs;

  let server = await start(t, dataDir, { DATA_FILE: file });
  assertSameData(await getSync(server), legacyDocument);
  const fresh = await post(server, '/sync/delta', {});
  assertSameData(fresh.body as unknown as Doc, legacyDocument);

  const newer = { ...legacyDocument.gyms[0]!, name: 'renamed after import', updatedAt: '2024-06-01T00:00:00.000Z' };
  assert.equal((await post(server, '/sync/delta', { lastSyncTime: fresh.body.serverTime, gyms: [newer], deletedItems: [{ id: 'p2', type: 'problem', deletedAt: '2024-06-01T00:00:00.000Z' }] })).status, 200);
  assert.equal(await server.stop(), 0);
  assert.equal(readFileSync(file, 'utf8'), text);
  assert.equal(statSync(file).mtimeMs, mtime);

  server = await start(t, dataDir, { DATA_FILE: file });
  const second = await getSync(server);
  assert.deepEqual(second.gyms, [newer], 'the second start imported the old file over newer data');
  assert.deepEqual(second.problems.map((p) => p.id), ['p1']);
  assert.equal(readFileSync(file, 'utf8'), text);
});

test('ascently-sync import then export round-trips a document, and a server started on it serves the same data', async (t) => {
  const work = tempDir(t);
  const source = path.join(work, 'in.json');
  writeFileSync(source, JSON.stringify(legacyDocument));
  const first = tempDir(t);
  await cli(first, 'import', source);
  const exported = path.join(work, 'out.json');
  await cli(first, 'export', exported);
  assert.equal(statSync(exported).mode & 0o777, 0o600, 'private, as the data it holds');
  const out = JSON.parse(readFileSync(exported, 'utf8')) as Doc;
  assertSameData(out, legacyDocument);
  assert.match(out['exportedAt'] as string, ISO_MS);
  assert.equal(out['version'], '2.0');
  assert.equal(out['formatVersion'], '2.0');
  const stdout = JSON.parse(await cli(first, 'export')) as Doc;
  assertSameData(stdout, legacyDocument);

  const second = tempDir(t);
  await cli(second, 'import', exported);
  assertSameData(JSON.parse(await cli(second, 'export')) as Doc, legacyDocument);
  const server = await start(t, second);
  assertSameData(await getSync(server), legacyDocument);
});

/** Device A syncs, a full upload replaces A's data, A syncs again; answers the snapshot id and A's cursor. */
async function replaceByFullUpload(server: ChildServer): Promise<{ original: Item[]; cursor: string }> {
  const original = [{ id: 'kept-1', name: 'mine', updatedAt: at(1) }, { id: 'kept-2', extra: { deep: [null] }, updatedAt: at(2) }];
  assert.equal((await post(server, '/sync/delta', { problems: original })).status, 200);
  assert.equal((await post(server, '/sync', { problems: [{ id: 'mistake', updatedAt: at(3) }] })).status, 200);
  const seen = await post(server, '/sync/delta', { lastSyncTime: null });
  assert.deepEqual(seen.body['problems'], [{ id: 'mistake', updatedAt: at(3) }]);
  return { original, cursor: seen.body.serverTime };
}

async function restoreLatest(dataDir: string): Promise<void> {
  const listing = await cli(dataDir, 'history', 'list');
  const ids = [...listing.matchAll(/#(\d+)/g)].map((m) => Number(m[1]));
  assert.equal(ids.length, 1, `one snapshot expected after one full upload replaced data:\n${listing}`);
  await cli(dataDir, 'history', 'restore', String(ids[0]));
}

test('history restore brings back what a full upload replaced, and devices pick it up by delta', async (t) => {
  const dataDir = tempDir(t);
  let server = await start(t, dataDir);
  const { original, cursor } = await replaceByFullUpload(server);
  assert.equal(await server.stop(), 0);

  await restoreLatest(dataDir);
  server = await start(t, dataDir);
  const picked = await post(server, '/sync/delta', { lastSyncTime: cursor });
  assert.deepEqual(byId(picked.body['problems'] as Item[]), original);
  assert.ok(Date.parse(picked.body.serverTime) > Date.parse(cursor));
  assert.deepEqual((await getSync(server)).problems, original);
});

test('history restore while the server runs is picked up by the next delta and later writes still get later stamps', async (t) => {
  const dataDir = tempDir(t);
  const server = await start(t, dataDir);
  const { original, cursor } = await replaceByFullUpload(server);
  await restoreLatest(dataDir);

  const picked = await post(server, '/sync/delta', { lastSyncTime: cursor });
  assert.deepEqual(byId(picked.body['problems'] as Item[]), original);
  const write = await post(server, '/sync/delta', { lastSyncTime: picked.body.serverTime, gyms: [{ id: 'later', updatedAt: at(9) }] });
  const next = await post(server, '/sync/delta', { lastSyncTime: picked.body.serverTime });
  assert.deepEqual(next.body['gyms'], [{ id: 'later', updatedAt: at(9) }]);
  assert.ok(Date.parse(write.body.serverTime) > Date.parse(picked.body.serverTime));
});
