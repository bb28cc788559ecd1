import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attemptDay, datasetOf } from '../../src/stats/dataset.js';
import { filterProblems, firstSend, indexAttempts, projects, sessionsNewestFirst } from '../../src/stats/lists.js';
import { attemptsCsv } from '../../src/web/csv.js';

const problem = (id: string, extra: Record<string, unknown> = {}) => ({ id, gymId: 'g1', name: id, climbType: 'BOULDER', difficulty: { system: 'V_SCALE', grade: 'V3' }, tags: [], ...extra });
const attempt = (id: string, sessionId: string, problemId: string, result: string, timestamp: string, highestHold?: string) => ({ id, sessionId, problemId, result, timestamp, ...(highestHold ? { highestHold } : {}) });

test('projects: attempted and never sent, active first, then the latest try; best hold as a number when all are numbers', () => {
  const ds = datasetOf({
    problems: [problem('sent'), problem('old', { isActive: false }), problem('busy'), problem('crux'), problem('untouched')],
    sessions: ['s1', 's2', 's3', 's4'].map((id) => ({ id, gymId: 'g1', date: '2026-01-01' })),
    // s4 is deleted: its attempt still counts, but it is no session tried in.
    deletedItems: [{ id: 's4', type: 'session', deletedAt: '2026-04-01T00:00:00.000Z' }],
    attempts: [
      attempt('a0', 's4', 'busy', 'FALL', '2025-12-31T10:00:00.000Z'),
      attempt('a1', 's1', 'sent', 'FALL', '2026-01-01T10:00:00.000Z'),
      attempt('a2', 's2', 'sent', 'success', '2026-01-02T10:00:00.000Z'),
      attempt('a3', 's1', 'old', 'FALL', '2026-03-01T10:00:00.000Z', '3'),
      attempt('a4', 's1', 'busy', 'FALL', '2026-01-01T10:00:00.000Z', '9'),
      attempt('a5', 's2', 'busy', 'NO_PROGRESS', '2026-01-02T10:00:00.000Z', '12'),
      attempt('a6', 's2', 'busy', 'FALL', '2026-01-02T11:00:00.000Z', '10'),
      attempt('a7', 's3', 'crux', 'FALL', '2026-02-01T10:00:00.000Z', 'crimp'),
      attempt('a8', 's3', 'crux', 'FALL', '2026-02-01T11:00:00.000Z', '4'),
      attempt('a9', 's3', 'ghost', 'FALL', '2026-02-01T11:00:00.000Z'),
    ],
  });
  const list = projects(ds, indexAttempts(ds)).map((p) => [p.problem.id, p.attempts, p.sessions, p.lastTry.timestamp.slice(0, 10), p.bestHold]);
  assert.deepEqual(list, [
    ['crux', 2, 1, '2026-02-01', '4'],
    ['busy', 4, 2, '2026-01-02', '12'],
    ['old', 1, 1, '2026-03-01', '3'],
  ]);
});

test('problem filters combine; first send is the earliest sending attempt', () => {
  const ds = datasetOf({
    problems: [
      problem('a', { tags: ['crimpy'], gymId: 'g1' }),
      problem('b', { tags: ['crimpy', 'roof'], gymId: 'g2', isActive: false }),
      problem('c', { climbType: 'rope', difficulty: { system: 'YDS', grade: '5.10a' }, gymId: 'g2' }),
    ],
    attempts: [attempt('x1', 's', 'a', 'FLASH', '2026-01-03T10:00:00.000Z'), attempt('x2', 's', 'a', 'SUCCESS', '2026-01-02T10:00:00+05:00')],
  });
  const ids = (f: Parameters<typeof filterProblems>[1]) => filterProblems(ds, f).map((p) => p.id);
  assert.deepEqual(ids({}), ['a', 'b', 'c']);
  assert.deepEqual(ids({ tag: 'crimpy' }), ['a', 'b']);
  assert.deepEqual(ids({ tag: 'Roof' }), ['b'], 'tags in any case');
  assert.deepEqual(ids({ tag: 'crimpy', active: true }), ['a']);
  assert.deepEqual(ids({ gymId: 'g2', climbType: 'ROPE' }), ['c']);
  assert.deepEqual(ids({ grade: 'V3', active: false }), ['b']);
  assert.equal(firstSend(indexAttempts(ds).byProblem.get('a')!)?.timestamp, '2026-01-02T10:00:00+05:00');
});

test('an attempt\'s day: its timestamp\'s date as written, else its session\'s date', () => {
  const ds = datasetOf({
    sessions: [{ id: 's1', gymId: 'g1', date: '2024-05-01T22:00:00-07:00' }],
    attempts: [{ id: 'a1', sessionId: 's1', problemId: 'p', result: 'SUCCESS' }, attempt('a2', 's1', 'p', 'FALL', '2024-05-02T06:00:00+02:00'), { id: 'a3', sessionId: 'gone', problemId: 'p', result: 'FALL' }],
  });
  const byId = new Map(indexAttempts(ds).byProblem.get('p')!.map((a) => [a.timestamp, a]));
  assert.equal(attemptDay(ds, firstSend(indexAttempts(ds).byProblem.get('p')!)!), '2024-05-01');
  assert.equal(attemptDay(ds, byId.get('2024-05-02T06:00:00+02:00')!), '2024-05-02');
  assert.equal(attemptDay(ds, { sessionId: 'gone', problemId: 'p', result: 'FALL', resultText: 'FALL', timestamp: '', time: NaN, highestHold: '' }), '');
});

test('sessions newest first by the date written, then start time', () => {
  const ds = datasetOf({
    sessions: [
      { id: 's1', date: '2026-01-01', startTime: '2026-01-01T08:00:00.000Z' },
      { id: 's2', date: '2026-01-02', startTime: '2026-01-02T08:00:00.000Z' },
      { id: 's3', date: '2026-01-02', startTime: '2026-01-02T18:00:00.000Z' },
    ],
  });
  assert.deepEqual(sessionsNewestFirst(ds).map((s) => s.id), ['s3', 's2', 's1']);
});

test('one day\'s sessions by when they started as instants, offsets read; a date with a time stands for a missing start', () => {
  const ds = datasetOf({
    sessions: [
      // 05:00Z, written with an offset that sorts after "06:00Z" as text.
      { id: 'offset', date: '2026-10-20', startTime: '2026-10-20T10:00:00+05:00' },
      { id: 'utc', date: '2026-10-20', startTime: '2026-10-20T06:00:00Z' },
      { id: 'zzz-morning', date: '2026-10-20T01:00:00.000Z' },
      { id: 'aaa-evening', date: '2026-10-20T20:00:00.000Z' },
      { id: 'no-time', date: '2026-10-20' },
    ],
  });
  assert.deepEqual(sessionsNewestFirst(ds).map((s) => s.id), ['aaa-evening', 'utc', 'offset', 'zzz-morning', 'no-time']);
});

test('a session without a duration lasts from its start to its end; a negative duration is none', () => {
  const ds = datasetOf({
    sessions: [
      { id: 'given', date: '2026-01-01', duration: 95, startTime: '2026-01-01T10:00:00.000Z', endTime: '2026-01-01T12:00:00.000Z' },
      { id: 'derived', date: '2026-01-01', startTime: '2026-01-01T10:00:00+02:00', endTime: '2026-01-01T09:30:00.000Z' },
      { id: 'backwards', date: '2026-01-01', startTime: '2026-01-01T12:00:00.000Z', endTime: '2026-01-01T10:00:00.000Z' },
      { id: 'negative', date: '2026-01-01', duration: -5 },
      { id: 'unreadable', date: '2026-01-01', startTime: 'morning', endTime: '2026-01-01T10:00:00.000Z' },
    ],
  });
  assert.deepEqual(
    [...ds.sessions.values()].map((s) => [s.id, s.durationMinutes]),
    [
      ['given', 95],
      ['derived', 90],
      ['backwards', undefined],
      ['negative', undefined],
      ['unreadable', undefined],
    ],
  );
});

test('results are read case-insensitively for figures and kept as written for the export', () => {
  const ds = datasetOf({
    problems: [problem('p')],
    sessions: [{ id: 's', gymId: 'g1', date: '2026-01-01' }],
    attempts: [attempt('a1', 's', 'p', 'success', '2026-01-01T10:00:00.000Z'), attempt('a2', 's', 'p', 'SENT', '2026-01-01T10:01:00.000Z'), attempt('a3', 's', 'p', 'FALL', '2026-01-01T10:02:00.000Z'), { id: 'a4', sessionId: 's', problemId: 'p', result: 1, timestamp: '2026-01-01T10:03:00.000Z' }],
  });
  const rows = [0, 1, 2, 3].map((r) => ds.attempts.attempt(r));
  assert.deepEqual(
    rows.map((a) => [a.result, a.resultText]),
    [
      ['SUCCESS', 'success'],
      ['OTHER', 'SENT'],
      ['FALL', 'FALL'],
      ['OTHER', ''],
    ],
  );
  const results = [...attemptsCsv(ds)].slice(1).map((line) => line.split(',')[9]);
  assert.deepEqual(results, ['success', 'SENT', 'FALL', '']);
});
