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

/**
 * Whether a resource last modified at `modified` is unchanged since the
 * If-Modified-Since date (RFC 9110 13.1.3), to the second HTTP dates have. Only
 * asked when there is no If-None-Match, which takes precedence; a date that does
 * not parse means modified.
 */
export function notModifiedSince(header: string | undefined, modified: Date): boolean {
  const since = header === undefined ? Number.NaN : Date.parse(header);
  return !Number.isNaN(since) && toTheSecond(modified) <= since;
}

/**
 * Whether an If-Range names this version: its entity tag (strongly), or its
 * Last-Modified date exactly (RFC 9110 13.1.5).
 */
export function sameVersionAs(ifRange: string, etag: string, modified: Date): boolean {
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return etagMatches(value, etag, 'strong');
  return Date.parse(value) === toTheSecond(modified);
}

/** An instant as an HTTP date holds it (Last-Modified has no fraction), in milliseconds. */
function toTheSecond(date: Date): number {
  return Math.floor(date.getTime() / 1000) * 1000;
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
