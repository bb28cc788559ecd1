import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.js';
import { csrfFrom, login, webFetch } from './helpers.js';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

test('without a session: / redirects to /web/, pages to the login form, the API answers 401 JSON', async (t) => {
  const server = await startTestServer(t);
  const root = await webFetch(server, undefined, '/');
  assert.equal(root.status, 302);
  assert.equal(root.headers.get('location'), '/web/');
  for (const path of ['/web/', '/web/progress', '/web/sessions/x', '/web/devices', '/web/export/attempts.csv', '/web/images/a.jpg', '/web/thumbnails/a.jpg', '/web/no-such-page']) {
    const response = await webFetch(server, undefined, path);
    assert.equal(response.status, 303, path);
    assert.equal(response.headers.get('location'), '/web/login', path);
  }
  for (const session of [undefined, 'A'.repeat(43), 'not-a-session']) {
    const api = await webFetch(server, session, '/web/api/summary');
    assert.equal(api.status, 401);
    // It takes a device's Bearer token too, so it says so, as every 401 of the API does.
    assert.equal(api.headers.get('www-authenticate'), 'Bearer');
    assert.match(api.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(typeof ((await api.json()) as { error: unknown }).error, 'string');
  }
  // A token in the URL is never accepted.
  assert.equal((await webFetch(server, undefined, `/web/api/summary?token=${TEST_TOKEN}`)).status, 401);
  // Wrong Bearer tokens on the JSON API count toward the failure throttle.
  for (let i = 0; i < 10; i++) assert.equal((await webFetch(server, undefined, '/web/api/summary', { headers: { authorization: 'Bearer wrong' } })).status, 401);
  const throttled = await webFetch(server, undefined, '/web/api/summary', { headers: { authorization: 'Bearer wrong' } });
  assert.equal(throttled.status, 429);
  assert.ok(Number(throttled.headers.get('retry-after')) > 0);
  // A device's Bearer token works for the JSON API, for people's own scripts, even from a throttled address.
  const bearer = await webFetch(server, undefined, '/web/api/summary', { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  assert.equal(bearer.status, 200);
});

test('login: the form, the cookie flags, and pages with the spec headers', async (t) => {
  const server = await startTestServer(t);
  const form = await webFetch(server, undefined, '/web/login');
  assert.equal(form.status, 200);
  assert.match(await form.text(), /<input type="password" name="token"/);

  const response = await fetch(`${server.url}/web/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${TEST_TOKEN}`,
    redirect: 'manual',
  });
  assert.equal(response.status, 303);
  assert.equal(response.headers.get('location'), '/web/');
  const cookie = response.headers.get('set-cookie')!;
  assert.match(cookie, /^ascently_session=[A-Za-z0-9_-]{43};/);
  assert.match(cookie, /; HttpOnly/);
  assert.match(cookie, /; SameSite=Strict/);
  assert.match(cookie, /; Path=\/web/);
  assert.doesNotMatch(cookie, /Secure/, 'plain HTTP without COOKIE_SECURE');

  const session = /ascently_session=([^;]+)/.exec(cookie)![1]!;
  const page = await webFetch(server, session, '/web/');
  assert.equal(page.status, 200);
  // A session ends after WEB_SESSION_DAYS without use, so each page gives the browser's cookie that long again.
  assert.equal(page.headers.get('set-cookie'), `ascently_session=${session}; Max-Age=${30 * 86_400}; HttpOnly; SameSite=Strict; Path=/web`);
  assert.equal(page.headers.get('content-security-policy'), CSP);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(page.headers.get('referrer-policy'), 'same-origin');
  assert.equal(page.headers.get('cache-control'), 'no-store');
  const text = await page.text();
  assert.doesNotMatch(text, /<script|style=|\son[a-z]+=/i, 'no inline script, style or handler');

  const css = /href="(\/web\/assets\/dashboard\.[0-9a-f]{12}\.css)"/.exec(text)?.[1];
  assert.ok(css);
  const asset = await webFetch(server, undefined, css);
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('cache-control') ?? '', /max-age=31536000/);
  assert.equal((await webFetch(server, undefined, '/web/assets/dashboard.000000000000.css')).status, 404);
});

test('the session cookie is Secure over HTTPS behind a trusted proxy, and with COOKIE_SECURE', async (t) => {
  const proxied = await startTestServer(t, { trustProxy: 'true' });
  const loginVia = (proto: string) =>
    fetch(`${proxied.url}/web/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': proto },
      body: `token=${TEST_TOKEN}`,
      redirect: 'manual',
    });
  // The proxy facing the browser is listed first; a scheme is read in any case.
  for (const proto of ['https', 'HTTPS', 'https, http']) assert.match((await loginVia(proto)).headers.get('set-cookie') ?? '', /; Secure/, proto);
  for (const proto of ['http', 'http, https']) assert.doesNotMatch((await loginVia(proto)).headers.get('set-cookie') ?? '', /Secure/, proto);
  const untrusted = await startTestServer(t);
  const notBelieved = await fetch(`${untrusted.url}/web/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
    body: `token=${TEST_TOKEN}`,
    redirect: 'manual',
  });
  assert.doesNotMatch(notBelieved.headers.get('set-cookie') ?? '', /Secure/, 'X-Forwarded-Proto without TRUST_PROXY');
  const forced = await startTestServer(t, { cookieSecure: 'true' });
  const direct = await fetch(`${forced.url}/web/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${TEST_TOKEN}`, redirect: 'manual' });
  assert.match(direct.headers.get('set-cookie') ?? '', /; Secure/);
});

test('wrong and malformed logins are refused clearly and counted by the one failure throttle', async (t) => {
  const server = await startTestServer(t);
  const post = (body: string | FormData, contentType?: string) =>
    fetch(`${server.url}/web/login`, { method: 'POST', headers: contentType ? { 'content-type': contentType } : {}, body, redirect: 'manual' });
  const form = 'application/x-www-form-urlencoded';
  const multipart = new FormData();
  multipart.set('token', TEST_TOKEN);
  const refusals: [string, Promise<Response>, number][] = [
    ['wrong token', post('token=wrong', form), 401],
    ['JSON', post(JSON.stringify({ token: TEST_TOKEN }), 'application/json'), 400],
    ['multipart', post(multipart), 400],
    // A form whose token could not be one is a wrong token, as the spec words it.
    ['empty token', post('token=', form), 401],
    ['no body', post('', form), 401],
    ['10 kB token', post(`token=${'x'.repeat(10_000)}`, form), 401],
    ['no token field', post('name=phone', form), 401],
  ];
  for (const [name, pending, status] of refusals) {
    const response = await pending;
    assert.equal(response.status, status, name);
    assert.match(await response.text(), /class="error" role="alert"/, name);
    assert.equal(response.headers.get('set-cookie'), null, name);
  }
  // 100 kB: larger than a login form may be, refused before it is read whole.
  const tooLarge = await post(`token=${'x'.repeat(100_000)}`, form);
  assert.equal(tooLarge.status, 413);
  assert.match(await tooLarge.text(), /<title>Too large/);
  // Eight counted so far; the API's wrong tokens count toward the same limit.
  for (let i = 0; i < 2; i++) assert.equal((await server.fetch('/sync', { headers: { authorization: 'Bearer nope' } })).status, 401);
  const throttled = await post('token=wrong', form);
  assert.equal(throttled.status, 429);
  assert.ok(Number(throttled.headers.get('retry-after')) > 0);
  // The owner's token still works from a throttled address.
  assert.equal((await post(`token=${TEST_TOKEN}`, form)).status, 303);
});

test('the sync API never accepts the session cookie', async (t) => {
  const server = await startTestServer(t);
  const session = await login(server);
  for (const path of ['/sync', '/images/download?filename=a.jpg']) {
    const response = await fetch(server.url + path, { headers: { cookie: `ascently_session=${session}` } });
    assert.equal(response.status, 401, path);
  }
});

test('logout needs the CSRF token and the same origin, then ends the session', async (t) => {
  const server = await startTestServer(t);
  const session = await login(server);
  const csrf = csrfFrom(await (await webFetch(server, session, '/web/')).text());
  const logout = (body: string, headers: Record<string, string> = {}) =>
    webFetch(server, session, '/web/logout', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });

  assert.equal((await logout('csrf=wrong')).status, 403);
  assert.equal((await logout('')).status, 403);
  assert.equal((await logout(`csrf=${csrf}`, { origin: 'https://evil.example' })).status, 403);
  assert.equal((await logout(`csrf=${csrf}`, { origin: 'null' })).status, 403);
  assert.equal((await logout(`csrf=${csrf}`, { 'sec-fetch-site': 'cross-site' })).status, 403);
  assert.equal((await webFetch(server, session, '/web/')).status, 200, 'refused posts changed nothing');

  const done = await logout(`csrf=${csrf}`, { origin: server.url });
  assert.equal(done.status, 303);
  assert.equal(done.headers.get('location'), '/web/login');
  assert.match(done.headers.get('set-cookie') ?? '', /ascently_session=; Max-Age=0/);
  assert.equal((await webFetch(server, session, '/web/')).status, 303, 'the session is gone');
});

/** POST /web/login with the token and these headers (Host included, which fetch would not send as given): the status. */
function loginWithHeaders(server: TestServer, headers: Record<string, string>): Promise<number> {
  const body = `token=${TEST_TOKEN}`;
  return new Promise((resolve, reject) => {
    const request = http.request(`${server.url}/web/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length), ...headers } }, (response) => {
      response.resume();
      resolve(response.statusCode!);
    });
    request.on('error', reject);
    request.end(body);
  });
}

test('the same site is told by its address, whatever its case or default port, or the name a trusted proxy was asked for', async (t) => {
  const server = await startTestServer(t);
  assert.equal(await loginWithHeaders(server, { host: 'Climb.Example.org', origin: 'http://climb.example.org' }), 303, 'case');
  assert.equal(await loginWithHeaders(server, { host: 'climb.example.org:443', origin: 'https://climb.example.org' }), 303, 'the scheme\'s own port');
  assert.equal(await loginWithHeaders(server, { host: 'climb.example.org:8443', origin: 'https://climb.example.org' }), 403, 'another port');
  assert.equal(await loginWithHeaders(server, { host: 'climb.example.org', origin: 'https://climb.example.org.evil.example' }), 403);
  // A proxy that passes on its own upstream address as Host: believed only with TRUST_PROXY.
  const proxiedHeaders = { host: '127.0.0.1:9', 'x-forwarded-host': 'climb.example.org', 'x-forwarded-proto': 'https', origin: 'https://climb.example.org' };
  assert.equal(await loginWithHeaders(server, proxiedHeaders), 403, 'X-Forwarded-Host without TRUST_PROXY');
  const proxied = await startTestServer(t, { trustProxy: 'true' });
  assert.equal(await loginWithHeaders(proxied, proxiedHeaders), 303, 'X-Forwarded-Host with TRUST_PROXY');
  assert.equal(await loginWithHeaders(proxied, { ...proxiedHeaders, origin: 'https://evil.example' }), 403);
});

test('a web session is listed on the devices page and can be revoked from there', async (t) => {
  const server = await startTestServer(t);
  const mine = await login(server);
  const other = await login(server);
  const page = await (await webFetch(server, mine, '/web/devices')).text();
  const csrf = csrfFrom(page);
  const rows = page.split('<tr>').filter((row) => row.includes('name="id"'));
  assert.equal(rows.length, 2, 'both browsers are listed; AUTH_TOKEN cannot be revoked here');
  const idOf = (row: string): string => /name="id" value="([^"]+)"/.exec(row)![1]!;
  const otherId = idOf(rows.find((row) => !row.includes('(this browser)'))!);
  const revoke = (session: string, id: string, origin: string) =>
    webFetch(server, session, '/web/devices/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: new URLSearchParams({ csrf, id }).toString(),
    });
  assert.equal((await revoke(mine, otherId, 'http://evil.example')).status, 403);
  assert.equal((await webFetch(server, other, '/web/')).status, 200, 'a refused post changed nothing');
  assert.equal((await revoke(mine, otherId, server.url)).status, 303);
  assert.equal((await webFetch(server, other, '/web/')).status, 303, 'the revoked session is gone');
  assert.equal((await webFetch(server, mine, '/web/')).status, 200);
  assert.equal((await revoke(mine, 'no-such-id', server.url)).status, 404);
  // The AUTH_TOKEN device (its id as the CLI lists it) is the environment's: said so, and left as it is.
  const environment = await revoke(mine, 'auth-token', server.url);
  assert.equal(environment.status, 400);
  assert.match(await environment.text(), /it ends when AUTH_TOKEN is removed from the server&#39;s environment/);
  assert.equal((await server.fetch('/health')).status, 200);
});

test('a web session ends after WEB_SESSION_DAYS without use, and lasts while used', async (t) => {
  let now = Date.parse('2026-01-01T00:00:00.000Z');
  const server = await startTestServer(t, { webSessionDays: '2' }, { now: () => now });
  const session = await login(server);
  const day = 86_400_000;
  now += day + 1000;
  assert.equal((await webFetch(server, session, '/web/')).status, 200, 'used after a day');
  now += day + 1000;
  assert.equal((await webFetch(server, session, '/web/')).status, 200, 'two days after login, one after its last use');
  now += 2 * day + 1000;
  assert.equal((await webFetch(server, session, '/web/')).status, 303, 'unused for more than two days');
  assert.equal((await webFetch(server, session, '/web/api/summary')).status, 401);
});
