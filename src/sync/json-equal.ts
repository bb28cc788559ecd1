/**
 * Deep equality of JSON values, ignoring the order of object keys. Iterative, with
 * its own stack: an item may nest as deeply as JSON.stringify allows, far deeper
 * than a recursive comparison could follow.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  const pending: [unknown, unknown][] = [[a, b]];
  while (pending.length > 0) {
    const [left, right] = pending.pop()!;
    if (left === right) continue;
    if (typeof left !== 'object' || typeof right !== 'object' || left === null || right === null) return false;
    if (Array.isArray(left) !== Array.isArray(right)) return false;
    if (Array.isArray(left)) {
      const other = right as unknown[];
      if (left.length !== other.length) return false;
      for (let i = 0; i < left.length; i++) pending.push([left[i], other[i]]);
      continue;
    }
    const l = left as Record<string, unknown>;
    const r = right as Record<string, unknown>;
    const keys = Object.keys(l);
    if (keys.length !== Object.keys(r).length) return false;
    for (const key of keys) {
      if (!Object.prototype.hasOwnProperty.call(r, key)) return false;
      pending.push([l[key], r[key]]);
    }
  }
  return true;
}

/**
 * Whether two valid JSON texts hold the same value, as sync-semantics.md means
 * "content unchanged": whitespace and the order of keys aside, with every number
 * compared by its exact decimal value (1.0 is 1, but 9223372036854775807 is not
 * 9223372036854775808, which JSON.parse would make one double).
 */
export function sameJsonText(a: string, b: string): boolean {
  if (a === b) return true;
  return jsonEqual(JSON.parse(markedText(a)), JSON.parse(markedText(b)));
}

/**
 * The text with every string (keys too) marked "s…" and every number replaced by
 * the string "n" + its exact value in one canonical form: no string of the text can
 * pass for a number, whatever it holds.
 */
function markedText(text: string): string {
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      out += `${text.slice(copied, i + 1)}s`;
      copied = i + 1;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < text.length && isNumberChar(text.charCodeAt(end))) end++;
      out += `${text.slice(copied, i)}"n${canonicalNumber(text.slice(i, end))}"`;
      copied = end;
      i = end - 1;
    }
  }
  return out + text.slice(copied);
}

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

/** A JSON number as sign, significant digits and the power of ten before them: one text per value (0 and -0 alike). */
export function canonicalNumber(token: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(token);
  if (!match) throw new Error(`not a JSON number: ${token}`);
  const [, sign, whole, fraction = '', exponent = '0'] = match;
  const digits = whole! + fraction;
  const leading = digits.length - digits.replace(/^0+/, '').length;
  const significant = digits.slice(leading).replace(/0+$/, '');
  if (significant === '') return '0';
  // The exponent of an exact decimal may be any size: 1e400 and 1e99999999999999999999 are both valid JSON.
  const point = BigInt(exponent) + BigInt(whole!.length - leading);
  return `${sign}${significant}e${point}`;
}
