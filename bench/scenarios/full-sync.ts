import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { Dataset, Item } from '../generate-dataset.js';
import { authHeaders, serverTimeOf, type BenchContext, type ScaleState } from '../lib/context.js';
import { clientAgent, send } from '../lib/http.js';
import { startSyncServer } from '../lib/processes.js';
import { elapsedMs, MB, summarize, type Summary } from '../lib/stats.js';

const JSON_HEADERS = { 'content-type': 'application/json' };

/** In-process limits: what serialising and parsing the same data costs with no server at all. */
export function measureJsonLimits(ctx: BenchContext, dataset: Dataset, bytes: Buffer): { stringify: Summary; parse: Summary } {
  const stringify: number[] = [];
  const parse: number[] = [];
  for (let i = 0; i < ctx.runs; i++) {
    let start = process.hrtime.bigint();
    JSON.stringify(dataset);
    stringify.push(elapsedMs(start));
    start = process.hrtime.bigint();
    JSON.parse(bytes.toString('utf8'));
    parse.push(elapsedMs(start));
  }
  return { stringify: summarize(stringify), parse: summarize(parse) };
}

/**
 * Uploads the dataset with POST /sync to a fresh server and data folder, then
 * syncs a new device from scratch to learn a serverTime. Returns the seeded state.
 */
export async function seedScale(ctx: BenchContext, scale: number, bytes: Buffer, sample: Item[]): Promise<{ state: ScaleState; postMs: number; peakRss: number; idleRss: number; firstDeltaMs: number }> {
  const dir = mkdtempSync(path.join(ctx.workDir, `scale-${scale}-`));
  const server = await startSyncServer(dir, ctx.token);
  try {
    const idleRss = server.rss();
    const agent = clientAgent();
    const post = await send(agent, `${server.url}/sync`, { method: 'POST', headers: authHeaders(ctx, JSON_HEADERS), body: bytes });
    if (post.status !== 200) throw new Error(`POST /sync at scale ${scale} answered ${post.status}`);
    const peakRss = server.peakRss();
    // A device's first delta gets everything; later ones start from its serverTime.
    const first = await send(agent, `${server.url}/sync/delta`, { method: 'POST', headers: authHeaders(ctx, JSON_HEADERS), body: '{"lastSyncTime":null}', keepBody: true });
    if (first.status !== 200) throw new Error(`first delta at scale ${scale} answered ${first.status}`);
    agent.destroy();
    const state: ScaleState = { scale, dir, jsonBytes: bytes.length, sample, serverTime: serverTimeOf(first.body!) };
    return { state, postMs: post.ms, peakRss, idleRss, firstDeltaMs: first.ms };
  } finally {
    await server.stop();
  }
}

/** POST /sync at one scale: each run a fresh server and folder (a first upload), then re-uploads of the same data. */
export async function postSyncScenario(ctx: BenchContext, scale: number, bytes: Buffer, sample: Item[], parse: Summary): Promise<ScaleState> {
  const fresh: number[] = [];
  let peak = 0;
  let idle = 0;
  let state: ScaleState | undefined;
  for (let i = 0; i < ctx.runs; i++) {
    const seeded = await seedScale(ctx, scale, bytes, sample);
    fresh.push(seeded.postMs);
    peak = Math.max(peak, seeded.peakRss);
    idle = seeded.idleRss;
    state = seeded.state;
  }
  const label = `POST /sync, scale ${scale} (${(bytes.length / MB).toFixed(1)} MiB)`;
  const uploadRow = (scenario: string, samples: number[]): void => {
    const value = summarize(samples);
    ctx.rows.push({
      scenario,
      figure: 'wall time',
      unit: 'ms',
      value,
      limit: { name: 'JSON.parse', value: parse },
      ratio: value.median / parse.median,
      target: { text: '≤ 3× JSON.parse', met: value.median <= 3 * parse.median },
    });
  };
  uploadRow(`${label}, first upload`, fresh);
  ctx.memory.push({ scenario: `${label}, first upload`, peakRss: peak, idleRss: idle, datasetBytes: bytes.length });

  // The same upload again: nothing changes, but the server snapshots what it would replace.
  const server = await startSyncServer(state!.dir, ctx.token);
  const again: number[] = [];
  try {
    const agent = clientAgent();
    for (let i = 0; i < ctx.runs; i++) {
      const reply = await send(agent, `${server.url}/sync`, { method: 'POST', headers: authHeaders(ctx, JSON_HEADERS), body: bytes });
      if (reply.status !== 200) throw new Error(`re-upload answered ${reply.status}`);
      again.push(reply.ms);
    }
    agent.destroy();
    uploadRow(`${label}, same data again`, again);
    ctx.memory.push({ scenario: `${label}, same data again`, peakRss: server.peakRss(), idleRss: idle, datasetBytes: bytes.length });
  } finally {
    await server.stop();
  }
  return state!;
}

export type Encoding = 'identity' | 'gzip' | 'br';

/** GET /sync of a seeded scale in one encoding, on a server of its own so its peak RSS is this scenario's. */
export async function getSyncScenario(ctx: BenchContext, state: ScaleState, encoding: Encoding, stringify: Summary | undefined): Promise<void> {
  const compressed = encoding !== 'identity';
  const server = await startSyncServer(state.dir, ctx.token);
  const idleRss = server.rss();
  const times: number[] = [];
  const wire: number[] = [];
  const rates: number[] = [];
  try {
    const agent = clientAgent();
    for (let i = 0; i < ctx.runs; i++) {
      const headers = authHeaders(ctx, compressed ? { 'accept-encoding': encoding } : {});
      const reply = await send(agent, `${server.url}/sync`, { headers, keepBody: i === 0 });
      if (reply.status !== 200) throw new Error(`GET /sync answered ${reply.status}`);
      if (i === 0) checkDocument(reply.body!, encoding, reply.headers['content-encoding'], state.jsonBytes);
      times.push(reply.ms);
      wire.push(reply.bytes);
      rates.push(state.jsonBytes / MB / (reply.ms / 1000));
    }
    agent.destroy();
  } finally {
    await server.stop();
  }
  const label = `GET /sync, scale ${state.scale}${compressed ? `, ${encoding}` : ''}`;
  const time = summarize(times);
  ctx.rows.push({
    scenario: label,
    figure: 'wall time',
    unit: 'ms',
    value: time,
    ...(stringify ? { limit: { name: 'JSON.stringify', value: stringify }, ratio: time.median / stringify.median } : {}),
    // The target compares like with like: an uncompressed answer with an uncompressed string.
    ...(stringify && !compressed ? { target: { text: '≤ 2× JSON.stringify', met: time.median <= 2 * stringify.median } } : {}),
  });
  ctx.rows.push({ scenario: label, figure: 'throughput (JSON MiB/s)', unit: 'MiB/s', value: summarize(rates) });
  if (compressed) {
    const raw = { median: state.jsonBytes, min: state.jsonBytes, max: state.jsonBytes, runs: 1 };
    const bytes = summarize(wire);
    ctx.rows.push({
      scenario: label,
      figure: 'bytes on the wire',
      unit: 'bytes',
      value: bytes,
      limit: { name: 'raw JSON', value: raw },
      ratio: bytes.median / state.jsonBytes,
      ...(encoding === 'gzip' ? { target: { text: '≤ 20% of raw', met: bytes.median <= 0.2 * state.jsonBytes } } : {}),
    });
  }
  const isTarget = state.scale === 4;
  ctx.memory.push({
    scenario: label,
    peakRss: server.peakRss(),
    idleRss,
    datasetBytes: state.jsonBytes,
    ...(isTarget ? { target: { text: '< 2× dataset JSON', met: server.peakRss() < 2 * state.jsonBytes } } : {}),
  });
}

/** The first answer is checked to be the whole document, so a fast wrong answer cannot pass for a fast one. */
function checkDocument(body: Buffer, encoding: Encoding, answered: string | string[] | undefined, jsonBytes: number): void {
  if ((answered ?? 'identity') !== encoding) throw new Error(`GET /sync with Accept-Encoding: ${encoding} answered content-encoding ${String(answered)}`);
  const raw = encoding === 'gzip' ? gunzipSync(body) : encoding === 'br' ? brotliDecompressSync(body) : body;
  const text = raw.toString('utf8');
  const doc = JSON.parse(text) as Record<string, unknown[]>;
  const items = ['gyms', 'problems', 'sessions', 'attempts'].reduce((n, c) => n + (doc[c]?.length ?? 0), 0);
  // Edits by earlier scenarios change a few notes, so the size is close, not equal.
  if (items === 0 || Math.abs(text.length - jsonBytes) > jsonBytes * 0.02) throw new Error(`GET /sync answered ${text.length} bytes, ${items} items; expected about ${jsonBytes} bytes`);
}
