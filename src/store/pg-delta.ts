import type pg from 'pg';
import { itemKey, planDelta } from '../sync/merge.js';
import { emptyCollections, type Collection } from '../sync/model.js';
import { deltaSince, FROM_SCRATCH, nextStamp } from '../sync/stamps.js';
import type { DeltaRequest } from '../sync/validate.js';
import type { LockedDataset } from './pg-store.js';
import { key, readForDelta } from './pg-rows.js';
import { checkQuota } from './quota.js';

/**
 * PgStore's delta, inside the transaction that holds the dataset's row lock: the
 * merge written in one statement, and the answer but for what a from-scratch
 * delta streams (HeldAnswer): the changed rows read, this request's echoes, and
 * its own tombstones.
 */
export async function writeDelta(
  db: pg.PoolClient,
  datasetId: number,
  dataset: LockedDataset,
  request: DeltaRequest,
  now: number,
): Promise<{ stamp: number; fromScratch: boolean; items: Record<Collection, string[]>; tombstones: string[] }> {
  const stamp = nextStamp(dataset.last_stamp, now);
  const since = deltaSince(request.lastSyncMs, dataset.last_stamp);
  const fromScratch = since === FROM_SCRATCH;
  const read = await readForDelta(db, datasetId, request, fromScratch ? Number.MAX_SAFE_INTEGER : since);
  const plan = planDelta(read.state, request.changes);

  const put = plan.put;
  const removed = plan.remove;
  const added = plan.addTombstones;
  // The stored JSON's size, kept exact row by row for the quota.
  let bytes = dataset.json_bytes;
  for (const r of removed) bytes -= Buffer.byteLength(read.state.item(r.collection, r.id)?.json ?? '');
  for (const t of added) bytes += Buffer.byteLength(t.json);
  for (const i of put) bytes += Buffer.byteLength(i.json) - Buffer.byteLength(read.state.item(i.collection, i.id)?.json ?? '');
  // A delta that sends only deletions always passes, whatever its tombstones
  // weigh. Decided by what the device sent, as on SQLite: one that also sends
  // items is checked even when its own tombstones cancel them.
  if (request.changes.items.length > 0) checkQuota(dataset, bytes);
  await db.query(
    `WITH removed AS (
       DELETE FROM items i USING unnest($3::text[], $4::text[]) AS k(collection, id)
       WHERE i.dataset_id = $1 AND i.collection = k.collection AND i.id = k.id),
     deleted AS (
       INSERT INTO tombstones (dataset_id, type_key, id, stamp, json)
       SELECT $1, k.type_key, k.id, $2, k.json
       FROM unnest($5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS k(type_key, id, json, n) ORDER BY k.n
       ON CONFLICT DO NOTHING),
     put AS (
       INSERT INTO items (dataset_id, collection, id, updated_ms, stamp, json)
       SELECT $1, k.collection, k.id, k.time, $2, k.json
       FROM unnest($8::text[], $9::text[], $10::float8[], $11::text[]) WITH ORDINALITY AS k(collection, id, time, json, n) ORDER BY k.n
       ON CONFLICT (dataset_id, collection, id) DO UPDATE SET updated_ms = excluded.updated_ms, stamp = excluded.stamp, json = excluded.json)
     UPDATE datasets SET last_stamp = $2, written = true, json_bytes = $12 WHERE id = $1`,
    [
      datasetId,
      stamp,
      removed.map((r) => r.collection),
      removed.map((r) => key(r.id)),
      added.map((t) => key(t.typeKey)),
      added.map((t) => key(t.id)),
      added.map((t) => t.json),
      put.map((i) => i.collection),
      put.map((i) => key(i.id)),
      put.map((i) => i.time),
      put.map((i) => i.json),
      bytes,
    ],
  );

  const rewritten = new Set([...put, ...removed].map((i) => itemKey(i.collection, i.id)));
  const items = emptyCollections();
  for (const row of read.changedItems) if (!rewritten.has(itemKey(row.collection, row.id))) items[row.collection].push(row.json);
  for (const echo of plan.echoItems) if (echo.stamp === undefined || echo.stamp <= since) items[echo.collection].push(echo.json);
  // Only items are spared the echo (section 3): this request's own tombstones are stamped after lastSyncTime, so answered.
  const tombstones = [...read.changedTombstones.map((r) => r.json), ...added.map((t) => t.json)];
  for (const echo of plan.echoTombstones) if (echo.stamp <= since) tombstones.push(echo.json);
  return { stamp, fromScratch, items, tombstones };
}
