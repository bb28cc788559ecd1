import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The built CLI entry: the bench runs exactly what `npm start` runs. */
const CLI_ENTRY = path.resolve(HERE, '../../src/cli/main.js');
const BARE_ENTRY = path.resolve(HERE, '../bare-server.js');

export interface Process {
  url: string;
  pid: number;
  /** Peak resident set size so far (VmHWM), in bytes; NaN off Linux. */
  peakRss(): number;
  rss(): number;
  /** Everything the process wrote to stderr (warnings, errors). */
  errors(): string;
  stop(): Promise<void>;
}

/** The production server on 127.0.0.1 with its own data folder. */
export async function startSyncServer(dataDir: string, token: string, env: Record<string, string> = {}): Promise<Process> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI_ENTRY, 'serve'], {
    // warn: the per-request info lines would otherwise be measured as part of every request.
    env: { ...process.env, AUTH_TOKEN: token, DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = `http://127.0.0.1:${port}`;
  const proc = wrap(child, url);
  await waitUntil(child, proc, async () => (await fetch(`${url}/health`, { headers: { authorization: `Bearer ${token}` } })).status === 200);
  return proc;
}

/** The bare node:http baseline answering the bytes in bodyFile. */
export async function startBareServer(bodyFile: string): Promise<Process> {
  const port = await freePort();
  const child = spawn(process.execPath, [BARE_ENTRY, bodyFile, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = wrap(child, `http://127.0.0.1:${port}`);
  let ready = false;
  child.stdout!.on('data', () => (ready = true));
  await waitUntil(child, proc, async () => ready);
  return proc;
}

function wrap(child: ChildProcess, url: string): Process {
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = once(child, 'exit');
  let peak = NaN;
  return {
    url,
    pid: child.pid!,
    peakRss: () => {
      // Once the process has exited /proc no longer has it: keep the last reading.
      const value = procStatus(child.pid!, 'VmHWM');
      if (!Number.isNaN(value)) peak = value;
      return peak;
    },
    rss: () => procStatus(child.pid!, 'VmRSS'),
    errors: () => stderr,
    stop: async () => {
      // Read the peak while /proc still has the process; peakRss() keeps it afterwards.
      const value = procStatus(child.pid!, 'VmHWM');
      if (!Number.isNaN(value)) peak = value;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitUntil(child: ChildProcess, proc: Process, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode} before it was ready:\n${proc.errors()}`);
    try {
      if (await ready()) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`process not ready within 15 s:\n${proc.errors()}`);
    }
    await sleep(50);
  }
}

function procStatus(pid: number, field: string): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** A port the OS considers free now; the child binds it a moment later (127.0.0.1 only). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
