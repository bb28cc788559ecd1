/**
 * The two pieces of HTTP conditional and partial requests the image download
 * needs (RFC 9110 13.1.2, 14.2). Kept as plain functions so the edge cases are
 * tested directly.
 */

/**
 * Whether a list of entity tags (If-None-Match, If-Range) names `etag`.
 * If-None-Match compares weakly (a `W/` prefix is ignored); If-Range strongly.
 */
export function etagMatches(header: string | undefined, etag: string, comparison: 'weak' | 'strong'): boolean {
  if (header === undefined) return false;
  if (comparison === 'weak' && header.trim() === '*') return true;
  return header.split(',').some((raw) => {
    const tag = raw.trim();
    if (tag.startsWith('W/')) return comparison === 'weak' && tag.slice(2) === etag;
    return tag === etag;
  });
}

export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * One `bytes=` range of a file of `size` bytes, inclusive. A header we do not
 * serve as a range (another unit, several ranges, a malformed one) gives
 * undefined, and the whole file is sent, as the RFC allows; a well-formed range
 * that starts past the end is 'unsatisfiable' (416).
 */
export function parseRange(header: string, size: number): ByteRange | 'unsatisfiable' | undefined {
  const match = /^bytes=[ \t]*(\d*)-(\d*)[ \t]*$/i.exec(header.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    // A suffix: the last N bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}
