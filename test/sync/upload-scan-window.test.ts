import assert from 'node:assert/strict';
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { scanFullUpload } from '../../src/sync/upload-scan.js';
import { planScannedUpload } from '../../src/sync/upload-plan.js';
import { FileSource, type UploadSource } from '../../src/sync/upload-source.js';
import { fuzzParameters } from '../hostile/fuzz-config.js';
import { syncDocumentText } from '../hostile/sync-documents.js';
import { tempDir } from '../helpers/server.js';

/**
 * A body received into a file is scanned through a window that moves along it.
 * With windows of a few bytes every step (key, value, element, separator) is cut
 * somewhere: the scan must accept, refuse (with the same message) and locate
 * exactly what the scan of the whole body in memory does.
 */

/** The same bytes, but not in memory as one Buffer: the scanner must read them in windows. */
function windowedSource(bytes: Buffer): UploadSource {
  return { length: bytes.length, read: (target, targetStart, length, position) => bytes.copy(target, targetStart, position, Math.min(bytes.length, position + length)) };
}

function outcome(body: Buffer | UploadSource, windowBytes?: number): string {
  try {
    const scan = scanFullUpload(body, windowBytes);
    const plan = planScannedUpload(scan);
    const items = Array.from({ length: plan.items.length }, (_, p) => [plan.items.collection(p), plan.items.id(p), plan.items.time(p), plan.items.json(p), plan.items.utf8(p).toString('hex')]);
    return JSON.stringify({ items: scan.items, kept: items, tombstones: plan.tombstones, extra: plan.extraFieldsJson, bytes: plan.bytes });
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
}

// Valid documents, and the same cut short or with one byte changed: refusals must match too.
const body = fc.oneof(
  { weight: 3, arbitrary: syncDocumentText.map((text) => Buffer.from(text, 'utf8')) },
  {
    weight: 1,
    arbitrary: fc.tuple(syncDocumentText, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean()).map(([text, at, byte, cut]) => {
      const bytes = Buffer.from(text, 'utf8');
      if (bytes.length === 0) return bytes;
      if (cut) return bytes.subarray(0, at % bytes.length);
      bytes[at % bytes.length] = byte;
      return bytes;
    }),
  },
);

test('a body scanned through a small moving window gives what the whole body gives', () => {
  fc.assert(
    fc.property(body, fc.integer({ min: 1, max: 64 }), (bytes, windowBytes) => {
      assert.equal(outcome(windowedSource(bytes), windowBytes), outcome(bytes));
    }),
    fuzzParameters(500),
  );
});

test('a body in a file is scanned and its items read back exactly', (t) => {
  const dir = tempDir(t);
  const items = Array.from({ length: 2000 }, (_, i) => `{"id":"g${i}","name":"${'é'.repeat(i % 7)}\\u00e9 ${i}","n":${i % 3 === 0 ? '1e400' : '9223372036854775807'},"updatedAt":"2024-01-15T10:30:00.000Z"}`);
  const text = `{"gyms":[${items.join(',')}],"appVersion":"3.1"}`;
  const file = path.join(dir, 'body');
  const fd = openSync(file, 'w+');
  unlinkSync(file);
  writeSync(fd, text);
  const source = new FileSource(fd, Buffer.byteLength(text));
  try {
    const plan = planScannedUpload(scanFullUpload(source, 1000));
    assert.equal(plan.items.length, items.length);
    // Read out of order too: the reader's window moves back and forth.
    for (const p of [0, 1999, 1, 1000, 999, 1998]) assert.equal(plan.items.json(p), items[p]);
    for (let p = 0; p < items.length; p++) assert.equal(plan.items.utf8(p).toString('utf8'), items[p]);
    assert.equal(plan.extraFieldsJson, '{"appVersion":"3.1"}');
  } finally {
    source.close();
  }
  assert.throws(() => closeSync(fd), /EBADF/);
});
