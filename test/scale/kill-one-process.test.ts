import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { tempDir } from '../helpers/server.js';
import { ON_POSTGRES } from '../helpers/test-store.js';
import { download, patternedJpeg, upload } from '../images/fixtures.js';
import { byId, Fleet, getDocument, POSTGRES_ONLY, postDelta, random, type Item, type Tombstone } from './fleet.js';

/*
 * kill -9 of one of three processes at random moments while devices sync deltas
 * and upload images through all of them (scale-out.md): no acknowledged write is
 * lost, a write the kill cut short is whole or absent, and a request to a process
 * that was not killed never fails.
 */

const SEED = Number(process.env['FLEET_SEED'] ?? Date.now() % 1_000_000);
const KILLS = Number(process.env['FLEET_KILLS'] ?? 6);

test('kill -9 of one process at random moments loses no acknowledged write, and the others keep answering', { skip: !ON_POSTGRES && POSTGRES_ONLY, timeout: 180_000 }, async (t) => {
  t.diagnostic(`FLEET_SEED=${SEED}`);
  const rand = random(SEED);
  const fleet = await Fleet.start(t, tempDir(t), [0, 45_000, -45_000]);
  let stopping = false;
  let cutShort = 0;
  let acknowledged = 0;

  /** Runs a request on a random process; a failure is allowed only if that process was killed meanwhile. */
  const onAnyProcess = async <T>(task: (server: (typeof fleet.servers)[number]) => Promise<T>): Promise<T | undefined> => {
    const server = fleet.servers[Math.floor(rand() * fleet.servers.length)]!;
    try {
      const result = await task(server);
      acknowledged++;
      return result;
    } catch (err) {
      if (!fleet.killed.has(server)) throw new Error(`a process that was not killed failed a request: ${(err as Error).message}`, { cause: err });
      cutShort++;
      return undefined;
    }
  };

  // Deltas: each device edits ids of its own, with rising updatedAt, and keeps what was not acknowledged for the next try.
  const ackedItems = new Map<string, Item>();
  const ackedDeletions = new Set<string>();
  const everSent = new Map<string, Set<string>>();
  const devices = Array.from({ length: 4 }, async (_, d) => {
    const pending = new Map<string, Item>();
    const pendingDeletions = new Map<string, Tombstone>();
    let lastSyncTime: string | undefined;
    let clock = Date.parse('2025-01-01T00:00:00.000Z');
    for (let round = 0; !stopping || pending.size + pendingDeletions.size > 0; round++) {
      if (!stopping) {
        const id = `d${d}-g${Math.floor(rand() * 6)}`;
        clock += 1000;
        if (rand() < 0.1) {
          pending.delete(id);
          pendingDeletions.set(id, { id, type: 'gym', deletedAt: new Date(clock).toISOString() });
        } else if (!pendingDeletions.has(id) && !ackedDeletions.has(id)) {
          const item: Item = { id, rev: `${d}-${round}`, updatedAt: new Date(clock).toISOString(), name: `gym ${id}` };
          pending.set(id, item);
          everSent.set(id, (everSent.get(id) ?? new Set()).add(item.rev));
        }
      }
      const items = [...pending.values()];
      const deletions = [...pendingDeletions.values()];
      const answer = await onAnyProcess((server) => postDelta(server, { ...(lastSyncTime ? { lastSyncTime } : {}), gyms: items, deletedItems: deletions }));
      if (!answer) continue;
      lastSyncTime = answer.serverTime;
      for (const item of items) {
        ackedItems.set(item.id, item);
        if (pending.get(item.id) === item) pending.delete(item.id);
      }
      for (const deletion of deletions) {
        ackedDeletions.add(deletion.id);
        pendingDeletions.delete(deletion.id);
      }
    }
  });

  // Images: 0.3-1 MB each, several chunks; an acknowledged one must come back byte for byte.
  const ackedImages = new Map<string, Buffer>();
  const cutImages = new Map<string, Buffer[]>();
  const images = (async () => {
    for (let n = 0; !stopping; n++) {
      const name = `wall-${n % 5}.jpg`;
      const bytes = patternedJpeg(300_000 + Math.floor(rand() * 700_000), n);
      const answer = await onAnyProcess(async (server) => {
        const response = await upload(server, name, bytes);
        if (response.status !== 200) throw new Error(`upload answered ${response.status}`);
        return true;
      });
      if (answer) {
        ackedImages.set(name, bytes);
        cutImages.delete(name);
      } else {
        cutImages.set(name, [...(cutImages.get(name) ?? []), bytes]);
      }
    }
  })();

  for (let kill = 0; kill < KILLS; kill++) {
    await sleep(200 + rand() * 600);
    await fleet.restart(Math.floor(rand() * fleet.servers.length));
  }
  stopping = true;
  await Promise.all([...devices, images]);

  const documents = await Promise.all(fleet.servers.map((server) => getDocument(server)));
  for (const document of documents.slice(1)) assert.deepEqual(byId(document.gyms), byId(documents[0]!.gyms), 'two processes serve different data');
  const served = new Map(documents[0]!.gyms.map((item) => [item.id, item]));
  for (const [id, item] of ackedItems) {
    if (ackedDeletions.has(id)) {
      assert.equal(served.get(id), undefined, `${id}: an acknowledged deletion was lost`);
      continue;
    }
    const kept = served.get(id);
    assert.ok(kept, `${id}: an acknowledged write was lost`);
    assert.ok(Date.parse(kept.updatedAt) >= Date.parse(item.updatedAt), `${id}: an acknowledged version was replaced by an older one`);
    assert.ok(everSent.get(id)!.has(kept.rev), `${id}: the served version was never sent`);
  }
  for (const [name, bytes] of ackedImages) {
    const body = Buffer.from(await (await download(fleet.servers[0]!, name)).arrayBuffer());
    // A later upload the kill cut short may have committed before the kill: whole, never a part.
    const candidates = [bytes, ...(cutImages.get(name) ?? [])];
    assert.ok(candidates.some((c) => body.equals(c)), `${name}: not the acknowledged image, nor the whole of a later one`);
  }
  t.diagnostic(`${KILLS} kills, ${acknowledged} acknowledged requests, ${cutShort} cut short, ${ackedImages.size} images checked`);
});
