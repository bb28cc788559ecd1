import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';

/** Why the several-process tests are skipped in the SQLite half. */
export const POSTGRES_ONLY = 'several server processes share one store only on PostgreSQL (the PostgreSQL half of npm test runs this)';

export type Item = { id: string; rev: string; updatedAt: string; name: string };
export type Tombstone = { id: string; type: 'gym'; deletedAt: string };

/** A seeded generator, so that a failure can be replayed with FLEET_SEED. */
export { random } from '../hostile/kill-workloads.js';

/** Server processes on one store, a clock each (ms ahead of or behind the real one); restartable after kill -9. */
export class Fleet {
  readonly servers: ChildServer[] = [];
  /** The processes killed so far: a request to one of them may fail, to any other never. */
  readonly killed = new Set<ChildServer>();
  /** Every process started, so that none outlives the test and keeps its file from exiting. */
  private readonly started = new Set<ChildServer>();
  private stopped = false;

  private constructor(
    private readonly dataDir: string,
    private readonly clocks: Record<string, string>[],
  ) {}

  static async start(t: TestContext, dataDir: string, clockOffsets: number[]): Promise<Fleet> {
    const clocks = clockOffsets.map((offset, i) => skewedClock(dataDir, i, offset));
    const fleet = new Fleet(dataDir, clocks);
    t.after(() => fleet.stop());
    // Started together: they race to migrate the fresh database, and the advisory lock lets one do it.
    fleet.servers.push(...(await Promise.all(clocks.map((env) => fleet.launch(env)))));
    return fleet;
  }

  async restart(index: number): Promise<void> {
    this.killed.add(this.servers[index]!);
    await this.servers[index]!.kill9();
    this.servers[index] = await this.launch(this.clocks[index]!);
  }

  /**
   * Kills every process, including one whose start is still under way when the
   * test ends (a timed-out test's restart): it is killed as soon as it is up.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.started].map((server) => server.kill9()));
  }

  private async launch(env: Record<string, string>): Promise<ChildServer> {
    const server = await startChildServer(this.dataDir, env);
    this.started.add(server);
    if (this.stopped) {
      await server.kill9();
      throw new Error('the test ended while this server process was starting');
    }
    return server;
  }
}

function skewedClock(dir: string, index: number, offsetMs: number): Record<string, string> {
  const preload = path.join(dir, `clock-${index}.mjs`);
  writeFileSync(preload, `const real = Date.now; Date.now = () => real() + ${offsetMs};\n`);
  return { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` };
}

export interface DeltaAnswer {
  serverTime: string;
  gyms: Item[];
  deletedItems: Tombstone[];
}

/** A delta as a device sends it; with a token, as that account's device (else AUTH_TOKEN's default account). */
export async function postDelta(server: ChildServer, body: unknown, token?: string): Promise<DeltaAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const response = await server.fetch('/sync/delta', { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`delta answered ${response.status}: ${text}`);
  return JSON.parse(text) as DeltaAnswer;
}

export async function getDocument(server: ChildServer, token?: string): Promise<{ gyms: Item[]; deletedItems: Tombstone[] }> {
  const response = await server.fetch('/sync', token ? { headers: { authorization: `Bearer ${token}` } } : {});
  if (response.status !== 200) throw new Error(`GET /sync answered ${response.status}`);
  return (await response.json()) as { gyms: Item[]; deletedItems: Tombstone[] };
}

export const byId = <T extends { id: string }>(list: T[]): T[] => [...list].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
