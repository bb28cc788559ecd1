import { closeSync, readSync } from 'node:fs';

/**
 * The bytes of a full upload, wherever they are kept: in memory (a restore, an
 * import) or in a file the request body was received into (and checked to be
 * UTF-8 on the way, body-reader.ts). Read in ranges, so that a large body never
 * has to be held whole in memory.
 */
export interface UploadSource {
  readonly length: number;
  /** The whole body when it is in memory already: ranges of it are then views, not copies. */
  readonly whole?: Buffer;
  /** Copies up to `length` bytes from `position` into `target` at `targetStart`; returns how many. */
  read(target: Buffer, targetStart: number, length: number, position: number): number;
}

export function bufferSource(bytes: Buffer): UploadSource {
  return {
    length: bytes.length,
    whole: bytes,
    read: (target, targetStart, length, position) => bytes.copy(target, targetStart, position, Math.min(bytes.length, position + length)),
  };
}

/** A body received into a file (already unlinked: nothing is left behind if the process dies); close() releases it. */
export class FileSource implements UploadSource {
  private open = true;

  constructor(
    private readonly fd: number,
    readonly length: number,
  ) {}

  read(target: Buffer, targetStart: number, length: number, position: number): number {
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, target, targetStart + done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    closeSync(this.fd);
  }
}

/** Bytes read from the file at a time when a range is not in the window already. */
const READ_AHEAD = 256 * 1024;

/**
 * Byte ranges of a source, for ranges asked for mostly in order (items are written
 * and compared in about the order they were sent). A view returned is valid only
 * until the next call.
 */
export class RangeReader {
  private window = Buffer.alloc(0);
  private windowStart = 0;
  private windowEnd = 0;

  constructor(private readonly source: UploadSource) {}

  bytes(start: number, end: number): Buffer {
    const whole = this.source.whole;
    if (whole) return whole.subarray(start, end);
    if (start < this.windowStart || end > this.windowEnd) {
      const size = Math.max(READ_AHEAD, end - start);
      if (this.window.length < size) this.window = Buffer.allocUnsafe(size);
      const read = this.source.read(this.window, 0, Math.min(size, this.source.length - start), start);
      this.windowStart = start;
      this.windowEnd = start + read;
    }
    return this.window.subarray(start - this.windowStart, end - this.windowStart);
  }
}
