import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { startTestServer } from '../helpers/server.js';
import { assertProperty, fuzzParameters, RequestCounter } from './fuzz-config.js';
import { assertHealthy, assertJsonError, rawRequest, requestBytes, syncState } from './raw-http.js';
import { COLLECTIONS, isActiveSession, syncDocumentText } from './sync-documents.js';

type Doc = Record<string, unknown>;

const CONTENT_TYPES: (string | undefined)[] = [
  'application/json',
  'application/json; charset=utf-8',
  undefined,
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'image/png',
  'application/json; charset=latin1',
  ';;;',
  'application/' + 'x'.repeat(2000),
];

const SEED_UPLOAD = JSON.stringify({
  gyms: [{ id: 'g1', name: 'Seed gym', updatedAt: '2024-01-15T10:30:00.000Z' }],
  problems: [{ id: 'p1', gymId: 'g1', difficulty: { system: 'V_SCALE', grade: 'V5', numericValue: 5 }, updatedAt: '2024-01-15T10:30:00.000Z' }],
  sessions: [{ id: 's1', status: 'COMPLETED', updatedAt: '2024-01-15T10:30:00.000Z' }],
  attempts: [{ id: 'a1', result: 'FLASH', timestamp: '2024-01-15T10:30:00.000Z' }],
  deletedItems: [],
  appExtra: { kept: true },
});

const request = fc.record({
  path: fc.constantFrom('/sync', '/sync/delta'),
  document: syncDocumentText,
  contentType: fc.constantFrom(...CONTENT_TYPES),
  gzip: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
});

test('generated sync documents: never a 5xx, a refusal changes nothing, an acceptance loses no item', { timeout: 170_000 }, async (t) => {
  const server = await startTestServer(t);
  const counter = new RequestCounter();
  const seeded = await server.fetch('/sync', { method: 'POST', headers: { 'content-type': 'application/json' }, body: SEED_UPLOAD });
  assert.equal(seeded.status, 200);

  await assertProperty(
    fc.asyncProperty(request, async ({ path, document, contentType, gzip }) => {
      const before = await syncState(server.url);
      const body = gzip ? gzipSync(document) : Buffer.from(document, 'utf8');
      const headers: [string, string][] = [['Content-Length', String(body.length)]];
      if (contentType !== undefined) headers.push(['Content-Type', contentType]);
      if (gzip) headers.push(['Content-Encoding', 'gzip']);
      const answer = await rawRequest(server.url, requestBytes('POST', path, headers, body));
      counter.count(answer.status);

      assert.ok(answer.status >= 200 && answer.status < 500, `POST ${path} answered ${answer.status}: ${answer.body.toString('utf8').slice(0, 300)}`);
      await assertHealthy(server.url);
      const after = await syncState(server.url);
      if (answer.status >= 400) {
        assertJsonError(answer, `POST ${path}`);
        assert.equal(after, before, `a refused POST ${path} (${answer.status}) changed the stored data`);
        return;
      }
      const sent = JSON.parse(document) as Doc;
      if (path === '/sync') assertFullUploadApplied(sent, JSON.parse(after) as Doc);
      else assertDeltaKeptEveryItem(sent, JSON.parse(after) as Doc);
    }),
    fuzzParameters(1500),
  );
  t.diagnostic(`fuzzed sync documents: ${counter.summary()}`);
});

/** After a full upload the live items are exactly the uploaded ones, active sessions excepted. */
function assertFullUploadApplied(sent: Doc, stored: Doc): void {
  for (const collection of COLLECTIONS) {
    const uploaded = ((sent[collection] as Doc[] | null | undefined) ?? []).filter((item) => !isActiveSession(collection, item));
    const expected = [...new Set(uploaded.map((item) => item['id'] as string))].sort();
    const live = (stored[collection] as Doc[]).map((item) => item['id'] as string).sort();
    assert.deepEqual(live, expected, `${collection} after a full upload`);
  }
}

/** After a delta, every item sent is stored in some version, unless it is deleted for good. */
function assertDeltaKeptEveryItem(sent: Doc, stored: Doc): void {
  const tombstones = new Set(
    (stored['deletedItems'] as Doc[]).map((t) => {
      // A tombstone without a string type is of the unknown type '' (it deletes nothing).
      const type = typeof t['type'] === 'string' ? t['type'].trim().toLowerCase() : '';
      return `${type.endsWith('s') ? type.slice(0, -1) : type}\u0000${String(t['id'])}`;
    }),
  );
  for (const collection of COLLECTIONS) {
    const live = new Set((stored[collection] as Doc[]).map((item) => item['id']));
    for (const item of (sent[collection] as Doc[] | null | undefined) ?? []) {
      if (isActiveSession(collection, item)) continue;
      const id = item['id'] as string;
      const deleted = tombstones.has(`${collection.slice(0, -1)}\u0000${id}`);
      assert.ok(live.has(id) || deleted, `${collection} item ${JSON.stringify(id).slice(0, 80)} was accepted but is neither stored nor deleted`);
    }
  }
}
