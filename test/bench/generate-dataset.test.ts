import assert from 'node:assert/strict';
import { test } from 'node:test';
import { datasetBytes, datasetCounts, generateDataset } from '../../bench/generate-dataset.js';

const COLLECTIONS = ['gyms', 'problems', 'sessions', 'attempts', 'deletedItems'] as const;
const ISO_MS_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('the same seed and scale give the same bytes; another seed gives others', () => {
  const a = datasetBytes({ scale: 0.01, seed: 7 });
  assert.ok(a.equals(datasetBytes({ scale: 0.01, seed: 7 })));
  assert.ok(!a.equals(datasetBytes({ scale: 0.01, seed: 8 })));
});

test('the dataset has the documented top-level shape and counts', () => {
  const data = generateDataset({ scale: 0.01 });
  assert.equal(data.version, '2.0');
  assert.equal(data.formatVersion, '2.0');
  assert.match(data.exportedAt, ISO_MS_Z);
  const counts = datasetCounts(0.01);
  for (const c of COLLECTIONS) assert.equal(data[c].length, counts[c], c);
});

test('ids are unique UUIDs and references point at existing items', () => {
  const data = generateDataset({ scale: 0.01 });
  const ids = COLLECTIONS.flatMap((c) => data[c].map((item) => item.id));
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, UUID_V4);
  const gyms = new Set(data.gyms.map((g) => g.id));
  const problems = new Set(data.problems.map((p) => p.id));
  const sessions = new Set(data.sessions.map((s) => s.id));
  for (const p of data.problems) assert.ok(gyms.has(p.gymId as string));
  for (const s of data.sessions) assert.ok(gyms.has(s.gymId as string));
  for (const a of data.attempts) {
    assert.ok(sessions.has(a.sessionId as string));
    assert.ok(problems.has(a.problemId as string));
  }
});

test('fields use the apps’ formats: ISO timestamps with ms and Z, enums, nested difficulty, images', () => {
  const data = generateDataset({ scale: 0.01 });
  for (const c of ['gyms', 'problems', 'sessions'] as const) {
    for (const item of data[c]) {
      assert.match(item.createdAt as string, ISO_MS_Z);
      assert.match(item.updatedAt as string, ISO_MS_Z);
    }
  }
  for (const p of data.problems) {
    assert.ok(['BOULDER', 'ROPE'].includes(p.climbType as string));
    const d = p.difficulty as { system: string; grade: string; numericValue: number };
    assert.ok(['V_SCALE', 'FONT', 'YDS'].includes(d.system));
    assert.equal(typeof d.grade, 'string');
    assert.equal(typeof d.numericValue, 'number');
    for (const name of p.imagePaths as string[]) assert.equal(name, name.replace(/[^A-Za-z0-9._-]/g, ''));
  }
  assert.ok(data.problems.some((p) => (p.imagePaths as string[]).length > 0));
  for (const s of data.sessions) assert.ok(['COMPLETED', 'PAUSED'].includes(s.status as string));
  for (const a of data.attempts) {
    assert.ok(['SUCCESS', 'FALL', 'NO_PROGRESS', 'FLASH'].includes(a.result as string));
    assert.match(a.timestamp as string, ISO_MS_Z);
  }
  for (const t of data.deletedItems) {
    assert.ok(['gym', 'problem', 'session', 'attempt'].includes(t.type as string));
    assert.match(t.deletedAt as string, ISO_MS_Z);
  }
});

test('the scale factor scales the counts and the size roughly linearly', () => {
  const small = datasetBytes({ scale: 0.01 }).length;
  const larger = datasetBytes({ scale: 0.04 }).length;
  assert.ok(larger / small > 3 && larger / small < 5, `size ratio ${larger / small}`);
  const one = datasetCounts(1);
  assert.deepEqual(one, { gyms: 20, problems: 5_000, sessions: 1_500, attempts: 60_000, deletedItems: 30 });
  assert.equal(datasetCounts(4).attempts, 240_000);
  // A tenth of the documented "about 25 MB" heavy user.
  const tenth = datasetBytes({ scale: 0.1 }).length;
  assert.ok(tenth > 2.2e6 && tenth < 3.2e6, `scale 0.1 is ${tenth} bytes`);
});
