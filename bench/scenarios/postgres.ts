import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PgStore } from '../../src/store/pg-store.js';
import { validateDelta } from '../../src/sync/validate.js';
import type { Item } from '../generate-dataset.js';
import { authHeaders, deltaBody, serverTimeOf, type BenchContext, type ScaleState } from '../lib/context.js';
import { clientAgent, send } from '../lib/http.js';
import { startSyncServer, type Process } from '../lib/processes.js';
import { elapsedMs, pairedRatio, percentile, summarize } from '../lib/stats.js';
import { DEVICES, devicesRows, driveDevices, type DevicesRun } from './devices.js';
import { downloadScenario, JSON_HEADERS } from './full-sync.js';

/**
 * SQLite and PostgreSQL side by side in one run, on the same data: full upload
 * and delta p50 at scale 1, then 50 devices through one and through three
 * server processes on one PostgreSQL database. Then where a PostgreSQL delta's
 * time goes: the store's own share, measured in-process, against one round trip.
 * Each PostgreSQL figure gets a database of its own, dropped at the end.
 */
export async function postgresScenario(ctx: BenchContext, adminUrl: string, bytes: Buffer, sample: Item[]): Promise<void> {
  const databases: string[] = [];
  const newDatabase = async (): Promise<string> => {
    const name = `ascently_bench_${process.pid}_${databases.length}`;
    await admin(adminUrl, `DROP DATABASE IF EXISTS ${name}`);
    await admin(adminUrl, `CREATE DATABASE ${name}`);
    databases.push(name);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return url.href;
  };
  try {
    // Full upload, a fresh store each run, the two stores in turn.
    const uploads = { sqlite: [] as number[], postgres: [] as number[] };
    let sqliteState: ScaleState | undefined;
    let pgState: (ScaleState & { url: string }) | undefined;
    for (let run = 0; run < ctx.runs; run++) {
      const dir = mkdtempSync(path.join(ctx.workDir, 'pg-compare-'));
      const sqlite = await seed(ctx, dir, {}, bytes, sample);
      uploads.sqlite.push(sqlite.ms);
      sqliteState = sqlite.state;
      const url = await newDatabase();
      const postgres = await seed(ctx, mkdtempSync(path.join(ctx.workDir, 'pg-')), { DATABASE_URL: url }, bytes, sample);
      uploads.postgres.push(postgres.ms);
      pgState = { ...postgres.state, url };
    }
    const upload = summarize(uploads.postgres);
    ctx.rows.push({
      scenario: 'POST /sync, scale 1, first upload, PostgreSQL',
      figure: 'wall time',
      unit: 'ms',
      value: upload,
      limit: { name: 'the same on SQLite', value: summarize(uploads.sqlite) },
      ratio: pairedRatio(uploads.postgres, uploads.sqlite),
    });

    // Delta p50, one device each, the two servers in turn within each run.
    const perRun = ctx.quick ? 40 : 200;
    const sqliteServer = await startSyncServer(sqliteState!.dir, ctx.token);
    const pgServer = await startSyncServer(pgState!.dir, ctx.token, { DATABASE_URL: pgState!.url });
    const p50 = { sqlite: [] as number[], postgres: [] as number[] };
    try {
      for (let run = 0; run < ctx.runs; run++) {
        p50.sqlite.push(percentile(await deltas(ctx, sqliteServer, sqliteState!, perRun), 50));
        p50.postgres.push(percentile(await deltas(ctx, pgServer, pgState!, perRun), 50));
      }
    } finally {
      await sqliteServer.stop();
      await pgServer.stop();
    }
    ctx.rows.push({
      scenario: 'delta, 1 changed item, scale 1, PostgreSQL',
      figure: `p50 latency (${perRun} syncs/run)`,
      unit: 'ms',
      value: summarize(p50.postgres),
      limit: { name: 'the same on SQLite', value: summarize(p50.sqlite) },
      ratio: pairedRatio(p50.postgres, p50.sqlite),
    });

    // The same items again in another text (another app version writes keys in another
    // order): the rows they replace are read back to compare. Before PostgreSQL has
    // statistics on a table (a new database, a bulk load) that read once took one pass over
    // the collection per item: 11.5 s for 5,000 items, minutes for more. A tenth of scale 1,
    // on a fresh store each run, so that a return of it shows here in seconds.
    const tenth = tenthOf(bytes);
    const reworded = withKeysReversed(tenth);
    const rewords = { sqlite: [] as number[], postgres: [] as number[] };
    for (let run = 0; run < ctx.runs; run++) {
      rewords.sqlite.push(await reupload(ctx, mkdtempSync(path.join(ctx.workDir, 'reword-')), {}, tenth, reworded));
      rewords.postgres.push(await reupload(ctx, mkdtempSync(path.join(ctx.workDir, 'reword-pg-')), { DATABASE_URL: await newDatabase() }, tenth, reworded));
    }
    ctx.rows.push({
      scenario: 'POST /sync, scale 0.1 again with its keys reordered, new database, PostgreSQL',
      figure: 'wall time',
      unit: 'ms',
      value: summarize(rewords.postgres),
      limit: { name: 'the same on SQLite', value: summarize(rewords.sqlite) },
      ratio: pairedRatio(rewords.postgres, rewords.sqlite),
    });

    // A new device's first sync, answered from cursors held past the commit: its peak memory beside SQLite's (full-sync.ts).
    await downloadScenario(ctx, pgState!, 'delta from scratch', 'identity', undefined, { env: { DATABASE_URL: pgState!.url }, label: ', PostgreSQL' });

    // Where a PostgreSQL delta's time goes, in-process on the same database.
    await storeShare(ctx, pgState!, perRun);

    // 50 devices through 1 and through 3 processes on one database, in turn each run.
    const seconds = ctx.quick ? 3 : 10;
    const one: DevicesRun[] = [];
    const three: DevicesRun[] = [];
    const servers: Process[] = [];
    try {
      for (let i = 0; i < 3; i++) servers.push(await startSyncServer(pgState!.dir, ctx.token, { DATABASE_URL: pgState!.url }));
      for (let run = 0; run < ctx.runs; run++) {
        one.push(await driveDevices(ctx, [servers[0]!.url], pgState!, seconds));
        three.push(await driveDevices(ctx, servers.map((s) => s.url), pgState!, seconds));
      }
    } finally {
      for (const server of servers) await server.stop();
    }
    devicesRows(ctx, `${DEVICES} devices, delta syncs, ${seconds} s, scale 1, PostgreSQL, 1 process`, one);
    devicesRows(ctx, `${DEVICES} devices, delta syncs, ${seconds} s, scale 1, PostgreSQL, 3 processes`, three, { limitName: '1 process', limit: one });
  } finally {
    for (const name of databases) await admin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  }
}

async function seed(ctx: BenchContext, dir: string, env: Record<string, string>, bytes: Buffer, sample: Item[]): Promise<{ ms: number; state: ScaleState }> {
  const server = await startSyncServer(dir, ctx.token, env);
  try {
    const agent = clientAgent();
    const post = await send(agent, `${server.url}/sync`, { method: 'POST', headers: authHeaders(ctx, JSON_HEADERS), body: bytes });
    if (post.status !== 200) throw new Error(`POST /sync answered ${post.status}: ${server.errors()}`);
    const first = await send(agent, `${server.url}/sync/delta`, { method: 'POST', headers: authHeaders(ctx, JSON_HEADERS), body: '{"lastSyncTime":null}', keepBody: true });
    agent.destroy();
    return { ms: post.ms, state: { scale: 1, dir, jsonBytes: bytes.length, sample, serverTime: serverTimeOf(first.body!) } };
  } finally {
    await server.stop();
  }
}

/** The first tenth of each collection of a document. */
function tenthOf(bytes: Buffer): Buffer {
  const doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  for (const [key, value] of Object.entries(doc)) if (Array.isArray(value)) doc[key] = value.slice(0, Math.ceil(value.length / 10));
  return Buffer.from(JSON.stringify(doc));
}

/** The same document with every item's keys in reverse order: equal content, other text. */
function withKeysReversed(bytes: Buffer): Buffer {
  const doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  const reversed = (item: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(item).reverse());
  for (const [key, value] of Object.entries(doc)) if (Array.isArray(value)) doc[key] = (value as Record<string, unknown>[]).map(reversed);
  return Buffer.from(JSON.stringify(doc));
}

/** Uploads `first` to a new server, then `again`; the second upload's wall time. */
async function reupload(ctx: BenchContext, dir: string, env: Record<string, string>, first: Buffer, again: Buffer): Promise<number> {
  const server = await startSyncServer(dir, ctx.token, env);
  const agent = clientAgent();
  const upload = async (body: Buffer): Promise<number> => {
    const post = await send(agent, `${server.url}/sync`, { method: 'POST', headers: authHeaders(ctx, JSON_HEADERS), body });
    if (post.status !== 200) throw new Error(`POST /sync answered ${post.status}: ${server.errors()}`);
    return post.ms;
  };
  try {
    await upload(first);
    return await upload(again);
  } finally {
    agent.destroy();
    await server.stop();
  }
}

async function deltas(ctx: BenchContext, server: Process, state: ScaleState, count: number): Promise<number[]> {
  const agent = clientAgent();
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const body = deltaBody(state.serverTime, state.sample[i % state.sample.length]!, `bench edit ${i}`);
      const reply = await send(agent, `${server.url}/sync/delta`, { method: 'POST', headers: authHeaders(ctx, JSON_HEADERS), body, keepBody: true });
      if (reply.status !== 200) throw new Error(`delta answered ${reply.status}`);
      state.serverTime = serverTimeOf(reply.body!);
      times.push(reply.ms);
    }
  } finally {
    agent.destroy();
  }
  return times;
}

/** The store's applyDelta alone (no HTTP, no JSON parse of the request), and one `SELECT 1` round trip, on the same database. */
async function storeShare(ctx: BenchContext, state: ScaleState & { url: string }, count: number): Promise<void> {
  const store = await PgStore.open(state.url);
  try {
    const datasetId = await store.datasetId('default');
    const roundTrips: number[] = [];
    for (let i = 0; i < count; i++) {
      const start = process.hrtime.bigint();
      await store.pool.query('SELECT 1');
      roundTrips.push(elapsedMs(start));
    }
    const commits: number[] = [];
    for (let i = 0; i < count; i++) {
      const start = process.hrtime.bigint();
      await store.transaction(async (db) => db.query('UPDATE datasets SET written = written WHERE id = $1', [datasetId]));
      commits.push(elapsedMs(start));
    }
    const applies: number[] = [];
    let since = Date.parse(state.serverTime);
    for (let i = 0; i < count; i++) {
      const text = deltaBody(new Date(since).toISOString(), state.sample[i % state.sample.length]!, `store edit ${i}`);
      const request = validateDelta(JSON.parse(text), text);
      const start = process.hrtime.bigint();
      const outcome = await store.applyDelta(datasetId, request, Date.now());
      outcome.close();
      since = outcome.stamp;
      applies.push(elapsedMs(start));
    }
    state.serverTime = new Date(since).toISOString();
    const row = (figure: string, values: number[]): void => {
      ctx.rows.push({ scenario: 'where a PostgreSQL delta goes (in-process, same database)', figure, unit: 'ms', value: summarize([percentile(values, 50)]) });
    };
    row(`PgStore.applyDelta p50 (${count} calls; 5 round trips: BEGIN with the row lock, read, write, COMMIT)`, applies);
    row('one round trip (SELECT 1) p50', roundTrips);
    row('one committed one-row UPDATE transaction (3 round trips, WAL flush) p50', commits);
  } finally {
    await store.close();
  }
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
