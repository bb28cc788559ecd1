import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addAccount, cli } from '../helpers/cli.js';
import { startTestServer } from '../helpers/server.js';
import { TINY_IMAGES, upload } from '../images/fixtures.js';
import { csrfFrom, login, webFetch } from './helpers.js';

const t0 = '2026-10-01T10:00:00.000Z';
const gym = (id: string, name: string) => ({ id, name, createdAt: t0, updatedAt: t0 });

function post(url: string, token: string, path: string, body: unknown): Promise<Response> {
  return fetch(url + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

function form(server: { url: string }, session: string, path: string, fields: Record<string, string>): Promise<Response> {
  return webFetch(server as never, session, path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
    body: new URLSearchParams(fields).toString(),
  });
}

test('each account sees only its own data, photos and devices on the dashboard', async (t) => {
  const server = await startTestServer(t);
  const anna = await addAccount(server.store, 'anna');
  const ben = await addAccount(server.store, 'ben');
  assert.equal((await post(server.url, anna.token, '/sync', { gyms: [gym('g1', 'Anna gym')] })).status, 200);
  assert.equal((await post(server.url, ben.token, '/sync', { gyms: [gym('g1', 'Ben gym'), gym('g2', 'Ben two')] })).status, 200);
  const annaAuth = { fetch: (p: string, init: RequestInit = {}) => fetch(server.url + p, { ...init, headers: { authorization: `Bearer ${anna.token}` } }) };
  assert.equal((await upload(annaAuth, 'wall.png', TINY_IMAGES['image/png'])).status, 200);

  const annaWeb = await login(server, anna.token);
  const benWeb = await login(server, ben.token);
  const summary = async (session: string) => (await (await webFetch(server, session, '/web/api/summary')).json()) as { account: string; totals: { gyms: number } };
  assert.deepEqual([(await summary(annaWeb)).account, (await summary(annaWeb)).totals.gyms], ['anna', 1]);
  assert.deepEqual([(await summary(benWeb)).account, (await summary(benWeb)).totals.gyms], ['ben', 2]);
  assert.match(await (await webFetch(server, annaWeb, '/web/gyms/g1')).text(), /<h1>Anna gym<\/h1>/);
  assert.match(await (await webFetch(server, benWeb, '/web/gyms/g1')).text(), /<h1>Ben gym<\/h1>/);
  assert.equal((await webFetch(server, annaWeb, '/web/gyms/g2')).status, 404);

  assert.equal((await webFetch(server, annaWeb, '/web/images/wall.png')).headers.get('content-type'), 'image/png');
  assert.equal((await webFetch(server, benWeb, '/web/images/wall.png')).headers.get('content-type'), 'image/svg+xml', "ben gets the placeholder, not anna's photo");

  const annaDevices = await (await webFetch(server, annaWeb, '/web/devices')).text();
  assert.ok(annaDevices.includes(anna.deviceId));
  assert.ok(!annaDevices.includes(ben.deviceId));
  // Ben cannot revoke anna's device, even with his own valid form.
  const benCsrf = csrfFrom(await (await webFetch(server, benWeb, '/web/devices')).text());
  assert.equal((await form(server, benWeb, '/web/devices/revoke', { csrf: benCsrf, id: anna.deviceId })).status, 404);
  // No id holds U+0000 (PostgreSQL text cannot): a 404 as for any unknown id, on either store (it was a 500 there).
  assert.equal((await form(server, benWeb, '/web/devices/revoke', { csrf: benCsrf, id: `${anna.deviceId}\u0000` })).status, 404);
  assert.equal((await webFetch(server, annaWeb, '/web/')).status, 200);
});

test('add a device: its token is shown once and works; revoking a device ends the web sessions it opened', async (t) => {
  const server = await startTestServer(t);
  const anna = await addAccount(server.store, 'anna');
  const first = await login(server, anna.token);
  const csrf = csrfFrom(await (await webFetch(server, first, '/web/devices')).text());

  const made = await form(server, first, '/web/devices/add', { csrf, name: 'iPad <b>' });
  assert.equal(made.status, 200);
  const page = await made.text();
  const token = /class="token">(asy_[A-Za-z0-9_-]{43})</.exec(page)?.[1];
  assert.ok(token, 'the new token is on the page');
  assert.match(page, /iPad &lt;b&gt;/);
  assert.ok(!(await (await webFetch(server, first, '/web/devices')).text()).includes(token), 'shown once only');
  assert.equal((await fetch(`${server.url}/health`, { headers: { authorization: `Bearer ${token}` } })).status, 200);

  // A browser logs in with the new device's token; revoking that device ends its session.
  const second = await login(server, token);
  const rows = (await (await webFetch(server, first, '/web/devices')).text()).split('<tr>');
  const ipadId = /name="id" value="([^"]+)"/.exec(rows.find((r) => r.includes('iPad &lt;b&gt;'))!)![1]!;
  assert.equal((await form(server, first, '/web/devices/revoke', { csrf, id: ipadId })).status, 303);
  assert.equal((await webFetch(server, second, '/web/')).status, 303, "the revoked device's web session is over");
  assert.equal((await fetch(`${server.url}/health`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
  assert.equal((await webFetch(server, first, '/web/')).status, 200, 'the session of the other device goes on');

  // Without the CSRF token, or with a bad name, nothing is made.
  assert.equal((await form(server, first, '/web/devices/add', { name: 'x' })).status, 403);
  assert.equal((await form(server, first, '/web/devices/add', { csrf, name: '' })).status, 400);
  assert.equal((await form(server, first, '/web/devices/add', { csrf, name: 'x'.repeat(101) })).status, 400);
  assert.equal((await form(server, first, '/web/devices/add', { csrf, name: 'line\nbreak' })).status, 400);
  // The same rule as the CLI's: 100 characters as people count them, an emoji being one.
  assert.equal((await form(server, first, '/web/devices/add', { csrf, name: '🧗'.repeat(100) })).status, 200);
});

test('a device revoked by the CLI in another process ends its web session at the next page', async (t) => {
  const server = await startTestServer(t);
  const anna = await addAccount(server.store, 'anna');
  const session = await login(server, anna.token);
  assert.equal((await webFetch(server, session, '/web/')).status, 200);
  const revoked = await cli(['devices', 'revoke', 'anna', anna.deviceId, '--json'], { DATA_DIR: server.dataDir });
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal((await webFetch(server, session, '/web/')).status, 303);
  assert.equal((await webFetch(server, session, '/web/api/summary')).status, 401);
});
