import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { startTestServer, TEST_TOKEN } from '../helpers/server.js';
import { assertProperty, fuzzParameters, RequestCounter } from './fuzz-config.js';
import { assertHealthy, rawRequest, syncState } from './raw-http.js';
import { syncDocumentText } from './sync-documents.js';

/**
 * Requests as bytes on the wire, for every route: wrong methods, odd paths and
 * query strings, junk headers, random and truncated bodies, lying lengths and
 * broken chunked framing. Whatever arrives: no 5xx, /health answers, and a
 * refused request leaves the sync data and the image folder as they were.
 */
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);

const method = fc.constantFrom('GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'FOO', 'get', 'TRACE');
const route = fc.constantFrom('/health', '/sync', '/sync/delta', '/images/upload', '/images/download', '/sync', '/sync/delta', '/images/upload', '/images/download', '/', '//sync', '/sync/', '/SYNC', '/sync/delta/..', '/%2e%2e/sync', '/sync%00', '*', '/images/upload/', 'http://evil.example/sync');
const imageName = fc.constantFrom('ok.png', 'problem_abc_0.jpg', '../../etc/passwd', '..%2F..%2Fescape', '%00', 'a%00.png', '.hidden', '.upload-x.tmp', 'a/b.png', 'C:x.png', 'x'.repeat(256), 'x'.repeat(255), '%E2%80%AE.png', '', 'a.png&filename=b.png');
const query = fc.oneof(
  fc.constant(''),
  imageName.map((name) => `?filename=${name}`),
  fc.string({ maxLength: 40 }).map((s) => `?${encodeURIComponent(s)}=${encodeURIComponent(s)}`),
  fc.constantFrom('?', '?%', '?%ZZ', '?&&&', '?lastSyncTime=2024-01-01', '?__proto__[x]=1', '?constructor[prototype][x]=1'),
  fc.integer({ min: 100, max: 3000 }).map((n) => `?${'a=1&'.repeat(n)}`),
);
const header = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom<[string, string]>(
    ['Content-Type', 'application/json'],
    ['Content-Type', 'image/png'],
    ['Content-Type', 'text/plain; charset=utf-16'],
    ['Content-Type', 'multipart/form-data; boundary=x'],
    ['Content-Type', ''],
    ['Content-Encoding', 'gzip'],
    ['Content-Encoding', 'br'],
    ['Content-Encoding', 'deflate'],
    ['Content-Encoding', 'x-bogus'],
    ['Content-Encoding', 'gzip, gzip'],
    ['Accept-Encoding', 'br;q=abc, *;q=-1'],
    ['Expect', '100-continue'],
    ['Range', 'bytes=-0'],
    ['Range', 'bytes=99999999999999999999-'],
    ['If-None-Match', '*'],
    ['X-Forwarded-For', '::1, not-an-ip'],
    ['Authorization', 'Bearer'],
    ['Authorization', `bearer   ${TEST_TOKEN}  `],
    ['Connection', 'keep-alive, Upgrade'],
    ['Upgrade', 'websocket'],
  ) },
  { weight: 4, arbitrary: fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/), fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((v) => v.replace(/[\r\n]/g, ' '))) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 20_000 }).map((n): [string, string] => ['X-Long', 'v'.repeat(n)]) },
);
const body = fc.oneof(
  fc.constant(Buffer.alloc(0)),
  syncDocumentText.map((text) => Buffer.from(text, 'utf8')),
  syncDocumentText.map((text) => gzipSync(text)),
  fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)),
  fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.concat([PNG, Buffer.from(bytes)])),
  fc.constant(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d])), // {"<invalid UTF-8>":1}
);
const framing = fc.constantFrom('exact', 'exact', 'exact', 'short', 'long', 'chunked', 'chunked-broken', 'none', 'two-lengths');

const request = fc.record({ method, route, query, headers: fc.array(header, { maxLength: 5 }), body, framing, cut: fc.nat() });
type Fuzzed = typeof request extends fc.Arbitrary<infer T> ? T : never;

/** The bytes on the wire, and whether the request is incomplete (the server may then hang up without answering). */
function wire(r: Fuzzed): { bytes: Buffer; incomplete: boolean } {
  const lines = [`${r.method} ${r.route}${r.query} HTTP/1.1`, 'Host: localhost', 'Connection: close'];
  if (!r.headers.some(([name]) => name.toLowerCase() === 'authorization')) lines.push(`Authorization: Bearer ${TEST_TOKEN}`);
  for (const [name, value] of r.headers) lines.push(`${name}: ${value}`);
  let payload = r.body;
  let incomplete = false;
  switch (r.framing) {
    case 'exact':
      lines.push(`Content-Length: ${payload.length}`);
      break;
    case 'short': // fewer bytes than announced, then the client hangs up
      lines.push(`Content-Length: ${payload.length + 1 + (r.cut % 1000)}`);
      incomplete = true;
      break;
    case 'long': // more bytes than announced: the rest is garbage as a next request
      lines.push(`Content-Length: ${payload.length === 0 ? 0 : r.cut % payload.length}`);
      break;
    case 'chunked':
      lines.push('Transfer-Encoding: chunked');
      payload = Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from(payload.length > 0 ? '\r\n0\r\n\r\n' : '\r\n')]);
      break;
    case 'chunked-broken':
      lines.push('Transfer-Encoding: chunked');
      payload = Buffer.concat([Buffer.from(`${(payload.length + 7).toString(16)}\r\n`), payload]);
      incomplete = true;
      break;
    case 'two-lengths':
      lines.push(`Content-Length: ${payload.length}`, `Content-Length: ${payload.length + 1}`);
      break;
    case 'none':
      break;
  }
  return { bytes: Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]), incomplete };
}

/** Names and sizes in the image folder, temporary files included: a refusal must not leave one. */
function imageFolder(dir: string): string {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return '(none)';
  }
  return names.sort().map((name) => `${name}:${statSync(path.join(dir, name)).size}`).join('\n');
}

test('fuzzed HTTP on every route: never a 5xx, /health answers, refusals change nothing', { timeout: 170_000 }, async (t) => {
  const server = await startTestServer(t);
  const counter = new RequestCounter();
  const seeded = await server.fetch('/sync', { method: 'POST', body: '{"gyms":[{"id":"g1","updatedAt":"2024-01-15T10:30:00.000Z"}]}' });
  assert.equal(seeded.status, 200);
  const png = await server.fetch('/images/upload?filename=seed.png', { method: 'POST', body: Buffer.concat([PNG, Buffer.alloc(64)]) });
  assert.equal(png.status, 200, 'the image routes are there');

  await assertProperty(
    fc.asyncProperty(request, async (r) => {
      const before = await syncState(server.url);
      const imagesBefore = imageFolder(server.config.imagesDir);
      const { bytes, incomplete } = wire(r);
      const answer = await rawRequest(server.url, bytes, { endAfterWrite: incomplete });
      counter.count(answer.status);
      const what = `${r.method} ${r.route}${r.query.slice(0, 60)} (${r.framing})`;
      assert.ok(answer.status < 500, `${what} answered ${answer.status}: ${answer.body.toString('utf8').slice(0, 200)}`);
      if (answer.status === 0) assert.ok(incomplete || r.framing === 'none' || r.framing === 'long', `${what}: closed without an answer`);
      await assertHealthy(server.url);
      if (answer.status === 0 || answer.status >= 400) {
        assert.equal(await syncState(server.url), before, `a refused ${what} (${answer.status}) changed the sync data`);
        assert.equal(imageFolder(server.config.imagesDir), imagesBefore, `a refused ${what} (${answer.status}) changed the image folder`);
      }
    }),
    fuzzParameters(1000),
  );
  t.diagnostic(`fuzzed HTTP requests: ${counter.summary()}`);
});
