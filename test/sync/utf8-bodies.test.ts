import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { test } from 'node:test';
import fc from 'fast-check';
import { Utf8Check } from '../../src/sync/utf8-check.js';
import { postJson, startTestServer } from '../helpers/server.js';

/** Bytes that are mostly text, with now and then a byte that breaks or cuts a character. */
const textLikeBytes = fc
  .array(fc.oneof({ weight: 5, arbitrary: fc.string({ unit: 'binary' }).map((s) => Buffer.from(s, 'utf8')) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 3 }).map((b) => Buffer.from(b)) }), { maxLength: 12 })
  .map((parts) => Buffer.concat(parts));

test('a body checked chunk by chunk is UTF-8 exactly when it is so whole, wherever the chunks are cut', () => {
  fc.assert(
    fc.property(textLikeBytes, fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
      const check = new Utf8Check();
      const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      let from = 0;
      for (const to of [...at, bytes.length]) {
        check.add(bytes.subarray(from, to));
        from = to;
      }
      assert.equal(check.ok, isUtf8(bytes));
    }),
    { numRuns: 3000 },
  );
});

test('every character cut at every place between two chunks still reads as UTF-8', () => {
  const text = Buffer.from('a é € 😀 z', 'utf8');
  for (let cut = 0; cut <= text.length; cut++) {
    const check = new Utf8Check();
    check.add(text.subarray(0, cut));
    check.add(text.subarray(cut));
    assert.ok(check.ok, `cut at ${cut}`);
  }
});

test('a body that is not UTF-8 is refused with 400, for a delta and a full upload, and nothing of it is stored', async (t) => {
  const server = await startTestServer(t);
  assert.equal((await postJson(server, '/sync/delta', { lastSyncTime: null, gyms: [{ id: 'kept', name: 'Kletterhalle' }] })).status, 200);
  const before = await (await server.fetch('/sync')).json();
  // \xe9 is é in Latin-1, not in UTF-8; decoded, it would be stored as U+FFFD and merge with any other such id.
  for (const [route, body] of [
    ['/sync/delta', Buffer.from('{"lastSyncTime":null,"gyms":[{"id":"caf\xe9","name":"x"}]}', 'latin1')],
    ['/sync', Buffer.from('{"gyms":[{"id":"g","name":"Kletterhalle \xe9"}]}', 'latin1')],
    // A character cut off at the very end.
    ['/sync', Buffer.concat([Buffer.from('{"gyms":[],"x":"'), Buffer.from('€').subarray(0, 2)])],
  ] as const) {
    const response = await server.fetch(route, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(response.status, 400, route);
    assert.match(((await response.json()) as { error: string }).error, /not valid UTF-8/);
  }
  const after = (await (await server.fetch('/sync')).json()) as Record<string, unknown>;
  assert.deepEqual({ ...after, exportedAt: undefined }, { ...(before as Record<string, unknown>), exportedAt: undefined });
});

test('a large full upload with characters of every length round-trips byte for byte', async (t) => {
  const server = await startTestServer(t);
  // Several MiB, so the body is received in many chunks, cut inside characters.
  const gyms = Array.from({ length: 20_000 }, (_, i) => ({ id: `g${i}`, name: `Hallé ${i} € 😀 ${'ü'.repeat(i % 7)}` }));
  const body = JSON.stringify({ gyms, problems: [], sessions: [], attempts: [], deletedItems: [] });
  assert.equal((await postJson(server, '/sync', body)).status, 200);
  const back = (await (await server.fetch('/sync')).json()) as { gyms: unknown[] };
  assert.deepEqual(back.gyms, gyms);
});
