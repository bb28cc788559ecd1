import assert from 'node:assert/strict';
import { test } from 'node:test';
import { itemKey, planDelta, planFullUpload, type StoredItem, type StoredState, type StoredTombstone } from '../../src/sync/merge.js';
import type { ChangeSet, Collection, JsonObject } from '../../src/sync/model.js';
import { validateDelta } from '../../src/sync/validate.js';

/** Stored state from plain items and tombstones, all with the given stamp. */
function storedState(items: [Collection, JsonObject][], tombstones: JsonObject[] = [], stamp = 100): StoredState {
  const changes = validateDelta({ ...groupByCollection(items), deletedItems: tombstones }).changes;
  const itemMap = new Map<string, StoredItem>(changes.items.map((i) => [itemKey(i.collection, i.id), { collection: i.collection, id: i.id, time: i.time, json: i.json, stamp }]));
  const tombstoneMap = new Map<string, StoredTombstone>(changes.tombstones.map((t) => [itemKey(t.typeKey, t.id), { typeKey: t.typeKey, id: t.id, json: t.json, stamp }]));
  return { item: (c, id) => itemMap.get(itemKey(c, id)), tombstone: (type, id) => tombstoneMap.get(itemKey(type, id)) };
}

function groupByCollection(items: [Collection, JsonObject][]): Record<string, JsonObject[]> {
  const grouped: Record<string, JsonObject[]> = {};
  for (const [collection, item] of items) (grouped[collection] ??= []).push(item);
  return grouped;
}

function incoming(body: JsonObject): ChangeSet {
  return validateDelta(body).changes;
}

const T10 = '2024-01-15T10:00:00.000Z';
const T11 = '2024-01-15T11:00:00.000Z';
const gym = (updatedAt: string | undefined, name = 'Gym', extra: JsonObject = {}): JsonObject => ({ id: 'g1', name, ...(updatedAt ? { updatedAt } : {}), ...extra });

interface Row {
  rule: string;
  stored: [Collection, JsonObject][];
  storedTombstones?: JsonObject[];
  request: JsonObject;
  /** Names of the gyms stored afterwards by id, or the ids removed. */
  put: string[];
  remove?: string[];
  addTombstones?: string[];
  echoItems?: string[];
  echoTombstones?: string[];
}

const rows: Row[] = [
  { rule: '3: no stored item: stored', stored: [], request: { gyms: [gym(T10, 'new')] }, put: ['new'] },
  { rule: '4: newer replaces', stored: [['gyms', gym(T10, 'old')]], request: { gyms: [gym(T11, 'newer')] }, put: ['newer'] },
  { rule: '5: older loses and the stored one is answered', stored: [['gyms', gym(T11, 'stored')]], request: { gyms: [gym(T10, 'older')] }, put: [], echoItems: ['stored'] },
  { rule: '5: equal times, different content: stored stays and is answered', stored: [['gyms', gym(T10, 'stored')]], request: { gyms: [gym(T10, 'other')] }, put: [], echoItems: ['stored'] },
  { rule: '6: equal times, equal content (keys in another order): nothing', stored: [['gyms', gym(T10, 'same', { a: 1, b: 2 })]], request: { gyms: [{ b: 2, a: 1, updatedAt: T10, name: 'same', id: 'g1' }] }, put: [] },
  { rule: '1: a kept tombstone beats an item and is answered', stored: [], storedTombstones: [{ id: 'g1', type: 'gym', deletedAt: T10 }], request: { gyms: [gym(T11, 'revived')] }, put: [], echoTombstones: ['g1'] },
  { rule: '4.1: an incoming tombstone deletes whatever its updatedAt', stored: [['gyms', gym('2030-01-01T00:00:00Z', 'future')]], request: { deletedItems: [{ id: 'g1', type: 'gym', deletedAt: T10 }] }, put: [], remove: ['g1'], addTombstones: ['g1'] },
  { rule: '4.1: a tombstone and the item in one request: deleted', stored: [], request: { gyms: [gym(T11, 'x')], deletedItems: [{ id: 'g1', type: 'Gyms', deletedAt: T10 }] }, put: [], addTombstones: ['g1'] },
  { rule: '4.1: a tombstone of unknown type is kept and deletes nothing', stored: [['gyms', gym(T10, 'stays')]], request: { deletedItems: [{ id: 'g1', type: 'widget', deletedAt: T10 }] }, put: [], addTombstones: ['g1'] },
  { rule: '4.1: a second tombstone for a kept one changes nothing', stored: [], storedTombstones: [{ id: 'g1', type: 'gym', deletedAt: T10 }], request: { deletedItems: [{ id: 'g1', type: 'GYM', deletedAt: T11 }] }, put: [] },
  { rule: '2: an active session is not stored', stored: [], request: { sessions: [{ id: 's1', status: 'Active', updatedAt: T10 }] }, put: [] },
  { rule: '3: duplicate ids in one request: the newest wins and is answered', stored: [], request: { gyms: [gym(T10, 'first'), gym(T11, 'second')] }, put: ['second'], echoItems: ['second'] },
  { rule: '3: duplicates with equal times: the first stays and is answered', stored: [], request: { gyms: [gym(T10, 'first'), gym(T10, 'second')] }, put: ['first'], echoItems: ['first'] },
  { rule: '3: an older duplicate after a newer one: the newer is stored and answered', stored: [['gyms', gym(T10, 'stored')]], request: { gyms: [gym(T11, 'newer'), gym(T10, 'older')] }, put: ['newer'], echoItems: ['newer'] },
  { rule: '3: identical duplicates: stored once, not answered', stored: [], request: { gyms: [gym(T10, 'same'), gym(T10, 'same')] }, put: ['same'] },
  { rule: 'time: offsets and missing fractions are instants', stored: [['gyms', gym('2024-01-15T12:30:00+02:00', 'stored')]], request: { gyms: [gym('2024-01-15T10:30:00.001Z', 'later by 1 ms')] }, put: ['later by 1 ms'] },
  { rule: 'time: microseconds order correctly', stored: [['gyms', gym('2024-01-15T10:00:00.000100Z', 'stored')]], request: { gyms: [gym('2024-01-15T10:00:00.000200Z', 'newer')] }, put: ['newer'] },
  { rule: 'time: a nanosecond later wins, though a double of milliseconds cannot hold it', stored: [['gyms', gym('2024-01-15T10:00:00.000Z', 'stored')]], request: { gyms: [gym('2024-01-15T10:00:00.000000001Z', 'later')] }, put: ['later'] },
  { rule: 'time: seven fraction digits (.NET) a tenth of a microsecond apart', stored: [['gyms', gym('2024-01-15T10:00:00.1234561Z', 'stored')]], request: { gyms: [gym('2024-01-15T12:00:00.123456+02:00', 'earlier')] }, put: [], echoItems: ['stored'] },
  { rule: 'time: the same instant in other digits and offsets is a tie (rule 5: the texts differ)', stored: [['gyms', gym('2024-01-15T10:00:00.5Z', 'same')]], request: { gyms: [gym('2024-01-15T11:00:00.500000+01:00', 'same')] }, put: [], echoItems: ['same'] },
  { rule: 'time: an attempt without updatedAt falls back to createdAt', stored: [['attempts', { id: 'a1', createdAt: T10, name: 'stored' }]], request: { attempts: [{ id: 'a1', createdAt: T11, name: 'newer' }] }, put: ['newer'] },
  { rule: 'time: then to timestamp', stored: [['attempts', { id: 'a1', timestamp: T11, name: 'stored' }]], request: { attempts: [{ id: 'a1', timestamp: T10, name: 'older' }] }, put: [], echoItems: ['stored'] },
  { rule: 'time: unreadable times count as the epoch', stored: [['gyms', gym('yesterday', 'stored')]], request: { gyms: [gym('1970-01-01T00:00:00.001Z', 'epoch+1')] }, put: ['epoch+1'] },
];

for (const row of rows) {
  test(`merge rule ${row.rule}`, () => {
    const plan = planDelta(storedState(row.stored, row.storedTombstones), incoming(row.request));
    assert.deepEqual(plan.put.map((i) => i.value['name']), row.put);
    assert.deepEqual(plan.remove.map((r) => r.id), row.remove ?? []);
    assert.deepEqual(plan.addTombstones.map((t) => t.id), row.addTombstones ?? []);
    assert.deepEqual(plan.echoItems.map((i) => JSON.parse(i.json).name), row.echoItems ?? []);
    assert.deepEqual(plan.echoTombstones.map((t) => t.id), row.echoTombstones ?? []);
  });
}

/** A delta's changes read from its source text, as the route reads them: each item keeps its digits as written. */
function incomingText(text: string): ChangeSet {
  return validateDelta(JSON.parse(text), text).changes;
}

test('merge rules 5 and 6 compare numbers by their digits, not as the doubles JSON.parse makes of them', () => {
  const storedText = `{"id":"g1","n":9007199254740993,"big":1e400,"updatedAt":"${T10}"}`;
  const stored: StoredState = {
    item: (c, id) => (c === 'gyms' && id === 'g1' ? { collection: 'gyms', id, time: Date.parse(T10), json: storedText, stamp: 100 } : undefined),
    tombstone: () => undefined,
  };
  for (const other of ['"n":9007199254740992,"big":1e400', '"n":9007199254740993,"big":2e400']) {
    const plan = planDelta(stored, incomingText(`{"gyms":[{"id":"g1",${other},"updatedAt":"${T10}"}]}`));
    assert.deepEqual(plan.put, [], other);
    assert.deepEqual(plan.echoItems.map((i) => i.json), [storedText], `${other}: another value at the same time: the stored one is answered`);
  }
  const same = planDelta(stored, incomingText(`{"gyms":[{ "updatedAt":"${T10}", "big":10e399, "n":9007199254740993.0, "id":"g1" }]}`));
  assert.deepEqual([same.put, same.echoItems], [[], []], 'the same value in other digits is the same content');
  const copies = planDelta(stored, incomingText(`{"gyms":[{"id":"g1","n":1,"updatedAt":"${T11}"},{"id":"g1","n":1.0000000000000000001,"updatedAt":"${T11}"}]}`));
  assert.deepEqual(copies.echoItems.map((i) => i.json), [`{"id":"g1","n":1,"updatedAt":"${T11}"}`], 'a copy in the same request that lost is told the winner');
});

test('full upload: duplicates keep the newest, active sessions are dropped, tombstones of live ids are dropped', () => {
  const plan = planFullUpload(
    incoming({
      gyms: [gym(T10, 'old'), gym(T11, 'new')],
      sessions: [{ id: 's1', status: 'ACTIVE' }, { id: 's2', status: 'COMPLETED' }],
      deletedItems: [
        { id: 'g1', type: 'gym', deletedAt: T10 },
        { id: 'p9', type: 'problem', deletedAt: T10 },
        { id: 'p9', type: 'problems', deletedAt: T11 },
      ],
    }),
  );
  assert.deepEqual(plan.items.map((i) => `${i.collection}/${i.id}/${i.value['name'] ?? ''}`), ['gyms/g1/new', 'sessions/s2/']);
  assert.deepEqual(plan.tombstones.map((t) => `${t.typeKey}/${t.id}`), ['problem/p9']);
});
