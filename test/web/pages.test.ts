import assert from 'node:assert/strict';
import { test } from 'node:test';
import { postJson, startTestServer } from '../helpers/server.js';
import { HOSTILE_TEXTS, PAGES, hostileDocument, login, uploadDocument, webFetch } from './helpers.js';

test('every page answers 200 with the hostile dataset, and shows its markup only as text', async (t) => {
  const server = await startTestServer(t);
  await uploadDocument(server, hostileDocument());
  const session = await login(server);
  for (const path of PAGES) {
    const response = await webFetch(server, session, path);
    assert.equal(response.status, 200, path);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
    const page = await response.text();
    for (const hostile of HOSTILE_TEXTS) assert.ok(!page.includes(hostile), `${path} holds ${hostile} unescaped`);
    // With every (escaped, so quote-free) attribute value blanked, no tag may carry a handler.
    const tags = page.replace(/"[^"]*"/g, '""');
    assert.doesNotMatch(tags, /<script|<svg onload|<img src=x|<[^>]*\son[a-z]+=/i, path);
  }
  const problem = await (await webFetch(server, session, '/web/problems/p1')).text();
  assert.ok(problem.includes('&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;'), 'the name is shown, escaped');
  assert.ok(problem.includes('&quot;onmouseover=alert(3) x=&quot;'), 'the grade is shown, escaped');
});

test('an item with a 200-character id has a page its links reach', async (t) => {
  const server = await startTestServer(t);
  const id = `p${'b'.repeat(199)}`;
  assert.equal((await postJson(server, '/sync/delta', { lastSyncTime: null, problems: [{ id, name: 'Long id', gymId: 'g1' }] })).status, 200);
  const session = await login(server);
  const list = await (await webFetch(server, session, '/web/problems')).text();
  const href = /href="(\/web\/problems\/p[^"]+)"/.exec(list)?.[1];
  assert.equal(href, `/web/problems/${id}`);
  const page = await webFetch(server, session, href);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Long id/);
});

test('a gym\'s page lists every session at it, newest first, paged', async (t) => {
  const server = await startTestServer(t);
  const day = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
  const sessions = [
    ...Array.from({ length: 60 }, (_, i) => ({ id: `s${i}`, gymId: 'g 1', date: day(i), status: 'COMPLETED' })),
    { id: 'elsewhere', gymId: 'g2', date: day(100), status: 'COMPLETED' },
  ];
  assert.equal((await postJson(server, '/sync', { gyms: [{ id: 'g 1', name: 'Gym one' }, { id: 'g2', name: 'Gym two' }], sessions })).status, 200);
  const session = await login(server);
  const listed: string[] = [];
  for (let page = 1; page <= 2; page++) {
    const text = await (await webFetch(server, session, `/web/gyms/g%201?page=${page}`)).text();
    listed.push(...[...text.matchAll(/href="\/web\/sessions\/([^"]+)"/g)].map((m) => decodeURIComponent(m[1]!)));
    if (page === 1) assert.match(text, /href="\/web\/gyms\/g%201\?page=2" rel="next"/);
  }
  assert.deepEqual(listed, Array.from({ length: 60 }, (_, i) => `s${59 - i}`));
});

test('a pyramid chart says what it shows: hardest at the top, in its bars, its table and its description', async (t) => {
  const server = await startTestServer(t);
  const problems = ['V2', 'V5', 'V3'].map((grade) => ({ id: `p-${grade}`, gymId: 'g1', name: grade, climbType: 'BOULDER', difficulty: { system: 'V_SCALE', grade } }));
  const attempts = problems.map((p, i) => ({ id: `a${i}`, sessionId: 's1', problemId: p.id, result: 'SUCCESS', timestamp: '2026-10-01T10:00:00.000Z' }));
  assert.equal((await postJson(server, '/sync', { gyms: [{ id: 'g1', name: 'Gym' }], problems, sessions: [{ id: 's1', gymId: 'g1', date: '2026-10-01' }], attempts })).status, 200);
  const session = await login(server);
  const page = await (await webFetch(server, session, '/web/progress')).text();
  const pyramid = page.slice(page.indexOf('id="pyramid-0-t"'));
  assert.match(pyramid, /<desc id="pyramid-0-d">[^<]*hardest at the top/);
  const bars = [...pyramid.slice(0, pyramid.indexOf('</svg>')).matchAll(/text-anchor="end">([^<]+)</g)].map((m) => m[1]);
  assert.deepEqual(bars, ['V5', 'V3', 'V2']);
  const rows = [...pyramid.slice(pyramid.indexOf('<tbody>'), pyramid.indexOf('</tbody>')).matchAll(/<th scope="row">([^<]+)</g)].map((m) => m[1]);
  assert.deepEqual(rows, ['V5', 'V3', 'V2']);
});

test('GET /web/api/summary answers the spec\'s JSON for the data', async (t) => {
  const server = await startTestServer(t, {}, { now: () => Date.parse('2026-11-27T12:00:00.000Z') });
  await uploadDocument(server, hostileDocument());
  const session = await login(server);
  const response = await webFetch(server, session, '/web/api/summary');
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  assert.deepEqual(await response.json(), {
    account: 'default',
    totals: { gyms: 2, problems: 3, sessions: 2, attempts: 5, sends: 2, flashes: 1, climbingDays: 2 },
    hardest: [
      { climbType: 'BOULDER', system: 'V_SCALE', grade: HOSTILE_TEXTS[2], problemId: 'p1', date: '2026-10-01' },
      { climbType: 'ROPE', system: 'YDS', grade: '5.10a', problemId: '<p3>', date: '2026-10-02' },
    ],
    pyramids: [
      { climbType: 'BOULDER', system: 'V_SCALE', grades: [{ grade: HOSTILE_TEXTS[2], problems: 1 }] },
      { climbType: 'ROPE', system: 'YDS', grades: [{ grade: '5.10a', problems: 1 }] },
    ],
    days: [
      { date: '2026-10-01', sessions: 1, attempts: 3, sends: 1 },
      { date: '2026-10-02', sessions: 1, attempts: 2, sends: 1 },
    ],
  });
});

test('a delta and a full upload show on the very next load', async (t) => {
  const server = await startTestServer(t);
  await uploadDocument(server, hostileDocument());
  const session = await login(server);
  const totals = async () => ((await (await webFetch(server, session, '/web/api/summary')).json()) as { totals: Record<string, number> }).totals;
  assert.equal((await totals()).sends, 2);
  const t1 = '2026-10-03T10:00:00.000Z';
  const delta = await postJson(server, '/sync/delta', {
    lastSyncTime: null,
    attempts: [{ id: 'a9', sessionId: 's1', problemId: 'p2', result: 'FLASH', timestamp: t1, createdAt: t1, updatedAt: t1 }],
    deletedItems: [{ id: 'a4', type: 'attempt', deletedAt: t1 }],
  });
  assert.equal(delta.status, 200);
  assert.deepEqual(await totals(), { gyms: 2, problems: 3, sessions: 2, attempts: 5, sends: 2, flashes: 1, climbingDays: 2 });
  const page = await (await webFetch(server, session, '/web/problems/p2')).text();
  assert.match(page, /First send<\/dt><dd>2026-10-03/);

  const document = hostileDocument();
  document['attempts'] = [];
  await uploadDocument(server, document);
  assert.deepEqual(await totals(), { gyms: 2, problems: 3, sessions: 2, attempts: 0, sends: 0, flashes: 0, climbingDays: 2 });
});

test('an empty server shows empty pages, not errors', async (t) => {
  const server = await startTestServer(t);
  const session = await login(server);
  for (const path of PAGES.filter((p) => !/\/(sessions|problems|gyms)\/./.test(p))) assert.equal((await webFetch(server, session, path)).status, 200, path);
  const summary = (await (await webFetch(server, session, '/web/api/summary')).json()) as { totals: Record<string, number> };
  assert.equal(summary.totals.attempts, 0);
  // The export of an account never written: the sync document with nothing in it, as GET /sync gives once written.
  const exported = (await (await webFetch(server, session, '/web/export/sync.json')).json()) as Record<string, unknown>;
  assert.match(String(exported['exportedAt']), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.deepEqual({ ...exported, exportedAt: 'now' }, { exportedAt: 'now', version: '2.0', formatVersion: '2.0', gyms: [], problems: [], sessions: [], attempts: [], deletedItems: [] });
});

test('the calendar says each climbing day\'s counts in words and in its table, sends included', async (t) => {
  const server = await startTestServer(t);
  const day = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
  await uploadDocument(server, {
    sessions: [{ id: 's1', gymId: 'g1', date: day }],
    attempts: [
      { id: 'a1', sessionId: 's1', problemId: 'p1', result: 'FALL', timestamp: `${day}T10:00:00.000Z` },
      { id: 'a2', sessionId: 's1', problemId: 'p1', result: 'SUCCESS', timestamp: `${day}T10:05:00.000Z` },
    ],
  });
  const overview = await (await webFetch(server, await login(server), '/web/')).text();
  assert.match(overview, new RegExp(`<title>${day}: 1 session, 2 attempts, 1 send</title>`));
  assert.match(overview, new RegExp(`<tr><t[hd][^>]*>${day}</t[hd]><td[^>]*>1</td><td[^>]*>2</td><td[^>]*>1</td></tr>`));
});

test('problem filters read the items\' own names and values too (climbType, active=true)', async (t) => {
  const server = await startTestServer(t);
  await uploadDocument(server, {
    problems: [
      { id: 'p1', name: 'Boulder one', climbType: 'BOULDER', isActive: true },
      { id: 'p2', name: 'Rope one', climbType: 'ROPE', isActive: false },
    ],
  });
  const session = await login(server);
  const listed = async (query: string): Promise<string[]> => {
    const response = await webFetch(server, session, `/web/problems?${query}`);
    assert.equal(response.status, 200, query);
    return [...(await response.text()).matchAll(/href="\/web\/problems\/(p\d)"/g)].map((m) => m[1]!);
  };
  assert.deepEqual(await listed('type=rope'), ['p2']);
  assert.deepEqual(await listed('climbType=ROPE'), ['p2']);
  assert.deepEqual(await listed('active=yes'), ['p1']);
  assert.deepEqual(await listed('active=true'), ['p1']);
  assert.deepEqual(await listed('active=false'), ['p2']);
});

test('bad input: unknown ids and pages are 404 pages, malformed queries 400 pages, never a 500', async (t) => {
  const server = await startTestServer(t);
  await uploadDocument(server, hostileDocument());
  const session = await login(server);
  const cases: [string, number][] = [
    ['/web/sessions/nope', 404],
    ['/web/problems/nope', 404],
    ['/web/gyms/nope', 404],
    ['/web/nope', 404],
    ['/web/problems?page=-1', 400],
    ['/web/problems?page=abc', 400],
    ['/web/sessions?page=1e9', 400],
    ['/web/problems?page=1&page=2', 400],
    ['/web/problems?grade=%00', 400],
    ['/web/problems?active=maybe', 400],
    [`/web/problems?tag=${'x'.repeat(10_000)}`, 400],
    ['/web/problems?gym=%E0%A4%A', 200],
    ['/web/sessions?page=999', 200],
    ['/web/problems?grade=nothing-like-it', 200],
  ];
  for (const [path, status] of cases) {
    const response = await webFetch(server, session, path);
    assert.equal(response.status, status, path);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/, path);
    assert.equal(response.headers.get('cache-control'), 'no-store', path);
  }
  // A 400 page says what was wrong.
  assert.match(await (await webFetch(server, session, '/web/problems?page=-1')).text(), /What was wrong: page must be a whole number from 1\./);
  assert.equal((await webFetch(server, session, '/web/api/nope')).status, 404);
  // A long id is looked up like any other; one longer than a request line may be is refused before any handler runs.
  assert.equal((await webFetch(server, session, `/web/problems/${'x'.repeat(5000)}`)).status, 404);
  assert.ok([414, 431].includes((await webFetch(server, session, `/web/problems/${'x'.repeat(20_000)}`)).status));
});

test('an item with a long id has its page, as the sync API stored it', async (t) => {
  const server = await startTestServer(t);
  const problemId = `p-${'x'.repeat(3000)}`;
  const sessionId = `s-${'é'.repeat(1500)}`;
  await uploadDocument(server, {
    problems: [{ id: problemId, gymId: 'g1', name: 'Long one', climbType: 'BOULDER', difficulty: { system: 'V_SCALE', grade: 'V2' } }],
    sessions: [{ id: sessionId, gymId: 'g1', date: '2026-01-01' }],
    attempts: [{ id: 'a1', sessionId, problemId, result: 'SEND', timestamp: '2026-01-01T10:00:00.000Z' }],
  });
  const session = await login(server);
  const problem = await webFetch(server, session, `/web/problems/${encodeURIComponent(problemId)}`);
  assert.equal(problem.status, 200);
  assert.match(await problem.text(), /Long one/);
  const visit = await webFetch(server, session, `/web/sessions/${encodeURIComponent(sessionId)}`);
  assert.equal(visit.status, 200);
  assert.match(await visit.text(), /Long one/);
});

test('export: the sync document and CSV files with names joined in', async (t) => {
  const server = await startTestServer(t);
  await uploadDocument(server, hostileDocument());
  const session = await login(server);
  const json = await webFetch(server, session, '/web/export/sync.json');
  assert.equal(json.status, 200);
  assert.match(json.headers.get('content-disposition') ?? '', /attachment/);
  const document = (await json.json()) as Record<string, unknown[]>;
  assert.equal(document['attempts']!.length, 5);
  // HEAD: the headers alone, with no error logged for a read closed under a stream.
  const head = await webFetch(server, session, '/web/export/sync.json', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.match(head.headers.get('content-disposition') ?? '', /attachment/);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(server.logs.filter((line) => (JSON.parse(line) as { level: number }).level >= 50), []);

  const attempts = await (await webFetch(server, session, '/web/export/attempts.csv')).text();
  const lines = attempts.trimEnd().split('\r\n');
  assert.equal(lines.length, 6);
  assert.equal(lines[0], 'timestamp,session_id,session_date,gym,problem_id,problem,climb_type,grade_system,grade,result,highest_hold');
  assert.equal(lines[1], `2026-10-01T09:10:00.000Z,s1,2026-10-01,<img src=x onerror=alert(1)>,p1,</script><script>alert(2)</script>,BOULDER,V_SCALE,"""onmouseover=alert(3) x=""",FALL,<img src=x onerror=alert(1)>`);
  const sessions = await (await webFetch(server, session, '/web/export/sessions.csv')).text();
  assert.match(sessions, /^session_id,date,start_time,duration_minutes,gym_id,gym,attempts,sends,notes\r\n/);
  assert.match(sessions, /\r\ns1,2026-10-01,2026-10-01T09:00:00.000Z,90,g1,<img src=x onerror=alert\(1\)>,3,1,<\/script>/);
  assert.match(sessions, /\r\n"s""2",2026-10-02,,,"g""2<",Plain gym,2,1,'><svg onload=alert\(4\)>\r\n$/);
});
