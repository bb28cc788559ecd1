import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { createParallelGzip } from '../../src/sync/parallel-gzip.js';
import type { BenchContext } from '../lib/context.js';
import { summarize, type Summary } from '../lib/stats.js';

const CHUNK_BYTES = 64 * 1024;

interface Choice {
  name: string;
  make: () => Transform;
}

/**
 * The levels and qualities an answer could be compressed with, in-process on
 * the scale 1 document cut into the 64 KiB chunks the server streams: time and
 * size of each, beside JSON.stringify of the same data, so the server's choices
 * (app.ts) can be checked and remade.
 */
export async function compressionScenario(ctx: BenchContext, json: Buffer, stringify: Summary): Promise<void> {
  const choices: Choice[] = [
    ...[1, 2, 3, 4, 6].map((level) => ({ name: `gzip level ${level}, one thread (zlib)`, make: () => zlib.createGzip({ level, memLevel: 9, chunkSize: CHUNK_BYTES }) })),
    ...[2, 3, 4].map((level) => ({ name: `gzip level ${level}, parallel (the server's)`, make: () => createParallelGzip({ level, memLevel: 9 }) })),
    ...[1, 2, 4, 5].map((quality) => ({
      name: `brotli quality ${quality}`,
      make: () => zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality }, chunkSize: CHUNK_BYTES }),
    })),
  ];
  const chunks: Buffer[] = [];
  for (let i = 0; i < json.length; i += CHUNK_BYTES) chunks.push(json.subarray(i, i + CHUNK_BYTES));
  for (const choice of choices) {
    const times: number[] = [];
    let bytes = 0;
    for (let run = 0; run < ctx.runs; run++) {
      const started = performance.now();
      bytes = await compressedSize(chunks, choice.make());
      times.push(performance.now() - started);
    }
    const time = summarize(times);
    ctx.rows.push({
      scenario: 'compressing the scale 1 answer in-process',
      figure: choice.name,
      unit: 'ms',
      value: time,
      limit: { name: 'JSON.stringify', value: stringify },
      ratio: time.median / stringify.median,
      note: `${((100 * bytes) / json.length).toFixed(1)}% of raw`,
    });
  }
}

async function compressedSize(chunks: readonly Buffer[], compressor: Transform): Promise<number> {
  let bytes = 0;
  await pipeline(
    Readable.from(chunks),
    compressor,
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        done();
      },
    }),
  );
  return bytes;
}
