import assert from 'node:assert/strict';
import { test } from 'node:test';
import { etagMatches, notModifiedSince, parseRange, sameVersionAs } from '../../src/images/http-conditions.js';

test('parseRange: one byte range, clamped; others ignored; past the end unsatisfiable', () => {
  const cases: [string, number, ReturnType<typeof parseRange>][] = [
    ['bytes=0-0', 10, { start: 0, end: 0 }],
    ['bytes=2-5', 10, { start: 2, end: 5 }],
    ['bytes=2-', 10, { start: 2, end: 9 }],
    ['bytes=5-100', 10, { start: 5, end: 9 }],
    ['bytes=-3', 10, { start: 7, end: 9 }],
    ['bytes=-30', 10, { start: 0, end: 9 }],
    ['BYTES=1-2', 10, { start: 1, end: 2 }],
    ['bytes=10-', 10, 'unsatisfiable'],
    ['bytes=10-20', 10, 'unsatisfiable'],
    ['bytes=-0', 10, 'unsatisfiable'],
    ['bytes=0-', 0, 'unsatisfiable'],
    ['bytes=5-2', 10, undefined],
    ['bytes=0-1,4-5', 10, undefined],
    ['bytes=-', 10, undefined],
    ['items=0-1', 10, undefined],
    ['bytes=a-b', 10, undefined],
  ];
  for (const [header, size, expected] of cases) assert.deepEqual(parseRange(header, size), expected, `${header} of ${size}`);
});

test('etagMatches: weak comparison for If-None-Match, strong for If-Range', () => {
  const etag = '"abc"';
  assert.equal(etagMatches(undefined, etag, 'weak'), false);
  assert.equal(etagMatches('"abc"', etag, 'weak'), true);
  assert.equal(etagMatches('W/"abc"', etag, 'weak'), true);
  assert.equal(etagMatches('W/"abc"', etag, 'strong'), false);
  assert.equal(etagMatches('"x", "abc"', etag, 'weak'), true);
  assert.equal(etagMatches('*', etag, 'weak'), true);
  assert.equal(etagMatches('"abcd"', etag, 'weak'), false);
  assert.equal(etagMatches('abc', etag, 'strong'), false);
});

test('If-Modified-Since: unchanged to the second since the date; If-Range: the entity tag, or the Last-Modified date exactly', () => {
  const modified = new Date('2024-01-15T10:30:00.750Z');
  const lastModified = modified.toUTCString(); // Mon, 15 Jan 2024 10:30:00 GMT: the fraction is lost
  assert.equal(notModifiedSince(undefined, modified), false);
  assert.equal(notModifiedSince(lastModified, modified), true);
  assert.equal(notModifiedSince('Mon, 15 Jan 2024 11:00:00 GMT', modified), true);
  assert.equal(notModifiedSince('Mon, 15 Jan 2024 10:29:59 GMT', modified), false);
  assert.equal(notModifiedSince('yesterday', modified), false);
  assert.equal(sameVersionAs('"abc"', '"abc"', modified), true);
  assert.equal(sameVersionAs('W/"abc"', '"abc"', modified), false);
  assert.equal(sameVersionAs(lastModified, '"abc"', modified), true);
  assert.equal(sameVersionAs('Mon, 15 Jan 2024 11:00:00 GMT', '"abc"', modified), false);
});
