import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { addAccount } from '../helpers/cli.js';
import { openTestStore, tempDir } from '../helpers/server.js';
import { ON_POSTGRES } from '../helpers/test-store.js';
import { byId, Fleet, getDocument, POSTGRES_ONLY, postDelta, random, type DeltaAnswer, type Item, type Tombstone } from './fleet.js';

/*
 * Three server processes on one PostgreSQL database (scale-out.md), each with its
 * own clock, and devices syncing through whichever process, concurrently. Every
 * write is one transaction stamped under the dataset's row lock, so sorting the
 * requests by the serverTime they were answered replays the server's history
 * exactly: a model of the merge rules fed in that order says what each answer must
 * hold, and each answer is compared with it item by item. That checks that no
 * delta misses or repeats anything, across processes. The end state is checked
 * against what was sent, as the convergence property does.
 */

const SEED = Number(process.env['FLEET_SEED'] ?? Date.now() % 1_000_000);
const HOUR = 3_600_000;

interface Request {
  device: number;
  since: number | null;
  items: Item[];
  tombstones: Tombstone[];
  answer: DeltaAnswer;
  stamp: number;
  sentAt: number;
  answeredAt: number;
}

interface Device {
  clock: number;
  lastSyncTime?: string;
  replica: Map<string, Item>;
  deleted: Set<string>;
  pending: Map<string, Item>;
  pendingTombstones: Map<string, Tombstone>;
}

const timeOf = (item: Item): number => Date.parse(item.updatedAt);

test('devices of two accounts syncing through three processes with skewed clocks converge, and every delta answers exactly what changed', { skip: !ON_POSTGRES && POSTGRES_ONLY, timeout: 180_000 }, async (t) => {
  t.diagnostic(`FLEET_SEED=${SEED}`);
  const rand = random(SEED);
  const dataDir = tempDir(t);
  const store = await openTestStore(dataDir);
  const { token } = await addAccount(store, 'anna');
  await store.close();
  const fleet = await Fleet.start(t, dataDir, [0, -90_000, 120_000]);
  // The default account (AUTH_TOKEN) and anna at the same time, through the same processes.
  await Promise.all([syncAccount(t, fleet, rand, 'default', undefined), syncAccount(t, fleet, rand, 'anna', token)]);
});

/** One account's devices, concurrently, then the checks: stamps and deltas are per account. */
async function syncAccount(t: TestContext, fleet: Fleet, rand: () => number, label: string, token: string | undefined): Promise<void> {
  const account = label;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const ids = Array.from({ length: 12 }, (_, i) => `g${i}`);
  const devices: Device[] = [-5 * HOUR, 0, 2 * HOUR, 30_000, -1000].map((clock) => ({
    clock,
    replica: new Map(),
    deleted: new Set(),
    pending: new Map(),
    pendingTombstones: new Map(),
  }));
  const requests: Request[] = [];
  const sent = new Map<string, Item[]>();
  const sentTombstones = new Set<string>();
  let revs = 0;

  const edit = (d: number): void => {
    const device = devices[d]!;
    const id = pick(ids);
    if (device.deleted.has(id)) return;
    const now = new Date(Date.now() + device.clock + Math.floor(rand() * 5000)).toISOString();
    if (rand() < 0.08) {
      device.pending.delete(id);
      device.replica.delete(id);
      device.deleted.add(id);
      device.pendingTombstones.set(id, { id, type: 'gym', deletedAt: now });
      sentTombstones.add(id);
      return;
    }
    const item: Item = { id, rev: `d${d}-${++revs}`, updatedAt: now, name: `gym ${id} from device ${d}` };
    device.pending.set(id, item);
    device.replica.set(id, item);
  };

  const sync = async (d: number): Promise<void> => {
    const device = devices[d]!;
    const items = [...device.pending.values()];
    const tombstones = [...device.pendingTombstones.values()];
    const body = { ...(device.lastSyncTime === undefined ? {} : { lastSyncTime: device.lastSyncTime }), gyms: items, deletedItems: tombstones };
    const sentAt = performance.now();
    // Only what is sent counts: a later edit (with a clock that jitters, perhaps an
    // older updatedAt) replaces a pending one that then never leaves the device.
    for (const item of items) sent.set(item.id, [...(sent.get(item.id) ?? []), item]);
    const answer = await postDelta(pick(fleet.servers), body, token);
    const answeredAt = performance.now();
    const since = device.lastSyncTime === undefined ? null : Date.parse(device.lastSyncTime);
    requests.push({ device: d, since, items, tombstones, answer, stamp: Date.parse(answer.serverTime), sentAt, answeredAt });
    device.pending.clear();
    device.pendingTombstones.clear();
    for (const tombstone of answer.deletedItems) {
      device.deleted.add(tombstone.id);
      device.replica.delete(tombstone.id);
    }
    for (const item of answer.gyms) {
      const mine = device.replica.get(item.id);
      if (!device.deleted.has(item.id) && (!mine || timeOf(item) >= timeOf(mine))) device.replica.set(item.id, item);
    }
    device.lastSyncTime = answer.serverTime;
  };

  // Concurrently: every device edits and syncs in rounds of its own.
  await Promise.all(
    devices.map(async (_, d) => {
      for (let round = 0; round < 25; round++) {
        const edits = Math.floor(rand() * 4);
        for (let e = 0; e < edits; e++) edit(d);
        await sync(d);
      }
    }),
  );
  // Then each device syncs twice more, one after the other, to pick up everything.
  for (let pass = 0; pass < 2; pass++) for (let d = 0; d < devices.length; d++) await sync(d);

  // Stamps: one per write, strictly rising in the order the writes happened, whichever process took it.
  const stamps = requests.map((r) => r.stamp);
  assert.equal(new Set(stamps).size, stamps.length, 'two writes got the same stamp');
  for (const later of requests) {
    for (const earlier of requests) {
      if (earlier.answeredAt < later.sentAt) assert.ok(earlier.stamp < later.stamp, `a write answered before another was sent has a later stamp (${earlier.stamp} ≥ ${later.stamp})`);
    }
  }

  // Replay in stamp order through the merge rules; each answer must be exactly what the model says.
  const model = new Map<string, { item: Item; stamp: number }>();
  const gone = new Map<string, number>();
  let lastStamp = 0;
  for (const request of [...requests].sort((a, b) => a.stamp - b.stamp)) {
    const s = request.stamp;
    const since = request.since === null || request.since > lastStamp ? -1 : request.since;
    const echoItems = new Set<string>();
    const echoTombstones = new Set<string>();
    for (const tombstone of request.tombstones) {
      if (gone.has(tombstone.id)) continue;
      gone.set(tombstone.id, s);
      model.delete(tombstone.id);
    }
    for (const item of request.items) {
      const deletedAt = gone.get(item.id);
      if (deletedAt !== undefined) {
        if (deletedAt < s) echoTombstones.add(item.id);
        continue;
      }
      const current = model.get(item.id);
      if (!current || timeOf(item) > timeOf(current.item)) model.set(item.id, { item, stamp: s });
      else if (current.item.rev !== item.rev) echoItems.add(item.id);
    }
    const expectedItems = [...model.values()]
      .filter(({ stamp }) => stamp > since && stamp < s)
      .concat([...echoItems].map((id) => model.get(id)!).filter(({ stamp }) => stamp <= since))
      .map(({ item }) => `${item.id}@${item.rev}`);
    // Its own new deletions too (stamped s): only items are spared the echo.
    const expectedTombstones = [...gone]
      .filter(([id, stamp]) => (stamp > since && stamp <= s) || (echoTombstones.has(id) && stamp <= since))
      .map(([id]) => id);
    const label = `device ${request.device}, delta since ${request.since === null ? 'never' : new Date(request.since).toISOString()} answered at ${request.answer.serverTime}`;
    assert.deepEqual(request.answer.gyms.map((i) => `${i.id}@${i.rev}`).sort(), expectedItems.sort(), `${account}: ${label}: items missed or repeated`);
    assert.deepEqual(request.answer.deletedItems.map((d) => d.id).sort(), expectedTombstones.sort(), `${account}: ${label}: deletions missed or repeated`);
    lastStamp = s;
  }

  // The end state, through every process: the newest version anyone sent, unless deleted; every device agrees.
  const documents = await Promise.all(fleet.servers.map((server) => getDocument(server, token)));
  for (const document of documents.slice(1)) assert.deepEqual(byId(document.gyms), byId(documents[0]!.gyms), 'two processes serve different data');
  const served = new Map(documents[0]!.gyms.map((item) => [item.id, item]));
  for (const [id, versions] of sent) {
    if (sentTombstones.has(id)) {
      assert.equal(served.get(id), undefined, `${id} was deleted but is served`);
      continue;
    }
    const newest = Math.max(...versions.map(timeOf));
    assert.ok(versions.some((v) => timeOf(v) === newest && v.rev === served.get(id)?.rev), `${id}: the newest version sent was lost`);
  }
  assert.deepEqual(documents[0]!.deletedItems.map((d) => d.id).sort(), [...sentTombstones].sort());
  devices.forEach((device, d) => assert.deepEqual(byId([...device.replica.values()]), byId(documents[0]!.gyms), `device ${d} differs from GET /sync`));
  t.diagnostic(`${label}: ${requests.length} deltas through 3 processes, ${revs} versions, ${sentTombstones.size} deletions`);
}
