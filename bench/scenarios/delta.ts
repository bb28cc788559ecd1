import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { authHeaders, deltaBody, serverTimeOf, type BenchContext, type ScaleState } from '../lib/context.js';
import { clientAgent, send } from '../lib/http.js';
import { startBareServer, startSyncServer } from '../lib/processes.js';
import { percentile, summarize, type Summary } from '../lib/stats.js';

const JSON_HEADERS = { 'content-type': 'application/json' };
const DELTA_TARGET_MS = 5;

export interface DeltaResult {
  scale: number;
  p50: Summary;
}

/**
 * One device in sync edits one attempt and syncs, over and over: each answer
 * holds only the new serverTime, since nothing else changed. Compared, run by
 * run, with a bare node:http server answering the same bytes to the same request.
 */
export async function deltaScenario(ctx: BenchContext, state: ScaleState): Promise<DeltaResult> {
  const perRun = ctx.quick ? 40 : 200;
  const server = await startSyncServer(state.dir, ctx.token);
  const idleRss = server.rss();
  const agent = clientAgent();
  const url = `${server.url}/sync/delta`;
  let edit = 0;
  const syncOnce = async (): Promise<{ ms: number; body: Buffer }> => {
    const attempt = state.sample[edit % state.sample.length]!;
    const body = deltaBody(state.serverTime, attempt, `bench edit ${edit++}`);
    const reply = await send(agent, url, { method: 'POST', headers: authHeaders(ctx, JSON_HEADERS), body, keepBody: true });
    if (reply.status !== 200) throw new Error(`delta at scale ${state.scale} answered ${reply.status}`);
    state.serverTime = serverTimeOf(reply.body!);
    return { ms: reply.ms, body: reply.body! };
  };

  // Warm-up, which also yields the answer the bare server will send.
  let answer: Buffer = Buffer.alloc(0);
  for (let i = 0; i < 10; i++) answer = (await syncOnce()).body;
  const answerFile = path.join(ctx.workDir, `delta-answer-${state.scale}.json`);
  writeFileSync(answerFile, answer);
  const bare = await startBareServer(answerFile);
  const bareAgent = clientAgent();
  const sampleBody = deltaBody(state.serverTime, state.sample[0]!, 'bench edit');

  const p50: number[] = [];
  const p99: number[] = [];
  const bareP50: number[] = [];
  const bareP99: number[] = [];
  try {
    for (let run = 0; run < ctx.runs; run++) {
      const times: number[] = [];
      for (let i = 0; i < perRun; i++) times.push((await syncOnce()).ms);
      p50.push(percentile(times, 50));
      p99.push(percentile(times, 99));
      const bareTimes: number[] = [];
      for (let i = 0; i < perRun; i++) {
        bareTimes.push((await send(bareAgent, `${bare.url}/sync/delta`, { method: 'POST', headers: authHeaders(ctx, JSON_HEADERS), body: sampleBody })).ms);
      }
      bareP50.push(percentile(bareTimes, 50));
      bareP99.push(percentile(bareTimes, 99));
    }
  } finally {
    agent.destroy();
    bareAgent.destroy();
    await bare.stop();
    await server.stop();
  }

  const scenario = `delta, 1 changed item, scale ${state.scale}`;
  const p50s = summarize(p50);
  const limitName = `bare node:http, same ${answer.length}-byte answer`;
  ctx.rows.push({
    scenario,
    figure: `p50 latency (${perRun} syncs/run)`,
    unit: 'ms',
    value: p50s,
    limit: { name: limitName, value: summarize(bareP50) },
    ratio: p50s.median / summarize(bareP50).median,
    target: { text: `≤ ${DELTA_TARGET_MS} ms`, met: p50s.median <= DELTA_TARGET_MS },
  });
  ctx.rows.push({
    scenario,
    figure: 'p99 latency',
    unit: 'ms',
    value: summarize(p99),
    limit: { name: limitName, value: summarize(bareP99) },
    ratio: summarize(p99).median / summarize(bareP99).median,
  });
  ctx.memory.push({ scenario, peakRss: server.peakRss(), idleRss, datasetBytes: state.jsonBytes });
  return { scale: state.scale, p50: p50s };
}

/** The cost must follow the change, not the dataset: the largest scale's p50 against the smallest's. */
export function deltaScalingRow(ctx: BenchContext, results: DeltaResult[]): void {
  const small = results.find((r) => r.scale === Math.min(...results.map((x) => x.scale)));
  const large = results.find((r) => r.scale === Math.max(...results.map((x) => x.scale)));
  if (!small || !large || small === large) return;
  const ratio = large.p50.median / small.p50.median;
  ctx.rows.push({
    scenario: `delta p50, scale ${large.scale} vs scale ${small.scale}`,
    figure: 'p50 latency',
    unit: 'ms',
    value: large.p50,
    limit: { name: `scale ${small.scale}`, value: small.p50 },
    ratio,
    ...(large.scale === 4 ? { target: { text: '≤ 1.5× scale 0.1', met: ratio <= 1.5 } } : {}),
  });
}
