import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { scanTopLevel } from '../../src/sync/source-text.js';
import { postJson, startTestServer } from '../helpers/server.js';

const documentArb = fc.dictionary(
  fc.oneof(fc.constantFrom('gyms', 'problems', 'deletedItems', '__proto__', 'a"b', 'x\\y', 'ü'), fc.string()),
  fc.oneof(fc.array(fc.jsonValue(), { maxLength: 5 }), fc.jsonValue()),
);

test('the scan finds exactly the values and array elements JSON.parse sees, however the text is laid out', () => {
  fc.assert(
    fc.property(documentArb, fc.constantFrom(undefined, 2, '\t', ' \n '), (document, indent) => {
      const text = JSON.stringify(document, null, indent as never);
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const source = scanTopLevel(text)!;
      assert.deepEqual([...source.values.keys()].sort(), Object.keys(parsed).sort());
      for (const [key, value] of Object.entries(parsed)) {
        assert.deepEqual(JSON.parse(source.values.get(key)!), value, key);
        if (Array.isArray(value)) assert.deepEqual(source.elements.get(key)!.map((t) => JSON.parse(t)), value, key);
        else assert.equal(source.elements.has(key), false);
      }
    }),
    { numRuns: 300 },
  );
});

test('a repeated key: the last one counts, as in JSON.parse; escaped keys are decoded', () => {
  const source = scanTopLevel('{"gyms":[1],"gy\\u006ds":[2,3],"s":"a\\"]}"}')!;
  assert.deepEqual(source.elements.get('gyms'), ['2', '3']);
  assert.equal(source.values.get('s'), '"a\\"]}"');
  assert.equal(scanTopLevel('[1]'), undefined);
});

test('numbers come back exactly as the app wrote them, in items and in top-level fields', async (t) => {
  const server = await startTestServer(t);
  const item = '{"id":"n","big":9223372036854775807,"huge":1e400,"negZero":-0,"one":1.0,"price":1.50,"deep":[{"x":12345678901234567890}]}';
  const upload = await server.fetch('/sync', { method: 'POST', body: `{"gyms":[${item}],"appBuild":10000000000000000001}` });
  assert.equal(upload.status, 200);
  const text = await (await server.fetch('/sync')).text();
  assert.ok(text.includes(`"gyms":[${item}]`), text);
  assert.ok(text.endsWith(',"appBuild":10000000000000000001}'), text);

  const delta = await server.fetch('/sync/delta', { method: 'POST', body: `{"problems":[ {"id":"p", "v": 1.000 } ]}` });
  assert.equal(delta.status, 200);
  const everything = await postJson(server, '/sync/delta', {});
  assert.equal(everything.status, 200);
  assert.match(await (await server.fetch('/sync')).text(), /"problems":\[\{"id":"p", "v": 1\.000 \}\]/);
});
