/**
 * `npm run bench [-- --quick] [-- --runs N] [-- --only dashboard|postgres|uploads] [-- --postgres URL]`: starts the production server as a
 * separate process on 127.0.0.1 with fresh data folders, drives it over real
 * HTTP, and compares each figure with a limit measured in the same run on the
 * same machine. Prints a markdown table and writes bench/results.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateDataset, type Dataset, type Item } from './generate-dataset.js';
import type { BenchContext, ScaleState } from './lib/context.js';
import { MB, summarize, type Summary } from './lib/stats.js';
import { machineDescription, markdown, writeResults } from './report.js';
import { authScenario, cliScenario } from './scenarios/accounts.js';
import { dashboardScenario } from './scenarios/dashboard.js';
import { deltaScenario } from './scenarios/delta.js';
import { devicesScenario } from './scenarios/devices.js';
import { downloadScenario, measureJsonLimits, seedScale, type Encoding } from './scenarios/full-sync.js';
import { healthScenario } from './scenarios/health.js';
import { imagesScenario } from './scenarios/images.js';
import { postgresScenario } from './scenarios/postgres.js';
import { bigUploadScenario, postSyncScenario, type UploadBodies } from './scenarios/uploads.js';
import { backupScenario } from './scenarios/backup.js';
import { metricsCostScenario } from './scenarios/metrics-cost.js';
import { compressionScenario } from './scenarios/compression.js';

const RESULTS_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/results.json');
/** Attempts each scale's devices edit: more than the 50 concurrent devices, so none share one. */
const SAMPLE_SIZE = 200;

/** About 200 MiB of JSON, the largest upload MAX_JSON_BYTES allows by default. */
const BIG_SCALE = 7.8;

interface ScaleData extends UploadBodies {
  sample: Item[];
  stringify: Summary;
  parse: Summary;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, runs: { type: 'string' }, only: { type: 'string' }, postgres: { type: 'string' } } });
  // --only dashboard: seed the scales, then measure the dashboard alone; --only postgres: SQLite and PostgreSQL side by side alone;
  // --only uploads: the POST /sync figures alone, at the scales they have targets for; --only compression: gzip and brotli settings, in-process.
  const only = values.only;
  if (only !== undefined && !['dashboard', 'postgres', 'uploads', 'compression'].includes(only)) throw new Error('--only takes: dashboard, postgres, uploads, compression');
  // A PostgreSQL server where this user may create databases; the figures next to SQLite's need it.
  const postgresUrl = values.postgres ?? process.env['BENCH_DATABASE_URL'];
  if (only === 'postgres' && postgresUrl === undefined) throw new Error('--only postgres needs --postgres URL (or BENCH_DATABASE_URL)');
  const quick = values.quick === true;
  const runs = values.runs ? Number(values.runs) : quick ? 3 : 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  // Quick leaves out scale 4 and the 200 MiB upload: generating, seeding and reading them is most of a full run.
  const scales = only === 'postgres' || only === 'compression' ? [1] : only === 'uploads' ? (quick ? [1] : [1, 4]) : quick ? [0.1, 1] : [0.1, 1, 4];
  const started = Date.now();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'ascently-bench-'));
  const ctx: BenchContext = {
    quick,
    runs,
    token: randomBytes(32).toString('base64url'),
    workDir,
    progress: (message) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${message}\n`),
    rows: [],
    memory: [],
  };

  try {
    const data = new Map<number, ScaleData>();
    for (const scale of scales) {
      ctx.progress(`generating scale ${scale}`);
      let dataset: Dataset | undefined = generateDataset({ scale });
      const bytes = Buffer.from(JSON.stringify(dataset), 'utf8');
      const sample = dataset.attempts.slice(0, SAMPLE_SIZE);
      // In-process limits only where a figure is compared with them.
      const limits = scale >= 1 ? measureJsonLimits(ctx, dataset, bytes) : { stringify: summarize([]), parse: summarize([]) };
      const changed = scale >= 1 ? changedBody(dataset) : bytes;
      dataset = undefined;
      data.set(scale, { bytes, changed, sample, ...limits });
      ctx.progress(`scale ${scale}: ${(bytes.length / MB).toFixed(1)} MiB of JSON; JSON.stringify ${limits.stringify.median.toFixed(0)} ms, JSON.parse ${limits.parse.median.toFixed(0)} ms`);
    }

    ctx.progress('compressing the scale 1 answer in-process: gzip levels and brotli qualities');
    await compressionScenario(ctx, data.get(1)!.bytes, data.get(1)!.stringify);
    if (only === 'compression') return finish(ctx, started, quick, runs, workDir, only);

    if (only === 'uploads') {
      // The upload figures alone: SQLite, the store the targets are for.
    } else if (postgresUrl === undefined) {
      ctx.progress('PostgreSQL figures skipped: give --postgres postgres://user@host:5432/postgres (or BENCH_DATABASE_URL)');
    } else {
      ctx.progress('SQLite and PostgreSQL side by side');
      await postgresScenario(ctx, postgresUrl, data.get(1)!.bytes, data.get(1)!.sample);
    }
    if (only === 'postgres') return finish(ctx, started, quick, runs, workDir, only);

    const states = new Map<number, ScaleState>();
    for (const scale of scales) {
      const d = data.get(scale)!;
      if (scale >= 1 && (only === undefined || only === 'uploads')) {
        ctx.progress(`POST /sync scale ${scale}, ${runs} fresh servers, then ${runs} re-uploads of the same data and ${runs} changing 1%`);
        states.set(scale, await postSyncScenario(ctx, scale, d, d.sample, d.parse));
      } else {
        ctx.progress(`seeding scale ${scale}`);
        const seeded = await seedScale(ctx, scale, d.bytes, d.sample);
        states.set(scale, seeded.state);
        ctx.memory.push({ scenario: `POST /sync, scale ${scale}, first upload (seeding, 1 run)`, peakRss: seeded.peakRss, idleRss: seeded.idleRss, datasetBytes: d.bytes.length });
        ctx.progress(`scale ${scale} seeded: POST ${seeded.postMs.toFixed(0)} ms, first full delta ${seeded.firstDeltaMs.toFixed(0)} ms`);
      }
    }

    if (only === 'uploads') return finish(ctx, started, quick, runs, workDir, only);

    for (const scale of scales.filter((s) => s >= 1)) {
      ctx.progress(`dashboard pages, scale ${scale}`);
      await dashboardScenario(ctx, states.get(scale)!);
    }
    if (only === 'dashboard') return finish(ctx, started, quick, runs, workDir, only);

    ctx.progress(`delta with 1 change, scales ${scales.join(', ')} in turn`);
    await deltaScenario(ctx, scales.map((scale) => states.get(scale)!));

    for (const scale of scales.filter((s) => s >= 1)) {
      // br is what the server prefers when a client offers it; measured at scale 1 only, for time.
      const encodings: Encoding[] = scale === 1 ? ['identity', 'gzip', 'br'] : ['identity', 'gzip'];
      for (const encoding of encodings) {
        ctx.progress(`GET /sync scale ${scale}, ${encoding}`);
        await downloadScenario(ctx, states.get(scale)!, 'GET /sync', encoding, data.get(scale)!.stringify);
      }
      // A new device's first sync: the apps ask for gzip; the memory target is at scale 4, uncompressed.
      for (const encoding of scale === 1 ? (['identity', 'gzip'] as const) : (['identity'] as const)) {
        ctx.progress(`delta from scratch scale ${scale}, ${encoding}`);
        await downloadScenario(ctx, states.get(scale)!, 'delta from scratch', encoding, data.get(scale)!.stringify);
      }
    }
    data.clear();

    ctx.progress('auth per request, and the accounts CLI');
    await authScenario(ctx);
    cliScenario(ctx, states.get(1)!);
    ctx.progress('GET /health under load');
    await healthScenario(ctx);
    ctx.progress('metrics on vs off');
    await metricsCostScenario(ctx);
    ctx.progress('50 devices');
    await devicesScenario(ctx, states.get(1)!);
    ctx.progress('images');
    await imagesScenario(ctx);
    if (!quick) {
      ctx.progress(`generating scale ${BIG_SCALE} for the 200 MiB upload`);
      let big: Dataset | undefined = generateDataset({ scale: BIG_SCALE });
      const bodies = { bytes: Buffer.from(JSON.stringify(big), 'utf8'), changed: changedBody(big) };
      big = undefined;
      ctx.progress(`POST /sync of ${(bodies.bytes.length / MB).toFixed(0)} MiB on a server held to 1 GiB`);
      await bigUploadScenario(ctx, mkdtempSync(path.join(workDir, 'big-')), bodies);
    }
    ctx.progress('backup of scale 1 with 500 MB of images');
    await backupScenario(ctx, states.get(1)!);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  finish(ctx, started, quick, runs, workDir, only);
}

function finish(ctx: BenchContext, started: number, quick: boolean, runs: number, workDir: string, only: string | undefined): void {
  rmSync(workDir, { recursive: true, force: true });
  const report = {
    date: new Date().toISOString(),
    machine: machineDescription(),
    mode: quick ? 'quick' : 'full',
    runs,
    seconds: (Date.now() - started) / 1000,
    rows: ctx.rows,
    memory: ctx.memory,
  };
  // A partial run keeps its own file, so the full run's figures stay in results.json.
  const file = only ? RESULTS_FILE.replace(/\.json$/, `-${only}.json`) : RESULTS_FILE;
  writeResults(file, report);
  process.stdout.write(`${markdown(report)}\n`);
  ctx.progress(`done; results in ${path.relative(process.cwd(), file)}`);
}

/** The dataset with 1% of its items edited (every hundredth one), as JSON. */
function changedBody(dataset: Dataset): Buffer {
  const edit = (items: Item[]): Item[] => items.map((item, i) => (i % 100 === 0 ? { ...item, notes: `edited ${i}` } : item));
  return Buffer.from(
    JSON.stringify({ ...dataset, gyms: edit(dataset.gyms), problems: edit(dataset.problems), sessions: edit(dataset.sessions), attempts: edit(dataset.attempts) }),
    'utf8',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
