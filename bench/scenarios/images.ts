import { mkdtempSync, rmSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Random } from '../generate-dataset.js';
import { authHeaders, type BenchContext } from '../lib/context.js';
import { clientAgent, send } from '../lib/http.js';
import { startSyncServer } from '../lib/processes.js';
import { elapsedMs, MB, summarize } from '../lib/stats.js';

const IMAGE_BYTES = 3 * MB;

/** A 3 MiB "photo": JPEG signature and end marker around incompressible bytes. */
export function benchJpeg(): Buffer {
  const bytes = Buffer.alloc(IMAGE_BYTES);
  const r = new Random(3);
  for (let i = 0; i + 4 <= bytes.length; i += 4) bytes.writeUInt32LE(r.uint32(), i);
  Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]).copy(bytes, 0);
  bytes[bytes.length - 2] = 0xff;
  bytes[bytes.length - 1] = 0xd9;
  return bytes;
}

/** Upload and download of one photo, against writing and reading the same bytes to a local file. */
export async function imagesScenario(ctx: BenchContext): Promise<void> {
  const image = benchJpeg();
  const server = await startSyncServer(mkdtempSync(path.join(ctx.workDir, 'images-')), ctx.token);
  const idleRss = server.rss();
  const agent = clientAgent();
  const scenario = 'image 3 MiB';
  const up: number[] = [];
  const down: number[] = [];
  try {
    const probe = await send(agent, `${server.url}/images/upload?filename=bench-probe.jpg`, { method: 'POST', headers: authHeaders(ctx, { 'content-type': 'image/jpeg' }), body: image });
    if (probe.status === 404) {
      ctx.rows.push({ scenario, figure: 'upload / download', unit: '', value: summarize([]), note: 'not available: the server answers 404 on /images/upload' });
      return;
    }
    if (probe.status !== 200) throw new Error(`image upload answered ${probe.status}`);
    for (let i = 0; i < ctx.runs; i++) {
      const reply = await send(agent, `${server.url}/images/upload?filename=bench-${i}.jpg`, { method: 'POST', headers: authHeaders(ctx, { 'content-type': 'image/jpeg' }), body: image });
      if (reply.status !== 200) throw new Error(`image upload answered ${reply.status}`);
      up.push(IMAGE_BYTES / MB / (reply.ms / 1000));
    }
    for (let i = 0; i < ctx.runs; i++) {
      const reply = await send(agent, `${server.url}/images/download?filename=bench-${i}.jpg`, { headers: authHeaders(ctx) });
      if (reply.status !== 200 || reply.bytes !== IMAGE_BYTES) throw new Error(`image download answered ${reply.status} with ${reply.bytes} bytes`);
      down.push(IMAGE_BYTES / MB / (reply.ms / 1000));
    }
  } finally {
    agent.destroy();
    ctx.memory.push({ scenario, peakRss: server.peakRss(), idleRss, datasetBytes: IMAGE_BYTES });
    await server.stop();
  }

  const limits = await fileLimits(ctx, image);
  const upload = summarize(up);
  const download = summarize(down);
  ctx.rows.push({
    scenario,
    figure: 'upload',
    unit: 'MiB/s',
    value: upload,
    limit: { name: 'fs.writeFile', value: limits.write },
    ratio: upload.median / limits.write.median,
    // The server must fsync before it answers (a 2xx means on disk); writeFile does not.
    note: `fs.writeFile + fsync: ${limits.writeSync.median.toFixed(0)} MiB/s`,
  });
  ctx.rows.push({
    scenario,
    figure: 'download',
    unit: 'MiB/s',
    value: download,
    limit: { name: 'fs.readFile', value: limits.read },
    ratio: download.median / limits.read.median,
  });
}

async function fileLimits(ctx: BenchContext, image: Buffer) {
  const dir = mkdtempSync(path.join(ctx.workDir, 'file-limit-'));
  const write: number[] = [];
  const writeSync: number[] = [];
  const read: number[] = [];
  try {
    for (let i = 0; i < ctx.runs; i++) {
      const file = path.join(dir, `limit-${i}.jpg`);
      let start = process.hrtime.bigint();
      await writeFile(file, image);
      write.push(IMAGE_BYTES / MB / (elapsedMs(start) / 1000));
      start = process.hrtime.bigint();
      const handle = await open(path.join(dir, `limit-sync-${i}.jpg`), 'w');
      await handle.writeFile(image);
      await handle.sync();
      await handle.close();
      writeSync.push(IMAGE_BYTES / MB / (elapsedMs(start) / 1000));
      start = process.hrtime.bigint();
      await readFile(file);
      read.push(IMAGE_BYTES / MB / (elapsedMs(start) / 1000));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { write: summarize(write), writeSync: summarize(writeSync), read: summarize(read) };
}
