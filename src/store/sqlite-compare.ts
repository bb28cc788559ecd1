import { itemKey } from '../sync/merge.js';
import { BACKSLASH, COMMA, QUOTE, utf8Text } from '../sync/json-bytes.js';
import { sameJsonText } from '../sync/json-equal.js';
import { COLLECTIONS, normaliseTombstoneType, type Collection } from '../sync/model.js';
import type { PassedRows } from '../sync/known-items.js';
import { liveIn, type PlannedUpload, type UploadItems } from '../sync/upload-plan.js';
import type { Database, Statement } from './sqlite-driver.js';

/* What a full upload would change, from one read of the stored rows or from what the scan found in them (SqliteStore.applyFullUpload). */

export interface FullUploadDiff {
  /** 1 at each position of an item stored with this text, or one of the same JSON value (sameJsonText): not rewritten. */
  readonly unchanged: Uint8Array;
  /** UTF-8 bytes of the unchanged items' JSON, as stored (for the quota). */
  readonly unchangedBytes: number;
  /** Rowids of stored items the upload does not hold. */
  readonly leftOut: number[];
  readonly revivedTombstones: { typeKey: string; id: string }[];
  /** Whether the upload changes anything at all (else no snapshot is kept). */
  readonly changes: boolean;
}

/** Stored rows compared at a time by SQLite. */
const BATCH_ROWS = 1024;
/** Stored rows read back at a time as bytes: smaller Buffers, which the allocator reuses rather than keeps. */
const READ_ROWS = 256;

export function compareStatements(db: Database) {
  return {
    // A collection's rows in the export's order (the order they were first stored),
    // READ_ROWS at a time: their count, last rowid, rowids and JSON joined by commas.
    // The two lists are built in one pass, so they agree whatever order it takes.
    itemBatch: db
      .prepare(
        `SELECT count(*), max(r), group_concat(r), CAST(group_concat(json, ',') AS BLOB) FROM (
           SELECT rowid AS r, json FROM items INDEXED BY items_in_order WHERE dataset_id = ? AND collection = ? AND rowid > ? ORDER BY rowid LIMIT ?)`,
      )
      .raw(),
    // The same rows compared with the body's bytes by SQLite itself: a batch
    // unchanged in a re-upload costs no Buffer and no string at all.
    sameBatch: db
      .prepare(
        `SELECT count(*), max(r), CAST(group_concat(json, ',') AS BLOB) = ? FROM (
           SELECT rowid AS r, json FROM items INDEXED BY items_in_order WHERE dataset_id = ? AND collection = ? AND rowid > ? ORDER BY rowid LIMIT ?)`,
      )
      .raw(),
    itemIdByRowid: db.prepare('SELECT id FROM items WHERE rowid = ?').pluck(),
    itemByRowid: db.prepare('SELECT id, json FROM items WHERE rowid = ?').raw(),
    itemsAfter: db.prepare('SELECT rowid, id, json FROM items INDEXED BY items_in_order WHERE dataset_id = ? AND collection = ? AND rowid > ? ORDER BY rowid').raw(),
    allItemRows: db.prepare('SELECT rowid, collection, id, json FROM items WHERE dataset_id = ?').raw(),
    allTombstoneKeys: db.prepare('SELECT type_key, id FROM tombstones WHERE dataset_id = ?').raw(),
  };
}

type Statements = ReturnType<typeof compareStatements>;

/** A stored row the batch read could not account for (never expected): the row-by-row comparison decides then. */
class Unaligned extends Error {}

/** `version`: the dataset's last stamp now; the scan's matches count only if they were read at that very version. */
export function compareUpload(s: Statements, datasetId: number, plan: PlannedUpload, extraJson: string, version: number): FullUploadDiff {
  const passed = plan.known?.version === version ? plan.known.passed : {};
  let items: ItemMarks;
  try {
    items = newMarks(plan.items.length);
    for (const collection of COLLECTIONS) {
      const rows = passed[collection];
      if (rows) matchedMarks(s, datasetId, items, plan.items, collection, rows);
      else batchedMarks(s, datasetId, items, plan.items, collection);
    }
  } catch (err) {
    if (!(err instanceof Unaligned)) throw err;
    items = rowByRowMarks(s.allItemRows, datasetId, plan.items);
  }
  // A stored deletion of an id the upload holds live is forgotten; uploaded ones
  // already stored keep their stamp (INSERT OR IGNORE).
  const revivedTombstones: { typeKey: string; id: string }[] = [];
  const storedTombstones = new Set<string>();
  const stored = (s.allTombstoneKeys.all(datasetId) as [string, string][]).map(([typeKey, id]) => ({ typeKey, id, collection: normaliseTombstoneType(typeKey).collection }));
  const live = liveIn(plan.items, stored);
  for (const tombstone of stored) {
    if (live(tombstone)) revivedTombstones.push({ typeKey: tombstone.typeKey, id: tombstone.id });
    else storedTombstones.add(itemKey(tombstone.typeKey, tombstone.id));
  }
  const newTombstones = plan.tombstones.some((t) => !storedTombstones.has(itemKey(t.typeKey, t.id)));
  const changes =
    items.kept < plan.items.length || items.leftOut.length > 0 || revivedTombstones.length > 0 || newTombstones || extraJson !== plan.extraFieldsJson;
  return { unchanged: items.unchanged, unchangedBytes: items.unchangedBytes, leftOut: items.leftOut, revivedTombstones, changes };
}

interface ItemMarks {
  unchanged: Uint8Array;
  kept: number;
  unchangedBytes: number;
  leftOut: number[];
}

function newMarks(length: number): ItemMarks {
  return { unchanged: new Uint8Array(length), kept: 0, unchangedBytes: 0, leftOut: [] };
}

function keep(marks: ItemMarks, position: number, bytes: number): void {
  if (marks.unchanged[position] === 1) throw new Unaligned('an item matched twice');
  marks.unchanged[position] = 1;
  marks.kept += 1;
  marks.unchangedBytes += bytes;
}

/**
 * A collection the scan went through with the stored items at hand, at the
 * version still stored: an item the scan found byte for byte in a stored row is
 * unchanged without reading that row again. Only the rows it went past without a
 * match, and those it never reached, are read: each is left out, or compared with
 * the item of its id (moved, or changed).
 */
function matchedMarks(s: Statements, datasetId: number, marks: ItemMarks, items: UploadItems, collection: Collection, passed: PassedRows): void {
  const { start, end } = items.span(collection);
  for (let position = start; position < end; position++) if (items.storedRow(position) !== 0) keep(marks, position, items.byteLength(position));
  const unmatched = (rowid: number, id: string, json: string): void => {
    const position = items.positionOf(collection, id);
    if (position === -1) marks.leftOut.push(rowid);
    else if (items.storedRow(position) !== 0) throw new Unaligned('a stored row both matched and not');
    else if (sameContent(items, position, json)) keep(marks, position, Buffer.byteLength(json));
  };
  for (const rowid of passed.unmatched) {
    const row = s.itemByRowid.get(rowid) as [string, string] | undefined;
    if (!row) throw new Unaligned('a stored row gone since the scan');
    unmatched(rowid, ...row);
  }
  if (passed.through === Infinity) return;
  for (const [rowid, id, json] of s.itemsAfter.iterate(datasetId, collection, passed.through) as Iterable<[number, string, string]>) unmatched(rowid, id, json);
}

/**
 * The stored rows, a batch at a time as bytes, against the upload's own bytes. A
 * re-upload lists its items in the order they were stored, so each row is first
 * compared with the item after the last one matched: equal bytes followed by the
 * batch's comma is that very item (a JSON object's text ends at its own closing
 * brace, so no other split of the batch can match), and no string is made for it.
 * A row that is not the expected item is looked up by id, as the row-by-row
 * comparison does, and the next row is expected after wherever it was found.
 * While nothing differs, SQLite compares a whole batch with the body's bytes
 * itself, and the rows never come into JavaScript at all.
 */
function batchedMarks(s: Statements, datasetId: number, marks: ItemMarks, items: UploadItems, collection: Collection): void {
  const span = items.span(collection);
  let expected = span.start;
  let after = -1;
  /** Whether the next batch is compared by SQLite first: while the batches before it came back unchanged. */
  let byBytes = true;
  for (;;) {
    // Equal bytes of n rows joined by commas and n items joined by commas are n equal items, pair by pair
    // (each text is one JSON object, which ends at its own closing brace), whatever order SQLite joined them in.
    const n = Math.min(BATCH_ROWS, span.end - expected);
    const expectedBytes = n > 0 && byBytes ? items.joined(expected, expected + n) : undefined;
    if (expectedBytes) {
      const [count, last, equal] = s.sameBatch.get(expectedBytes, datasetId, collection, after, n) as [number, number | null, number | null];
      if (equal === 1 && count === n && last !== null) {
        for (let position = expected; position < expected + n; position++) if (marks.unchanged[position] === 1) throw new Unaligned('an item matched twice');
        marks.unchanged.fill(1, expected, expected + n);
        marks.kept += n;
        marks.unchangedBytes += expectedBytes.length - (n - 1);
        expected += n;
        after = last;
        continue;
      }
    }
    // Read back as bytes: the next batch is compared by SQLite again only if no row of this one changed.
    byBytes = true;
    const [count, last, rowidList, joined] = s.itemBatch.get(datasetId, collection, after, READ_ROWS) as [number, number | null, string | null, Buffer | null];
    if (count === 0 || last === null || rowidList === null || joined === null) break;
    let rowids: number[] | undefined;
    let at = 0;
    for (let row = 0; row < count; row++) {
      if (at > joined.length) throw new Unaligned('fewer rows than counted');
      if (expected < span.end && marks.unchanged[expected] === 0) {
        const text = items.utf8(expected);
        const end = at + text.length;
        if (end <= joined.length && (end === joined.length || joined[end] === COMMA) && joined.compare(text, 0, text.length, at, end) === 0) {
          keep(marks, expected, text.length);
          expected += 1;
          at = end + 1;
          continue;
        }
      }
      byBytes = false;
      const end = valueEnd(joined, at);
      rowids ??= rowidList.split(',').map(Number);
      const rowid = rowids[row]!;
      const id = s.itemIdByRowid.get(rowid) as string;
      const position = items.positionOf(collection, id);
      if (position === -1) {
        marks.leftOut.push(rowid);
      } else {
        const text = items.utf8(position);
        if (text.length === end - at && joined.compare(text, 0, text.length, at, end) === 0) keep(marks, position, text.length);
        else if (sameJsonText(items.json(position), utf8Text(joined, at, end))) keep(marks, position, end - at);
        expected = position + 1;
      }
      at = end + 1;
    }
    if (at !== joined.length + 1) throw new Unaligned('more bytes than rows');
    after = last;
  }
}

/** Where the stored JSON object starting at `at` ends: at the comma after it, or the end. */
function valueEnd(bytes: Buffer, at: number): number {
  let depth = 0;
  let i = at;
  for (; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === QUOTE) {
      for (i++; i < bytes.length && bytes[i] !== QUOTE; i++) if (bytes[i] === BACKSLASH) i++;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
    } else if (c === 0x7d || c === 0x5d) {
      if (--depth === 0) break;
    } else if (depth === 0 && c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) {
      throw new Unaligned('a stored item that is not an object');
    }
  }
  if (i >= bytes.length) throw new Unaligned('a stored item that does not end');
  for (i++; i < bytes.length && bytes[i] !== COMMA; i++) {
    const c = bytes[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) throw new Unaligned('bytes after a stored item');
  }
  return i;
}

/**
 * Whether the uploaded item holds what the stored text does: byte for byte (all
 * but the changed items of a re-upload), or as JSON (keys reordered, whitespace),
 * in which case the stored row, its text and its stamp stay as they are.
 */
function sameContent(items: UploadItems, position: number, stored: string): boolean {
  return items.hasText(position, stored) || sameJsonText(items.json(position), stored);
}

/** The plain comparison: each stored row by its id, its text as a string. */
function rowByRowMarks(allItemRows: Statement, datasetId: number, items: UploadItems): ItemMarks {
  const marks = newMarks(items.length);
  for (const [rowid, collection, id, json] of allItemRows.iterate(datasetId) as Iterable<[number, Collection, string, string]>) {
    const position = items.positionOf(collection, id);
    if (position === -1) {
      marks.leftOut.push(rowid);
    } else if (sameContent(items, position, json)) {
      marks.unchanged[position] = 1;
      marks.kept += 1;
      marks.unchangedBytes += Buffer.byteLength(json);
    }
  }
  return marks;
}
