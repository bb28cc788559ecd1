import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../src/errors.js';
import { parseInstant } from '../../src/sync/timestamps.js';
import { validateDelta, validateFullUpload } from '../../src/sync/validate.js';

const refusals: [string, unknown, RegExp][] = [
  ['an array body', [], /request body must be a JSON object/],
  ['null', null, /JSON object/],
  ['a collection that is not an array', { gyms: {} }, /^gyms must be an array$/],
  ['an item that is not an object', { problems: [{ id: 'a' }, 'x'] }, /^problems\[1\] must be an object$/],
  ['an item without id', { sessions: [{ name: 'x' }] }, /^sessions\[0\]\.id must be a non-empty string$/],
  ['an empty id', { attempts: [{ id: '' }] }, /^attempts\[0\]\.id/],
  ['a numeric id', { gyms: [{ id: 7 }] }, /^gyms\[0\]\.id/],
  ['an unreadable lastSyncTime', { lastSyncTime: 'last tuesday' }, /lastSyncTime is not a readable ISO 8601 time/],
  ['a numeric lastSyncTime', { lastSyncTime: 12 }, /lastSyncTime must be an ISO 8601 string/],
];
for (const [name, body, message] of refusals) {
  test(`a delta with ${name} is refused naming what is wrong`, () => {
    assert.throws(() => validateDelta(body), (err: unknown) => err instanceof ApiError && err.status === 400 && message.test(err.message));
  });
}

test('the first bad value is named by its path among many good ones', () => {
  const problems = Array.from({ length: 50 }, (_, i) => ({ id: `p${i}` }));
  problems[12] = { id: '' };
  assert.throws(() => validateFullUpload({ problems }), /problems\[12\]\.id/);
});

test('missing and null collections mean none; missing, null and "" lastSyncTime mean from the beginning', () => {
  for (const lastSyncTime of [undefined, null, '']) {
    const request = validateDelta({ gyms: null, lastSyncTime });
    assert.equal(request.lastSyncMs, null);
    assert.equal(request.changes.items.length, 0);
  }
});

test('a full upload keeps its unknown top-level fields but not the ones the server writes', () => {
  const upload = validateFullUpload({ exportedAt: 'x', version: '2.0', formatVersion: '2.0', gyms: [], appVersion: '3.1', settings: { a: [1] } });
  assert.deepEqual(JSON.parse(upload.extraFieldsJson), { appVersion: '3.1', settings: { a: [1] } });
});

test('ISO 8601 instants are read strictly and compared as instants', () => {
  assert.equal(parseInstant('2024-01-15T10:30:00.000Z'), Date.UTC(2024, 0, 15, 10, 30));
  assert.equal(parseInstant('2024-01-15T10:30:00Z'), Date.UTC(2024, 0, 15, 10, 30));
  assert.equal(parseInstant('2024-01-15T12:30:00+02:00'), Date.UTC(2024, 0, 15, 10, 30));
  assert.equal(parseInstant('2024-01-15T05:30:00-0500'), Date.UTC(2024, 0, 15, 10, 30));
  assert.equal(parseInstant('2024-01-15T10:30:00.123456Z'), Date.UTC(2024, 0, 15, 10, 30) + 123.456);
  // A fraction of any length, not only up to nanoseconds: it is still that instant, not unreadable.
  assert.equal(parseInstant('2024-01-15T10:30:00.1234567891Z'), Date.UTC(2024, 0, 15, 10, 30) + 123.4567891);
  assert.equal(parseInstant(`2024-01-15T10:30:00.5${'0'.repeat(40)}Z`), Date.UTC(2024, 0, 15, 10, 30) + 500);
  assert.equal(parseInstant('2024-01-15T10:30:00'), Date.UTC(2024, 0, 15, 10, 30), 'no offset reads as UTC, whatever the machine zone');
  assert.equal(parseInstant('2024-01-15'), Date.UTC(2024, 0, 15));
  // Years before 100 are those years (Date.UTC would read 0099 as 1999); V8's ISO reader is the reference.
  for (const [early, iso] of [['0099-01-01T00:00:00Z', '0099-01-01T00:00:00.000Z'], ['0000-02-29T12:00:00.000Z', '0000-02-29T12:00:00.000Z'], ['0050-06-15T12:00:00+02:00', '0050-06-15T10:00:00.000Z'], ['0001-01-01', '0001-01-01T00:00:00.000Z']] as const) {
    assert.equal(parseInstant(early), Date.parse(iso), early);
  }
  assert.ok(parseInstant('0099-12-31T23:59:59.999Z')! < parseInstant('0100-01-01T00:00:00.000Z')!);
  for (const bad of ['', 'yesterday', '2024-13-01T00:00:00Z', '2024-02-30T00:00:00Z', '2024-02-30T00:00:00.000Z', '2024-01-01T24:00:01.000Z', '2024-01-15T25:00:00Z', 'Jan 15 2024', '1705314600000']) {
    assert.equal(parseInstant(bad), undefined, bad);
  }
});

test('an item nested deeper than the server can store is a 400 naming it; deep but storable ones compare fine', async () => {
  const { jsonEqual } = await import('../../src/sync/json-equal.js');
  const nest = (depth: number): Record<string, unknown> => {
    let value: Record<string, unknown> = {};
    for (let i = 0; i < depth; i++) value = { a: value };
    return value;
  };
  const tooDeep = JSON.parse(`{"problems":[{"id":"p"},{"id":"q","x":${'{"a":'.repeat(200_000)}1${'}'.repeat(200_000)}}]}`);
  assert.throws(() => validateFullUpload(tooDeep), (err: unknown) => err instanceof ApiError && err.status === 400 && /problems\[1\] is nested too deeply/.test(err.message));
  assert.equal(jsonEqual(nest(4000), nest(4000)), true);
  assert.equal(jsonEqual(nest(4000), nest(3999)), false);
});

test('ids and types with unpaired surrogates are refused (they cannot be stored as keys); values may hold them', () => {
  assert.throws(() => validateDelta({ gyms: [{ id: 'a\ud800b' }] }), /gyms\[0\]\.id is not valid Unicode text/);
  assert.throws(() => validateDelta({ deletedItems: [{ id: 'x', type: 'gym\udc00' }] }), /deletedItems\[0\]\.type is not valid Unicode text/);
  const accepted = validateDelta({ gyms: [{ id: '🧗‍♀️', name: 'lone \ud800 surrogate' }] });
  assert.equal(JSON.parse(accepted.changes.items[0]!.json).name, 'lone \ud800 surrogate');
});
