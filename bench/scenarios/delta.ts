import { writeFileSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { authHeaders, deltaBody, serverTimeOf, type BenchContext, type ScaleState } from '../lib/context.js';
import { clientAgent, send } from '../lib/http.js';
import { startBareServer, startSyncServer, type Process } from '../lib/processes.js';
import { pairedRatio, percentile, summarize } from '../lib/stats.js';

const JSON_HEADERS = { 'content-type': 'application/json' };
const DELTA_TARGET_MS = 5;

/** A device syncing one scale's server. */
interface Device {
  state: ScaleState;
  server: Process;
  agent: http.Agent;
  edit: number;
}

interface Subject extends Device {
  bare: Process;
  bareAgent: http.Agent;
  idleRss: number;
  answerBytes: number;
  bareBody: string;
  p50: number[];
  p99: number[];
  bareP50: number[];
  bareP99: number[];
}

/**
 * One device in sync edits one attempt and syncs, over and over: each answer
 * holds only the new serverTime, since nothing else changed. Every scale has its
 * own server, and a bare node:http server answering the same bytes to the same
 * request; within each run the scales and their baselines are measured in turn,
 * so that load from elsewhere on the machine falls on all of them alike.
 */
export async function deltaScenario(ctx: BenchContext, states: ScaleState[]): Promise<void> {
  const perRun = ctx.quick ? 40 : 200;
  const subjects: Subject[] = [];
  try {
    for (const state of states) subjects.push(await prepare(ctx, state));
    for (let run = 0; run < ctx.runs; run++) {
      for (const s of subjects) {
        const times: number[] = [];
        for (let i = 0; i < perRun; i++) times.push(await syncOnce(ctx, s));
        s.p50.push(percentile(times, 50));
        s.p99.push(percentile(times, 99));
        const bareTimes: number[] = [];
        for (let i = 0; i < perRun; i++) {
          const reply = await send(s.bareAgent, `${s.bare.url}/sync/delta`, { method: 'POST', headers: authHeaders(ctx, JSON_HEADERS), body: s.bareBody });
          bareTimes.push(reply.ms);
        }
        s.bareP50.push(percentile(bareTimes, 50));
        s.bareP99.push(percentile(bareTimes, 99));
      }
    }
  } finally {
    for (const s of subjects) {
      s.agent.destroy();
      s.bareAgent.destroy();
      await s.bare.stop();
      await s.server.stop();
    }
  }

  for (const s of subjects) {
    const scenario = `delta, 1 changed item, scale ${s.state.scale}`;
    const limitName = `bare node:http, same ${s.answerBytes}-byte answer`;
    const p50 = summarize(s.p50);
    ctx.rows.push({
      scenario,
      figure: `p50 latency (${perRun} syncs/run)`,
      unit: 'ms',
      value: p50,
      limit: { name: limitName, value: summarize(s.bareP50) },
      ratio: pairedRatio(s.p50, s.bareP50),
      target: { text: `≤ ${DELTA_TARGET_MS} ms`, met: p50.median <= DELTA_TARGET_MS },
    });
    ctx.rows.push({ scenario, figure: 'p99 latency', unit: 'ms', value: summarize(s.p99), limit: { name: limitName, value: summarize(s.bareP99) }, ratio: pairedRatio(s.p99, s.bareP99) });
    ctx.memory.push({ scenario, peakRss: s.server.peakRss(), idleRss: s.idleRss, datasetBytes: s.state.jsonBytes });
  }
  scalingRow(ctx, subjects);
}

async function prepare(ctx: BenchContext, state: ScaleState): Promise<Subject> {
  const server = await startSyncServer(state.dir, ctx.token);
  const idleRss = server.rss();
  const device: Device = { state, server, agent: clientAgent(), edit: 0 };
  // Warm-up, which also yields the answer the bare server will send.
  let answer: Buffer = Buffer.alloc(0);
  for (let i = 0; i < 10; i++) answer = (await syncOnceWithBody(ctx, device)).body;
  const answerFile = path.join(ctx.workDir, `delta-answer-${state.scale}.json`);
  writeFileSync(answerFile, answer);
  return {
    ...device,
    bare: await startBareServer(answerFile),
    bareAgent: clientAgent(),
    idleRss,
    answerBytes: answer.length,
    bareBody: deltaBody(state.serverTime, state.sample[0]!, 'bench edit'),
    p50: [],
    p99: [],
    bareP50: [],
    bareP99: [],
  };
}

async function syncOnce(ctx: BenchContext, s: Device): Promise<number> {
  return (await syncOnceWithBody(ctx, s)).ms;
}

async function syncOnceWithBody(ctx: BenchContext, s: Device): Promise<{ ms: number; body: Buffer }> {
  const attempt = s.state.sample[s.edit % s.state.sample.length]!;
  const body = deltaBody(s.state.serverTime, attempt, `bench edit ${s.edit++}`);
  const reply = await send(s.agent, `${s.server.url}/sync/delta`, { method: 'POST', headers: authHeaders(ctx, JSON_HEADERS), body, keepBody: true });
  if (reply.status !== 200) throw new Error(`delta at scale ${s.state.scale} answered ${reply.status}`);
  s.state.serverTime = serverTimeOf(reply.body!);
  return { ms: reply.ms, body: reply.body! };
}

/** The cost must follow the change, not the dataset: the largest scale's p50 against the smallest's, run by run. */
function scalingRow(ctx: BenchContext, subjects: Subject[]): void {
  const sorted = [...subjects].sort((a, b) => a.state.scale - b.state.scale);
  const small = sorted[0];
  const large = sorted[sorted.length - 1];
  if (!small || !large || small === large) return;
  const ratio = pairedRatio(large.p50, small.p50);
  ctx.rows.push({
    scenario: `delta p50, scale ${large.state.scale} vs scale ${small.state.scale}`,
    figure: 'p50 latency',
    unit: 'ms',
    value: summarize(large.p50),
    limit: { name: `scale ${small.state.scale}`, value: summarize(small.p50) },
    ratio,
    ...(large.state.scale === 4 ? { target: { text: '≤ 1.5× scale 0.1', met: ratio <= 1.5 } } : {}),
  });
}
