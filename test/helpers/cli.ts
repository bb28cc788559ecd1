import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { secretHash, newDeviceToken, newShortId } from '../../src/auth/secrets.js';
import type { Account, Quotas } from '../../src/store/account-store.js';
import type { Store } from '../../src/store/store.js';
import { CLI_ENTRY } from './child-server.js';
import { storeEnv } from './test-store.js';

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI in its own process as a user would, with only PATH and the
 * given variables in its environment; answers its exit code and output, never
 * throws on a non-zero exit.
 */
export async function cli(args: string[], env: Record<string, string> = {}, timeout = 30_000): Promise<CliResult> {
  // In the PostgreSQL half, a data folder stands for its test database.
  const store = env['DATA_DIR'] === undefined || 'DATABASE_URL' in env ? {} : await storeEnv(env['DATA_DIR']);
  const cleanEnv = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...store, ...env };
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI_ENTRY, ...args], { env: cleanEnv, timeout });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number | string; stdout: string; stderr: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A failure as the README promises it: one line on stderr, no stack. */
export function oneLine(result: CliResult): string {
  const lines = result.stderr.trimEnd().split('\n');
  if (lines.length !== 1 || / at .*\(.*:\d+:\d+\)/.test(result.stderr)) throw new Error(`expected one line on stderr, got:\n${result.stderr}`);
  return lines[0]!;
}

/** An account with one device, made through the store as `accounts add` does; returns the device's token. */
export async function addAccount(store: Store, name: string, quotas: Quotas = { maxBytes: null, maxImageBytes: null }): Promise<{ account: Account; token: string; deviceId: string }> {
  const token = newDeviceToken();
  const deviceId = newShortId();
  const account = await store.accounts.create(name, { id: deviceId, name: 'test phone', tokenHash: secretHash(token) }, quotas, Date.now());
  if (!account) throw new Error(`account ${name} exists`);
  return { account, token, deviceId };
}

/** A further device of an account; returns its token. */
export async function addDevice(store: Store, account: Account, name = 'another phone'): Promise<{ token: string; deviceId: string }> {
  const token = newDeviceToken();
  const deviceId = newShortId();
  if (!(await store.accounts.addDevice(account.id, { id: deviceId, name, tokenHash: secretHash(token) }, Date.now()))) throw new Error('no account');
  return { token, deviceId };
}
