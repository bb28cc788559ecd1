import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { TINY_IMAGES } from '../images/fixtures.js';
import { brotliCompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { postJson, sqliteOf, startTestServer, storeRow, type TestServer } from '../helpers/server.js';

const DELTA_KEYS = ['serverTime', 'gyms', 'problems', 'sessions', 'attempts', 'deletedItems'];
const SYNC_KEYS = ['exportedAt', 'version', 'formatVersion', 'gyms', 'problems', 'sessions', 'attempts', 'deletedItems'];
const SERVER_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function getSync(server: TestServer): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await server.fetch('/sync');
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const richProblem = {
  id: 'p1',
  gymId: 'g1',
  name: 'Crimp city',
  difficulty: { system: 'V_SCALE', grade: 'V5', numericValue: 5 },
  tags: ['crimpy', 'overhang'],
  imagePaths: ['problem_p1_0.jpg'],
  isActive: true,
  description: null,
  futureField: { nested: [1, { deep: null }], emoji: '🧗', escaped: 'line\nbreak "quoted" \u0000' },
  createdAt: '2024-01-15T10:00:00.000Z',
  updatedAt: '2024-01-15T10:00:00.000Z',
};

test('GET /sync is 404 until the first write, then 200 with exactly the documented keys', async (t) => {
  const server = await startTestServer(t);
  const before = await getSync(server);
  assert.equal(before.status, 404);
  assert.equal(typeof before.body['error'], 'string');

  const delta = await postJson(server, '/sync/delta', {});
  assert.equal(delta.status, 200);
  assert.deepEqual(Object.keys(delta.body), DELTA_KEYS);
  assert.match(delta.body.serverTime, SERVER_TIME);

  const after = await getSync(server);
  assert.equal(after.status, 200);
  assert.deepEqual(Object.keys(after.body), SYNC_KEYS);
  assert.equal(after.body['version'], '2.0');
  assert.equal(after.body['formatVersion'], '2.0');
  assert.match(after.body['exportedAt'] as string, SERVER_TIME);
  for (const key of SYNC_KEYS.slice(3)) assert.deepEqual(after.body[key], []);
});

test('items come back unchanged, unknown and nested fields included', async (t) => {
  const server = await startTestServer(t);
  assert.equal((await postJson(server, '/sync/delta', { problems: [richProblem] })).status, 200);
  assert.deepEqual((await getSync(server)).body['problems'], [richProblem]);
  const fromScratch = await postJson(server, '/sync/delta', { lastSyncTime: null });
  assert.deepEqual(fromScratch.body.problems, [richProblem]);
});

test('POST /sync replaces the live data, keeps the app\'s extra top-level fields and answers 200', async (t) => {
  const server = await startTestServer(t);
  await postJson(server, '/sync/delta', { gyms: [{ id: 'old', updatedAt: '2024-01-01T00:00:00.000Z' }] });
  const upload = await postJson(server, '/sync', {
    exportedAt: '2024-01-15T10:30:00.000Z',
    version: '2.0',
    formatVersion: '2.0',
    appSettings: { theme: 'dark' },
    gyms: [{ id: 'g1', name: 'New' }],
    problems: [richProblem],
    sessions: [{ id: 's-active', status: 'ACTIVE' }, { id: 's-done', status: 'COMPLETED' }],
    deletedItems: [{ id: 'a9', type: 'attempt', deletedAt: '2024-01-15T10:00:00.000Z' }],
  });
  assert.equal(upload.status, 200);
  const { body } = await getSync(server);
  assert.deepEqual(Object.keys(body), [...SYNC_KEYS, 'appSettings']);
  assert.deepEqual(body['appSettings'], { theme: 'dark' });
  assert.deepEqual(body['gyms'], [{ id: 'g1', name: 'New' }], 'the item left out is gone');
  assert.deepEqual(body['problems'], [richProblem]);
  assert.deepEqual(body['sessions'], [{ id: 's-done', status: 'COMPLETED' }], 'active sessions are not stored');
  assert.deepEqual(body['deletedItems'], [{ id: 'a9', type: 'attempt', deletedAt: '2024-01-15T10:00:00.000Z' }]);
});

test('a full upload never sends deletions for what it left out, and an empty one keeps the tombstones', async (t) => {
  const server = await startTestServer(t);
  const first = await postJson(server, '/sync/delta', { gyms: [{ id: 'g1' }], deletedItems: [{ id: 'x', type: 'gym', deletedAt: '2024-01-15T10:00:00.000Z' }] });
  await postJson(server, '/sync', {});
  const after = await postJson(server, '/sync/delta', { lastSyncTime: first.body.serverTime });
  assert.deepEqual(after.body.deletedItems, []);
  assert.deepEqual((await getSync(server)).body['gyms'], []);
  assert.equal(((await getSync(server)).body['deletedItems'] as unknown[]).length, 1);
});

test('a re-upload that changes only whitespace, key order or how a number is written keeps those items\' stamps; any other change is a change', async (t) => {
  const server = await startTestServer(t);
  const gyms = [
    '{"id":"g1","name":"Boulder Barn","grades":[1,2.5,{"a":null}],"updatedAt":"2024-01-15T10:00:00.000Z"}',
    '{"id":"g2","rating":1.0,"updatedAt":"2024-01-15T10:00:00.000Z"}',
    '{"id":"g3","big":9223372036854775807,"updatedAt":"2024-01-15T10:00:00.000Z"}',
    '{"id":"g4","huge":1e400,"updatedAt":"2024-01-15T10:00:00.000Z"}',
    '{"id":"g5","name":"Crimp","updatedAt":"2024-01-15T10:00:00.000Z"}',
  ];
  assert.equal((await postJson(server, '/sync', `{"gyms":[${gyms.join(',')}]}`)).status, 200);
  const synced = await postJson(server, '/sync/delta', { lastSyncTime: null });
  const reworded = [
    '{\n  "updatedAt": "2024-01-15T10:00:00.000Z",\n  "grades": [ 1, 25e-1, { "a": null } ],\n  "name": "Boulder Barn", "id": "g1"\n}',
    '{"id":"g2","updatedAt":"2024-01-15T10:00:00.000Z","rating":1}',
    // The same double to JSON.parse, another number: a change.
    '{"updatedAt":"2024-01-15T10:00:00.000Z","big":9223372036854775808,"id":"g3"}',
    '{"id":"g4","huge":2e400,"updatedAt":"2024-01-15T10:00:00.000Z"}',
    '{"id":"g5","name":"Crimp ","updatedAt":"2024-01-15T10:00:00.000Z"}',
  ];
  assert.equal((await postJson(server, '/sync', `{ "gyms" : [ ${reworded.join(' ,\n ')} ] }`)).status, 200);

  const since = await server.fetch('/sync/delta', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lastSyncTime: synced.body.serverTime }) });
  const changed = await since.text();
  assert.deepEqual((JSON.parse(changed) as { gyms: { id: string }[] }).gyms.map((g) => g.id).sort(), ['g3', 'g4', 'g5']);
  assert.ok(changed.includes('9223372036854775808') && changed.includes('2e400'), 'the changed numbers are stored as sent');
  const all = await (await server.fetch('/sync')).text();
  assert.ok(all.includes('"rating":1.0') && all.includes('"grades":[1,2.5,'), 'an item of the same content keeps the text it was stored with');
  assert.equal((await postJson(server, '/sync', `{"gyms":[${reworded.join(',')}]}`)).status, 200);
  assert.deepEqual((await postJson(server, '/sync/delta', { lastSyncTime: synced.body.serverTime })).body.gyms.map((g: { id: string }) => g.id).sort(), ['g3', 'g4', 'g5']);
});

test('ids and tombstone types of any length are kept, replaced and deleted like short ones', async (t) => {
  const server = await startTestServer(t);
  // Random, so that no store can compress them into a short index entry.
  const long = (prefix: string): string => prefix + randomBytes(2400).toString('base64');
  const [gymId, problemId, goneId, type] = [long('g'), long('p'), long('x'), long('climb-')];
  const first = await postJson(server, '/sync/delta', {
    gyms: [{ id: gymId, name: 'old', updatedAt: '2024-01-15T10:00:00.000Z' }],
    deletedItems: [{ id: goneId, type, deletedAt: '2024-01-15T10:00:00.000Z' }],
  });
  assert.equal(first.status, 200);
  assert.equal((await postJson(server, '/sync/delta', { gyms: [{ id: gymId, name: 'new', updatedAt: '2024-01-16T10:00:00.000Z' }] })).status, 200);
  const since = await postJson(server, '/sync/delta', { lastSyncTime: first.body.serverTime });
  assert.deepEqual(since.body.gyms, [{ id: gymId, name: 'new', updatedAt: '2024-01-16T10:00:00.000Z' }], 'replaced, not stored twice');

  const upload = await postJson(server, '/sync', { gyms: [{ id: gymId, name: 'new', updatedAt: '2024-01-16T10:00:00.000Z' }], problems: [{ id: problemId, gymId }] });
  assert.equal(upload.status, 200);
  assert.equal((await postJson(server, '/sync/delta', { deletedItems: [{ id: gymId, type: 'gym', deletedAt: '2024-01-17T10:00:00.000Z' }] })).status, 200);
  const { body } = await getSync(server);
  assert.deepEqual(body['gyms'], []);
  assert.deepEqual(body['problems'], [{ id: problemId, gymId }]);
  assert.deepEqual(
    (body['deletedItems'] as { id: string; type: string }[]).map((d) => [d.type.slice(0, 6), d.id.length]).sort(),
    [['climb-', goneId.length], ['gym', gymId.length]],
  );
});

test('a tombstone with no type, or one that is not a string, is of another type: kept and passed on, deleting nothing', async (t) => {
  const server = await startTestServer(t);
  const gym = { id: 'g1', name: 'stays', updatedAt: '2024-01-15T10:00:00.000Z' };
  assert.equal((await postJson(server, '/sync/delta', { gyms: [gym] })).status, 200);
  const typeless = [{ id: 'g1', deletedAt: '2024-01-16T10:00:00.000Z' }, { id: 'g1', type: 7, deletedAt: '2024-01-16T10:00:00.000Z' }, { id: 'g2', type: ' ' }];
  const delta = await postJson(server, '/sync/delta', { lastSyncTime: null, deletedItems: typeless });
  assert.equal(delta.status, 200, JSON.stringify(delta.body));
  assert.deepEqual(delta.body.gyms, [gym]);
  const full = await postJson(server, '/sync', { gyms: [gym], deletedItems: [{ id: 'g3' }] });
  assert.equal(full.status, 200, JSON.stringify(full.body));
  const { body } = await getSync(server);
  assert.deepEqual(body['gyms'], [gym]);
  // The first of the two without a string type stays, as for any type; the full upload's comes after.
  assert.deepEqual(body['deletedItems'], [typeless[0], typeless[2], { id: 'g3' }]);
});

test('HISTORY_KEEP is how many snapshots there are after a replacing upload: lowered to 0, none, the earlier ones included', async (t) => {
  const first = await startTestServer(t, { historyKeep: '2' });
  const upload = (server: TestServer, name: string) => postJson(server, '/sync', { gyms: [{ id: 'g1', name }] });
  for (const name of ['a', 'b', 'c', 'd']) assert.equal((await upload(first, name)).status, 200);
  const account = await first.store.datasetId('default');
  assert.equal((await first.store.listHistory(account)).length, 2);
  const second = await startTestServer(t, { historyKeep: '0' }, { dataDir: first.dataDir });
  assert.equal((await upload(second, 'e')).status, 200);
  assert.deepEqual(await second.store.listHistory(account), []);
});

test('one bad item among 50 good ones: 400 naming it, and nothing stored', async (t) => {
  const server = await startTestServer(t);
  await postJson(server, '/sync/delta', { gyms: [{ id: 'keep' }] });
  const before = (await getSync(server)).body;
  const problems = Array.from({ length: 51 }, (_, i) => ({ id: `p${i}`, updatedAt: '2024-01-15T10:00:00.000Z' }));
  problems[37] = { id: 42 } as never;
  for (const path of ['/sync/delta', '/sync']) {
    const answer = await postJson(server, path, { problems });
    assert.equal(answer.status, 400, path);
    assert.match(answer.body.error, /problems\[37\]\.id/);
    const after = (await getSync(server)).body;
    assert.deepEqual({ ...after, exportedAt: 0 }, { ...before, exportedAt: 0 }, `${path} stored nothing`);
  }
});

test('bodies that are not JSON objects are 400 with a JSON error, whatever the Content-Type', async (t) => {
  const server = await startTestServer(t);
  for (const [body, contentType] of [['not json', 'application/json'], ['[1,2]', 'application/json'], ['', 'application/json'], ['{"gyms":[]}', 'text/plain'], ['{"gyms":"x"}', 'application/octet-stream']] as const) {
    const response = await server.fetch('/sync/delta', { method: 'POST', body, headers: { 'content-type': contentType } });
    const expected = body === '{"gyms":[]}' ? 200 : 400;
    assert.equal(response.status, expected, `${contentType} ${body}`);
    if (expected === 400) assert.equal(typeof ((await response.json()) as { error: unknown }).error, 'string');
  }
});

test('invalid JSON inside an item is placed by its position in the body, by a full upload as by a delta', async (t) => {
  const server = await startTestServer(t);
  for (const body of ['{"gyms":[{"id":"a\tb"}]}', '{"x":1,"gyms":[{"id":"a"},{"id":"b","n":1e}]}']) {
    const errors: string[] = [];
    for (const path of ['/sync', '/sync/delta']) {
      const response = await server.fetch(path, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      assert.equal(response.status, 400, `${path} ${body}`);
      errors.push(((await response.json()) as { error: string }).error);
    }
    assert.match(errors[0]!, /^request body is not valid JSON: .* at position \d+$/, body);
    assert.equal(errors[0], errors[1], body);
  }
});

test('a body over MAX_JSON_BYTES is 413 and the server stays up', async (t) => {
  const server = await startTestServer(t, { maxJsonBytes: '1000' });
  const big = JSON.stringify({ gyms: [{ id: 'g', notes: 'x'.repeat(2000) }] });
  const answer = await server.fetch('/sync', { method: 'POST', body: big, headers: { 'content-type': 'application/json' } });
  assert.equal(answer.status, 413);
  assert.deepEqual(await answer.json(), {
    error: 'request body is larger than the 1000 bytes this server accepts (MAX_JSON_BYTES)',
    code: 'payload_too_large',
  });
  assert.equal((await server.fetch('/health')).status, 200);
  assert.equal((await server.fetch('/sync')).status, 404, 'nothing was written');
});

test('a compressed request body is a 415 that names its encoding, and changes nothing', async (t) => {
  const server = await startTestServer(t);
  const document = JSON.stringify({ gyms: [{ id: 'g1', name: 'Gym', updatedAt: '2024-01-15T10:00:00.000Z' }] });
  for (const [path, encoding, body] of [
    ['/sync', 'gzip', gzipSync(document)],
    ['/sync/delta', 'br', brotliCompressSync(document)],
    ['/sync', 'gzip, deflate', gzipSync(document)],
    ['/images/upload?filename=a.png', 'gzip', gzipSync(TINY_IMAGES['image/png'])],
    ['/images/upload?filename=b.png', 'gzip', TINY_IMAGES['image/png']],
  ] as const) {
    const answer = await server.fetch(path, { method: 'POST', body, headers: { 'content-type': 'application/json', 'content-encoding': encoding } });
    assert.equal(answer.status, 415, `${path} ${encoding}`);
    assert.deepEqual(await answer.json(), {
      error: `Content-Encoding "${encoding}" is not accepted: send the request body uncompressed`,
      code: 'unsupported_media_type',
    });
  }
  assert.equal((await server.fetch('/sync')).status, 404, 'nothing was written');
  assert.equal((await server.fetch('/images/download?filename=b.png')).status, 404, 'no image was stored');
  const plain = await server.fetch('/sync', { method: 'POST', body: document, headers: { 'content-type': 'application/json', 'content-encoding': 'identity' } });
  assert.equal(plain.status, 200, 'identity is no encoding at all');
  const empty = await server.fetch('/sync/delta', { method: 'POST', body: document, headers: { 'content-type': 'application/json', 'content-encoding': '' } });
  assert.equal(empty.status, 200, 'nor is an empty header');
});

test('the clock-skew scenario of sync-semantics section 2 loses nothing', async (t) => {
  let now = Date.UTC(2024, 0, 15, 10, 5);
  const server = await startTestServer(t, {}, { now: () => now });
  // Device B syncs at 10:05 and keeps serverTime.
  const b = await postJson(server, '/sync/delta', {});
  // Device A edited offline at 10:00 and syncs at 10:10.
  now = Date.UTC(2024, 0, 15, 10, 10);
  await postJson(server, '/sync/delta', { lastSyncTime: b.body.serverTime, problems: [{ id: 'p1', updatedAt: '2024-01-15T10:00:00.000Z' }] });
  const bNext = await postJson(server, '/sync/delta', { lastSyncTime: b.body.serverTime });
  assert.deepEqual(bNext.body.problems, [{ id: 'p1', updatedAt: '2024-01-15T10:00:00.000Z' }]);
});

test('stamps rise strictly even when the server clock steps back, and each delta takes one', async (t) => {
  let now = Date.UTC(2024, 5, 1, 12);
  const server = await startTestServer(t, {}, { now: () => now });
  const times: number[] = [];
  for (const step of [0, -3_600_000, 0, 0, -1]) {
    now += step;
    times.push(Date.parse((await postJson(server, '/sync/delta', {})).body.serverTime));
  }
  for (let i = 1; i < times.length; i++) assert.ok(times[i]! > times[i - 1]!, `${times[i]} > ${times[i - 1]}`);
  // An item written after the clock stepped back still reaches a device that synced before.
  const seen = (await postJson(server, '/sync/delta', {})).body.serverTime;
  now -= 7_200_000;
  await postJson(server, '/sync/delta', { gyms: [{ id: 'late' }] });
  assert.deepEqual((await postJson(server, '/sync/delta', { lastSyncTime: seen })).body.gyms, [{ id: 'late' }]);
});

test('a lastSyncTime later than any stamp issued answers everything; an older one only what changed since', async (t) => {
  const server = await startTestServer(t);
  const first = await postJson(server, '/sync/delta', { gyms: [{ id: 'g1' }], deletedItems: [{ id: 'p0', type: 'problem', deletedAt: '2024-01-01T00:00:00.000Z' }] });
  const second = await postJson(server, '/sync/delta', { lastSyncTime: first.body.serverTime, gyms: [{ id: 'g2' }] });
  assert.deepEqual(second.body.gyms, [], 'its own write is not echoed');
  const later = await postJson(server, '/sync/delta', { lastSyncTime: first.body.serverTime });
  assert.deepEqual(later.body.gyms, [{ id: 'g2' }]);
  assert.deepEqual(later.body.deletedItems, []);
  const future = await postJson(server, '/sync/delta', { lastSyncTime: '2999-01-01T00:00:00.000Z' });
  assert.deepEqual(future.body.gyms.map((g: { id: string }) => g.id).sort(), ['g1', 'g2']);
  assert.equal(future.body.deletedItems.length, 1);
  // Finer than a millisecond (a client that writes microseconds), on either store: the same as its millisecond.
  const micro = await postJson(server, '/sync/delta', { lastSyncTime: first.body.serverTime.replace('Z', '500Z') });
  assert.equal(micro.status, 200);
  assert.deepEqual(micro.body.gyms, [{ id: 'g2' }]);
  const before1970 = await postJson(server, '/sync/delta', { lastSyncTime: '1969-12-31T23:59:59.9995Z' });
  assert.equal(before1970.status, 200);
  assert.deepEqual(before1970.body.gyms.map((g: { id: string }) => g.id).sort(), ['g1', 'g2']);
  // Half a millisecond after the newest stamp is later than any stamp issued, too.
  const newest = await postJson(server, '/sync/delta', {});
  const justAfter = await postJson(server, '/sync/delta', { lastSyncTime: newest.body.serverTime.replace('Z', '500Z') });
  assert.deepEqual(justAfter.body.gyms.map((g: { id: string }) => g.id).sort(), ['g1', 'g2']);
});

test('a delta\'s own deletions are in its answer: they are stamped after its lastSyncTime, and only items are spared the echo', async (t) => {
  const server = await startTestServer(t);
  const p0 = { id: 'p0', type: 'problem', deletedAt: '2024-01-01T00:00:00.000Z' };
  const first = await postJson(server, '/sync/delta', { gyms: [{ id: 'g1' }], deletedItems: [p0] });
  assert.deepEqual(first.body.gyms, []);
  assert.deepEqual(first.body.deletedItems, [p0]);

  const g1 = { id: 'g1', type: 'gym', deletedAt: '2024-01-02T00:00:00.000Z' };
  const g2 = { id: 'g2', type: 'GYMS', deletedAt: '2024-01-02T00:00:00.000Z' };
  // g2 is sent alive and deleted in one request: the deletion wins, and is answered.
  const second = await postJson(server, '/sync/delta', { lastSyncTime: first.body.serverTime, gyms: [{ id: 'g2' }], deletedItems: [g1, g2, p0] });
  assert.deepEqual(second.body.gyms, []);
  assert.deepEqual(second.body.deletedItems, [g1, g2], 'p0 was kept before lastSyncTime: not sent again');
  assert.deepEqual((await getSync(server)).body['gyms'], []);

  const another = await postJson(server, '/sync/delta', { lastSyncTime: first.body.serverTime });
  assert.deepEqual(another.body.deletedItems, [g1, g2]);
});

test('an older edit is refused and the stored version sent back; a tombstone wins over a revival', async (t) => {
  const server = await startTestServer(t);
  const base = await postJson(server, '/sync/delta', { gyms: [{ id: 'g1', name: 'new', updatedAt: '2024-01-15T11:00:00.000Z' }] });
  const stale = await postJson(server, '/sync/delta', { lastSyncTime: base.body.serverTime, gyms: [{ id: 'g1', name: 'stale', updatedAt: '2024-01-15T10:00:00.000Z' }] });
  assert.deepEqual(stale.body.gyms, [{ id: 'g1', name: 'new', updatedAt: '2024-01-15T11:00:00.000Z' }]);

  const deleted = await postJson(server, '/sync/delta', { deletedItems: [{ id: 'g1', type: 'GYM', deletedAt: '2024-01-15T09:00:00.000Z' }] });
  const revive = await postJson(server, '/sync/delta', { lastSyncTime: deleted.body.serverTime, gyms: [{ id: 'g1', updatedAt: '2025-01-01T00:00:00.000Z' }] });
  assert.deepEqual(revive.body.gyms, []);
  assert.deepEqual(revive.body.deletedItems, [{ id: 'g1', type: 'GYM', deletedAt: '2024-01-15T09:00:00.000Z' }]);
  assert.deepEqual((await getSync(server)).body['gyms'], []);
});

test('large answers are compressed when the client accepts it', async (t) => {
  const server = await startTestServer(t);
  const gyms = Array.from({ length: 200 }, (_, i) => ({ id: `g${i}`, name: 'Boulderhalle Nord', notes: 'n'.repeat(50) }));
  await postJson(server, '/sync', { gyms });
  for (const path of ['/sync']) {
    const response = await server.fetch(path, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(response.headers.get('content-encoding'), 'gzip');
  }
  // Read the raw bytes to be sure they are gzip and decode to the data.
  const raw = await import('node:http').then(
    (http) =>
      new Promise<Buffer>((resolve, reject) => {
        http.get(`${server.url}/sync`, { headers: { authorization: 'Bearer test-token-0123456789abcdef', 'accept-encoding': 'gzip' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
        }).on('error', reject);
      }),
  );
  assert.deepEqual(JSON.parse(gunzipSync(raw).toString()).gyms, gyms);
  const small = await server.fetch('/health', { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(small.headers.get('content-encoding'), null, 'tiny answers are not compressed');
});

test('a GET /sync abandoned mid-stream, or a HEAD, releases its read snapshot', async (t) => {
  const server = await startTestServer(t);
  const problems = Array.from({ length: 3000 }, (_, i) => ({ id: `p${i}`, notes: 'x'.repeat(500) }));
  await postJson(server, '/sync', { problems });
  const http = await import('node:http');
  await new Promise<void>((resolve, reject) => {
    const req = http.get(`${server.url}/sync`, { headers: { authorization: 'Bearer test-token-0123456789abcdef' } }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
  });
  assert.equal((await server.fetch('/sync', { method: 'HEAD' })).status, 200);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await postJson(server, '/sync/delta', { gyms: [{ id: 'after' }] });
  const sqlite = sqliteOf(server);
  if (sqlite) {
    // A reader still holding a snapshot would keep the checkpoint from completing.
    const [checkpoint] = sqlite.database.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    assert.equal(checkpoint!.busy, 0);
  } else {
    // A reader still holding a snapshot is a connection idle in its transaction.
    const row = await storeRow(server, "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'");
    assert.deepEqual(row, { n: 0 });
  }
});

test('an edit a nanosecond later wins on either store, past what a double of milliseconds holds', async (t) => {
  const server = await startTestServer(t);
  const first = await postJson(server, '/sync/delta', { gyms: [{ id: 'g', v: 1, updatedAt: '2024-01-15T10:00:00.000Z' }] });
  const later = await postJson(server, '/sync/delta', { lastSyncTime: first.body.serverTime, gyms: [{ id: 'g', v: 2, updatedAt: '2024-01-15T10:00:00.000000001Z' }] });
  assert.deepEqual(later.body.gyms, []);
  const earlier = await postJson(server, '/sync/delta', { lastSyncTime: later.body.serverTime, gyms: [{ id: 'g', v: 3, updatedAt: '2024-01-15T10:00:00.0000000009Z' }] });
  assert.deepEqual(earlier.body.gyms, [{ id: 'g', v: 2, updatedAt: '2024-01-15T10:00:00.000000001Z' }]);
  assert.deepEqual((await getSync(server)).body['gyms'], [{ id: 'g', v: 2, updatedAt: '2024-01-15T10:00:00.000000001Z' }]);
});
