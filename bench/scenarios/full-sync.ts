import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { Dataset, Item } from '../generate-dataset.js';
import { authHeaders, serverTimeOf, type BenchContext, type ScaleState } from '../lib/context.js';
import { clientAgent, send } from '../lib/http.js';
import { startSyncServer } from '../lib/processes.js';
import { elapsedMs, MB, summarize, type Summary } from '../lib/stats.js';

export const JSON_HEADERS = { 'content-type': 'application/json' };

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

export type Encoding = 'identity' | 'gzip' | 'br';

export type Download = 'GET /sync' | 'delta from scratch';

/**
 * GET /sync, or a delta from scratch (a new device: the same data with a
 * serverTime), of a seeded scale in one encoding, on a server of its own so its
 * peak RSS is this scenario's.
 */
export async function downloadScenario(
  ctx: BenchContext,
  state: ScaleState,
  kind: Download,
  encoding: Encoding,
  stringify: Summary | undefined,
  store: { env: Record<string, string>; label: string } = { env: {}, label: '' },
): Promise<void> {
  const compressed = encoding !== 'identity';
  const server = await startSyncServer(state.dir, ctx.token, store.env);
  const idleRss = server.rss();
  const times: number[] = [];
  const wire: number[] = [];
  const rates: number[] = [];
  let answerBytes = state.jsonBytes;
  try {
    const agent = clientAgent();
    for (let i = 0; i < ctx.runs; i++) {
      const headers = authHeaders(ctx, compressed ? { 'accept-encoding': encoding } : {});
      const request = kind === 'GET /sync' ? { headers } : { method: 'POST', headers: { ...headers, ...JSON_HEADERS }, body: '{"lastSyncTime":null}' };
      const reply = await send(agent, `${server.url}/sync${kind === 'GET /sync' ? '' : '/delta'}`, { ...request, keepBody: i === 0 });
      if (reply.status !== 200) throw new Error(`${kind} answered ${reply.status}`);
      if (i === 0) answerBytes = checkDocument(reply.body!, encoding, reply.headers['content-encoding'], state.jsonBytes);
      times.push(reply.ms);
      wire.push(reply.bytes);
      rates.push(state.jsonBytes / MB / (reply.ms / 1000));
    }
    agent.destroy();
  } finally {
    await server.stop();
  }
  const label = `${kind}, scale ${state.scale}${compressed ? `, ${encoding}` : ''}${store.label}`;
  const time = summarize(times);
  // The targets compare like with like: an uncompressed answer with JSON.stringify
  // alone (2×); a gzip one, what the apps get, with 3× that.
  const timeTarget = !stringify ? undefined : !compressed ? 2 : encoding === 'gzip' && state.scale === 1 ? 3 : undefined;
  ctx.rows.push({
    scenario: label,
    figure: 'wall time',
    unit: 'ms',
    value: time,
    ...(stringify ? { limit: { name: 'JSON.stringify', value: stringify }, ratio: time.median / stringify.median } : {}),
    ...(timeTarget ? { target: { text: `≤ ${timeTarget}× JSON.stringify`, met: time.median <= timeTarget * stringify!.median } } : {}),
  });
  ctx.rows.push({ scenario: label, figure: 'throughput (JSON MiB/s)', unit: 'MiB/s', value: summarize(rates) });
  if (compressed) {
    const raw = { median: answerBytes, min: answerBytes, max: answerBytes, runs: 1 };
    const bytes = summarize(wire);
    ctx.rows.push({
      scenario: label,
      figure: 'bytes on the wire',
      unit: 'bytes',
      value: bytes,
      limit: { name: 'raw JSON', value: raw },
      ratio: bytes.median / answerBytes,
      ...(encoding === 'gzip' ? { target: { text: '≤ 25% of raw', met: bytes.median <= 0.25 * answerBytes } } : {}),
    });
  }
  const peak = server.peakRss();
  const target =
    kind === 'GET /sync' && state.scale === 4
      ? { text: '< 2× dataset JSON', met: peak < 2 * state.jsonBytes }
      : kind === 'delta from scratch' && state.scale === 4 && !compressed
        ? { text: `≤ 0.5× answer above idle: ${((peak - idleRss) / answerBytes).toFixed(2)}×`, met: peak - idleRss <= 0.5 * answerBytes }
        : undefined;
  ctx.memory.push({ scenario: label, peakRss: peak, idleRss, datasetBytes: state.jsonBytes, ...(target ? { target } : {}) });
}

/** The first answer is checked to be the whole document, so a fast wrong answer cannot pass for a fast one. Returns its raw size. */
function checkDocument(body: Buffer, encoding: Encoding, answered: string | string[] | undefined, jsonBytes: number): number {
  if ((answered ?? 'identity') !== encoding) throw new Error(`Accept-Encoding: ${encoding} answered content-encoding ${String(answered)}`);
  const raw = encoding === 'gzip' ? gunzipSync(body) : encoding === 'br' ? brotliDecompressSync(body) : body;
  const text = raw.toString('utf8');
  const doc = JSON.parse(text) as Record<string, unknown[]>;
  const items = ['gyms', 'problems', 'sessions', 'attempts'].reduce((n, c) => n + (doc[c]?.length ?? 0), 0);
  // Edits by earlier scenarios change a few notes, so the size is close, not equal.
  if (items === 0 || Math.abs(text.length - jsonBytes) > jsonBytes * 0.02) throw new Error(`answered ${text.length} bytes, ${items} items; expected about ${jsonBytes} bytes`);
  return raw.length;
}
