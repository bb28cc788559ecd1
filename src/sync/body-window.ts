import { ApiError } from '../errors.js';
import { COLON, COMMA, compositeEnd, literalEnd, OPEN_ARRAY, OPEN_OBJECT, QUOTE, stringEnd, utf8Text, whitespace } from './json-bytes.js';
import { NEED_MORE } from './known-match.js';
import type { UploadSource } from './upload-source.js';
import { notValidJson } from './validate.js';

/** Bytes of a body read from a file at a time; the window grows for a single value larger than that. */
export const WINDOW_BYTES = 1024 * 1024;

/**
 * Reads a body's JSON through a window: `b` holds bytes [base, base + b.length) of it.
 * A reader goes in steps (a key, a value, an array element, a separator), each
 * starting at a known position and changing nothing until it is done, so a step
 * that runs past the window (NEED_MORE) is simply run again once the window has
 * moved there. Positions inside a step are window offsets; between steps, body offsets.
 */
export class BodyWindow {
  private buffer: Buffer;
  protected b: Buffer;
  protected base = 0;
  /** Whether the window reaches the end of the body. */
  protected eof: boolean;

  constructor(
    protected readonly source: UploadSource,
    private readonly windowBytes: number,
  ) {
    if (source.whole) {
      this.buffer = this.b = source.whole;
      this.eof = true;
    } else {
      this.buffer = this.b = Buffer.allocUnsafe(Math.min(windowBytes, source.length));
      this.eof = source.length === 0;
      this.b = this.b.subarray(0, 0);
      if (!this.eof) this.refill(0);
    }
  }

  /** Runs a step, moving the window on to keep bytes from `from` for as long as the step needs more. */
  protected step<T>(from: number, run: () => T): T {
    for (;;) {
      try {
        return run();
      } catch (err) {
        if (err !== NEED_MORE) throw err;
        this.refill(from);
      }
    }
  }

  private refill(from: number): void {
    const keep = this.base + this.b.length - from;
    let buffer = this.buffer;
    // The step did not fit in the window at all: a larger one.
    if (keep >= buffer.length) buffer = Buffer.allocUnsafe(Math.max(this.windowBytes, buffer.length * 2));
    this.b.copy(buffer, 0, from - this.base);
    const position = from + keep;
    const read = this.source.read(buffer, keep, Math.min(buffer.length - keep, this.source.length - position), position);
    this.buffer = buffer;
    this.base = from;
    this.b = buffer.subarray(0, keep + read);
    this.eof = position + read >= this.source.length;
  }

  /** A key and its colon at window offset `i`; returns the key and where its value starts. */
  protected key(i: number): { key: string; valueAt: number } {
    const b = this.b;
    if (b[i] !== QUOTE) this.unexpected(i);
    const keyEnd = this.inWindow(stringEnd(this.b, i));
    const key = this.parse(i, keyEnd) as string;
    i = this.whitespace(keyEnd);
    if (b[i] !== COLON) this.unexpected(i);
    return { key, valueAt: this.valueStart(this.whitespace(i + 1)) };
  }

  /** The body offset of a value at window offset `i`, once its first byte is in the window. */
  protected valueStart(i: number): number {
    if (i >= this.b.length) this.unexpected(i);
    return this.base + i;
  }

  /** After a value: a comma and the next value's start, or the closing bracket. */
  protected separator(i: number, close: number): { at: number; closed: boolean } {
    i = this.whitespace(i);
    if (this.b[i] === COMMA) return { at: this.valueStart(this.whitespace(i + 1)), closed: false };
    if (this.b[i] !== close) this.unexpected(i);
    return { at: this.base + i + 1, closed: true };
  }

  private parse(start: number, end: number): unknown {
    return this.parseText(utf8Text(this.b, start, end), this.base + start);
  }

  /** JSON.parse of a piece of the body that starts at body offset `at`: its refusal gives the body's position, as a whole-body parse would. */
  protected parseText(text: string, at: number): unknown {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw notValidJson(err, at);
    }
  }

  /** Refuses the byte at window offset `i`, or asks for more of the body when `i` is past the window. */
  protected unexpected(i: number): never {
    if (i >= this.b.length && !this.eof) throw NEED_MORE;
    const what = i >= this.b.length ? 'end of input' : `byte ${JSON.stringify(String.fromCharCode(this.b[i]!))}`;
    throw ApiError.badRequest(`request body is not valid JSON: unexpected ${what} at position ${this.base + i}`);
  }

  protected whitespace(i: number): number {
    return whitespace(this.b, i);
  }

  /**
   * The window offset just past the value starting at `i`. Only its extent is
   * found here: JSON.parse of the extent checks the value itself, so a wrong extent
   * (mismatched brackets) is a refusal either way.
   */
  protected valueEnd(i: number): number {
    const b = this.b;
    const first = b[i];
    if (first === QUOTE) return this.inWindow(stringEnd(this.b, i));
    if (first === OPEN_OBJECT || first === OPEN_ARRAY) return this.inWindow(compositeEnd(b, i));
    const end = literalEnd(b, i);
    // A number cut by the window's end may go on after it.
    if (end === b.length && !this.eof) throw NEED_MORE;
    if (end === i) this.unexpected(i);
    return end;
  }

  /** An extent's end, or, for one that runs past the window (-1), more of the body or a refusal. */
  private inWindow(end: number): number {
    return end === -1 ? this.unexpected(this.b.length) : end;
  }
}
