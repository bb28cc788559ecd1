import { availableParallelism } from 'node:os';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { GarbageMeter } from '../garbage.js';

/**
 * A gzip stream that compresses on several of libuv's threads at once, as pigz
 * does. zlib's own stream deflates on one thread, and a whole dataset's answer is
 * bound by it while the main thread waits: on two cores gzip took twice as long
 * as producing the JSON.
 *
 * The input is cut into blocks, each deflated on its own with the 32 KiB of text
 * before it as the dictionary (so it compresses as if the stream were whole) and
 * ended with a sync flush (byte-aligned, not final). Their concatenation is one
 * valid deflate stream, which any gzip reader inflates without knowing how it was
 * made. Only the last block is final. Answers (app.ts) and history snapshots
 * (sync-service.ts) are compressed this way.
 */
const BLOCK_BYTES = 1 << 20;
const WINDOW_BYTES = 32 * 1024;
// gzip member header (RFC 1952): magic, CM=deflate, no flags, no mtime, XFL 0, OS unknown.
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

export interface ParallelGzipOptions {
  level: number;
  memLevel?: number;
  /** Blocks being deflated at once; libuv's pool has 4 threads unless told otherwise. */
  inFlight?: number;
}

/** A gzip Transform that uses several threads where Node can checksum a stream piece by piece, else zlib's own. */
export function createParallelGzip(options: ParallelGzipOptions): Transform {
  // zlib.crc32 came in Node 20.15 and 22.2.
  if (typeof zlib.crc32 !== 'function') return zlib.createGzip({ level: options.level, memLevel: options.memLevel });
  return new ParallelGzip(options);
}

class ParallelGzip extends Transform {
  private readonly deflateOptions: zlib.ZlibOptions;
  private readonly inFlight: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private dictionary: Buffer | undefined;
  private crc = 0;
  private totalBytes = 0;
  /** Deflates started and not yet pushed, in input order. */
  private readonly queue: Promise<Buffer>[] = [];
  private draining: Promise<void> = Promise.resolve();

  constructor(options: ParallelGzipOptions) {
    super();
    // An output buffer the size of a block: with zlib's default 16 KiB, a block went
    // back and forth between its thread and the main thread once per 16 KiB of
    // output, and the threads waited whenever the main thread was busy.
    this.deflateOptions = { level: options.level, memLevel: options.memLevel ?? 9, chunkSize: BLOCK_BYTES };
    this.inFlight = options.inFlight ?? Math.max(2, Math.min(4, availableParallelism()));
    this.push(GZIP_HEADER);
  }

  override _transform(chunk: Buffer | string, encoding: BufferEncoding, done: TransformCallback): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    while (this.pendingBytes >= BLOCK_BYTES) this.startBlock(this.takeBlock(), false);
    // Accept more input only while a thread is free for it: the memory held stays a few blocks.
    if (this.queue.length < this.inFlight) done();
    else this.pushDone(this.queue.length - this.inFlight + 1).then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    this.startBlock(this.takeBlock(), true);
    this.pushDone(this.queue.length).then(() => {
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(this.crc >>> 0, 0);
      trailer.writeUInt32LE(this.totalBytes % 2 ** 32, 4);
      done(null, trailer);
    }, done);
  }

  private takeBlock(): Buffer {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const block = all.subarray(0, Math.min(BLOCK_BYTES, all.length));
    const rest = all.subarray(block.length);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    return block;
  }

  private startBlock(block: Buffer, last: boolean): void {
    // An empty buffer may have no memory behind it, and zlib's crc32 of a null pointer is 0, not the crc given.
    if (block.length > 0) this.crc = zlib.crc32(block, this.crc);
    this.totalBytes += block.length;
    const options: zlib.ZlibOptions = {
      ...this.deflateOptions,
      ...(this.dictionary ? { dictionary: this.dictionary } : {}),
      finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
    };
    // A copy: the block is a view of a buffer the next block's text shares.
    this.dictionary = Buffer.from(block.subarray(Math.max(0, block.length - WINDOW_BYTES)));
    const deflated = new Promise<Buffer>((resolve, reject) => zlib.deflateRaw(block, options, (err, out) => (err ? reject(err) : resolve(out))));
    // Its failure is reported when its turn to be pushed comes; until then it must not count as unhandled.
    deflated.catch(() => undefined);
    this.queue.push(deflated);
  }

  /** Pushes the first `count` finished blocks, in order. */
  private pushDone(count: number): Promise<void> {
    const blocks = this.queue.splice(0, count);
    this.draining = this.draining.then(async () => {
      for (const block of blocks) this.push(await block);
    });
    return this.draining;
  }
}

/** How small level 1 makes JSON, at most, as far as the memory set aside for it goes (it made the bench's data 25.5%). */
const EXPECTED_GZIP_RATIO = 1 / 3;

/**
 * The chunks compressed into one gzip member in memory, and how many raw bytes
 * they held. `expectedBytes`: about how many raw bytes will come, so that the
 * member is written into one buffer of about its size as it is made: its pieces
 * joined at the end took twice the member's size at once (50 MiB at scale 4).
 */
export async function gzipChunks(chunks: AsyncIterable<Buffer>, level: number, expectedBytes = 0): Promise<{ gzip: Buffer; rawBytes: number }> {
  let rawBytes = 0;
  let gzip = Buffer.allocUnsafe(Math.max(64 * 1024, Math.ceil(expectedBytes * EXPECTED_GZIP_RATIO)));
  let length = 0;
  // The chunks read and the blocks cut from them are dropped as soon as they are compressed.
  const garbage = new GarbageMeter();
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      rawBytes += chunk.length;
      garbage.add(chunk.length);
      yield chunk;
    }
  }
  await pipeline(
    Readable.from(counted()),
    createParallelGzip({ level }),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        if (length + chunk.length > gzip.length) {
          const grown = Buffer.allocUnsafe(Math.max(2 * gzip.length, length + chunk.length));
          gzip.copy(grown, 0, 0, length);
          gzip = grown;
        }
        chunk.copy(gzip, length);
        length += chunk.length;
        done();
      },
    }),
  );
  return { gzip: gzip.subarray(0, length), rawBytes };
}
