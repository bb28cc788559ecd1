import { authHeaders, deltaBody, type BenchContext, type ScaleState } from '../lib/context.js';
import { clientAgent, send } from '../lib/http.js';
import { startSyncServer } from '../lib/processes.js';
import { MB, percentile, summarize } from '../lib/stats.js';

const TARGET_MS: Record<number, number> = { 1: 150, 4: 600 };

/** Deltas per run, each followed by one page load. */
const DELTAS_PER_RUN = 5;

/**
 * The dashboard on a seeded scale: each page's p50 over repeated loads by one
 * logged-in browser, the first load (the whole dataset is parsed then), and the
 * first load after each of a phone's deltas (the parse is patched then). Every
 * scale gets a server of its own, so the peak RSS above its idle RSS is the
 * dashboard's.
 */
export async function dashboardScenario(ctx: BenchContext, state: ScaleState): Promise<void> {
  const server = await startSyncServer(state.dir, ctx.token);
  const idleRss = server.rss();
  const agent = clientAgent();
  const perRun = ctx.quick ? 5 : 15;
  try {
    const login = await send(agent, `${server.url}/web/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: ctx.token }).toString(),
    });
    const cookie = /ascently_session=[^;]+/.exec(String(login.headers['set-cookie']))?.[0];
    if (login.status !== 303 || !cookie) throw new Error(`dashboard login answered ${login.status}`);
    const get = async (path: string) => {
      const reply = await send(agent, server.url + path, { headers: { cookie }, keepBody: true });
      if (reply.status !== 200) throw new Error(`${path} answered ${reply.status}`);
      return reply;
    };
    const firstLoad = await get('/web/api/summary');
    const idOf = async (list: string, kind: string) => {
      const match = new RegExp(`href="/web/${kind}/([^"]+)"`).exec((await get(list)).body!.toString('utf8'));
      if (!match) throw new Error(`no ${kind} link on ${list}`);
      return match[1]!;
    };
    const pages = [
      '/web/',
      '/web/api/summary',
      '/web/progress',
      '/web/sessions',
      `/web/sessions/${await idOf('/web/sessions', 'sessions')}`,
      '/web/problems',
      '/web/problems?type=BOULDER&active=yes&page=3',
      `/web/problems/${await idOf('/web/problems', 'problems')}`,
      '/web/projects',
      '/web/gyms',
      `/web/gyms/${await idOf('/web/gyms', 'gyms')}`,
      '/web/devices',
    ];
    const p50s = new Map<string, number[]>(pages.map((p) => [p, []]));
    const afterDelta: number[] = [];
    for (let run = 0; run < ctx.runs; run++) {
      for (const path of pages) {
        const times: number[] = [];
        for (let i = 0; i < perRun; i++) times.push((await get(path)).ms);
        p50s.get(path)!.push(percentile(times, 50));
      }
      // A phone syncs one change; the next page load patches the parse with it.
      for (let i = 0; i < DELTAS_PER_RUN; i++) {
        const n = run * DELTAS_PER_RUN + i;
        const body = deltaBody(state.serverTime, state.sample[n % state.sample.length]!, `dashboard bench ${n}`);
        const delta = await send(agent, `${server.url}/sync/delta`, { method: 'POST', headers: authHeaders(ctx, { 'content-type': 'application/json' }), body });
        if (delta.status !== 200) throw new Error(`delta answered ${delta.status}`);
        afterDelta.push((await get('/web/')).ms);
      }
    }
    const target = TARGET_MS[state.scale];
    for (const [path, values] of p50s) {
      const value = summarize(values);
      ctx.rows.push({
        scenario: `dashboard ${path}, scale ${state.scale}`,
        figure: 'p50',
        unit: 'ms',
        value,
        ...(target ? { target: { text: `≤ ${target} ms`, met: value.median <= target } } : {}),
      });
    }
    ctx.rows.push({ scenario: `dashboard, first page (whole parse), scale ${state.scale}`, figure: 'wall time', unit: 'ms', value: summarize([firstLoad.ms]) });
    const afterDeltaP50 = summarize(afterDelta);
    ctx.rows.push({
      scenario: `dashboard, first page after a delta, scale ${state.scale}`,
      figure: 'p50',
      unit: 'ms',
      value: afterDeltaP50,
      ...(target ? { target: { text: `≤ ${target} ms`, met: afterDeltaP50.median <= target } } : {}),
    });
  } finally {
    agent.destroy();
    await server.stop();
  }
  ctx.rows.push({ scenario: `dashboard, peak RSS above idle, scale ${state.scale}`, figure: 'peak − idle', unit: 'MiB', value: summarize([(server.peakRss() - idleRss) / MB]) });
  ctx.memory.push({ scenario: `dashboard pages, scale ${state.scale}`, peakRss: server.peakRss(), idleRss, datasetBytes: state.jsonBytes });
}
