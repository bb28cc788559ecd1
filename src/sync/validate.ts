import { ApiError } from '../errors.js';
import { COLLECTIONS, normaliseTombstoneType, type ChangeSet, type IncomingItem, type IncomingTombstone, type JsonObject } from './model.js';
import { itemTime, parseInstant } from './timestamps.js';

/** Top-level fields the server writes itself; any other field of a full upload is kept and returned. */
const DOCUMENT_FIELDS = new Set<string>(['exportedAt', 'version', 'formatVersion', 'deletedItems', ...COLLECTIONS]);

export interface FullUpload {
  readonly changes: ChangeSet;
  /** Other top-level fields of the upload, as the JSON text of an object. */
  readonly extraFieldsJson: string;
}

export interface DeltaRequest {
  readonly changes: ChangeSet;
  /** `null` means "from the beginning". */
  readonly lastSyncMs: number | null;
}

export function validateFullUpload(body: unknown): FullUpload {
  const document = requireObject(body);
  const extra: JsonObject = {};
  for (const key of Object.keys(document)) {
    // defineProperty, not assignment: a key named __proto__ must stay a plain field.
    if (!DOCUMENT_FIELDS.has(key)) Object.defineProperty(extra, key, { value: document[key], enumerable: true, writable: true, configurable: true });
  }
  return { changes: readChangeSet(document), extraFieldsJson: serialise(extra, 'a top-level field') };
}

export function validateDelta(body: unknown): DeltaRequest {
  const document = requireObject(body);
  return { changes: readChangeSet(document), lastSyncMs: readLastSyncTime(document['lastSyncTime']) };
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

function readChangeSet(document: JsonObject): ChangeSet {
  const items: IncomingItem[] = [];
  for (const collection of COLLECTIONS) {
    for (const [index, value] of readArray(document, collection)) {
      const path = `${collection}[${index}]`;
      const item = requireItem(value, path);
      items.push({ collection, id: item['id'] as string, time: itemTime(item), value: item, json: serialise(item, path) });
    }
  }
  const tombstones: IncomingTombstone[] = [];
  for (const [index, value] of readArray(document, 'deletedItems')) {
    const path = `deletedItems[${index}]`;
    const tombstone = requireItem(value, path);
    const type = tombstone['type'];
    if (typeof type !== 'string' || type.trim() === '') throw ApiError.badRequest(`${path}.type must be a non-empty string`);
    requireWellFormed(type, `${path}.type`);
    tombstones.push({ ...normaliseTombstoneType(type), id: tombstone['id'] as string, json: serialise(tombstone, path) });
  }
  return { items, tombstones };
}

function readArray(document: JsonObject, field: string): Iterable<[number, unknown]> {
  const value = document[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw ApiError.badRequest(`${field} must be an array`);
  return value.entries();
}

function requireItem(value: unknown, path: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw ApiError.badRequest(`${path} must be an object`);
  const id = (value as JsonObject)['id'];
  if (typeof id !== 'string' || id === '') throw ApiError.badRequest(`${path}.id must be a non-empty string`);
  requireWellFormed(id, `${path}.id`);
  return value as JsonObject;
}

/** The text stored for a value. JSON.parse accepts any depth, JSON.stringify does not. */
function serialise(value: JsonObject, path: string): string {
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
