import { authHeaders, deltaBody, serverTimeOf, type BenchContext, type ScaleState } from '../lib/context.js';
import { clientAgent, send } from '../lib/http.js';
import { startSyncServer } from '../lib/processes.js';
import { pairedRatio, percentile, summarize } from '../lib/stats.js';

export const DEVICES = 50;
const JSON_HEADERS = { 'content-type': 'application/json' };

export interface DevicesRun {
  rate: number;
  p99: number;
  errors: number;
  firstError: string;
}

/**
 * Fifty devices on one dataset, each editing an attempt of its own and syncing
 * in a loop as fast as answers come: every answer carries the other devices'
 * edits since its last sync, and every write is serialised on the one dataset.
 */
export async function devicesScenario(ctx: BenchContext, state: ScaleState): Promise<void> {
  const seconds = ctx.quick ? 3 : 10;
  const server = await startSyncServer(state.dir, ctx.token);
  const idleRss = server.rss();
  const runs: DevicesRun[] = [];
  try {
    for (let run = 0; run < ctx.runs; run++) runs.push(await driveDevices(ctx, [server.url], state, seconds));
  } finally {
    await server.stop();
  }
  const scenario = `${DEVICES} devices, delta syncs, ${seconds} s, scale ${state.scale}`;
  devicesRows(ctx, scenario, runs);
  ctx.memory.push({ scenario, peakRss: server.peakRss(), idleRss, datasetBytes: state.jsonBytes });
}

/** One run: the devices spread over the given servers (device d talks to server d mod n) for `seconds`. */
export async function driveDevices(ctx: BenchContext, urls: readonly string[], state: ScaleState, seconds: number): Promise<DevicesRun> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError = '';
  const end = Date.now() + seconds * 1000;
  const start = process.hrtime.bigint();
  const device = async (d: number): Promise<void> => {
    const agent = clientAgent();
    const url = urls[d % urls.length]!;
    let serverTime = state.serverTime;
    let edit = 0;
    while (Date.now() < end) {
      const body = deltaBody(serverTime, state.sample[d % state.sample.length]!, `device ${d} edit ${edit++}`);
      try {
        const reply = await send(agent, `${url}/sync/delta`, { method: 'POST', headers: authHeaders(ctx, JSON_HEADERS), body, keepBody: true });
        if (reply.status !== 200) throw new Error(`answered ${reply.status}: ${reply.body!.subarray(0, 200).toString('utf8')}`);
        serverTime = serverTimeOf(reply.body!);
        latencies.push(reply.ms);
      } catch (err) {
        errors++;
        firstError ||= (err as Error).message;
      }
    }
    agent.destroy();
    if (serverTime > state.serverTime) state.serverTime = serverTime;
  };
  await Promise.all(Array.from({ length: DEVICES }, (_, d) => device(d)));
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  return { rate: latencies.length / elapsed, p99: percentile(latencies, 99), errors, firstError };
}

export function devicesRows(ctx: BenchContext, scenario: string, runs: readonly DevicesRun[], extra: { limitName?: string; limit?: readonly DevicesRun[] } = {}): void {
  const rates = runs.map((r) => r.rate);
  const limit =
    extra.limit && extra.limitName
      ? { limit: { name: extra.limitName, value: summarize(extra.limit.map((r) => r.rate)) }, ratio: pairedRatio(rates, extra.limit.map((r) => r.rate)) }
      : {};
  ctx.rows.push({ scenario, figure: 'throughput', unit: 'req/s', value: summarize(rates), ...limit });
  ctx.rows.push({ scenario, figure: 'p99 latency', unit: 'ms', value: summarize(runs.map((r) => r.p99)) });
  const errors = runs.reduce((sum, r) => sum + r.errors, 0);
  const firstError = runs.find((r) => r.firstError)?.firstError;
  ctx.rows.push({
    scenario,
    figure: 'errors (all runs)',
    unit: 'count',
    value: { median: errors, min: errors, max: errors, runs: runs.length },
    target: { text: '0', met: errors === 0 },
    ...(firstError ? { note: `first error: ${firstError}` } : {}),
  });
}
