/**
 * Builds the JSON documents the server answers (GET /sync, POST /sync/delta) from
 * the stored JSON text of each item, so that no item is parsed and serialised
 * again on the way out. Yields the text in chunks of about CHUNK_CHARS so a large
 * document can be streamed with bounded memory.
 */
const CHUNK_CHARS = 64 * 1024;

/** Elements in memory, or pages of them read from a store. */
export type Elements = Iterable<string> | AsyncIterable<readonly string[]>;

export interface DocumentParts {
  /** Leading scalar fields, each value already JSON text. */
  readonly head: readonly (readonly [string, string])[];
  /** Array fields, each element already JSON text. */
  readonly arrays: readonly (readonly [string, Elements])[];
  /** The JSON text of an object whose fields are appended last (`{}` for none). */
  readonly tailObjectJson?: string;
}

/** A comma before each field but the first. */
function fieldSeparator(): () => string {
  let first = true;
  return () => {
    if (first) {
      first = false;
      return '';
    }
    return ',';
  };
}

/** The opening brace and the head's fields: the text every document starts with. */
function headText(head: DocumentParts['head'], separator: () => string): string {
  let text = '{';
  for (const [name, valueJson] of head) text += `${separator()}${JSON.stringify(name)}:${valueJson}`;
  return text;
}

function arrayOpening(name: string, separator: () => string): string {
  return `${separator()}${JSON.stringify(name)}:[`;
}

/** The tail object's fields, if any, and the closing brace. */
function tailText(tailObjectJson: string | undefined, separator: () => string): string {
  const tail = tailObjectJson?.trim();
  return `${tail && tail !== '{}' ? `${separator()}${tail.slice(1, -1)}` : ''}}`;
}

export async function* documentChunks(parts: DocumentParts): AsyncGenerator<string> {
  const separator = fieldSeparator();
  let buffer = headText(parts.head, separator);
  for (const [name, elements] of parts.arrays) {
    buffer += arrayOpening(name, separator);
    let firstElement = true;
    for await (const page of pagesOf(elements)) {
      for (const element of page) {
        buffer += firstElement ? element : `,${element}`;
        firstElement = false;
        if (buffer.length >= CHUNK_CHARS) {
          yield buffer;
          buffer = '';
        }
      }
    }
    buffer += ']';
  }
  yield buffer + tailText(parts.tailObjectJson, separator);
}

export async function documentText(parts: DocumentParts): Promise<string> {
  let text = '';
  for await (const chunk of documentChunks(parts)) text += chunk;
  return text;
}

function pagesOf(elements: Elements): AsyncIterable<Iterable<string>> | Iterable<Iterable<string>> {
  return Symbol.asyncIterator in elements ? elements : [elements];
}

/**
 * The same document as documentChunks, as UTF-8 bytes, from arrays given as
 * chunks of elements already joined by commas (ExportSnapshot.itemBytes).
 */
export async function* documentBytes(parts: {
  readonly head: DocumentParts['head'];
  readonly arrays: readonly (readonly [string, AsyncIterable<{ readonly bytes: Buffer }> | Iterable<{ readonly bytes: Buffer }>])[];
  readonly tailObjectJson?: string;
}): AsyncGenerator<Buffer> {
  const comma = Buffer.from(',');
  const separator = fieldSeparator();
  let text = headText(parts.head, separator);
  for (const [name, chunks] of parts.arrays) {
    text += arrayOpening(name, separator);
    let firstChunk = true;
    for await (const { bytes: chunk } of chunks) {
      if (chunk.length === 0) continue;
      if (text) yield Buffer.from(text, 'utf8');
      text = '';
      if (!firstChunk) yield comma;
      firstChunk = false;
      yield chunk;
    }
    text += ']';
  }
  yield Buffer.from(text + tailText(parts.tailObjectJson, separator), 'utf8');
}

/** Pages of JSON texts as UTF-8 chunks, each page's texts joined by commas: what documentBytes takes for an array. */
export async function* joinedPages(pages: AsyncIterable<readonly string[]>): AsyncGenerator<{ bytes: Buffer; rows: number }> {
  for await (const page of pages) if (page.length > 0) yield { bytes: Buffer.from(page.join(','), 'utf8'), rows: page.length };
}
