import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ChildServer } from '../helpers/child-server.js';

/**
 * Workloads that run until the server is killed under them, each recording
 * what it sent and which requests were acknowledged, and the checks that the
 * state after a restart must pass. Ids carry the kill point number, so a later
 * check never confuses one round's writes with another's.
 */
type Doc = Record<string, unknown>;

export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function post(server: ChildServer, path: string, body: string): Promise<boolean> {
  try {
    const response = await server.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (response.status !== 200) throw new Error(`POST ${path} answered ${response.status}`);
    // The status line is the acknowledgement; the kill may still cut the body short.
    await response.arrayBuffer().catch(() => undefined);
    return true;
  } catch (err) {
    // The kill: the request died with the connection, acknowledged or not we cannot tell.
    if (err instanceof TypeError) return false;
    throw err;
  }
}

export interface Workload {
  /** Resolves once every client has seen the server die. */
  done: Promise<void>;
  /** Checks the state after the restart (`before` is GET /sync before the round); counts the writes cut short that landed. */
  verify(state: Doc, before: string, stateText: string, restarted: ChildServer): { cutShort: number; landed: number } | Promise<{ cutShort: number; landed: number }>;
  acknowledged(): number;
}

/** One client, full uploads back to back: each a new generation of 1,500 gyms. */
export function fullUploads(server: ChildServer, round: number): Workload {
  const sent: { generation: string; ids: string[]; acked: boolean }[] = [];
  const done = (async () => {
    for (let n = 0; ; n++) {
      const generation = `${round}-${n}`;
      const ids = Array.from({ length: 1500 }, (_, i) => `full-${generation}-${i}`);
      const gyms = ids.map((id) => ({ id, name: `gym ${id}`, updatedAt: '2024-01-15T10:30:00.000Z', notes: 'n'.repeat(100) }));
      const entry = { generation, ids, acked: false };
      sent.push(entry);
      entry.acked = await post(server, '/sync', JSON.stringify({ generation, gyms, deletedItems: [] }));
      if (!entry.acked) return;
    }
  })();
  return {
    done,
    acknowledged: () => sent.filter((s) => s.acked).length,
    verify(state, before, stateText) {
      const lastAcked = sent.filter((s) => s.acked).at(-1);
      const inFlight = sent.at(-1)!; // the one the kill cut short
      const found = sent.find((s) => s.generation === state['generation']);
      if (!found) {
        assert.equal(lastAcked, undefined, `acknowledged full upload ${lastAcked?.generation} is lost`);
        assert.equal(stateText, before, 'no upload committed, yet the data changed');
        return { cutShort: 1, landed: 0 };
      }
      assert.ok(found === inFlight || found === lastAcked, `state is generation ${found.generation}; last acknowledged ${lastAcked?.generation}`);
      const gyms = (state['gyms'] as Doc[]).map((g) => g['id']);
      assert.deepEqual(gyms, found.ids, `generation ${found.generation} is wholly there`);
      return { cutShort: 1, landed: found === inFlight ? 1 : 0 };
    },
  };
}

interface DeltaRequest {
  items: { collection: string; id: string }[];
  deletes: { collection: string; id: string }[];
  ghost: string;
  acked: boolean;
}

const TYPE_OF: Record<string, string> = { gyms: 'gym', problems: 'problem', sessions: 'session', attempts: 'attempt' };

/** Three devices sending deltas back to back: new items, deletions of their own earlier items, and a marker tombstone. */
export function deltas(server: ChildServer, round: number, clients = 3): Workload {
  const requests: DeltaRequest[][] = Array.from({ length: clients }, () => []);
  const done = Promise.all(
    requests.map(async (mine, client) => {
      for (let n = 0; ; n++) {
        const tag = `${round}-${client}-${n}`;
        const items = Object.keys(TYPE_OF).flatMap((collection) => Array.from({ length: 60 }, (_, i) => ({ collection, id: `delta-${tag}-${i}` })));
        const previous = mine.filter((r) => r.acked).at(-1);
        const deletes = previous ? previous.items.filter((_, i) => i % 20 === 0) : [];
        const request: DeltaRequest = { items, deletes, ghost: `ghost-${tag}`, acked: false };
        mine.push(request);
        const body: Doc = { lastSyncTime: null, deletedItems: [...deletes.map((d) => ({ id: d.id, type: TYPE_OF[d.collection], deletedAt: '2024-01-16T00:00:00.000Z' })), { id: request.ghost, type: 'gym', deletedAt: '2024-01-16T00:00:00.000Z' }] };
        for (const collection of Object.keys(TYPE_OF)) {
          body[collection] = items.filter((it) => it.collection === collection).map((it) => ({ id: it.id, status: 'COMPLETED', updatedAt: '2024-01-15T10:30:00.000Z', pad: 'p'.repeat(200) }));
        }
        request.acked = await post(server, '/sync/delta', JSON.stringify(body));
        if (!request.acked) return;
      }
    }),
  ).then(() => undefined);
  return {
    done,
    acknowledged: () => requests.flat().filter((r) => r.acked).length,
    verify(state) {
      const live = new Set(Object.keys(TYPE_OF).flatMap((c) => (state[c] as Doc[]).map((item) => `${c}/${String(item['id'])}`)));
      const tombstones = new Set((state['deletedItems'] as Doc[]).map((t) => `${String(t['type'])}/${String(t['id'])}`));
      const deleted = (d: { collection: string; id: string }): boolean => tombstones.has(`${TYPE_OF[d.collection]}/${d.id}`);
      const outcome = { cutShort: 0, landed: 0 };
      for (const mine of requests) {
        for (const [n, request] of mine.entries()) {
          const applied = tombstones.has(`gym/${request.ghost}`);
          if (request.acked) assert.ok(applied, `acknowledged delta ${request.ghost} is lost`);
          else {
            outcome.cutShort += 1;
            if (applied) outcome.landed += 1;
          }
          const where = `delta ${request.ghost} (${request.acked ? 'acknowledged' : 'cut short'}, ${applied ? 'applied' : 'absent'})`;
          const laterDeletes = new Set((mine[n + 1]?.deletes ?? []).map((d) => d.id));
          for (const item of request.items) {
            const present = live.has(`${item.collection}/${item.id}`);
            if (!applied) assert.ok(!present, `${where}: item ${item.id} is there without the rest`);
            else if (laterDeletes.has(item.id) && deleted(item)) assert.ok(!present, `${where}: ${item.id} deleted yet live`);
            else assert.ok(present, `${where}: item ${item.collection}/${item.id} is missing`);
          }
          for (const d of request.deletes) assert.equal(deleted(d), applied, `${where}: tombstone of ${d.id}`);
        }
      }
      return outcome;
    },
  };
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/**
 * One client uploading images back to back: new names, and one shared name
 * replaced again and again. After the restart every acknowledged image is there
 * byte for byte, the one cut short is whole or absent, and the shared name holds
 * one whole version; no file under a real name is anything else.
 */
export function imageUploads(server: ChildServer, round: number, imagesDir: string): Workload {
  // shared.png outlives the round: until this round replaces it, the old version
  // left by an earlier round is the one that must be there.
  const sharedPath = path.join(imagesDir, 'shared.png');
  const sharedBefore = existsSync(sharedPath) ? sha(readFileSync(sharedPath)) : undefined;
  const sent: { name: string; sha: string; acked: boolean }[] = [];
  const done = (async () => {
    for (let n = 0; ; n++) {
      const name = n % 2 === 0 ? `img-${round}-${n}.png` : 'shared.png';
      const bytes = Buffer.concat([PNG_MAGIC, randomBytes(200_000 + ((n * 7919) % 600_000))]);
      const entry = { name, sha: sha(bytes), acked: false };
      sent.push(entry);
      try {
        const response = await server.fetch(`/images/upload?filename=${name}`, { method: 'POST', body: bytes });
        if (response.status !== 200) throw new Error(`image upload answered ${response.status}`);
        entry.acked = true;
        await response.arrayBuffer().catch(() => undefined);
      } catch (err) {
        if (err instanceof TypeError) return;
        throw err;
      }
    }
  })();
  return {
    done,
    acknowledged: () => sent.filter((s) => s.acked).length,
    async verify(_state, _before, _text, restarted) {
      const onDisk = new Map(readdirSync(imagesDir).map((name) => [name, sha(readFileSync(path.join(imagesDir, name)))]));
      for (const name of onDisk.keys()) assert.ok(!name.startsWith('.'), `temporary file ${name} left after the restart`);
      const inFlight = sent.at(-1)!;
      let landed = 0;
      for (const entry of sent) {
        const versions = sent.filter((s) => s.name === entry.name);
        const lastAcked = versions.filter((s) => s.acked).at(-1);
        const stored = onDisk.get(entry.name);
        if (entry.acked && entry === lastAcked && !(inFlight.name === entry.name && stored === inFlight.sha)) {
          assert.equal(stored, entry.sha, `acknowledged image ${entry.name} is not there byte for byte`);
        }
        if (entry === inFlight) {
          const allowed = new Set([inFlight.sha, lastAcked?.sha ?? (entry.name === 'shared.png' ? sharedBefore : undefined)]);
          if (stored !== undefined) assert.ok(allowed.has(stored), `${entry.name} holds neither the old nor the new image: a partial write under the real name`);
          if (stored === inFlight.sha) landed = 1;
        }
      }
      // Through the server too: the one a device would fetch.
      const check = sent.filter((s) => s.acked && s.name !== inFlight.name).at(-1);
      if (check) {
        const response = await restarted.fetch(`/images/download?filename=${check.name}`);
        assert.equal(sha(Buffer.from(await response.arrayBuffer())), check.sha);
      }
      return { cutShort: 1, landed };
    },
  };
}
