import { ApiError } from '../errors.js';
import { COLLECTIONS, isActiveSession, type Collection, type IncomingTombstone } from './model.js';
import { DOCUMENT_FIELDS, parseDocument, readItem, readTombstone, validateFullUpload } from './validate.js';

/**
 * A full upload read from its bytes in one pass, without ever parsing the whole
 * document: the scan checks the JSON around the items itself and hands each item
 * to JSON.parse alone. No tree of the whole upload is built (a 100 MB upload
 * would be several times that in objects), each item's exact source text is a
 * byte range of the body, and what is kept per item is its id, its time and
 * where its text lies. It accepts and refuses exactly what
 * `validateFullUpload(JSON.parse(text), text)` does.
 */
export interface ScannedUpload {
  readonly bytes: Buffer;
  /** Per collection, the items in document order (active sessions left out), as parallel arrays. */
  readonly items: Readonly<Record<Collection, ScannedItems>>;
  readonly tombstones: readonly IncomingTombstone[];
  readonly extraFieldsJson: string;
}

export interface ScannedItems {
  readonly ids: string[];
  readonly times: number[];
  /** Byte offsets of each item's text in the body: [starts[k], ends[k]). */
  readonly starts: number[];
  readonly ends: number[];
}

type Field =
  | { kind: 'items'; collection: Collection; items: ScannedItems; error?: ApiError }
  | { kind: 'tombstones'; tombstones: IncomingTombstone[]; error?: ApiError }
  | { kind: 'value'; text: string };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
/** Bodies refused as "not an object" are parsed whole only below this size, to name the exact reason. */
const SMALL_BODY = 1024 * 1024;

const ITEM_BOUNDARY = Buffer.from('},{');

const COLLECTION_SET: ReadonlySet<string> = new Set(COLLECTIONS);

export function scanFullUpload(bytes: Buffer): ScannedUpload {
  return new Scanner(bytes).document();
}

class Scanner {
  private readonly fields = new Map<string, Field>();

  constructor(private readonly b: Buffer) {}

  document(): ScannedUpload {
    const b = this.b;
    let i = this.whitespace(0);
    if (i === b.length) throw ApiError.badRequest('request body is empty: send a JSON object');
    if (b[i] !== OPEN_OBJECT) return this.notAnObject();
    i = this.whitespace(i + 1);
    if (b[i] === CLOSE_OBJECT) {
      i += 1;
    } else {
      for (;;) {
        if (b[i] !== QUOTE) this.unexpected(i);
        const keyEnd = this.stringEnd(i);
        const key = this.parse(i, keyEnd) as string;
        i = this.whitespace(keyEnd);
        if (b[i] !== COLON) this.unexpected(i);
        i = this.whitespace(i + 1);
        i = this.field(key, i);
        i = this.whitespace(i);
        if (b[i] === COMMA) {
          i = this.whitespace(i + 1);
          continue;
        }
        if (b[i] !== CLOSE_OBJECT) this.unexpected(i);
        i += 1;
        break;
      }
    }
    i = this.whitespace(i);
    if (i !== b.length) this.unexpected(i);
    return this.result();
  }

  /** Reads one top-level field's value starting at `i`; returns the index past it. A repeated key replaces the earlier value, as in JSON.parse. */
  private field(key: string, i: number): number {
    const b = this.b;
    const isCollection = COLLECTION_SET.has(key);
    if ((isCollection || key === 'deletedItems') && b[i] === OPEN_ARRAY) {
      const field: Field = isCollection
        ? { kind: 'items', collection: key as Collection, items: { ids: [], times: [], starts: [], ends: [] } }
        : { kind: 'tombstones', tombstones: [] };
      this.fields.set(key, field);
      i = this.whitespace(i + 1);
      if (b[i] === CLOSE_ARRAY) return i + 1;
      for (let index = 0; ; index++) {
        const end = this.element(field, index, i);
        i = this.whitespace(end);
        if (b[i] === COMMA) {
          i = this.whitespace(i + 1);
          continue;
        }
        if (b[i] !== CLOSE_ARRAY) this.unexpected(i);
        return i + 1;
      }
    }
    const end = this.valueEnd(i);
    const text = utf8Text(this.b, i, end);
    const value = this.parseText(text);
    if (isCollection || key === 'deletedItems') {
      // null means none; anything else but an array is refused once the whole body is known to be JSON.
      const error = value === null ? undefined : ApiError.badRequest(`${key} must be an array`);
      this.fields.set(key, isCollection ? { kind: 'items', collection: key as Collection, items: { ids: [], times: [], starts: [], ends: [] }, error } : { kind: 'tombstones', tombstones: [], error });
    } else {
      this.fields.set(key, { kind: 'value', text });
    }
    return end;
  }

  /**
   * Parses the array element starting at `start` alone and keeps what the upload
   * needs of it; returns the index past it. The first invalid element of a field is
   * remembered, not thrown, since a syntax error later in the body must win.
   */
  private element(field: Field, index: number, start: number): number {
    let end = this.b[start] === OPEN_OBJECT ? this.quickObject(start) : -1;
    let text: string;
    let value: unknown;
    if (end === -1) {
      end = this.valueEnd(start);
      text = utf8Text(this.b, start, end);
      value = this.parseText(text);
    } else {
      text = this.quickText;
      value = this.quickValue;
    }
    if (field.kind === 'value' || field.error) return end;
    try {
      if (field.kind === 'tombstones') {
        field.tombstones.push(readTombstone(value, `deletedItems[${index}]`, text));
        return end;
      }
      const item = readItem(field.collection, value, `${field.collection}[${index}]`, text);
      if (isActiveSession(item)) return end;
      const items = field.items;
      items.ids.push(item.id);
      items.times.push(item.time);
      items.starts.push(start);
      items.ends.push(end);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      field.error = err;
    }
    return end;
  }

  private quickText = '';
  private quickValue: unknown;
  private quickFrom = 0;

  /**
   * The usual case without looking at every byte: in compact JSON an object in an
   * array is followed by `},{`, found natively. The text up to there is the whole
   * item exactly when JSON.parse accepts it, since no proper prefix of a JSON
   * object (nor an object with more after it) is valid JSON. -1 when that is not
   * so (the last item, a nested array of objects, pretty-printed JSON): the byte
   * scan decides then.
   */
  private quickObject(start: number): number {
    if (start < this.quickFrom) return -1;
    const boundary = this.b.indexOf(ITEM_BOUNDARY, start);
    if (boundary === -1) {
      this.quickFrom = Infinity;
      return -1;
    }
    const text = utf8Text(this.b, start, boundary + 1);
    try {
      this.quickValue = JSON.parse(text);
    } catch {
      // Not tried again before that boundary: no byte is searched or parsed twice this way.
      this.quickFrom = boundary + 1;
      return -1;
    }
    this.quickText = text;
    return boundary + 1;
  }

  private result(): ScannedUpload {
    const items = {} as Record<Collection, ScannedItems>;
    // Refusals in the order validateFullUpload checks: collections in order, then deletions.
    for (const collection of COLLECTIONS) {
      const field = this.fields.get(collection);
      if (field?.kind === 'items' && field.error) throw field.error;
      items[collection] = field?.kind === 'items' ? field.items : { ids: [], times: [], starts: [], ends: [] };
    }
    const deleted = this.fields.get('deletedItems');
    if (deleted?.kind === 'tombstones' && deleted.error) throw deleted.error;
    const extra: string[] = [];
    for (const key of objectKeyOrder([...this.fields.keys()])) {
      const field = this.fields.get(key)!;
      if (!DOCUMENT_FIELDS.has(key) && field.kind === 'value') extra.push(`${JSON.stringify(key)}:${field.text}`);
    }
    return { bytes: this.b, items, tombstones: deleted?.kind === 'tombstones' ? deleted.tombstones : [], extraFieldsJson: `{${extra.join(',')}}` };
  }

  /** The reason a body that does not start with `{` is refused, as the whole-document path words it. */
  private notAnObject(): never {
    if (this.b.length <= SMALL_BODY) {
      const text = this.b.toString('utf8');
      validateFullUpload(parseDocument(text), text);
    }
    throw ApiError.badRequest('request body must be a JSON object');
  }

  private parse(start: number, end: number): unknown {
    return this.parseText(utf8Text(this.b, start, end));
  }

  private parseText(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw ApiError.badRequest(`request body is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
    }
  }

  private unexpected(i: number): never {
    const what = i >= this.b.length ? 'end of input' : `byte ${JSON.stringify(String.fromCharCode(this.b[i]!))}`;
    throw ApiError.badRequest(`request body is not valid JSON: unexpected ${what} at position ${i}`);
  }

  /** JSON whitespace only (space, tab, line feed, carriage return), as JSON.parse reads it. */
  private whitespace(i: number): number {
    const b = this.b;
    while (i < b.length) {
      const c = b[i];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i += 1;
    }
    return i;
  }

  /**
   * The index just past the value starting at `i`. Only its extent is found here:
   * JSON.parse of the extent checks the value itself, so a wrong extent (mismatched
   * brackets) is a refusal either way.
   */
  private valueEnd(i: number): number {
    const b = this.b;
    const first = b[i];
    if (first === QUOTE) return this.stringEnd(i);
    if (first === OPEN_OBJECT || first === OPEN_ARRAY) return this.compositeEnd(i);
    let end = i;
    // Numbers and the literals true, false, null.
    while (end < b.length) {
      const c = b[end]!;
      const literal = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x2e || c === 0x2b || c === 0x2d;
      if (!literal) break;
      end += 1;
    }
    if (end === i) this.unexpected(i);
    return end;
  }

  private compositeEnd(i: number): number {
    const b = this.b;
    const n = b.length;
    let depth = 0;
    for (; i < n; i++) {
      const c = b[i];
      if (c === QUOTE) {
        for (i++; i < n; i++) {
          const d = b[i];
          if (d === BACKSLASH) i++;
          else if (d === QUOTE) break;
        }
      } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        depth++;
      } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        if (--depth === 0) return i + 1;
      }
    }
    return this.unexpected(n);
  }

  private stringEnd(i: number): number {
    const b = this.b;
    for (i++; i < b.length; i++) {
      const c = b[i];
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) return i + 1;
    }
    return this.unexpected(b.length);
  }
}

/**
 * The text of bytes [start, end) decoded as UTF-8, exactly as toString('utf8',
 * start, end), without its argument checks: called once or twice per item.
 */
export function utf8Text(bytes: Buffer, start: number, end: number): string {
  return (bytes as Buffer & { utf8Slice(start: number, end: number): string }).utf8Slice(start, end);
}

const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

/** Object.keys order of the parsed document: array-index keys ascending, then the rest in order of first appearance. */
function objectKeyOrder(keys: string[]): string[] {
  const isIndex = (key: string): boolean => ARRAY_INDEX.test(key) && Number(key) <= 4294967294;
  const indexes = keys.filter(isIndex).sort((a, b) => Number(a) - Number(b));
  return [...indexes, ...keys.filter((key) => !isIndex(key))];
}
