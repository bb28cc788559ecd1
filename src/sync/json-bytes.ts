/* Byte-level pieces of reading JSON from a body's bytes (upload-scan.ts): where a value ends, without parsing it. */

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const OPEN_OBJECT = 0x7b;
export const CLOSE_OBJECT = 0x7d;
export const OPEN_ARRAY = 0x5b;
export const CLOSE_ARRAY = 0x5d;

/** Past the JSON whitespace (space, tab, line feed, carriage return, as JSON.parse reads it) from `i`. */
export function whitespace(b: Buffer, i: number): number {
  while (i < b.length) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i += 1;
  }
  return i;
}

/** Just past the string whose opening quote is at `i`, or -1 when it runs past the bytes. */
export function stringEnd(b: Buffer, i: number): number {
  for (i++; i < b.length; i++) {
    const c = b[i];
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

/** Just past the object or array opening at `i` (brackets counted outside strings), or -1 when it runs past the bytes. */
export function compositeEnd(b: Buffer, i: number): number {
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
  return -1;
}

/** Past the bytes from `i` that can make a number or the literals true, false, null (`i` itself when none). */
export function literalEnd(b: Buffer, i: number): number {
  let end = i;
  while (end < b.length) {
    const c = b[end]!;
    const literal = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x2e || c === 0x2b || c === 0x2d;
    if (!literal) break;
    end += 1;
  }
  return end;
}

/**
 * The text of bytes [start, end) decoded as UTF-8, exactly as toString('utf8',
 * start, end), without its argument checks: called once or twice per item.
 */
export function utf8Text(bytes: Buffer, start: number, end: number): string {
  return (bytes as Buffer & { utf8Slice(start: number, end: number): string }).utf8Slice(start, end);
}
