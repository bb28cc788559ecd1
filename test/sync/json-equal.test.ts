import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalNumber, jsonEqual, sameJsonText } from '../../src/sync/json-equal.js';
import { assertProperty, fuzzParameters } from '../hostile/fuzz-config.js';

test('numbers are one canonical text per exact decimal value, however they are written', () => {
  const alike = [
    ['1', '1.0', '10e-1', '0.1e1', '1E+0', '100e-2'],
    ['0', '-0', '0.000e5', '0e-99999999999999999999'],
    ['120', '1.2e2', '12E1', '120.000'],
    ['-0.012', '-1.2e-2', '-12e-3'],
    ['1e400', '10e399', '0.1E401'],
  ];
  for (const group of alike) for (const token of group) assert.equal(canonicalNumber(token), canonicalNumber(group[0]!), `${token} is ${group[0]}`);
  const apart = [
    ['9223372036854775807', '9223372036854775808'],
    ['1e400', '2e400'],
    ['1e-400', '0'],
    ['1e99999999999999999999', '1e99999999999999999998'],
    ['-1', '1'],
    ['0.1', '0.01'],
  ];
  for (const [a, b] of apart) assert.notEqual(canonicalNumber(a!), canonicalNumber(b!), `${a} is not ${b}`);
});

test('two texts are the same JSON with keys in any order and any whitespace, and only then', () => {
  assert.ok(sameJsonText('{"a":1,"b":[true,null,"x"]}', '{ "b" : [ true , null , "x" ] ,\n\t"a" : 1.0 }'));
  assert.ok(!sameJsonText('{"a":1,"b":[true,null,"x"]}', '{"b":[null,true,"x"],"a":1}'), 'arrays keep their order');
  assert.ok(!sameJsonText('{"a":"1"}', '{"a":1}'), 'a string is not a number');
  assert.ok(!sameJsonText('{"big":9223372036854775807}', '{"big":9223372036854775808}'), 'one double to JSON.parse, two numbers');
  assert.ok(!sameJsonText('{"a":"\\u00001e0"}', '{"a":1}'), 'a string that looks like a marked number is not one');
  assert.ok(!sameJsonText('{"a":"n1e1"}', '{"a":1}'), 'nor one that looks like any marking');
  assert.ok(!sameJsonText('{"a":"sx"}', '{"a":"x"}'));
  assert.ok(sameJsonText('{"s":"a\\u0000b","t":1}', '{ "t" : 1.0, "s" : "a\\u0000b" }'), 'a NUL in a string is text like any other');
  assert.ok(sameJsonText('{"s":"\\u0041"}', '{"s":"A"}'), 'escapes are read');
  assert.ok(sameJsonText('{"a":"\\"1\\" , 2"}', '{ "a" : "\\"1\\" , 2" }'), 'numbers inside strings are left alone');
  assert.ok(!sameJsonText('{"a":"x 1"}', '{"a":"x 1.0"}'));
  const deep = (open: string, close: string, n: number): string => open.repeat(n) + '0' + close.repeat(n);
  assert.ok(sameJsonText(deep('[', ']', 20_000), deep('[ ', ' ]', 20_000)), 'nesting deeper than a recursive comparison could follow');
});

/** The value's JSON with its keys reversed, spaces between tokens and integers written with an exponent. */
function reworded(value: unknown): string {
  if (Array.isArray(value)) return `[ ${value.map(reworded).join(' ,\n')} ]`;
  if (value !== null && typeof value === 'object') {
    return `{\n${Object.entries(value)
      .reverse()
      .map(([k, v]) => `${JSON.stringify(k)} : ${reworded(v)}`)
      .join(',\t')} }`;
  }
  const text = JSON.stringify(value);
  return typeof value === 'number' && !/[.eE]/.test(text) ? `${text}e0` : text;
}

test('a reworded text is the same JSON exactly when the values are equal', async () => {
  const value = fc.jsonValue({ maxDepth: 4 });
  await assertProperty(
    fc.asyncProperty(value, value, fc.boolean(), async (a, b, same) => {
      const left = JSON.stringify(a);
      const right = reworded(same ? a : b);
      // Doubles written by JSON.stringify read back exactly, so JSON.parse tells the truth here.
      assert.equal(sameJsonText(left, right), jsonEqual(JSON.parse(left), JSON.parse(JSON.stringify(same ? a : b))));
      if (same) assert.ok(sameJsonText(left, right));
    }),
    fuzzParameters(300),
  );
});
