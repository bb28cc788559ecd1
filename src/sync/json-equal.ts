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
