import type { Item } from '../generate-dataset.js';
import { authHeaders, type BenchContext, type ScaleState } from '../lib/context.js';
import { clientAgent, send } from '../lib/http.js';
import { startSyncServer, type Process } from '../lib/processes.js';
import { MB, summarize, type Summary } from '../lib/stats.js';
import { JSON_HEADERS, seedScale } from './full-sync.js';

/** The bodies a scale uploads: the dataset, and the same with 1% of the items edited. */
export interface UploadBodies {
  bytes: Buffer;
  changed: Buffer;
}

/**
 * POST /sync at one scale: each run a fresh server and folder (a first upload),
 * then the same data again, then uploads that each change 1% of the items
 * (alternating the two bodies). Each kind on a server of its own, so its peak
 * RSS is its own.
 */
export async function postSyncScenario(ctx: BenchContext, scale: number, bodies: UploadBodies, sample: Item[], parse: Summary): Promise<ScaleState> {
  const { bytes } = bodies;
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
  const uploadRow = (kind: string, samples: number[], times: number): void => {
    const value = summarize(samples);
    ctx.rows.push({
      scenario: `${label}, ${kind}`,
      figure: 'wall time',
      unit: 'ms',
      value,
      limit: { name: 'JSON.parse', value: parse },
      ratio: value.median / parse.median,
      target: { text: `≤ ${times}× JSON.parse`, met: value.median <= times * parse.median },
    });
  };
  const memoryRow = (kind: string, peakRss: number, idleRss: number): void => {
    const above = (peakRss - idleRss) / bytes.length;
    ctx.memory.push({ scenario: `${label}, ${kind}`, peakRss, idleRss, datasetBytes: bytes.length, target: { text: `≤ 2× body above idle: ${above.toFixed(2)}×`, met: above <= 2 } });
  };
  uploadRow('first upload', fresh, 3);
  memoryRow('first upload', peak, idle);

  // The same upload again: nothing changes, so nothing is written and no snapshot kept.
  const again = await uploads(ctx, state!.dir, () => bytes);
  uploadRow('same data again', again.times, 2);
  memoryRow('same data again', again.peakRss, again.idleRss);

  // 1% of the items edited, then edited back: each upload replaces 1% (and keeps a snapshot).
  const changed = await uploads(ctx, state!.dir, (i) => (i % 2 === 0 ? bodies.changed : bytes));
  uploadRow('1% of items changed', changed.times, 2.5);
  memoryRow('1% of items changed', changed.peakRss, changed.idleRss);
  return state!;
}

async function uploads(ctx: BenchContext, dir: string, body: (run: number) => Buffer): Promise<{ times: number[]; peakRss: number; idleRss: number }> {
  const server = await startSyncServer(dir, ctx.token);
  const idleRss = server.rss();
  const times: number[] = [];
  try {
    const agent = clientAgent();
    for (let i = 0; i < ctx.runs; i++) {
      const reply = await send(agent, `${server.url}/sync`, { method: 'POST', headers: authHeaders(ctx, JSON_HEADERS), body: body(i) });
      if (reply.status !== 200) throw new Error(`POST /sync answered ${reply.status}`);
      times.push(reply.ms);
    }
    agent.destroy();
  } finally {
    await server.stop();
  }
  return { times, peakRss: server.peakRss(), idleRss };
}

/** What a Raspberry Pi with 1 GB has for the server, all told. */
const MEMORY_CEILING = 1024 * MB;
const HEAP_LIMIT_MB = 512;

/**
 * The largest upload the server accepts by default (MAX_JSON_BYTES, 200 MiB) on a
 * server held to 1 GiB: V8's heap capped with --max-old-space-size, and the whole
 * process (heap, buffers, SQLite) watched every 5 ms and killed as an
 * out-of-memory killer would, once its resident size passes 1 GiB. A first
 * upload, then one that changes 1% of the items (compare, snapshot, write).
 */
export async function bigUploadScenario(ctx: BenchContext, dir: string, bodies: UploadBodies): Promise<void> {
  const server = await startSyncServer(dir, ctx.token, { NODE_OPTIONS: `--max-old-space-size=${HEAP_LIMIT_MB}` });
  const idleRss = server.rss();
  const killed = watchCeiling(server);
  const label = `POST /sync, ${(bodies.bytes.length / MB).toFixed(0)} MiB, server held to 1 GiB`;
  let failure: string | undefined;
  try {
    const agent = clientAgent();
    for (const [kind, body] of [
      ['first upload', bodies.bytes],
      ['1% of items changed', bodies.changed],
    ] as const) {
      const reply = await send(agent, `${server.url}/sync`, { method: 'POST', headers: authHeaders(ctx, JSON_HEADERS), body }).catch((err: unknown) => err as Error);
      if (reply instanceof Error || reply.status !== 200) {
        failure = `${kind}: ${killed.reason() ?? (reply instanceof Error ? reply.message : `answered ${reply.status}`)}`;
        break;
      }
      ctx.rows.push({ scenario: `${label}, ${kind}`, figure: 'wall time', unit: 'ms', value: summarize([reply.ms]) });
    }
    agent.destroy();
  } finally {
    killed.stop();
    await server.stop();
  }
  const peak = server.peakRss();
  ctx.memory.push({
    scenario: label,
    peakRss: peak,
    idleRss,
    datasetBytes: bodies.bytes.length,
    target: { text: failure ? `failed (${failure})` : `completes, peak < 1 GiB (heap ≤ ${HEAP_LIMIT_MB} MiB)`, met: failure === undefined && peak < MEMORY_CEILING },
  });
}

function watchCeiling(server: Process): { stop(): void; reason(): string | undefined } {
  let reason: string | undefined;
  const timer = setInterval(() => {
    const rss = server.rss();
    if (rss > MEMORY_CEILING && reason === undefined) {
      reason = `killed at ${(rss / MB).toFixed(0)} MiB resident, over the 1 GiB ceiling`;
      process.kill(server.pid, 'SIGKILL');
    }
  }, 5);
  return { stop: () => clearInterval(timer), reason: () => reason };
}
