import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_TOKEN } from './server.js';
import { storeEnv } from './test-store.js';

/** The built CLI entry, so a child runs exactly what `npm start` runs. */
export const CLI_ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

export interface ChildServer {
  url: string;
  process: ChildProcess;
  /** Everything the child wrote to stdout and stderr so far. */
  output(): string;
  fetch(pathAndQuery: string, init?: RequestInit): Promise<Response>;
  /** kill -9: no chance to flush or close anything. */
  kill9(): Promise<void>;
  /** SIGTERM, unless a signal was already sent, and wait for the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts the real server in a child process on 127.0.0.1 and an ephemeral port,
 * for tests that must kill it or watch it exit. Resolves once it listens.
 */
export async function startChildServer(dataDir: string, env: Record<string, string> = {}, args: string[] = []): Promise<ChildServer> {
  const child = spawn(process.execPath, [CLI_ENTRY, 'serve', ...args], {
    env: { ...process.env, AUTH_TOKEN: TEST_TOKEN, ...(await storeEnv(dataDir)), HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));

  const url = await new Promise<string>((resolve, reject) => {
    // A child that never listens is killed: alive, it would keep the test file from exiting.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within 15 s:\n${output}`));
    }, 15_000);
    const check = (): void => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output}`));
    });
  });

  const exited = once(child, 'exit');
  return {
    url,
    process: child,
    output: () => output,
    fetch: (pathAndQuery, init = {}) => {
      const headers = new Headers(init.headers);
      if (!headers.has('authorization')) headers.set('authorization', `Bearer ${TEST_TOKEN}`);
      return fetch(url + pathAndQuery, { ...init, headers });
    },
    kill9: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      // A second signal means "exit at once" (exit 1): a test that sent its own
      // SIGTERM only waits here.
      if (!child.killed && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const [code] = await exited;
      return code as number | null;
    },
  };
}
