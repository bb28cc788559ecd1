import { ApiError } from '../errors.js';
import { GarbageMeter } from '../garbage.js';
import { COLLECTIONS, isActiveSession, type Collection, type IncomingTombstone } from './model.js';
import { CLOSE_ARRAY, CLOSE_OBJECT, OPEN_ARRAY, OPEN_OBJECT, utf8Text } from './json-bytes.js';
import type { KnownItems } from './known-items.js';
import { addScannedItem, emptyItems, ITEM_BOUNDARY, KnownMatcher, NEED_MORE, type KnownRows, type ScannedItems } from './known-match.js';
import { BodyWindow, WINDOW_BYTES } from './body-window.js';
import { bufferSource, type UploadSource } from './upload-source.js';
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
  /** The body, read again by range for each item's text. */
  readonly source: UploadSource;
  /** Per collection, the items in document order (active sessions left out), as parallel arrays. */
  readonly items: Readonly<Record<Collection, ScannedItems>>;
  readonly tombstones: readonly IncomingTombstone[];
  readonly extraFieldsJson: string;
  /** What the store's items told the scan, where it holds for the whole collection (see KnownItems). */
  readonly known?: KnownRows;
}

export type { KnownRows, ScannedItems } from './known-match.js';

type ItemsField = { kind: 'items'; collection: Collection; items: ScannedItems; error?: ApiError };
type Field =
  | ItemsField
  | { kind: 'tombstones'; tombstones: IncomingTombstone[]; error?: ApiError }
  | { kind: 'value'; text: string };

/** Bodies refused as "not an object" are parsed whole only below this size, to name the exact reason. */
const SMALL_BODY = 1024 * 1024;

/** Bytes of items parsed between two releases of their garbage. */
const PARSED_BYTES_PER_RELEASE = 1024 * 1024;

const COLLECTION_SET: ReadonlySet<string> = new Set(COLLECTIONS);

/** `windowBytes`: how much of a body that is not in memory is read at a time (tests make it tiny). */
export function scanFullUpload(body: UploadSource | Buffer, windowBytes = WINDOW_BYTES, known?: KnownItems): ScannedUpload {
  return new Scanner(Buffer.isBuffer(body) ? bufferSource(body) : body, windowBytes, known).document();
}

/** The document's fields, read through the body's window (BodyWindow) one step at a time. */
class Scanner extends BodyWindow {
  private readonly fields = new Map<string, Field>();
  /**
   * Each item parsed is garbage as soon as what the upload keeps of it is read:
   * freed every MiB, the young generation stays small (a first upload at scale 1
   * peaked 8 MiB lower). A re-upload parses little, so this costs it nothing.
   */
  private readonly parsed = new GarbageMeter(PARSED_BYTES_PER_RELEASE);
  /** Fields listed more than once: what the stored items told the scan about an earlier copy no longer counts. */
  private readonly repeated = new Set<string>();
  private readonly matcher: KnownMatcher | undefined;

  constructor(source: UploadSource, windowBytes: number, known: KnownItems | undefined) {
    super(source, windowBytes);
    this.matcher = known && new KnownMatcher(known);
  }

  document(): ScannedUpload {
    const first = this.step(0, () => {
      const i = this.whitespace(-this.base);
      if (i === this.b.length) {
        if (!this.eof) throw NEED_MORE;
        throw ApiError.badRequest('request body is empty: send a JSON object');
      }
      return this.base + i;
    });
    if (this.b[first - this.base] !== OPEN_OBJECT) return this.notAnObject();
    let at = this.step(first, () => this.valueStart(this.whitespace(first - this.base + 1)));
    if (this.b[at - this.base] === CLOSE_OBJECT) {
      at += 1;
    } else {
      for (;;) {
        const from = at;
        const { key, valueAt } = this.step(from, () => this.key(from - this.base));
        const end = this.field(key, valueAt);
        const next = this.step(end, () => this.separator(end - this.base, CLOSE_OBJECT));
        at = next.at;
        if (next.closed) break;
      }
    }
    this.step(at, () => {
      const i = this.whitespace(at - this.base);
      if (i < this.b.length) this.unexpected(i);
      if (!this.eof) throw NEED_MORE;
    });
    return this.result();
  }

  /** Reads one top-level field's value starting at body offset `at`; returns the offset past it. A repeated key replaces the earlier value, as in JSON.parse. */
  private field(key: string, at: number): number {
    const isCollection = COLLECTION_SET.has(key);
    if (this.fields.has(key)) this.repeated.add(key);
    if ((isCollection || key === 'deletedItems') && this.b[at - this.base] === OPEN_ARRAY) {
      const field: Field = isCollection
        ? { kind: 'items', collection: key as Collection, items: emptyItems() }
        : { kind: 'tombstones', tombstones: [] };
      this.fields.set(key, field);
      const open = at;
      at = this.step(open, () => this.valueStart(this.whitespace(open - this.base + 1)));
      if (this.b[at - this.base] === CLOSE_ARRAY) return at + 1;
      for (let index = 0; ; index++) {
        const start = at;
        const run = field.kind === 'items' && !field.error ? this.knownRun(field, start) : undefined;
        if (run) index += run.count - 1;
        const end = run ? run.end : this.step(start, () => this.base + this.element(field, index, start - this.base));
        const next = this.step(end, () => this.separator(end - this.base, CLOSE_ARRAY));
        if (next.closed) return next.at;
        at = next.at;
      }
    }
    return this.step(at, () => {
      const i = at - this.base;
      const end = this.valueEnd(i);
      const text = utf8Text(this.b, i, end);
      const value = this.parseText(text, at);
      if (isCollection || key === 'deletedItems') {
        // null means none; anything else but an array is refused once the whole body is known to be JSON.
        const error = value === null ? undefined : ApiError.badRequest(`${key} must be an array`);
        this.fields.set(key, isCollection ? { kind: 'items', collection: key as Collection, items: emptyItems(), error } : { kind: 'tombstones', tombstones: [], error });
      } else {
        this.fields.set(key, { kind: 'value', text });
      }
      return this.base + end;
    });
  }

  /** Elements from body offset `start` that are a run of stored items (KnownMatcher.run). */
  private knownRun(field: ItemsField, start: number): { end: number; count: number } | undefined {
    const matcher = this.matcher;
    return matcher && this.step(start, () => matcher.run(field.collection, field.items, this.b, this.base, this.eof, start - this.base));
  }

  /**
   * Parses the array element at window offset `start` alone and keeps what the
   * upload needs of it; returns the window offset past it. The first invalid element
   * of a field is remembered, not thrown, since a syntax error later in the body must win.
   */
  private element(field: Field, index: number, start: number): number {
    if (field.kind === 'items' && !field.error && this.matcher) {
      const end = this.matcher.item(field.collection, field.items, this.b, this.base, this.eof, start);
      if (end !== -1) return end;
    }
    let end = this.b[start] === OPEN_OBJECT ? this.quickObject(start) : -1;
    let text: string;
    let value: unknown;
    if (end === -1) {
      end = this.valueEnd(start);
      text = utf8Text(this.b, start, end);
      value = this.parseText(text, this.base + start);
    } else {
      text = this.quickText;
      value = this.quickValue;
    }
    this.parsed.add(end - start);
    if (field.kind === 'value' || field.error) return end;
    try {
      if (field.kind === 'tombstones') {
        field.tombstones.push(readTombstone(value, `deletedItems[${index}]`, text));
        return end;
      }
      const item = readItem(field.collection, value, `${field.collection}[${index}]`, text);
      if (isActiveSession(item)) return end;
      addScannedItem(field.items, item.id, item.time, this.base + start, this.base + end, 0);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      field.error = err;
    }
    return end;
  }

  private quickText = '';
  private quickValue: unknown;
  /** Body offset before which no boundary is tried again. */
  private quickFrom = 0;

  /**
   * The usual case without looking at every byte: in compact JSON an object in an
   * array is followed by `},{`, found natively. The text up to there is the whole
   * item exactly when JSON.parse accepts it, since no proper prefix of a JSON
   * object (nor an object with more after it) is valid JSON. -1 when that is not
   * so (the last item, a nested array of objects, pretty-printed JSON, the end of
   * the window): the byte scan decides then.
   */
  private quickObject(start: number): number {
    if (this.base + start < this.quickFrom) return -1;
    const boundary = this.b.indexOf(ITEM_BOUNDARY, start);
    if (boundary === -1) {
      if (this.eof) this.quickFrom = Infinity;
      return -1;
    }
    const text = utf8Text(this.b, start, boundary + 1);
    try {
      this.quickValue = JSON.parse(text);
    } catch {
      // Not tried again before that boundary: no byte is searched or parsed twice this way.
      this.quickFrom = this.base + boundary + 1;
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
      items[collection] = field?.kind === 'items' ? field.items : emptyItems();
    }
    const deleted = this.fields.get('deletedItems');
    if (deleted?.kind === 'tombstones' && deleted.error) throw deleted.error;
    const extra: string[] = [];
    for (const key of objectKeyOrder([...this.fields.keys()])) {
      const field = this.fields.get(key)!;
      if (!DOCUMENT_FIELDS.has(key) && field.kind === 'value') extra.push(`${JSON.stringify(key)}:${field.text}`);
    }
    return {
      source: this.source,
      items,
      tombstones: deleted?.kind === 'tombstones' ? deleted.tombstones : [],
      extraFieldsJson: `{${extra.join(',')}}`,
      known: this.matcher?.rows(this.repeated),
    };
  }

  /** The reason a body that does not start with `{` is refused, as the whole-document path words it. */
  private notAnObject(): never {
    if (this.source.length <= SMALL_BODY) {
      const whole = Buffer.allocUnsafe(this.source.length);
      const text = whole.subarray(0, this.source.read(whole, 0, whole.length, 0)).toString('utf8');
      validateFullUpload(parseDocument(text), text);
    }
    throw ApiError.badRequest('request body must be a JSON object');
  }

}

const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

/** Object.keys order of the parsed document: array-index keys ascending, then the rest in order of first appearance. */
function objectKeyOrder(keys: string[]): string[] {
  const isIndex = (key: string): boolean => ARRAY_INDEX.test(key) && Number(key) <= 4294967294;
  const indexes = keys.filter(isIndex).sort((a, b) => Number(a) - Number(b));
  return [...indexes, ...keys.filter((key) => !isIndex(key))];
}
