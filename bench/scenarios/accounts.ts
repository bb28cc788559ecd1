import { execFileSync } from 'node:child_process';
import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveToken } from '../../src/auth/identity.js';
import { newDeviceToken, newShortId, secretHash } from '../../src/auth/secrets.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { BenchContext, ScaleState } from '../lib/context.js';
import { elapsedMs, pairedRatio, summarize } from '../lib/stats.js';

const CLI_ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const ACCOUNTS = 100;
const DEVICES_PER_ACCOUNT = 3;

/**
 * What resolving a token costs per request: SHA-256 and one indexed lookup in a
 * database of 300 devices, against the single-token check the server did before
 * accounts (SHA-256 of both sides and a constant-time comparison). Measured in
 * process, alternating run by run, so the ratio is the auth step alone.
 */
export async function authScenario(ctx: BenchContext): Promise<void> {
  const iterations = ctx.quick ? 5_000 : 20_000;
  const store = new SqliteStore(mkdtempSync(path.join(ctx.workDir, 'auth-')));
  const tokens: string[] = [];
  try {
    for (let a = 0; a < ACCOUNTS; a++) {
      const first = newDeviceToken();
      tokens.push(first);
      const account = await store.accounts.create(`climber-${a}`, { id: newShortId(), name: 'phone', tokenHash: secretHash(first) }, { maxBytes: null, maxImageBytes: null }, Date.now());
      for (let d = 1; d < DEVICES_PER_ACCOUNT; d++) {
        const token = newDeviceToken();
        tokens.push(token);
        await store.accounts.addDevice(account!.id, { id: newShortId(), name: `phone ${d}`, tokenHash: secretHash(token) }, Date.now());
      }
    }
    // Today's check, as src/http/auth.ts did it before accounts.
    const configured = tokens[0]!;
    const expected = createHash('sha256').update(configured).digest();
    const single = (presented: string): boolean => timingSafeEqual(createHash('sha256').update(presented).digest(), expected);

    const now = Date.now();
    // Every device seen just now: the steady state, where a request writes nothing.
    for (const token of tokens) await resolveToken(store.accounts, token, '127.0.0.1', now);
    const lookups: number[] = [];
    const checks: number[] = [];
    const writes: number[] = [];
    for (let run = 0; run < ctx.runs; run++) {
      let start = process.hrtime.bigint();
      for (let i = 0; i < iterations; i++) {
        if (!(await resolveToken(store.accounts, tokens[i % tokens.length]!, '127.0.0.1', now))) throw new Error('token not found');
      }
      lookups.push((elapsedMs(start) * 1000) / iterations);
      start = process.hrtime.bigint();
      for (let i = 0; i < iterations; i++) if (!single(configured)) throw new Error('token refused');
      checks.push((elapsedMs(start) * 1000) / iterations);
      // Once a minute per device, a request also writes last seen (a committed, fsynced UPDATE).
      const later = now + (run + 1) * 61_000;
      start = process.hrtime.bigint();
      for (const token of tokens.slice(0, 50)) await resolveToken(store.accounts, token, '127.0.0.1', later);
      writes.push((elapsedMs(start) * 1000) / 50);
    }
    const scenario = `auth per request, ${ACCOUNTS * DEVICES_PER_ACCOUNT} devices in the database`;
    ctx.rows.push({
      scenario,
      figure: 'token → account (SHA-256 + indexed lookup)',
      unit: 'µs',
      value: summarize(lookups),
      limit: { name: 'single-token check before accounts', value: summarize(checks) },
      ratio: pairedRatio(lookups, checks),
    });
    ctx.rows.push({ scenario, figure: 'the once-a-minute request that writes last seen', unit: 'µs', value: summarize(writes) });
  } finally {
    await store.close();
  }
}

/** `accounts list` and `devices list` on the scale-1 data folder, as an operator runs them (a whole process each). */
export function cliScenario(ctx: BenchContext, state: ScaleState): void {
  const env = { ...process.env, DATA_DIR: state.dir };
  const time = (args: string[]): number => {
    const start = process.hrtime.bigint();
    execFileSync(process.execPath, [CLI_ENTRY, ...args], { env, stdio: 'ignore' });
    return elapsedMs(start);
  };
  time(['accounts', 'list']);
  const lists: number[] = [];
  const devices: number[] = [];
  const baseline: number[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    lists.push(time(['accounts', 'list', '--json']));
    devices.push(time(['devices', 'list', 'default', '--json']));
    baseline.push(time(['token']));
  }
  const limit = { name: '`ascently-sync token` (start-up, no database)', value: summarize(baseline) };
  ctx.rows.push({
    scenario: `CLI on the scale ${state.scale} data folder`,
    figure: 'accounts list',
    unit: 'ms',
    value: summarize(lists),
    limit,
    ratio: pairedRatio(lists, baseline),
    target: { text: '< 1 s', met: summarize(lists).median < 1000 },
  });
  ctx.rows.push({
    scenario: `CLI on the scale ${state.scale} data folder`,
    figure: 'devices list',
    unit: 'ms',
    value: summarize(devices),
    limit,
    ratio: pairedRatio(devices, baseline),
    target: { text: '< 1 s', met: summarize(devices).median < 1000 },
  });
}
