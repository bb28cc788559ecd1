import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { authHeaders, type BenchContext } from '../lib/context.js';
import { startBareServer, startSyncServer } from '../lib/processes.js';
import { pairedRatio, summarize } from '../lib/stats.js';

const HEALTH_BODY = JSON.stringify({ status: 'ok', version: '2.0.0' });

/** GET /health under autocannon, alternating run by run with a bare node:http server answering the same body. */
export async function healthScenario(ctx: BenchContext): Promise<void> {
  const seconds = ctx.quick ? 2 : 5;
  const bodyFile = path.join(ctx.workDir, 'health.json');
  writeFileSync(bodyFile, HEALTH_BODY);
  const server = await startSyncServer(mkdtempSync(path.join(ctx.workDir, 'health-')), ctx.token);
  const idleRss = server.rss();
  const bare = await startBareServer(bodyFile);
  const rates: number[] = [];
  const bareRates: number[] = [];
  let failures = 0;
  try {
    for (let run = 0; run < ctx.runs; run++) {
      const ours = await load(`${server.url}/health`, authHeaders(ctx), seconds);
      const base = await load(`${bare.url}/health`, authHeaders(ctx), seconds);
      rates.push(ours.rate);
      bareRates.push(base.rate);
      failures += ours.failures + base.failures;
    }
  } finally {
    await bare.stop();
    await server.stop();
  }
  const scenario = `GET /health, autocannon 10 connections, ${seconds} s`;
  const value = summarize(rates);
  const limit = summarize(bareRates);
  const ratio = pairedRatio(rates, bareRates);
  ctx.rows.push({
    scenario,
    figure: 'throughput',
    unit: 'req/s',
    value,
    limit: { name: 'bare node:http, same body', value: limit },
    ratio,
    target: { text: '≥ 70% of bare', met: ratio >= 0.7 },
    ...(failures ? { note: `${failures} errors or non-2xx answers` } : {}),
  });
  ctx.memory.push({ scenario, peakRss: server.peakRss(), idleRss, datasetBytes: 0 });
}

export async function load(url: string, headers: Record<string, string>, seconds: number): Promise<{ rate: number; failures: number }> {
  const result = await autocannon({ url, connections: 10, duration: seconds, headers });
  return { rate: result.requests.total / (result.duration || seconds), failures: result.errors + result.non2xx + result.timeouts };
}
