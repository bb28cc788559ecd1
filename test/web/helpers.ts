import { TEST_TOKEN, postJson, type TestServer } from '../helpers/server.js';

/** Logs in through the form; returns the session id from the cookie. */
export async function login(server: TestServer, token = TEST_TOKEN): Promise<string> {
  const response = await fetch(`${server.url}/web/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
    redirect: 'manual',
  });
  if (response.status !== 303) throw new Error(`login answered ${response.status}`);
  const cookie = response.headers.get('set-cookie') ?? '';
  const id = /ascently_session=([^;]+)/.exec(cookie)?.[1];
  if (!id) throw new Error('no session cookie');
  return id;
}

/** A dashboard request with the session cookie and no Bearer token. */
export function webFetch(server: TestServer, session: string | undefined, pathAndQuery: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (session !== undefined) headers.set('cookie', `ascently_session=${session}`);
  return fetch(server.url + pathAndQuery, { redirect: 'manual', ...init, headers });
}

export function csrfFrom(page: string): string {
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
  if (!csrf) throw new Error('no CSRF field on the page');
  return csrf;
}

const HOSTILE = ['<img src=x onerror=alert(1)>', '</script><script>alert(2)</script>', '"onmouseover=alert(3) x="', "'><svg onload=alert(4)>"];
export const HOSTILE_TEXTS = HOSTILE;

/**
 * A small dataset in which every text the dashboard shows (names, notes, tags,
 * grades, image names, ids) is hostile markup, next to ordinary items.
 */
export function hostileDocument(): Record<string, unknown> {
  const t = '2026-10-01T10:00:00.000Z';
  const stamp = { createdAt: t, updatedAt: t };
  return {
    exportedAt: t,
    version: '2.0',
    formatVersion: '2.0',
    gyms: [
      { id: 'g1', name: HOSTILE[0], location: HOSTILE[1], supportedClimbTypes: ['BOULDER'], difficultySystems: ['V_SCALE', 'CUSTOM'], customDifficultyGrades: [HOSTILE[2], 'blue'], notes: HOSTILE[3], ...stamp },
      { id: 'g"2<', name: 'Plain gym', supportedClimbTypes: ['ROPE'], difficultySystems: ['YDS'], customDifficultyGrades: [], ...stamp },
    ],
    problems: [
      { id: 'p1', gymId: 'g1', name: HOSTILE[1], notes: HOSTILE[0], climbType: 'BOULDER', difficulty: { system: 'V_SCALE', grade: HOSTILE[2], numericValue: 4 }, tags: [HOSTILE[0], HOSTILE[3]], imagePaths: ['missing_photo.jpg', '../etc/passwd', HOSTILE[0]], isActive: true, ...stamp },
      { id: 'p2', gymId: 'g1', name: HOSTILE[2], climbType: 'BOULDER', difficulty: { system: 'CUSTOM', grade: HOSTILE[2] }, tags: [], isActive: false, ...stamp },
      { id: '<p3>', gymId: 'g"2<', name: 'Route "3"', climbType: 'ROPE', difficulty: { system: 'YDS', grade: '5.10a' }, tags: ['crimpy'], isActive: true, ...stamp },
    ],
    sessions: [
      { id: 's1', gymId: 'g1', date: '2026-10-01T09:00:00.000Z', startTime: '2026-10-01T09:00:00.000Z', duration: 90, status: 'COMPLETED', notes: HOSTILE[1], ...stamp },
      { id: 's"2', gymId: 'g"2<', date: '2026-10-02T09:00:00.000Z', status: 'COMPLETED', notes: HOSTILE[3], ...stamp },
    ],
    attempts: [
      { id: 'a1', sessionId: 's1', problemId: 'p1', result: 'FALL', highestHold: HOSTILE[0], timestamp: '2026-10-01T09:10:00.000Z', ...stamp },
      { id: 'a2', sessionId: 's1', problemId: 'p1', result: 'success', timestamp: '2026-10-01T09:20:00.000Z', ...stamp },
      { id: 'a3', sessionId: 's1', problemId: 'p2', result: 'FALL', highestHold: '7', timestamp: '2026-10-01T09:30:00.000Z', ...stamp },
      { id: 'a4', sessionId: 's"2', problemId: '<p3>', result: 'FLASH', timestamp: '2026-10-02T09:10:00.000Z', ...stamp },
      { id: 'a5', sessionId: 's"2', problemId: 'gone', result: HOSTILE[0], timestamp: '2026-10-02T09:20:00.000Z', ...stamp },
    ],
    deletedItems: [],
  };
}

export async function uploadDocument(server: TestServer, document: Record<string, unknown>): Promise<void> {
  const { status } = await postJson(server, '/sync', document);
  if (status !== 200) throw new Error(`upload answered ${status}`);
}

/** Every page a signed-in climber can open in the hostile dataset. */
export const PAGES = [
  '/web/',
  '/web/progress',
  '/web/sessions',
  '/web/sessions/s1',
  `/web/sessions/${encodeURIComponent('s"2')}`,
  '/web/problems',
  '/web/problems?type=BOULDER&active=yes',
  '/web/problems/p1',
  `/web/problems/${encodeURIComponent('<p3>')}`,
  '/web/projects',
  '/web/gyms',
  '/web/gyms/g1',
  `/web/gyms/${encodeURIComponent('g"2<')}`,
  '/web/devices',
  '/web/export',
];
