import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestServer } from '../helpers/server.js';

/** Paths with a malformed %-escape cannot be routed at all; they are still answered in the server's own words. */

test('a malformed %-escape in a sync path: 400 with a JSON error that does not echo the path', async (t) => {
  const server = await startTestServer(t);
  for (const path of ['/sync%ZZ', '/images/download%E0%A4%A']) {
    const response = await fetch(`${server.url}${path}`);
    assert.equal(response.status, 400, path);
    assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8');
    const body = (await response.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['error', 'code']);
    assert.match(String(body['error']), /not a valid URL/);
    assert.ok(!JSON.stringify(body).includes(path.slice(1)), 'the path is not repeated back');
  }
});

test('a malformed %-escape in a dashboard path: the 400 page with every page\'s security headers', async (t) => {
  const server = await startTestServer(t);
  for (const path of ['/web/%ff', '/web/problems/%ZZ']) {
    const response = await fetch(`${server.url}${path}`, { redirect: 'manual' });
    assert.equal(response.status, 400, path);
    assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(response.headers.get('content-security-policy') ?? '', /^default-src 'none'/);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.match(await response.text(), /<html/);
  }
});
