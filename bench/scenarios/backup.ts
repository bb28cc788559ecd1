import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, ScaleState } from '../lib/context.js';
import { MB, summarize } from '../lib/stats.js';

const CLI_ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const IMAGE_BYTES = 500 * 1000 * 1000;

/**
 * `ascently-sync backup` of the scale 1 data folder with 500 MB of images added
 * (1-3 MB each, random bytes: as incompressible as photos), beside a plain
 * `cp -r` of the same folder in the same run. Time and peak RSS of the backup
 * process itself.
 */
export async function backupScenario(ctx: BenchContext, state: ScaleState): Promise<void> {
  const imagesDir = path.join(state.dir, 'images');
  mkdirSync(imagesDir, { recursive: true });
  for (let total = 0, n = 0; total < IMAGE_BYTES; n++) {
    const size = Math.min(IMAGE_BYTES - total, 1_000_000 + ((n * 7919) % 2_000_001));
    const bytes = randomBytes(size);
    bytes.set([0xff, 0xd8, 0xff, 0xe0]);
    writeFileSync(path.join(imagesDir, `photo-${n}.jpg`), bytes);
    total += size;
  }
  const times: number[] = [];
  const copies: number[] = [];
  let peak = 0;
  let archiveBytes = 0;
  try {
    for (let run = 0; run < ctx.runs; run++) {
      const archive = path.join(ctx.workDir, 'backup.tar.gz');
      const started = process.hrtime.bigint();
      const backup = await runTracked(process.execPath, [CLI_ENTRY, 'backup', archive], { ...process.env, DATA_DIR: state.dir });
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
      peak = Math.max(peak, backup.peakRss);
      archiveBytes = statSync(archive).size;
      rmSync(archive);

      const copy = path.join(ctx.workDir, 'copy');
      const copyStarted = process.hrtime.bigint();
      await runTracked('cp', ['-r', state.dir, copy], process.env);
      copies.push(Number(process.hrtime.bigint() - copyStarted) / 1e6);
      rmSync(copy, { recursive: true, force: true });
    }
  } finally {
    rmSync(imagesDir, { recursive: true, force: true });
  }
  const scenario = 'backup, scale 1 + 500 MB of images';
  ctx.rows.push({
    scenario,
    figure: 'wall time',
    unit: 'ms',
    value: summarize(times),
    limit: { name: '`cp -r` of the same folder', value: summarize(copies) },
    ratio: summarize(times.map((t, i) => t / copies[i]!)).median,
    note: `archive ${(archiveBytes / MB).toFixed(0)} MiB`,
  });
  ctx.memory.push({ scenario: `${scenario} (the backup process, not the server)`, peakRss: peak, idleRss: NaN, datasetBytes: 0 });
}

/** Runs a command to its end, reading its peak RSS (VmHWM) while it runs. */
async function runTracked(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ peakRss: number }> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  let peakRss = 0;
  const timer = setInterval(() => {
    try {
      const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (match) peakRss = Math.max(peakRss, Number(match[1]) * 1024);
    } catch {
      // Exited between two readings.
    }
  }, 20);
  const [code] = await once(child, 'exit');
  clearInterval(timer);
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${String(code)}: ${stderr}`);
  return { peakRss };
}
