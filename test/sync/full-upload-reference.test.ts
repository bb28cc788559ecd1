import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ApiError } from '../../src/errors.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { sameJsonText } from '../../src/sync/json-equal.js';
import { itemKey, planFullUpload, splitItemKey } from '../../src/sync/merge.js';
import { tombstoneTypeOf } from '../../src/sync/model.js';
import { nextStamp } from '../../src/sync/stamps.js';
import { SyncService } from '../../src/sync/sync-service.js';
import { parseDocument, validateFullUpload } from '../../src/sync/validate.js';
import { anyJsonText, deepText, hostileString, numberText, timeText } from '../hostile/json-text.js';
import { assertProperty, fuzzParameters } from '../hostile/fuzz-config.js';
import { tempDir } from '../helpers/server.js';

/**
 * The full-upload path reads items from the body's bytes one by one; the simple
 * way is to parse the whole document, compare and replace. Both are run side by
 * side on random documents and must leave the same rows (same stamps, same order)
 * and give the same answers afterwards. The simple way is the code the server ran
 * before (parseDocument, validateFullUpload, planFullUpload and its SQL).
 */
function referenceFullUpload(store: SqliteStore, datasetId: number, text: string, now: number): void {
  const upload = validateFullUpload(parseDocument(text), text);
  const plan = planFullUpload(upload.changes);
  const db = store.database;
  db.transaction(() => {
    const dataset = db.prepare('SELECT last_stamp FROM datasets WHERE id = ?').get(datasetId) as { last_stamp: number };
    const stamp = nextStamp(dataset.last_stamp, now);
    const stored = new Map<string, string>();
    for (const row of db.prepare('SELECT collection, id, json FROM items WHERE dataset_id = ?').all(datasetId) as { collection: string; id: string; json: string }[]) {
      stored.set(itemKey(row.collection, row.id), row.json);
    }
    const kept = new Set((db.prepare('SELECT type_key, id FROM tombstones WHERE dataset_id = ?').all(datasetId) as { type_key: string; id: string }[]).map((t) => itemKey(t.type_key, t.id)));
    for (const item of plan.items) {
      const key = itemKey(item.collection, item.id);
      const previous = stored.get(key);
      stored.delete(key);
      if (previous === undefined || !sameJsonText(previous, item.json)) {
        db.prepare(
          `INSERT INTO items (dataset_id, collection, id, updated_ms, stamp, json) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (dataset_id, collection, id) DO UPDATE SET updated_ms = excluded.updated_ms, stamp = excluded.stamp, json = excluded.json`,
        ).run(datasetId, item.collection, item.id, item.time, stamp, item.json);
      }
      if (kept.has(itemKey(tombstoneTypeOf(item.collection), item.id))) {
        db.prepare('DELETE FROM tombstones WHERE dataset_id = ? AND type_key = ? AND id = ?').run(datasetId, tombstoneTypeOf(item.collection), item.id);
      }
    }
    for (const key of stored.keys()) db.prepare('DELETE FROM items WHERE dataset_id = ? AND collection = ? AND id = ?').run(datasetId, ...splitItemKey(key));
    for (const t of plan.tombstones) db.prepare('INSERT OR IGNORE INTO tombstones (dataset_id, type_key, id, stamp, json) VALUES (?, ?, ?, ?, ?)').run(datasetId, t.typeKey, t.id, stamp, t.json);
    const bytes = db
      .prepare(
        `SELECT coalesce((SELECT sum(length(CAST(json AS BLOB))) FROM items WHERE dataset_id = ?), 0)
              + coalesce((SELECT sum(length(CAST(json AS BLOB))) FROM tombstones WHERE dataset_id = ?), 0)`,
      )
      .pluck()
      .get(datasetId, datasetId);
    db.prepare('UPDATE datasets SET last_stamp = ?, written = 1, extra_json = ?, json_bytes = ? WHERE id = ?').run(stamp, upload.extraFieldsJson, bytes, datasetId);
  }).immediate();
}

/** Everything a store holds for the dataset, rows in rowid order (the order answers list them in). */
function dump(store: SqliteStore): string {
  const db = store.database;
  return JSON.stringify([
    db.prepare('SELECT collection, id, updated_ms, stamp, json FROM items ORDER BY rowid').raw().all(),
    db.prepare('SELECT type_key, id, stamp, json FROM tombstones ORDER BY rowid').raw().all(),
    db.prepare('SELECT last_stamp, written, extra_json, json_bytes FROM datasets').raw().all(),
  ]);
}

/** What a dump holds apart from stamps and times: items, tombstone keys and extra fields. */
function content(dumped: string): string {
  const [items, tombstones, datasets] = JSON.parse(dumped) as unknown[][][];
  return JSON.stringify([items!.map((r) => [r[0], r[1], r[4]]), tombstones!.map((r) => [r[0], r[1]]), datasets!.map((r) => r[2])]);
}

/** From-scratch answers as the server computed them before they were streamed: read inside the transaction, by stamp. */
function referenceFromScratch(store: SqliteStore, before: number): Record<string, string[]> {
  const db = store.database;
  const answer: Record<string, string[]> = { gyms: [], problems: [], sessions: [], attempts: [], deletedItems: [] };
  for (const row of db.prepare('SELECT collection, json FROM items WHERE stamp > -1 AND stamp < ? ORDER BY stamp').all(before) as { collection: string; json: string }[]) {
    answer[row.collection]!.push(row.json);
  }
  answer['deletedItems'] = db.prepare('SELECT json FROM tombstones WHERE stamp > -1 AND stamp < ? ORDER BY stamp').pluck().all(before) as string[];
  return answer;
}

async function text(answer: string | { chunks: AsyncIterable<string>; close(): void }): Promise<string> {
  if (typeof answer === 'string') return answer;
  let all = '';
  for await (const chunk of answer.chunks) all += chunk;
  answer.close();
  return all;
}

// Odd but valid JSON: whitespace anywhere between tokens, escaped keys.
const space = fc.constantFrom('', '', '', ' ', '\n', '\t', '\r\n  ');
const escapeKey = (key: string, escaped: boolean): string => (escaped ? `"${[...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"` : JSON.stringify(key));
const ids = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'é', '🧗', 'x\\"y');

const field = fc.tuple(fc.oneof(hostileString, fc.constantFrom('notes', 'name', 'gymId', '__proto__', 'id', 'updatedAt')), fc.oneof(anyJsonText, numberText, timeText));
const item = fc
  .record({
    id: ids,
    time: fc.option(fc.oneof(timeText, fc.constantFrom('"2024-01-15T10:30:00.000Z"', '"2024-01-15T10:30:00.000Z"', '"2024-01-16T00:00:00.000Z"')), { nil: undefined }),
    status: fc.option(fc.constantFrom('"active"', '" ACTIVE "', '"paused"', '"completed"'), { nil: undefined }),
    extra: fc.array(field, { maxLength: 3 }),
    deep: fc.option(deepText, { freq: 30, nil: undefined }),
    space,
  })
  .map(({ id, time, status, extra, deep, space: s }) => {
    const fields = [`"id":${JSON.stringify(id)}`];
    if (time !== undefined) fields.push(`"updatedAt":${time}`);
    if (status !== undefined) fields.push(`"status":${status}`);
    for (const [key, value] of extra) if (key !== 'id') fields.push(`${JSON.stringify(key)}:${value}`);
    if (deep !== undefined) fields.push(`"nest":${deep}`);
    return `{${s}${fields.join(`,${s}`)}${s}}`;
  });
const tombstone = fc
  .tuple(ids, fc.constantFrom('gym', 'Gyms', 'PROBLEM', 'session', 'attempts', 'climb'), timeText)
  .map(([id, type, time]) => `{"id":${JSON.stringify(id)},"type":"${type}","deletedAt":${time}}`);

const documentText = fc
  .record({
    collections: fc.array(
      fc.tuple(fc.constantFrom('gyms', 'problems', 'sessions', 'attempts'), fc.oneof({ weight: 8, arbitrary: fc.array(item, { maxLength: 6 }).map((xs) => xs) }, { weight: 1, arbitrary: fc.constant(null) })),
      { maxLength: 6 },
    ),
    tombstones: fc.option(fc.array(tombstone, { maxLength: 4 }), { nil: undefined }),
    extra: fc.array(fc.tuple(fc.oneof(hostileString, fc.constantFrom('appVersion', '1', '01', '42', 'exportedAt', 'version')), anyJsonText), { maxLength: 3 }),
    escaped: fc.boolean(),
    space,
  })
  .map(({ collections, tombstones, extra, escaped, space: s }) => {
    const fields = collections.map(([name, items]) => `${escapeKey(name, escaped)}${s}:${s}${items === null ? 'null' : `[${s}${items.join(`${s},${s}`)}${s}]`}`);
    if (tombstones !== undefined) fields.push(`"deletedItems":[${tombstones.join(',')}]`);
    for (const [key, value] of extra) fields.push(`${JSON.stringify(key)}:${value}`);
    return `${s}{${s}${fields.join(`${s},${s}`)}${s}}${s}`;
  });

// Now and then a document with one bad element, or cut short: refused alike, changing nothing.
const badElement = fc.constantFrom('{"id":""}', '"x"', '{"id":7}', '[1]', '{"name":"no id"}', '{"id":"a\\ud800"}');
const refusedText = fc.oneof(
  fc.tuple(documentText, fc.nat()).map(([body, cut]) => body.slice(0, cut % Math.max(1, body.length))),
  fc.tuple(fc.constantFrom('gyms', 'attempts', 'deletedItems'), badElement, fc.array(item, { maxLength: 2 })).map(([name, bad, items]) => `{"${name}":[${[...items, bad].join(',')}],"gyms":5}`),
);

/** The text with a space after each comma and colon between tokens: the same JSON, other bytes. */
function respaced(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    out += c;
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) out += text[i] === '\\' ? text[i]! + text[++i]! : text[i]!;
      if (i < text.length) out += '"';
    } else if (c === ',' || c === ':') {
      out += ' ';
    }
  }
  return out;
}

const operation = fc.oneof(
  { weight: 4, arbitrary: documentText.map((body) => ({ kind: 'full' as const, body })) },
  // The last document accepted, sent again with other whitespace: its items keep their stamps.
  { weight: 1, arbitrary: fc.constant({ kind: 'respaced' as const, body: '' }) },
  { weight: 1, arbitrary: refusedText.map((body) => ({ kind: 'full' as const, body })) },
  { weight: 1, arbitrary: fc.array(item, { maxLength: 3 }).map((items) => ({ kind: 'delta' as const, body: `{"lastSyncTime":null,"attempts":[${items.join(',')}]}` })) },
);

test('the full-upload path leaves the same rows and answers as parse-all, compare and replace, on random documents', async (t) => {
  const dirA = tempDir(t);
  const dirB = tempDir(t);
  const counts = { accepted: 0, refused: 0, deltas: 0 };
  await assertProperty(
    fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 6 }), async (operations) => {
      const a = new SqliteStore(dirA);
      const b = new SqliteStore(dirB);
      try {
        for (const store of [a, b]) store.database.exec('DELETE FROM items; DELETE FROM tombstones; DELETE FROM history; UPDATE datasets SET last_stamp = 0, written = 0, json_bytes = 0');
        const idA = await a.datasetId('default');
        const idB = await b.datasetId('default');
        let clock = 1_700_000_000_000;
        const now = (): number => clock;
        const serviceA = new SyncService(a, { historyKeep: 100, now });
        const serviceB = new SyncService(b, { historyKeep: 0, now });
        let lastAccepted = '{}';
        for (const operation of operations) {
          const op = operation.kind === 'respaced' ? { kind: 'full' as const, body: respaced(lastAccepted) } : operation;
          clock += 1000;
          if (op.kind === 'delta') {
            counts.deltas += 1;
            assert.equal(await text(await serviceA.delta(idA, op.body)), await text(await serviceB.delta(idB, op.body)));
            continue;
          }
          const before = dump(b);
          const historyBefore = (await a.listHistory(idA)).length;
          const refused = await Promise.resolve()
            .then(() => referenceFullUpload(b, idB, op.body, clock))
            .then(() => undefined, (err: unknown) => err);
          const refusedA = await Promise.resolve()
            .then(() => serviceA.fullUpload(idA, Buffer.from(op.body)))
            .then(() => undefined, (err: unknown) => err);
          counts[refused === undefined ? 'accepted' : 'refused'] += 1;
          if (refused !== undefined) {
            assert.ok(refused instanceof ApiError, String(refused));
            assert.ok(refusedA instanceof ApiError && refusedA.status === 400, `the reference refused (${refused.message}), the new path answered ${String(refusedA)}`);
            if (!refused.message.startsWith('request body is not valid JSON')) assert.equal(refusedA.message, refused.message);
          } else {
            assert.equal(refusedA, undefined, `the reference accepted, the new path refused: ${String(refusedA)}`);
            lastAccepted = op.body;
          }
          assert.equal(dump(a), dump(b));
          // A snapshot before every upload that replaced something, and only then.
          const changed = content(before) !== content(dump(b));
          const hadData = (JSON.parse(before) as unknown[][])[0]!.length + (JSON.parse(before) as unknown[][])[1]!.length > 0;
          if (refused === undefined) assert.equal((await a.listHistory(idA)).length - historyBefore, changed && hadData ? 1 : 0, 'history snapshots');
        }
        // Every later answer: the whole document, a device from scratch (streamed) and one that saw the first half.
        const exported = async (service: SyncService, id: number): Promise<string> => text((await service.openExport(id)) ?? '(none)');
        assert.equal(await exported(serviceA, idA), await exported(serviceB, idB));
        clock += 1000;
        const expected = referenceFromScratch(b, Number.MAX_SAFE_INTEGER);
        const fromScratch = await text(await serviceA.delta(idA, '{"lastSyncTime":null}'));
        assert.equal(fromScratch, await text(await serviceB.delta(idB, '{"lastSyncTime":null}')));
        for (const [key, texts] of Object.entries(expected)) assert.ok(fromScratch.includes(`"${key}":[${texts.join(',')}]`), key);
        clock += 1000;
        const middle = new Date(1_700_000_000_000 + 500 * operations.length).toISOString();
        const partial = `{"lastSyncTime":"${middle}","gyms":[{"id":"z","updatedAt":"2024-01-01T00:00:00Z"}]}`;
        assert.equal(await text(await serviceA.delta(idA, partial)), await text(await serviceB.delta(idB, partial)));
        assert.equal(dump(a), dump(b));
      } finally {
        await a.close();
        await b.close();
      }
    }),
    fuzzParameters(60),
  );
  t.diagnostic(`full uploads: ${counts.accepted} accepted, ${counts.refused} refused, both ways alike; ${counts.deltas} deltas between them`);
});
