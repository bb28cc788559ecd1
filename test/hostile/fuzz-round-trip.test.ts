import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { assertProperty, fuzzParameters, RequestCounter } from './fuzz-config.js';
import { exactJsonText, keyText, objectText } from './json-text.js';
import { COLLECTIONS, freshId, isActiveSession, itemFieldsText, type Collection, type Entries } from './sync-documents.js';

type Doc = Record<string, unknown>;

/** Collections of items with fresh ids and arbitrary, hostile content. */
const collections = fc.tuple(...COLLECTIONS.map((c) => fc.array(itemFieldsText(c, exactJsonText), { maxLength: 4 })));

/** Top-level fields an app may add to a full upload; they must come back too. */
const DOCUMENT_FIELDS = new Set<string>(['exportedAt', 'version', 'formatVersion', 'deletedItems', ...COLLECTIONS]);
const extraFields = fc.array(fc.tuple(keyText.filter((k) => !DOCUMENT_FIELDS.has(k)), exactJsonText), { maxLength: 4 });

function withIds(fields: Entries[][]): { texts: Map<Collection, string[]>; body: Entries } {
  const texts = new Map<Collection, string[]>();
  COLLECTIONS.forEach((collection, i) => texts.set(collection, (fields[i] ?? []).map((entries) => objectText([...entries, ['id', JSON.stringify(freshId(collection))]]))));
  return { texts, body: COLLECTIONS.map((c) => [c, `[${texts.get(c)!.join(',')}]`] as const) };
}

async function post(server: TestServer, path: string, text: string, counter: RequestCounter): Promise<number> {
  const response = await server.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
  await response.arrayBuffer();
  counter.count(response.status);
  return response.status;
}

async function stored(server: TestServer): Promise<Doc> {
  const response = await server.fetch('/sync');
  assert.equal(response.status, 200);
  return JSON.parse(await response.text()) as Doc;
}

/** Equal as JSON: same keys (any order), same values; JSON.parse on both sides reads numbers alike. */
function assertSameJson(actual: unknown, expected: unknown, where: string): void {
  if (typeof expected !== 'object' || expected === null || typeof actual !== 'object' || actual === null) {
    assert.ok(actual === expected, `${where}: ${show(actual)} !== ${show(expected)}`);
    return;
  }
  assert.equal(Array.isArray(actual), Array.isArray(expected), `${where}: array vs object`);
  const keys = Object.keys(expected);
  assert.deepEqual(Object.keys(actual).sort(), [...keys].sort(), `${where}: keys`);
  for (const key of keys) assertSameJson((actual as Doc)[key], (expected as Doc)[key], `${where}.${key}`);
}

function show(value: unknown): string {
  return typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value)).slice(0, 200);
}

test('accepted items and top-level fields round-trip exactly (delta, full upload)', { timeout: 120_000 }, async (t) => {
  const server = await startTestServer(t);
  const counter = new RequestCounter();

  await t.test('delta: every item sent is stored as sent', async () => {
    await assertProperty(
      fc.asyncProperty(collections, async (fields) => {
        const { texts, body } = withIds(fields);
        // Start each case empty, so that the answers stay small however many cases run.
        assert.equal(await post(server, '/sync', '{}', counter), 200);
        assert.equal(await post(server, '/sync/delta', objectText([['lastSyncTime', 'null'], ...body]), counter), 200);
        const after = await stored(server);
        for (const collection of COLLECTIONS) {
          const byId = new Map((after[collection] as Doc[]).map((item) => [item['id'], item]));
          for (const text of texts.get(collection)!) {
            const sent = JSON.parse(text) as Doc;
            if (isActiveSession(collection, sent)) assert.ok(!byId.has(sent['id']), 'an active session is not stored');
            else assertSameJson(byId.get(sent['id']), sent, `${collection}[${String(sent['id'])}]`);
          }
        }
      }),
      fuzzParameters(300),
    );
  });

  await t.test('full upload: the live data and extra fields are exactly the upload, in order', async () => {
    await assertProperty(
      fc.asyncProperty(collections, extraFields, async (fields, extra) => {
        const { texts, body } = withIds(fields);
        const document = objectText([...extra, ...body, ['version', '"2.0"']]);
        assert.equal(await post(server, '/sync', document, counter), 200);
        const after = await stored(server);
        for (const collection of COLLECTIONS) {
          const expected = texts.get(collection)!.map((text) => JSON.parse(text) as Doc).filter((item) => !isActiveSession(collection, item));
          assertSameJson(after[collection], expected, collection);
        }
        const sentExtra = JSON.parse(objectText(extra)) as Doc;
        const storedExtra = Object.fromEntries(Object.entries(after).filter(([key]) => !DOCUMENT_FIELDS.has(key)));
        assertSameJson(storedExtra, sentExtra, 'top-level fields');
      }),
      fuzzParameters(300),
    );
  });
  t.diagnostic(`round-trip: ${counter.summary()}`);
});
