import { ApiError } from '../errors.js';
import { COLLECTIONS, normaliseTombstoneType, type ChangeSet, type Collection, type IncomingItem, type IncomingTombstone, type JsonObject } from './model.js';
import { scanTopLevel, type SourceText } from './source-text.js';
import { itemTime, parseInstant } from './timestamps.js';

/** Top-level fields the server writes itself; any other field of a full upload is kept and returned. */
export const DOCUMENT_FIELDS: ReadonlySet<string> = new Set<string>(['exportedAt', 'version', 'formatVersion', 'deletedItems', ...COLLECTIONS]);

export interface FullUpload {
  readonly changes: ChangeSet;
  /** Other top-level fields of the upload, as the JSON text of an object. */
  readonly extraFieldsJson: string;
}

export interface DeltaRequest {
  readonly changes: ChangeSet;
  /** `null` means "from the beginning"; a fraction of a millisecond is kept (see deltaSince). */
  readonly lastSyncMs: number | null;
}

/** Parses a request body, refusing what is not JSON with a 400. */
export function parseDocument(text: string): unknown {
  if (text.trim() === '') throw ApiError.badRequest('request body is empty: send a JSON object');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw notValidJson(err);
  }
}

/**
 * JSON.parse's refusal of the body, or of a piece of it that starts at `offset`
 * (a full upload parses item by item): one wording for both, with the position in
 * the body. Node 21 and later add a line and column, dropped here since a piece's
 * would count from the piece.
 */
export function notValidJson(err: unknown, offset = 0): ApiError {
  const message = (err as Error).message.replace(/ \(line \d+ column \d+\)/, '').replace(/at position (\d+)/, (_, n: string) => `at position ${offset + Number(n)}`);
  return ApiError.badRequest(`request body is not valid JSON: ${message.slice(0, 200)}`);
}

/**
 * `sourceText`, the request body the document was parsed from, lets every item and
 * field be stored as the app wrote it (see source-text.ts); without it they are
 * serialised again, which can change numbers a double cannot hold.
 */
export function validateFullUpload(body: unknown, sourceText?: string): FullUpload {
  const document = requireObject(body);
  const source = sourceText === undefined ? undefined : scanTopLevel(sourceText);
  const extraFields = Object.keys(document)
    .filter((key) => !DOCUMENT_FIELDS.has(key))
    .map((key) => `${JSON.stringify(key)}:${source?.values.get(key) ?? serialise(document[key], key)}`);
  return { changes: readChangeSet(document, source), extraFieldsJson: `{${extraFields.join(',')}}` };
}

export function validateDelta(body: unknown, sourceText?: string): DeltaRequest {
  const document = requireObject(body);
  const source = sourceText === undefined ? undefined : scanTopLevel(sourceText);
  return { changes: readChangeSet(document, source), lastSyncMs: readLastSyncTime(document['lastSyncTime']) };
}

function requireObject(body: unknown): JsonObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw ApiError.badRequest('request body must be a JSON object');
  }
  return body as JsonObject;
}

function readLastSyncTime(value: unknown): number | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw ApiError.badRequest('lastSyncTime must be an ISO 8601 string');
  const ms = parseInstant(value);
  if (ms === undefined) throw ApiError.badRequest(`lastSyncTime is not a readable ISO 8601 time: ${JSON.stringify(value.slice(0, 64))}`);
  return ms;
}

function readChangeSet(document: JsonObject, source: SourceText | undefined): ChangeSet {
  const items: IncomingItem[] = [];
  for (const collection of COLLECTIONS) {
    const array = readArray(document, collection);
    const texts = sourceElements(source, collection, array);
    array.forEach((value, index) => {
      const path = `${collection}[${index}]`;
      items.push(readItem(collection, value, path, texts?.[index]));
    });
  }
  const tombstones: IncomingTombstone[] = [];
  const array = readArray(document, 'deletedItems');
  const texts = sourceElements(source, 'deletedItems', array);
  array.forEach((value, index) => tombstones.push(readTombstone(value, `deletedItems[${index}]`, texts?.[index])));
  return { items, tombstones };
}

/** One element of a collection array, checked; `json` is its source text when known. */
export function readItem(collection: Collection, value: unknown, path: string, json: string | undefined): IncomingItem {
  const item = requireItem(value, path);
  return { collection, id: item['id'] as string, time: itemTime(item), value: item, json: json ?? serialise(item, path) };
}

/** One element of `deletedItems`, checked; `json` is its source text when known. */
export function readTombstone(value: unknown, path: string, json: string | undefined): IncomingTombstone {
  const tombstone = requireItem(value, path);
  const type = tombstone['type'];
  if (typeof type === 'string') requireWellFormed(type, `${path}.type`);
  return { ...normaliseTombstoneType(type), id: tombstone['id'] as string, json: json ?? serialise(tombstone, path) };
}

function readArray(document: JsonObject, field: string): readonly unknown[] {
  const value = document[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw ApiError.badRequest(`${field} must be an array`);
  return value;
}

/** The source text of each element, when the scan agrees with the parse (it always should). */
function sourceElements(source: SourceText | undefined, field: string, array: readonly unknown[]): readonly string[] | undefined {
  const texts = source?.elements.get(field);
  return texts && texts.length === array.length ? texts : undefined;
}

function requireItem(value: unknown, path: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw ApiError.badRequest(`${path} must be an object`);
  const id = (value as JsonObject)['id'];
  if (typeof id !== 'string' || id === '') throw ApiError.badRequest(`${path}.id must be a non-empty string`);
  requireWellFormed(id, `${path}.id`);
  return value as JsonObject;
}

/** The text stored for a value. JSON.parse accepts any depth, JSON.stringify does not. */
function serialise(value: unknown, path: string): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    if (err instanceof RangeError) throw ApiError.badRequest(`${path} is nested too deeply`);
    throw err;
  }
}

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Keys are stored as SQLite text, which is UTF-8: a lone surrogate would come back
 * as U+FFFD, a different key, and the item could never be found again. Values are
 * safe: their JSON text escapes lone surrogates.
 */
function requireWellFormed(key: string, path: string): void {
  if (LONE_SURROGATE.test(key)) throw ApiError.badRequest(`${path} is not valid Unicode text (it has an unpaired surrogate)`);
}
