import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serverDay } from '../../src/stats/calendar.js';
import { datasetOf } from '../../src/stats/dataset.js';
import { hardest, pyramids, recentDays, summary, totals } from '../../src/stats/figures.js';
import { flashRate, progress } from '../../src/stats/progress.js';

type J = Record<string, unknown>;
const gym = (id: string, extra: J = {}): J => ({ id, name: `Gym ${id}`, ...extra });
const problem = (id: string, grade: string, extra: J = {}): J => ({
  id,
  gymId: 'g1',
  name: `Problem ${id}`,
  climbType: 'BOULDER',
  difficulty: { system: 'V_SCALE', grade },
  ...extra,
});
const session = (id: string, date: string, extra: J = {}): J => ({ id, gymId: 'g1', date, status: 'COMPLETED', ...extra });
let n = 0;
const attempt = (sessionId: string, problemId: string, result: string, timestamp: string): J => ({ id: `a${++n}`, sessionId, problemId, result, timestamp });

test('send and flash: SUCCESS and FLASH in any case are sends, only FLASH a flash', () => {
  const ds = datasetOf({
    gyms: [gym('g1')],
    problems: [problem('p1', 'V1'), problem('p2', 'V2'), problem('p3', 'V3')],
    sessions: [session('s1', '2026-01-10')],
    attempts: [
      attempt('s1', 'p1', 'success', '2026-01-10T10:00:00.000Z'),
      attempt('s1', 'p2', 'Flash', '2026-01-10T10:01:00.000Z'),
      attempt('s1', 'p3', 'FALL', '2026-01-10T10:02:00.000Z'),
      attempt('s1', 'p3', 'no_progress', '2026-01-10T10:03:00.000Z'),
      attempt('s1', 'p3', 'sent it', '2026-01-10T10:04:00.000Z'),
    ],
  });
  assert.deepEqual(totals(ds), { gyms: 1, problems: 3, sessions: 1, attempts: 5, sends: 2, flashes: 1, climbingDays: 1 });
  assert.equal(flashRate(ds), 1 / 2);
});

test('the pyramid counts distinct problems sent, whatever the number of sends', () => {
  const ds = datasetOf({
    problems: [problem('p1', 'V3'), problem('p2', 'V3'), problem('p3', 'V4'), problem('p4', 'V4')],
    sessions: [session('s1', '2026-01-10')],
    attempts: [
      attempt('s1', 'p1', 'SUCCESS', '2026-01-10T10:00:00.000Z'),
      attempt('s1', 'p1', 'SUCCESS', '2026-01-10T10:05:00.000Z'),
      attempt('s1', 'p1', 'FLASH', '2026-01-10T10:06:00.000Z'),
      attempt('s1', 'p2', 'FLASH', '2026-01-10T10:07:00.000Z'),
      attempt('s1', 'p3', 'SUCCESS', '2026-01-10T10:08:00.000Z'),
      attempt('s1', 'p4', 'FALL', '2026-01-10T10:09:00.000Z'),
    ],
  });
  assert.deepEqual(pyramids(ds), [
    { climbType: 'BOULDER', system: 'V_SCALE', grades: [{ grade: 'V3', problems: 2 }, { grade: 'V4', problems: 1 }] },
  ]);
});

/** Grades sent once each, listed in the order the pyramid must give them (easiest first). */
const ORDER_TABLE: { rule: string; system: string; sent: { grade: string; numericValue?: number }[]; customGrades?: string[]; expected: string[] }[] = [
  { rule: 'V scale by its scale, not by text', system: 'V_SCALE', sent: [{ grade: 'V10' }, { grade: 'V2' }, { grade: 'VB' }, { grade: 'V0' }], expected: ['VB', 'V0', 'V2', 'V10'] },
  { rule: 'V scale read case-insensitively', system: 'v_scale', sent: [{ grade: 'v11' }, { grade: 'V9' }], expected: ['V9', 'v11'] },
  { rule: 'Font with its plus grades', system: 'FONT', sent: [{ grade: '7A' }, { grade: '6C+' }, { grade: '6c' }, { grade: '4+' }, { grade: '4' }, { grade: '9A' }], expected: ['4', '4+', '6c', '6C+', '7A', '9A'] },
  { rule: 'YDS letters within a number, numbers as numbers', system: 'YDS', sent: [{ grade: '5.10a' }, { grade: '5.9' }, { grade: '5.11d' }, { grade: '5.10d' }, { grade: '5.15d' }], expected: ['5.9', '5.10a', '5.10d', '5.11d', '5.15d'] },
  {
    rule: 'numericValue wins over the scale',
    system: 'V_SCALE',
    sent: [{ grade: 'V5', numericValue: 1 }, { grade: 'V1', numericValue: 9 }],
    expected: ['V5', 'V1'],
  },
  {
    rule: 'CUSTOM by the gym list, then by name',
    system: 'CUSTOM',
    customGrades: ['green', 'blue', 'red', 'black'],
    sent: [{ grade: 'black' }, { grade: 'green' }, { grade: 'zebra' }, { grade: 'red' }, { grade: 'apple' }],
    expected: ['green', 'red', 'black', 'apple', 'zebra'],
  },
  {
    rule: 'grades off every scale come after the known ones, by name',
    system: 'V_SCALE',
    sent: [{ grade: 'V3' }, { grade: 'hard' }, { grade: 'V1' }, { grade: 'easy' }],
    expected: ['V1', 'V3', 'easy', 'hard'],
  },
];

for (const row of ORDER_TABLE) {
  test(`grade order: ${row.rule}`, () => {
    const problems = row.sent.map((s, i) =>
      problem(`p${i}`, s.grade, { difficulty: { system: row.system, grade: s.grade, ...(s.numericValue === undefined ? {} : { numericValue: s.numericValue }) } }),
    );
    const ds = datasetOf({
      gyms: [gym('g1', { customDifficultyGrades: row.customGrades ?? [] })],
      problems,
      sessions: [session('s1', '2026-01-10')],
      attempts: problems.map((p, i) => attempt('s1', p['id'] as string, 'SUCCESS', `2026-01-10T10:0${i}:00.000Z`)),
    });
    const [pyramid] = pyramids(ds);
    assert.deepEqual(pyramid!.grades.map((g) => g.grade), row.expected);
    assert.equal(hardest(ds)[0]!.grade, row.expected.at(-1));
  });
}

test('CUSTOM grades take their place in their own gym\'s list', () => {
  const ds = datasetOf({
    gyms: [gym('g1', { customDifficultyGrades: ['yellow', 'purple'] }), gym('g2', { customDifficultyGrades: ['purple', 'yellow'] })],
    problems: [
      problem('p1', 'purple', { gymId: 'g1', difficulty: { system: 'CUSTOM', grade: 'purple' } }),
      problem('p2', 'yellow', { gymId: 'g1', difficulty: { system: 'CUSTOM', grade: 'yellow' } }),
    ],
    sessions: [session('s1', '2026-01-10')],
    attempts: [attempt('s1', 'p1', 'SUCCESS', '2026-01-10T10:00:00.000Z'), attempt('s1', 'p2', 'SUCCESS', '2026-01-10T10:01:00.000Z')],
  });
  assert.deepEqual(pyramids(ds)[0]!.grades.map((g) => g.grade), ['yellow', 'purple']);
});

test('CUSTOM grades: a figure is ordered by the lists of its own problems\' gyms, never by another gym\'s', () => {
  const custom = (id: string, gymId: string, grade: string) => problem(id, grade, { gymId, difficulty: { system: 'CUSTOM', grade } });
  const ds = datasetOf({
    gyms: [gym('g1', { customDifficultyGrades: ['Yellow', 'Green', 'Blue', 'Red'] }), gym('g4', { customDifficultyGrades: ['Red', 'Blue'] })],
    problems: [custom('p1', 'g1', 'Yellow'), custom('p2', 'g1', 'Red'), custom('p3', 'g4', 'Red'), custom('p4', 'g4', 'Blue')],
    sessions: [session('s1', '2026-01-10'), session('s2', '2026-01-11', { gymId: 'g4' })],
    attempts: [attempt('s1', 'p1', 'SUCCESS', '2026-01-10T10:00:00.000Z'), attempt('s1', 'p2', 'SUCCESS', '2026-01-10T10:01:00.000Z')],
  });
  // g4 (where Red is easiest) has no send: it does not reorder g1's grades.
  assert.deepEqual(pyramids(ds)[0]!.grades.map((g) => g.grade), ['Yellow', 'Red']);
  assert.equal(hardest(ds)[0]!.grade, 'Red');
  const atG1 = (p: { gymId: string }) => p.gymId === 'g1';
  const both = datasetOf({
    gyms: [gym('g1', { customDifficultyGrades: ['Yellow', 'Green', 'Blue', 'Red'] }), gym('g4', { customDifficultyGrades: ['Red', 'Blue'] })],
    problems: [custom('p1', 'g1', 'Yellow'), custom('p2', 'g1', 'Red'), custom('p3', 'g4', 'Red'), custom('p4', 'g4', 'Blue')],
    sessions: [session('s1', '2026-01-10'), session('s2', '2026-01-11', { gymId: 'g4' })],
    attempts: [
      attempt('s1', 'p1', 'SUCCESS', '2026-01-10T10:00:00.000Z'),
      attempt('s1', 'p2', 'SUCCESS', '2026-01-10T10:01:00.000Z'),
      attempt('s2', 'p3', 'SUCCESS', '2026-01-11T10:00:00.000Z'),
      attempt('s2', 'p4', 'SUCCESS', '2026-01-11T10:01:00.000Z'),
    ],
  });
  // A gym's page orders by that gym's list alone, whatever other gyms say.
  assert.deepEqual(pyramids(both, atG1)[0]!.grades.map((g) => g.grade), ['Yellow', 'Red']);
  assert.deepEqual(hardest(both, atG1)[0]!.problemId, 'p2');
});

test('grades are never converted between systems or climb types', () => {
  const ds = datasetOf({
    problems: [
      problem('p1', 'V5'),
      problem('p2', '6C', { difficulty: { system: 'FONT', grade: '6C' } }),
      problem('p3', '5.11a', { climbType: 'rope', difficulty: { system: 'YDS', grade: '5.11a' } }),
    ],
    sessions: [session('s1', '2026-01-10')],
    attempts: ['p1', 'p2', 'p3'].map((p, i) => attempt('s1', p, 'SUCCESS', `2026-01-1${i}T10:00:00.000Z`)),
  });
  assert.deepEqual(hardest(ds), [
    { climbType: 'BOULDER', system: 'FONT', grade: '6C', problemId: 'p2', date: '2026-01-11' },
    { climbType: 'BOULDER', system: 'V_SCALE', grade: 'V5', problemId: 'p1', date: '2026-01-10' },
    { climbType: 'ROPE', system: 'YDS', grade: '5.11a', problemId: 'p3', date: '2026-01-12' },
  ]);
});

test('hardest send: the top grade; among ties the problem sent first, dated by its earliest send as written', () => {
  const ds = datasetOf({
    problems: [problem('p1', 'V7'), problem('p2', 'V7'), problem('p3', 'V6')],
    sessions: [session('s1', '2026-03-14')],
    attempts: [
      // p2's first send is earlier as an instant although its text sorts later.
      attempt('s1', 'p1', 'SUCCESS', '2026-03-14T01:30:00.000Z'),
      attempt('s1', 'p2', 'SUCCESS', '2026-03-14T10:00:00.000Z'),
      attempt('s1', 'p2', 'FLASH', '2026-03-15T00:30:00+02:00'),
      attempt('s1', 'p3', 'SUCCESS', '2026-01-01T10:00:00.000Z'),
    ],
  });
  // p2's +02:00 send is 2026-03-14T22:30Z: later than p1's. So p1 wins the tie.
  assert.deepEqual(hardest(ds), [{ climbType: 'BOULDER', system: 'V_SCALE', grade: 'V7', problemId: 'p1', date: '2026-03-14' }]);

  const reversed = datasetOf({
    problems: [problem('p1', 'V7'), problem('p2', 'V7')],
    sessions: [session('s1', '2026-03-15')],
    attempts: [attempt('s1', 'p1', 'SUCCESS', '2026-03-16T10:00:00.000Z'), attempt('s1', 'p2', 'FLASH', '2026-03-15T23:30:00-05:00')],
  });
  // 2026-03-15T23:30-05:00 is 2026-03-16T04:30Z, before p1; its date is written as 2026-03-15.
  assert.deepEqual(hardest(reversed), [{ climbType: 'BOULDER', system: 'V_SCALE', grade: 'V7', problemId: 'p2', date: '2026-03-15' }]);
});

test('tombstoned items are gone; orphan attempts (no problem or no session) count in totals, in no per-grade figure', () => {
  const ds = datasetOf({
    gyms: [gym('g1'), gym('g2')],
    problems: [problem('p1', 'V4'), problem('p2', 'V8'), problem('p3', 'V2')],
    sessions: [session('s1', '2026-01-10'), session('s2', '2026-01-11')],
    attempts: [
      attempt('s1', 'p1', 'SUCCESS', '2026-01-10T10:00:00.000Z'),
      attempt('s1', 'p2', 'FLASH', '2026-01-10T10:01:00.000Z'), // its problem is deleted: an orphan
      attempt('s2', 'p3', 'SUCCESS', '2026-01-11T10:00:00.000Z'), // its session is deleted
      attempt('gone', 'p1', 'FLASH', '2026-01-09T10:00:00.000Z'), // session never existed: earlier than p1's other send
      { id: 'dead', sessionId: 's1', problemId: 'p1', result: 'FLASH', timestamp: '2026-01-10T11:00:00.000Z' },
    ],
    deletedItems: [
      { id: 'g2', type: 'gym', deletedAt: '2026-02-01T00:00:00.000Z' },
      { id: 'p2', type: 'PROBLEMS', deletedAt: '2026-02-01T00:00:00.000Z' },
      { id: 's2', type: 'session', deletedAt: '2026-02-01T00:00:00.000Z' },
      { id: 'dead', type: 'attempt', deletedAt: '2026-02-01T00:00:00.000Z' },
    ],
  });
  assert.deepEqual(totals(ds), { gyms: 1, problems: 2, sessions: 1, attempts: 4, sends: 4, flashes: 2, climbingDays: 1 });
  // p2 is gone, so V8 is not the hardest; p3 was sent only in the deleted session, so V2 is in no pyramid.
  assert.deepEqual(pyramids(ds)[0]!.grades, [{ grade: 'V4', problems: 1 }]);
  // p1's first send is the one in s1: the earlier one in a session that never existed does not count.
  assert.deepEqual(hardest(ds), [{ climbType: 'BOULDER', system: 'V_SCALE', grade: 'V4', problemId: 'p1', date: '2026-01-10' }]);
  assert.deepEqual(progress(ds).series, [{ climbType: 'BOULDER', system: 'V_SCALE', grades: ['V4'], months: [{ month: '2026-01', hardest: 'V4', sends: { V4: 1 } }] }]);
});

test('climbing days: distinct dates as written (date, else startTime), no time-zone conversion', () => {
  const ds = datasetOf({
    sessions: [
      session('s1', '2026-05-01T23:30:00-07:00'), // 2026-05-02 in UTC, but the app wrote the 1st
      session('s2', '2026-05-01T08:00:00.000Z'),
      { id: 's3', gymId: 'g1', startTime: '2026-05-03T22:00:00+09:00' },
      { id: 's4', gymId: 'g1' }, // no date at all: not a climbing day
      session('s5', 'yesterday'),
    ],
    attempts: [attempt('s1', 'x', 'SUCCESS', '2026-05-02T06:30:00.000Z'), attempt('s2', 'x', 'FALL', '2026-05-01T08:10:00.000Z')],
  });
  assert.equal(totals(ds).climbingDays, 2);
  assert.deepEqual(recentDays(ds, '2026-05-10'), [
    { date: '2026-05-01', sessions: 2, attempts: 2, sends: 1 },
    { date: '2026-05-03', sessions: 1, attempts: 0, sends: 0 },
  ]);
});

test('climbing days: a date that is not on the calendar is no date; the session falls back to its startTime', () => {
  const ds = datasetOf({
    sessions: [
      session('feb30', '2026-02-30', { startTime: '2026-03-02T10:00:00.000Z' }),
      session('month13', '2026-13-45'),
      session('day00', '2026-04-00'),
      session('notLeap', '2025-02-29'),
      session('century', '1900-02-29T10:00:00Z'),
      session('leap', '2024-02-29'),
      session('leap400', '2000-02-29T23:00:00-05:00'),
    ],
  });
  assert.equal(totals(ds).climbingDays, 3);
  assert.deepEqual(
    [...ds.sessions.values()].map((s) => s.day),
    ['2026-03-02', '', '', '', '', '2024-02-29', '2000-02-29'],
  );
});

test('the server date is the date in the server\'s own time zone', () => {
  const zone = process.env['TZ'];
  try {
    // 05:00 UTC on the 29th is still the 28th in Samoa (UTC-11) and already the 29th in Tokyo.
    process.env['TZ'] = 'Pacific/Pago_Pago';
    assert.equal(serverDay(Date.parse('2026-11-29T05:00:00Z')), '2026-11-28');
    process.env['TZ'] = 'Asia/Tokyo';
    assert.equal(serverDay(Date.parse('2026-11-28T20:00:00Z')), '2026-11-29');
  } finally {
    if (zone === undefined) delete process.env['TZ'];
    else process.env['TZ'] = zone;
  }
});

test('hardest send: the date is the first ten characters of the send\'s timestamp as written, whatever they are', () => {
  const ds = datasetOf({
    problems: [problem('p1', 'V3'), problem('p2', 'V5', { climbType: 'ROPE' })],
    sessions: [session('s1', '2026-03-14')],
    attempts: [attempt('s1', 'p1', 'SUCCESS', 'not a time at all'), { id: 'numeric', sessionId: 's1', problemId: 'p2', result: 'FLASH', timestamp: 1759572000000 }],
  });
  assert.deepEqual(
    hardest(ds).map((h) => [h.problemId, h.date]),
    [
      ['p1', 'not a time'],
      ['p2', ''],
    ],
  );
});

test('days: the last 365 days by the server date, today included, oldest first', () => {
  const ds = datasetOf({
    sessions: [session('old', '2025-11-27'), session('first', '2025-11-28'), session('today', '2026-11-27'), session('future', '2026-11-28')],
  });
  assert.deepEqual(recentDays(ds, '2026-11-27').map((d) => d.date), ['2025-11-28', '2026-11-27']);
});

test('tops and flash rate per month over distinct problems', () => {
  const ds = datasetOf({
    problems: [problem('p1', 'V1'), problem('p2', 'V2'), problem('p3', 'V3'), problem('p4', 'V4')],
    sessions: [session('s1', '2026-01-10'), session('s2', '2026-02-10')],
    attempts: [
      attempt('s1', 'p1', 'FALL', '2026-01-10T10:00:00.000Z'),
      attempt('s1', 'p1', 'SUCCESS', '2026-01-10T10:01:00.000Z'),
      attempt('s1', 'p2', 'FLASH', '2026-01-10T10:02:00.000Z'),
      attempt('s1', 'p3', 'FALL', '2026-01-10T10:03:00.000Z'),
      attempt('s1', 'p4', 'FALL', '2026-01-10T10:04:00.000Z'),
      attempt('s1', 'zz', 'SUCCESS', '2026-01-10T10:05:00.000Z'), // orphan: counted as an attempt, in no rate
      attempt('s2', 'p3', 'flash', '2026-02-10T10:00:00.000Z'),
    ],
  });
  const { months, series } = progress(ds);
  assert.deepEqual(months, [
    { month: '2026-01', attempts: 6, problemsAttempted: 4, problemsSent: 2, problemsFlashed: 1, topsRate: 0.5, flashRate: 0.5 },
    { month: '2026-02', attempts: 1, problemsAttempted: 1, problemsSent: 1, problemsFlashed: 1, topsRate: 1, flashRate: 1 },
  ]);
  assert.deepEqual(series, [
    {
      climbType: 'BOULDER',
      system: 'V_SCALE',
      grades: ['V1', 'V2', 'V3'],
      months: [
        { month: '2026-01', hardest: 'V2', sends: { V1: 1, V2: 1 } },
        { month: '2026-02', hardest: 'V3', sends: { V3: 1 } },
      ],
    },
  ]);
});

test('summary has exactly the spec\'s shape', () => {
  const ds = datasetOf({
    gyms: [gym('g1')],
    problems: [problem('p1', 'V3')],
    sessions: [session('s1', '2026-11-01')],
    attempts: [attempt('s1', 'p1', 'SUCCESS', '2026-11-01T10:00:00.000Z')],
  });
  assert.deepEqual(JSON.parse(JSON.stringify(summary(ds, 'default', '2026-11-27'))), {
    account: 'default',
    totals: { gyms: 1, problems: 1, sessions: 1, attempts: 1, sends: 1, flashes: 0, climbingDays: 1 },
    hardest: [{ climbType: 'BOULDER', system: 'V_SCALE', grade: 'V3', problemId: 'p1', date: '2026-11-01' }],
    pyramids: [{ climbType: 'BOULDER', system: 'V_SCALE', grades: [{ grade: 'V3', problems: 1 }] }],
    days: [{ date: '2026-11-01', sessions: 1, attempts: 1, sends: 1 }],
  });
});
