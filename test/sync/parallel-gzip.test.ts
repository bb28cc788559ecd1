import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { createParallelGzip, gzipChunks } from '../../src/sync/parallel-gzip.js';
import { postJson, startTestServer } from '../helpers/server.js';

const MiB = 1 << 20;

async function compress(input: Buffer, pieceBytes: number): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < input.length; i += pieceBytes) pieces.push(input.subarray(i, i + pieceBytes));
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(pieces),
    createParallelGzip({ level: 3 }),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        out.push(chunk);
        done();
      },
    }),
  );
  return Buffer.concat(out);
}

/** Text like a dataset's: repeats across the 1 MiB blocks (so matches reach back over a boundary), with random ids among it. */
function jsonLike(bytes: number): Buffer {
  let text = '';
  for (let i = 0; text.length < bytes; i++) text += `{"id":"${randomBytes(8).toString('hex')}","name":"Problem ${i % 97}","grade":"V${i % 11}"},`;
  return Buffer.from(text.slice(0, bytes));
}

test('parallel gzip is one standard gzip member whose checksum and length match, at every size around its blocks', async () => {
  const sizes = [0, 1, 1000, MiB - 1, MiB, MiB + 1, 3 * MiB + 12345];
  for (const size of sizes) {
    const input = jsonLike(size);
    for (const pieceBytes of [64 * 1024, 1_000_003]) {
      const gz = await compress(input, Math.max(1, pieceBytes));
      // gunzip checks the CRC-32 and the length in the trailer.
      assert.ok(zlib.gunzipSync(gz).equals(input), `size ${size}, pieces of ${pieceBytes}`);
      // One member: header, one deflate stream that ends with its final block, 8-byte trailer, nothing after.
      assert.deepEqual([...gz.subarray(0, 3)], [0x1f, 0x8b, 8]);
      const body = gz.subarray(10, gz.length - 8);
      assert.ok(zlib.inflateRawSync(body).equals(input), `size ${size}: the deflate stream alone inflates to the input`);
      assert.equal(gz.readUInt32LE(gz.length - 4), size);
    }
  }
});

test('gzipChunks, as history snapshots use it: small and large chunks in one member, and the raw byte count', async () => {
  const pieces = [jsonLike(10), jsonLike(300_000), jsonLike(2 * MiB + 7), Buffer.alloc(0), jsonLike(5)];
  async function* chunks(): AsyncGenerator<Buffer> {
    yield* pieces;
  }
  const input = Buffer.concat(pieces);
  // The member is written into a buffer sized from the expected raw bytes: none (it grows many times), the right
  // number, and more than come (it is cut to size).
  for (const expected of [0, input.length, 10 * input.length]) {
    const { gzip, rawBytes } = await gzipChunks(chunks(), 1, expected);
    assert.equal(rawBytes, input.length);
    assert.ok(zlib.gunzipSync(gzip).equals(input), `expecting ${expected} bytes`);
    assert.ok(zlib.inflateRawSync(gzip.subarray(10, gzip.length - 8)).equals(input), 'one member');
    if (expected === 0) assert.ok(gzip.length > 4 * 64 * 1024, `a member of ${gzip.length} bytes grew its buffer more than once`);
  }
});

test('parallel gzip compresses as well as one zlib stream: each block starts from the text before it', async () => {
  const input = jsonLike(4 * MiB);
  const parallel = await compress(input, 64 * 1024);
  const single = zlib.gzipSync(input, { level: 3 });
  assert.ok(parallel.length <= single.length * 1.01, `parallel ${parallel.length} bytes, one stream ${single.length}`);
  // Without the dictionary, each block's repeats of the previous one would be sent again.
  const blocksAlone = [0, 1, 2, 3].reduce((sum, i) => sum + zlib.deflateRawSync(input.subarray(i * MiB, (i + 1) * MiB), { level: 3 }).length, 0);
  assert.ok(parallel.length < blocksAlone, `parallel ${parallel.length} bytes, blocks compressed alone ${blocksAlone}`);
});

test('a large GET /sync with gzip decodes to the same document as without it, and an abandoned one leaves the server well', async (t) => {
  const server = await startTestServer(t);
  // About 3 MiB of JSON: several of the compressor's blocks.
  const problems = Array.from({ length: 6000 }, (_, i) => ({ id: `p${i}`, name: `Problem ${i}`, notes: randomBytes(120).toString('base64') }));
  await postJson(server, '/sync', { problems });
  const plain = (await (await server.fetch('/sync', { headers: { 'accept-encoding': 'identity' } })).json()) as { problems: unknown[] };
  assert.equal(plain.problems.length, 6000);

  const http = await import('node:http');
  const get = (abandon: boolean): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const req = http.get(`${server.url}/sync`, { headers: { authorization: 'Bearer test-token-0123456789abcdef', 'accept-encoding': 'gzip' } }, (res) => {
        assert.equal(res.headers['content-encoding'], 'gzip');
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          if (abandon) {
            req.destroy();
            resolve(Buffer.alloc(0));
          }
        });
        res.on('end', () => resolve(Buffer.concat(chunks)));
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    });
  const gzipped = (JSON.parse(zlib.gunzipSync(await get(false)).toString()) as { problems: unknown[] }).problems;
  assert.deepEqual(gzipped, plain.problems);

  for (let i = 0; i < 3; i++) await get(true);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal((await server.fetch('/health')).status, 200);
  const again = (JSON.parse(zlib.gunzipSync(await get(false)).toString()) as { problems: unknown[] }).problems;
  assert.equal(again.length, 6000);
});
