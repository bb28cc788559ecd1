import { mkdtempSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { authHeaders, deltaBody, serverTimeOf, type BenchContext } from '../lib/context.js';
import { clientAgent, send } from '../lib/http.js';
import { startSyncServer, type Process } from '../lib/processes.js';
import { pairedRatio, percentile, summarize } from '../lib/stats.js';
import type { Item } from '../generate-dataset.js';
import { load } from './health.js';

const JSON_HEADERS = { 'content-type': 'application/json' };
/** The bound on what counting every request may cost. */
const MAX_COST = 0.1;

interface Subject {
  server: Process;
  agent: http.Agent;
  serverTime: string;
  edit: number;
  health: number[];
  deltaP50: number[];
}

/**
 * The per-request cost of the metrics hooks: the same server with and without
 * METRICS_TOKEN, side by side in each run (their order swapped run by run), on
 * GET /health under autocannon and on a one-change delta.
 */
export async function metricsCostScenario(ctx: BenchContext): Promise<void> {
  const seconds = ctx.quick ? 2 : 5;
  const perRun = ctx.quick ? 40 : 200;
  const attempts: Item[] = Array.from({ length: 200 }, (_, i) => ({ id: `attempt-${i}`, sessionId: 's', problemId: 'p', result: 'FLASH', updatedAt: '2024-01-15T10:30:00.000Z' }));
  const off = await prepare(ctx, {}, attempts);
  const on = await prepare(ctx, { METRICS_TOKEN: randomBytes(24).toString('base64url') }, attempts);
  try {
    for (let run = 0; run < ctx.runs; run++) {
      const order = run % 2 === 0 ? [off, on] : [on, off];
      for (const s of order) s.health.push((await load(`${s.server.url}/health`, authHeaders(ctx), seconds)).rate);
      for (const s of order) {
        const times: number[] = [];
        for (let i = 0; i < perRun; i++) times.push(await deltaOnce(ctx, s, attempts));
        s.deltaP50.push(percentile(times, 50));
      }
    }
  } finally {
    for (const s of [off, on]) {
      s.agent.destroy();
      await s.server.stop();
    }
  }
  const healthRatio = pairedRatio(on.health, off.health);
  ctx.rows.push({
    scenario: `metrics on vs off: GET /health, autocannon 10 connections, ${seconds} s`,
    figure: 'throughput',
    unit: 'req/s',
    value: summarize(on.health),
    limit: { name: 'metrics off, same run', value: summarize(off.health) },
    ratio: healthRatio,
    target: { text: `≥ ${100 - MAX_COST * 100}% of metrics off`, met: healthRatio >= 1 - MAX_COST },
  });
  const deltaRatio = pairedRatio(on.deltaP50, off.deltaP50);
  ctx.rows.push({
    scenario: 'metrics on vs off: delta, 1 changed item',
    figure: `p50 latency (${perRun} syncs/run)`,
    unit: 'ms',
    value: summarize(on.deltaP50),
    limit: { name: 'metrics off, same run', value: summarize(off.deltaP50) },
    ratio: deltaRatio,
    target: { text: `≤ ${1 + MAX_COST}× metrics off`, met: deltaRatio <= 1 + MAX_COST },
  });
}

async function prepare(ctx: BenchContext, env: Record<string, string>, attempts: Item[]): Promise<Subject> {
  const server = await startSyncServer(mkdtempSync(path.join(ctx.workDir, 'metrics-')), ctx.token, env);
  const agent = clientAgent();
  const body = JSON.stringify({ gyms: [], problems: [], sessions: [], attempts, deletedItems: [] });
  const seeded = await send(agent, `${server.url}/sync`, { method: 'POST', headers: authHeaders(ctx, JSON_HEADERS), body });
  if (seeded.status !== 200) throw new Error(`seeding answered ${seeded.status}`);
  const subject: Subject = { server, agent, serverTime: '1970-01-01T00:00:00.000Z', edit: 0, health: [], deltaP50: [] };
  subject.serverTime = serverTimeOf((await send(agent, `${server.url}/sync/delta`, { method: 'POST', headers: authHeaders(ctx, JSON_HEADERS), body: '{"lastSyncTime":null}', keepBody: true })).body!);
  for (let i = 0; i < 20; i++) await deltaOnce(ctx, subject, attempts);
  return subject;
}

async function deltaOnce(ctx: BenchContext, s: Subject, attempts: Item[]): Promise<number> {
  const body = deltaBody(s.serverTime, attempts[s.edit % attempts.length]!, `edit ${s.edit++}`);
  const reply = await send(s.agent, `${s.server.url}/sync/delta`, { method: 'POST', headers: authHeaders(ctx, JSON_HEADERS), body, keepBody: true });
  if (reply.status !== 200) throw new Error(`delta answered ${reply.status}`);
  s.serverTime = serverTimeOf(reply.body!);
  return reply.ms;
}
