import { isUtf8 } from 'node:buffer';

/** The refusal of a body that is not UTF-8. */
export const NOT_UTF8_BODY = 'request body is not valid UTF-8: JSON text must be sent as UTF-8';

/**
 * Whether a body read in chunks is UTF-8, as JSON text must be. Decoding bytes
 * that are not would put U+FFFD in their place: an item would be stored other
 * than it was sent, and two ids differing only in such bytes would become one.
 * Each chunk is checked natively as it arrives; a character cut between two
 * chunks is carried over and checked with the next.
 */
export class Utf8Check {
  private carry = Buffer.alloc(0);
  private valid = true;

  add(chunk: Buffer): void {
    if (!this.valid) return;
    const bytes = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    const whole = wholeCharactersEnd(bytes);
    this.valid = isUtf8(bytes.subarray(0, whole));
    this.carry = Buffer.from(bytes.subarray(whole));
  }

  /** Whether everything added was UTF-8, with no character cut off at the end. */
  get ok(): boolean {
    return this.valid && this.carry.length === 0;
  }
}

/** Where the last character that the bytes hold whole ends: a lead byte among the last three whose character runs past the end starts the carry. */
function wholeCharactersEnd(bytes: Buffer): number {
  for (let i = bytes.length - 1; i >= Math.max(0, bytes.length - 3); i--) {
    const byte = bytes[i]!;
    if (byte < 0x80) return bytes.length;
    if (byte >= 0xc0) {
      const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
      return i + length > bytes.length ? i : bytes.length;
    }
  }
  return bytes.length;
}
