import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { postJson, startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.js';

/*
 * Section 7: writes to a dataset are serialised, stamps follow commit order, and
 * readers never see half a write, with many requests in flight at once.
 */

const COLLECTIONS = ['gyms', 'problems', 'sessions', 'attempts'] as const;
type Item = Record<string, unknown> & { id: string };
interface Tombstone { id: string; type: string; deletedAt: string }

const at = (n: number): string => new Date(Date.parse('2024-01-01T00:00:00.000Z') + n * 1000).toISOString();

async function delta(server: TestServer, body: Record<string, unknown>): Promise<Record<string, Item[]> & { serverTime: string; deletedItems: Tombstone[] }> {
  const answer = await postJson(server, '/sync/delta', body);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

/** The body read a chunk at a time with a pause after each, so the answer is still streaming while other requests commit. */
async function readSlowly(response: Response): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    text += decoder.decode(chunk.value, { stream: true });
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return text + decoder.decode();
}

const idsOf = (answer: Record<string, unknown>): Set<string> =>
  new Set(COLLECTIONS.flatMap((c) => (answer[c] as Item[]).map((item) => item.id)));

test('20 concurrent deltas: all stored, distinct stamps, and each answer sees exactly the writes stamped before it', async (t) => {
  const server = await startTestServer(t);
  const writes = Array.from({ length: 20 }, (_, w) => ({
    gyms: [{ id: `w${w}-gym`, updatedAt: at(w) }],
    problems: Array.from({ length: 5 }, (_, i) => ({ id: `w${w}-p${i}`, gymId: `w${w}-gym`, updatedAt: at(w) })),
  }));
  const answers = await Promise.all(writes.map((write) => delta(server, { lastSyncTime: null, ...write })));
  const stamps = answers.map((a) => Date.parse(a.serverTime));
  assert.equal(new Set(stamps).size, 20, 'two writes share a stamp');

  const all = await (await server.fetch('/sync')).json() as Record<string, Item[]>;
  assert.deepEqual([...idsOf(all)].sort(), writes.flatMap((w) => [...w.gyms, ...w.problems].map((i) => i.id)).sort());

  // Answers from the beginning are views of the dataset at their stamp: every write
  // stamped earlier is in whole, every later one is absent (a device's own may be left out).
  answers.forEach((answer, i) => {
    const seen = idsOf(answer);
    writes.forEach((write, j) => {
      if (i === j) return;
      const present = [...write.gyms, ...write.problems].filter((item) => seen.has(item.id)).length;
      const expected = stamps[j]! < stamps[i]! ? 6 : 0;
      assert.equal(present, expected, `answer ${i} (${answer.serverTime}) holds ${present} of 6 items of write ${j} (${answers[j]!.serverTime})`);
    });
  });

  // A device that saved any of these serverTimes gets exactly the writes stamped after it.
  for (const [i, answer] of answers.entries()) {
    const next = await delta(server, { lastSyncTime: answer.serverTime });
    const expected = writes.filter((_, j) => stamps[j]! > stamps[i]!).flatMap((w) => [...w.gyms, ...w.problems].map((item) => item.id));
    assert.deepEqual([...idsOf(next)].sort(), expected.sort(), `from ${answer.serverTime}`);
  }
});

test('a device syncing from its previous serverTime never gets one version twice and misses none while others write', async (t) => {
  const server = await startTestServer(t);
  let writing = true;

  const writer = async (w: number): Promise<void> => {
    const mine: Item[] = [];
    for (let round = 0; round < 12; round++) {
      const created = Array.from({ length: 3 }, (_, i) => ({ id: `w${w}-r${round}-${i}`, writer: w, round, updatedAt: at(round * 10) }));
      const edited = mine.length > 0 ? [{ ...mine[round % mine.length]!, round, edited: true, updatedAt: at(round * 10 + 1) }] : [];
      const doomed = round % 4 === 3 ? mine.splice(0, 1) : [];
      await delta(server, {
        problems: [...created, ...edited.filter((e) => !doomed.some((d) => d.id === e.id))],
        deletedItems: doomed.map((d) => ({ id: d.id, type: 'problem', deletedAt: at(round * 10 + 2) })),
      });
      mine.push(...created);
    }
  };

  const received = new Set<string>();
  const latest = new Map<string, Item>();
  const tombstones = new Set<string>();
  let cursor: string | null = null;
  let syncs = 0;
  const watch = async (): Promise<void> => {
    const answer = await delta(server, { lastSyncTime: cursor });
    syncs++;
    if (cursor !== null) assert.ok(Date.parse(answer.serverTime) > Date.parse(cursor), 'serverTime went backwards');
    for (const item of answer['problems']!) {
      const version = JSON.stringify(item);
      assert.ok(!received.has(version), `received ${version} twice (sync ${syncs} from ${cursor})`);
      received.add(version);
      latest.set(item.id, item);
    }
    for (const tombstone of answer.deletedItems) {
      assert.ok(!tombstones.has(tombstone.id), `received the deletion of ${tombstone.id} twice`);
      tombstones.add(tombstone.id);
      latest.delete(tombstone.id);
    }
    cursor = answer.serverTime;
  };

  const writers = Promise.all(Array.from({ length: 8 }, (_, w) => writer(w))).finally(() => (writing = false));
  while (writing) await watch();
  await writers;
  await watch();
  assert.ok(syncs > 3, `the device synced only ${syncs} times while others wrote`);

  const all = await (await server.fetch('/sync')).json() as { problems: Item[]; deletedItems: Tombstone[] };
  assert.deepEqual([...latest.values()].sort(byId), [...all.problems].sort(byId), 'the device missed an update');
  assert.deepEqual([...tombstones].sort(), all.deletedItems.map((d) => d.id).sort(), 'the device missed a deletion');
});

function byId(a: Item, b: Item): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

test('GET /sync read slowly while deltas commit returns valid JSON holding one consistent state', async (t) => {
  const server = await startTestServer(t);
  // Enough data that the answer cannot sit in socket buffers: the read overlaps the writes.
  const filler = Array.from({ length: 20_000 }, (_, i) => ({ id: `filler-${i}`, text: 'y'.repeat(60), updatedAt: at(0) }));
  assert.equal((await postJson(server, '/sync', { attempts: filler })).status, 200);

  // Each writer moves one batch forward per delta: adds batch n, deletes batch n - 1.
  const WRITERS = 4;
  const batch = (w: number, n: number): Item[] => Array.from({ length: 10 }, (_, i) => ({ id: `w${w}-b${n}-${i}`, updatedAt: at(n) }));
  for (let w = 0; w < WRITERS; w++) await delta(server, { problems: batch(w, 0) });
  let acknowledgedDuringRead = 0;
  let reading = false;
  const cursor = (await delta(server, {})).serverTime;
  const writer = async (w: number): Promise<void> => {
    for (let n = 1; n <= 15; n++) {
      const deletedItems = batch(w, n - 1).map((item) => ({ id: item.id, type: 'problem', deletedAt: at(n) }));
      await delta(server, { lastSyncTime: cursor, problems: batch(w, n), deletedItems });
      if (reading) acknowledgedDuringRead++;
    }
  };

  const slowRead = async (): Promise<Record<string, Item[]>> => {
    const response = await server.fetch('/sync', { headers: { 'accept-encoding': 'identity' } });
    assert.equal(response.status, 200);
    reading = true;
    const text = await readSlowly(response);
    reading = false;
    return JSON.parse(text) as Record<string, Item[]>;
  };

  const reads = [slowRead()];
  const writers = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  await new Promise((resolve) => setTimeout(resolve, 20));
  reads.push(slowRead());
  await writers;
  reads.push(slowRead());

  for (const doc of await Promise.all(reads)) {
    assert.equal(doc['attempts']!.length, filler.length);
    const live = new Set(doc['problems']!.map((item) => item.id));
    const deleted = new Set((doc['deletedItems'] as unknown as Tombstone[]).map((d) => d.id));
    for (let w = 0; w < WRITERS; w++) {
      // One consistent state: batches before the current one deleted, the current one live, later ones unknown.
      const states = Array.from({ length: 16 }, (_, n) => {
        const ids = batch(w, n).map((item) => item.id);
        const liveCount = ids.filter((id) => live.has(id)).length;
        const deletedCount = ids.filter((id) => deleted.has(id)).length;
        if (liveCount === 10 && deletedCount === 0) return 'live';
        if (liveCount === 0 && deletedCount === 10) return 'deleted';
        if (liveCount === 0 && deletedCount === 0) return 'absent';
        return `half (${liveCount} live, ${deletedCount} deleted)`;
      });
      assert.match(states.join(' '), /^(deleted )*live( absent)*$/, `writer ${w} seen as: ${states.join(' ')}`);
    }
  }
  t.diagnostic(`${acknowledgedDuringRead} writes were acknowledged while a GET /sync was being read`);
});

test('a delta from scratch read slowly while other deltas commit answers exactly the state at its serverTime, less what it wrote', async (t) => {
  const server = await startTestServer(t);
  // Enough data that the answer cannot sit in socket buffers: the read overlaps the writes.
  const filler = Array.from({ length: 20_000 }, (_, i) => ({ id: `filler-${i}`, text: 'x'.repeat(60), updatedAt: at(0) }));
  assert.equal((await postJson(server, '/sync', { attempts: filler })).status, 200);
  const batch = (n: number): Item[] => Array.from({ length: 10 }, (_, i) => ({ id: `b${n}-${i}`, updatedAt: at(n) }));
  // When each batch was written (and the one before it deleted), by the serverTime that write answered.
  const writtenAt: number[] = [Date.parse((await delta(server, { problems: batch(0) })).serverTime)];
  const writer = async (): Promise<void> => {
    for (let n = 1; n <= 30; n++) {
      const deletedItems = batch(n - 1).map((item) => ({ id: item.id, type: 'problem', deletedAt: at(n) }));
      writtenAt[n] = Date.parse((await delta(server, { lastSyncTime: null, problems: batch(n), deletedItems })).serverTime);
    }
  };
  const slowFromScratch = async (k: number): Promise<{ serverTime: number; problems: Item[]; gyms: Item[]; attempts: Item[]; deletedItems: Tombstone[] }> => {
    const response = await server.fetch('/sync/delta', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept-encoding': 'identity' },
      body: JSON.stringify({ lastSyncTime: null, gyms: [{ id: `reader-${k}`, updatedAt: at(k) }] }),
    });
    assert.equal(response.status, 200);
    const answer = JSON.parse(await readSlowly(response)) as { serverTime: string; problems: Item[]; gyms: Item[]; attempts: Item[]; deletedItems: Tombstone[] };
    return { ...answer, serverTime: Date.parse(answer.serverTime) };
  };

  const writing = writer();
  const answers = [];
  for (let k = 0; k < 3; k++) answers.push(await slowFromScratch(k));
  await writing;
  answers.push(await slowFromScratch(3));

  for (const [k, answer] of answers.entries()) {
    assert.equal(answer.attempts.length, filler.length);
    // Its own gym is not sent back; the gyms of the readers before it are.
    assert.deepEqual(answer.gyms.map((g) => g.id).sort(), Array.from({ length: k }, (_, i) => `reader-${i}`));
    const current = writtenAt.filter((stamp) => stamp < answer.serverTime).length - 1;
    const expectedLive = batch(current).map((item) => item.id);
    const expectedDeleted = Array.from({ length: current }, (_, n) => batch(n).map((item) => item.id)).flat();
    assert.deepEqual(answer.problems.map((p) => p.id).sort(), expectedLive.sort(), `answer ${k}: live problems at its serverTime`);
    assert.deepEqual(answer.deletedItems.map((d) => d.id).sort(), expectedDeleted.sort(), `answer ${k}: deletions at its serverTime`);
  }
  assert.ok(answers.some((answer) => answer.serverTime < writtenAt[30]!), 'no answer was taken while the writer was writing');
});

test('downloads abandoned halfway do not hold up later writes and reads', async (t) => {
  const server = await startTestServer(t);
  const filler = Array.from({ length: 20_000 }, (_, i) => ({ id: `filler-${i}`, text: 'z'.repeat(60), updatedAt: at(0) }));
  assert.equal((await postJson(server, '/sync', { attempts: filler })).status, 200);
  // node:http rather than fetch: destroying the socket is what a phone losing signal does.
  const { port } = new URL(server.url);
  for (let i = 0; i < 5; i++) {
    await new Promise<void>((resolve, reject) => {
      const request = http.get({ host: '127.0.0.1', port, path: '/sync', agent: false, headers: { authorization: `Bearer ${TEST_TOKEN}` } }, (response) => {
        response.once('data', () => {
          request.destroy();
          resolve();
        });
      });
      request.once('error', reject);
    });
  }
  const written = await delta(server, { lastSyncTime: null, problems: [{ id: 'after-aborts', updatedAt: at(1) }] });
  assert.equal(written['attempts']!.length, filler.length);
  const doc = await (await server.fetch('/sync')).json() as Record<string, Item[]>;
  assert.deepEqual(doc['problems'], [{ id: 'after-aborts', updatedAt: at(1) }]);
  assert.equal(doc['attempts']!.length, filler.length);
});
