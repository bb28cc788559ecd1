import fc from 'fast-check';

/**
 * Generators of JSON *text*, not values: only text can carry what a hostile or
 * buggy client really sends and a JS value cannot hold — a `__proto__` key (an
 * object literal would set the prototype instead), duplicate keys, numbers past
 * double range, escaped unpaired surrogates and nesting thousands deep.
 */

/** Keys that trip naive code: prototype pollution, Map-vs-object confusion, NUL. */
export const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', '', ' ', '\u0000', '\ud800', 'id', 'updatedAt', 'status', 'type'];

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

export const hostileString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: fc.oneof(loneSurrogate, fc.string({ minLength: 1, maxLength: 1 })), maxLength: 8 }) },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_KEYS, 'ACTIVE', ' active ', 'COMPLETED', 'gym', 'Problems', 'SESSION', '2024-01-15T10:30:00.000Z') },
);

/** One long string, 1 KB to 300 KB (and its escapes), in one field. */
export const longStringText = fc
  .tuple(fc.integer({ min: 1_000, max: 300_000 }), fc.constantFrom('x', 'é', '😀', '\\ud83d\\ude00', '\\\\', '\\u0000', '\\ud800'))
  .map(([n, unit]) => `"${unit.repeat(Math.ceil(n / unit.length))}"`);

/** Number tokens as text that a double holds exactly. */
const exactNumberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.integer().map(String),
  fc.constantFrom('0', '-0', '1.0', '1E+2', '1e-7', '1e308', '9007199254740991'),
);

/** ...and ones JSON allows that a double cannot hold: past its range or its precision. */
export const numberText = fc.oneof(
  { weight: 4, arbitrary: exactNumberText },
  { weight: 1, arbitrary: fc.constantFrom('9007199254740993', '12345678901234567890', '-9223372036854775808', '1e400', '-1e400', '1e-400', '123456789012345678901234567890.5') },
);

function leaf(numbers: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom('null', 'true', 'false') },
    { weight: 2, arbitrary: numbers },
    { weight: 3, arbitrary: hostileString.map((s) => JSON.stringify(s)) },
  );
}

export const keyText = fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...HOSTILE_KEYS) }, { weight: 2, arbitrary: hostileString });

export function objectText(entries: readonly (readonly [string, string])[]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
}

/** Nesting deeper than any recursive serialiser's stack: arrays or objects, 100 to 12,000 levels. */
export const deepText = fc.tuple(fc.integer({ min: 100, max: 12_000 }), fc.boolean()).map(([depth, arrays]) =>
  arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + 'null' + '}'.repeat(depth),
);

function jsonText(numbers: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf(numbers), tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 5 }).map((xs) => `[${xs.join(',')}]`),
    object: fc.array(fc.tuple(keyText, tie('value')), { maxLength: 5 }).map(objectText),
  })).value;
}

/** Any JSON value as text, shallow-ish, with hostile keys and leaves. */
export const anyJsonText = jsonText(numberText);

/** The same, with numbers a double holds exactly: what a round trip can promise today (see RELIABILITY.md). */
export const exactJsonText = jsonText(exactNumberText);

/** Any JSON value, now and then nested thousands of levels deep. */
export const wildJsonText = fc.oneof(
  { weight: 40, arbitrary: anyJsonText },
  { weight: 1, arbitrary: deepText },
  { weight: 1, arbitrary: longStringText },
);

/** ISO 8601 in the forms the apps and other clients write, and some they should not. */
export const timeText = fc.oneof(
  fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => JSON.stringify(d.toISOString())),
  fc.constantFrom('"2024-01-15T10:30:00Z"', '"2024-01-15T10:30:00.123456Z"', '"2024-01-15T12:30:00+02:00"', '"2024-01-15"', '"2024-02-30T00:00:00Z"', '"24:00"', '""', '"yesterday"', '"9999-12-31T23:59:59.999Z"', '"+275760-09-13T00:00:00.000Z"'),
);
