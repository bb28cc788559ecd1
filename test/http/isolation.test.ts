import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildApp } from '../../src/app.js';
import { resolveConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { addAccount, addDevice } from '../helpers/cli.js';
import { TINY_IMAGES } from '../images/fixtures.js';

/*
 * Isolation as a property: random interleavings of writes from two devices of
 * each of three accounts (same item ids, same image names) go to one server with
 * three accounts, and each account's writes alone go to a server of its own. Every
 * answer, and each account's final GET /sync and images, must be what its own
 * server answers: nothing of one account leaks into, changes or deletes another's.
 */

const ACCOUNTS = 3;
const IDS = ['a', 'b', 'c'];
const IMAGE_NAMES = ['wall.png', 'x.jpg'];
const IMAGE_BODIES = Object.values(TINY_IMAGES);
const RUNS = Number(process.env['ISOLATION_RUNS'] ?? 12);

interface Server {
  url: string;
  store: SqliteStore;
  close(): Promise<void>;
}

async function openServer(token?: string): Promise<Server> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ascently-isolation-'));
  const config = resolveConfig({ dataDir, host: '127.0.0.1', port: '0', logLevel: 'silent', historyKeep: '2' });
  const store = new SqliteStore(dataDir);
  const app = await buildApp(config, { store, token, logger: createLogger('silent') });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    store,
    close: async () => {
      await app.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const itemArb = fc.record({
  collection: fc.constantFrom('gyms', 'problems'),
  id: fc.constantFrom(...IDS),
  minute: fc.integer({ min: 0, max: 5 }),
  name: fc.constantFrom('x', 'y'),
});
const tombstoneArb = fc.record({ type: fc.constantFrom('gym', 'problem'), id: fc.constantFrom(...IDS) });
const opArb = fc.record({
  account: fc.integer({ min: 0, max: ACCOUNTS - 1 }),
  device: fc.integer({ min: 0, max: 1 }),
  kind: fc.constantFrom('delta', 'delta', 'full', 'image'),
  items: fc.array(itemArb, { maxLength: 4 }),
  tombstones: fc.array(tombstoneArb, { maxLength: 2 }),
  image: fc.record({ name: fc.constantFrom(...IMAGE_NAMES), body: fc.integer({ min: 0, max: IMAGE_BODIES.length - 1 }) }),
});
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

function documentOf(op: Op): Record<string, unknown> {
  const doc: Record<string, unknown[]> = { gyms: [], problems: [] };
  for (const item of op.items) {
    doc[item.collection]!.push({ id: item.id, name: item.name, updatedAt: new Date(Date.UTC(2024, 0, 1, 0, item.minute)).toISOString() });
  }
  doc['deletedItems'] = op.tombstones.map((t) => ({ ...t, deletedAt: '2024-01-02T00:00:00.000Z' }));
  return doc;
}

/** Runs an op against a server as one device, and returns what the device sees, without server-specific stamps. */
async function apply(server: Server, token: string, op: Op, lastSync: Map<string, string | null>, deviceKey: string): Promise<unknown> {
  const headers = { authorization: `Bearer ${token}` };
  if (op.kind === 'image') {
    const body = IMAGE_BODIES[op.image.body]!;
    const response = await fetch(`${server.url}/images/upload?filename=${op.image.name}`, { method: 'POST', headers, body });
    return [response.status, await response.json()];
  }
  const doc = documentOf(op);
  if (op.kind === 'full') {
    const response = await fetch(`${server.url}/sync`, { method: 'POST', headers, body: JSON.stringify(doc) });
    return [response.status, await response.text()];
  }
  const body = JSON.stringify({ ...doc, lastSyncTime: lastSync.get(deviceKey) ?? null });
  const response = await fetch(`${server.url}/sync/delta`, { method: 'POST', headers, body });
  const answer = (await response.json()) as Record<string, unknown>;
  lastSync.set(deviceKey, (answer['serverTime'] as string | undefined) ?? null);
  delete answer['serverTime'];
  return [response.status, answer];
}

async function finalState(server: Server, token: string): Promise<unknown> {
  const headers = { authorization: `Bearer ${token}` };
  const response = await fetch(`${server.url}/sync`, { headers });
  const document = response.status === 200 ? ((await response.json()) as Record<string, unknown>) : undefined;
  if (document) delete document['exportedAt'];
  const images: unknown[] = [];
  for (const name of IMAGE_NAMES) {
    const image = await fetch(`${server.url}/images/download?filename=${name}`, { headers });
    images.push([name, image.status, Buffer.from(await image.arrayBuffer()).toString('base64')]);
  }
  return { status: response.status, document, images };
}

test('each account answers exactly what a server of its own would, whatever the other accounts do', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 24 }), async (ops) => {
      const shared = await openServer();
      const alone: Server[] = [];
      try {
        const sharedTokens: string[][] = [];
        const aloneTokens: string[][] = [];
        for (let a = 0; a < ACCOUNTS; a++) {
          const made = await addAccount(shared.store, `climber-${a}`);
          const { token: other } = await addDevice(shared.store, made.account);
          sharedTokens.push([made.token, other]);
          // Its own server: the default account's AUTH_TOKEN for both devices.
          const own = await openServer(`own-token-${a}`);
          alone.push(own);
          aloneTokens.push([`own-token-${a}`, `own-token-${a}`]);
        }
        const sharedSync = new Map<string, string | null>();
        const aloneSync = new Map<string, string | null>();
        for (const [step, op] of ops.entries()) {
          const key = `${op.account}/${op.device}`;
          const got = await apply(shared, sharedTokens[op.account]![op.device]!, op, sharedSync, key);
          const expected = await apply(alone[op.account]!, aloneTokens[op.account]![op.device]!, op, aloneSync, key);
          assert.deepEqual(got, expected, `step ${step}: ${JSON.stringify(op)}`);
        }
        for (let a = 0; a < ACCOUNTS; a++) {
          assert.deepEqual(await finalState(shared, sharedTokens[a]![0]!), await finalState(alone[a]!, aloneTokens[a]![0]!), `account ${a} at the end`);
        }
      } finally {
        await shared.close();
        for (const server of alone) await server.close();
      }
    }),
    { numRuns: RUNS },
  );
});
