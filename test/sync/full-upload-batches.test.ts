import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { text as readAll } from 'node:stream/consumers';
import { test, type TestContext } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { SyncService } from '../../src/sync/sync-service.js';
import { planScannedUpload } from '../../src/sync/upload-plan.js';
import { scanFullUpload } from '../../src/sync/upload-scan.js';
import { tempDir } from '../helpers/server.js';

/**
 * Re-uploads large enough to span several of the batches in which the SQLite
 * store compares stored items with the body's bytes (runs of 1024 compared by
 * SQLite, then one by one): unchanged items must keep their stamp and place,
 * changed, new, moved and removed ones must come out as the rules say, whatever
 * batch they fall in and however the items are separated.
 */
type Doc = Record<'gyms' | 'problems' | 'sessions' | 'attempts', string[]>;

const COLLECTIONS = ['gyms', 'problems', 'sessions', 'attempts'] as const;

function attempt(i: number, note = ''): string {
  return JSON.stringify({ id: `a${i}`, problemId: `p${i % 1100}`, updatedAt: `2024-01-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00.000Z`, notes: `n${i}${note}` });
}

function baseDoc(): Doc {
  return {
    gyms: [JSON.stringify({ id: 'g1', name: 'Gym', updatedAt: '2024-01-01T00:00:00.000Z' })],
    problems: Array.from({ length: 1100 }, (_, i) => JSON.stringify({ id: `p${i}`, gymId: 'g1', grade: `V${i % 10}`, updatedAt: '2024-01-02T00:00:00.000Z' })),
    sessions: Array.from({ length: 30 }, (_, i) => JSON.stringify({ id: `s${i}`, status: 'completed', updatedAt: '2024-01-03T00:00:00.000Z' })),
    attempts: Array.from({ length: 2600 }, (_, i) => attempt(i)),
  };
}

function body(doc: Doc, separator = ','): Buffer {
  return Buffer.from(`{${COLLECTIONS.map((c) => `"${c}":[${doc[c].join(separator)}]`).join(',')}}`);
}

async function text(answer: string | { chunks: AsyncIterable<string>; close(): void }): Promise<string> {
  if (typeof answer === 'string') return answer;
  const all = await readAll(Readable.from(answer.chunks));
  answer.close();
  return all;
}

const idOf = (json: string): string => (JSON.parse(json) as { id: string }).id;

test('large re-uploads keep unchanged items and change the rest, across batches', async (t) => {
  const store = new SqliteStore(tempDir(t));
  t.after(() => store.close());
  const datasetId = await store.datasetId('default');
  let clock = 1_700_000_000_000;
  const service = new SyncService(store, { historyKeep: 100, now: () => clock });
  let exported: Doc = { gyms: [], problems: [], sessions: [], attempts: [] };

  /** Uploads `doc`; checks the export order, what a delta since the previous upload carries, and the history. */
  const upload = async (doc: Doc, separator?: string): Promise<void> => {
    clock += 1000;
    const since = new Date(clock - 500).toISOString();
    const historyBefore = (await store.listHistory(datasetId)).length;
    await service.fullUpload(datasetId, body(doc, separator));
    // Kept items stay where they were, with the uploaded text; new ones follow in upload order.
    const expected = {} as Doc;
    const changed: string[] = [];
    let removed = false;
    for (const c of COLLECTIONS) {
      const uploaded = new Map(doc[c].map((json) => [idOf(json), json]));
      const previous = new Map(exported[c].map((json) => [idOf(json), json]));
      expected[c] = [...exported[c].map(idOf).filter((id) => uploaded.has(id)), ...[...uploaded.keys()].filter((id) => !previous.has(id))].map((id) => uploaded.get(id)!);
      for (const [id, json] of uploaded) if (previous.get(id) !== json) changed.push(json);
      if ([...previous.keys()].some((id) => !uploaded.has(id))) removed = true;
    }
    const answer = JSON.parse(await text((await service.openExport(datasetId))!)) as Doc;
    for (const c of COLLECTIONS) assert.deepEqual(answer[c].map((item) => JSON.stringify(item)), expected[c], c);
    clock += 1000;
    const delta = JSON.parse(await text(await service.delta(datasetId, JSON.stringify({ lastSyncTime: since })))) as Doc;
    const sent = COLLECTIONS.flatMap((c) => delta[c].map((item) => JSON.stringify(item)));
    assert.deepEqual(sent.sort(), changed.sort(), 'a delta since the previous upload carries exactly the new and changed items');
    const history = (await store.listHistory(datasetId)).length - historyBefore;
    const hadData = COLLECTIONS.some((c) => exported[c].length > 0);
    assert.equal(history, hadData && (changed.length > 0 || removed) ? 1 : 0, 'a history snapshot before each upload that replaced something, and only then');
    exported = expected;
  };

  const doc = baseDoc();
  await upload(doc);
  await upload(doc);
  // Changes at the start, in the middle and at the end of batches, in two collections.
  const edited = { ...doc, problems: [...doc.problems], attempts: [...doc.attempts] };
  for (const i of [0, 1023, 1024, 1500, 2599]) edited.attempts[i] = attempt(i, ' edited');
  edited.problems[700] = JSON.stringify({ id: 'p700', gymId: 'g1', grade: 'V9', updatedAt: '2024-02-02T00:00:00.000Z' });
  await upload(edited);
  // One removed, one new in the middle, one moved to the end: the rest must line up again.
  const shuffled = { ...edited, attempts: [...edited.attempts] };
  shuffled.attempts.splice(300, 1);
  shuffled.attempts.splice(1200, 0, attempt(9000));
  shuffled.attempts.push(...shuffled.attempts.splice(10, 1));
  await upload(shuffled);
  // The same items, spaced out: the texts are unchanged, only the bytes between them differ.
  await upload(shuffled, ',\n  ');
  // A second, newer version of an item in the same request wins in the first one's place.
  const duplicated = { ...shuffled, attempts: [...shuffled.attempts, JSON.stringify({ id: 'a2000', updatedAt: '2025-01-01T00:00:00.000Z', notes: 'newer' })] };
  clock += 1000;
  await service.fullUpload(datasetId, body(duplicated));
  const answer = JSON.parse(await text((await service.openExport(datasetId))!)) as Doc;
  const position = shuffled.attempts.findIndex((json) => idOf(json) === 'a2000');
  assert.deepEqual(answer.attempts[exported.attempts.findIndex((json) => idOf(json) === 'a2000')], { id: 'a2000', updatedAt: '2025-01-01T00:00:00.000Z', notes: 'newer' });
  assert.ok(position > 0);
  assert.equal(answer.attempts.length, shuffled.attempts.length);
});

test('a full upload that another process wrote under, between its comparison and its write, is compared again and stored', async (t) => {
  // The comparison is made before the transaction, while the history snapshot is
  // read: the CLI's import, or another server on the same file, may write then.
  const dir = tempDir(t);
  const store = new SqliteStore(dir);
  const other = new SqliteStore(dir);
  t.after(() => Promise.all([store.close(), other.close()]));
  const datasetId = await store.datasetId('default');
  await new SyncService(store, { historyKeep: 5 }).fullUpload(datasetId, body(baseDoc()));

  const uploaded = baseDoc();
  uploaded.attempts[0] = attempt(0, ' edited');
  let snapshots = 0;
  const { stamp } = await store.applyFullUpload(
    datasetId,
    {
      plan: planScannedUpload(scanFullUpload(body(uploaded))),
      historyKeep: 5,
      snapshot: async () => {
        // The first time only: another connection edits one item and adds one.
        if (snapshots++ === 0) {
          const meanwhile = { lastSyncTime: '2000-01-01T00:00:00.000Z', attempts: [JSON.parse(attempt(1, ' meanwhile')), JSON.parse(attempt(9999))] };
          await text(await new SyncService(other, { historyKeep: 5 }).delta(datasetId, JSON.stringify(meanwhile)));
        }
        return undefined;
      },
    },
    Date.now() + 60_000,
  );
  assert.equal(snapshots, 2, 'compared again, with a snapshot of what the other process wrote');
  const service = new SyncService(store, { historyKeep: 5 });
  const answer = JSON.parse(await text((await service.openExport(datasetId))!)) as Doc;
  // The upload is the data: what the other process wrote is replaced by it, as by any later full upload.
  assert.deepEqual(answer.attempts.map((item) => JSON.stringify(item)), uploaded.attempts);
  assert.equal(await store.lastStamp(datasetId), stamp);
});

/** A store of its own, with full uploads one second apart, and its gyms' rows in the export's order. */
function gymUploads(t: TestContext): { upload(text: string): Promise<void>; rows(): { id: string; json: string; stamp: number }[] } {
  const store = new SqliteStore(tempDir(t));
  t.after(() => store.close());
  const datasetId = store.datasetId('default');
  let clock = 1_700_000_000_000;
  const service = new SyncService(store, { historyKeep: 0, now: () => clock });
  return {
    async upload(text) {
      clock += 1000;
      await service.fullUpload(await datasetId, Buffer.from(text));
    },
    rows: () => store.database.prepare("SELECT id, json, stamp FROM items WHERE collection = 'gyms' ORDER BY rowid").all() as { id: string; json: string; stamp: number }[],
  };
}

test('what the scan matched in the stored rows counts only where the document keeps it: a collection listed twice, a stored text found in a losing duplicate', async (t) => {
  const { upload, rows } = gymUploads(t);
  const gym = (id: string, name = id): string => JSON.stringify({ id, name, updatedAt: '2024-01-01T00:00:00.000Z' });

  await upload(`{"gyms":[${gym('a')},${gym('b')}]}`);
  // The scan matches a and b in the first copy; JSON.parse keeps the second, which leaves b out.
  await upload(`{"gyms":[${gym('a')},${gym('b')}],"gyms":[${gym('a')}]}`);
  assert.deepEqual(rows().map((r) => r.id), ['a']);

  await upload(`{"gyms":[${gym('b')},${gym('x')}]}`);
  const before = rows();
  // x is matched in its second copy (the first met stored b); the first of equal copies wins, and its text is x's as stored.
  await upload(`{"gyms":[${gym('x')},${gym('x')}]}`);
  const after = rows();
  assert.deepEqual(after.map((r) => r.id), ['x']);
  assert.equal(after[0]!.stamp, before.find((r) => r.id === 'x')!.stamp, 'x is unchanged, so it keeps its stamp');
});

test('an item found in a run of stored ones and sent again in the same request: the newer copy wins, as if both were parsed', async (t) => {
  const { upload, rows } = gymUploads(t);
  const gym = (id: string, day: string, name = id): string => JSON.stringify({ id, name, updatedAt: `2024-01-${day}T00:00:00.000Z` });
  const gyms = (...items: string[]): string => `{"gyms":[${items.join(',')}]}`;

  await upload(gyms(gym('a', '10'), gym('b', '10')));
  const first = rows();
  // a and b match the stored run; an older copy of a after them loses, and nothing changes.
  await upload(gyms(gym('a', '10'), gym('b', '10'), gym('a', '09', 'older')));
  assert.deepEqual(rows(), first);
  // A newer copy wins, in the first one's place.
  await upload(gyms(gym('a', '10'), gym('b', '10'), gym('a', '11', 'newer')));
  const after = rows();
  assert.deepEqual(after.map((r) => [r.id, r.json]), [['a', gym('a', '11', 'newer')], ['b', gym('b', '10')]]);
  assert.ok(after[0]!.stamp > first[0]!.stamp);
  assert.equal(after[1]!.stamp, first[1]!.stamp);
});
