import type pg from 'pg';
import { tombstoneTypeOf, type Collection } from '../sync/model.js';
import { nextStamp } from '../sync/stamps.js';
import type { LockedDataset } from './pg-store.js';
import { insertTombstones, key, upsertItems, WRITE_ROWS } from './pg-rows.js';
import { checkQuota } from './quota.js';
import { DatasetWritten, type FullUploadWrite } from './store.js';

/**
 * PgStore's full upload, inside the transaction that holds the dataset's row
 * lock: the items in batches (an unchanged one keeps its stamp), then what the
 * upload left out and the deletions it revives, the quota, and a history
 * snapshot if anything changed. The snapshot reads the state before this
 * transaction, on a connection of its own.
 */
export async function writeFullUpload(db: pg.PoolClient, datasetId: number, dataset: LockedDataset, upload: FullUploadWrite, now: number): Promise<{ stamp: number }> {
  if (upload.onlyIfNeverWritten) {
    // Read under the row lock: a write another process committed before it was taken is seen.
    const { rows } = await db.query<{ written: boolean }>('SELECT written FROM datasets WHERE id = $1', [datasetId]);
    if (rows[0]!.written) throw new DatasetWritten();
  }
  const stamp = nextStamp(dataset.last_stamp, now);
  const { items, tombstones, extraFieldsJson } = upload.plan;
  let changed = 0;
  const collections: string[] = [];
  const ids: string[] = [];
  for (let start = 0; start < items.length; start += WRITE_ROWS) {
    const batch: { collection: Collection; id: string; time: number; json: string }[] = [];
    for (let p = start; p < Math.min(items.length, start + WRITE_ROWS); p++) {
      const item = { collection: items.collection(p), id: items.id(p), time: items.time(p), json: items.json(p) };
      batch.push(item);
      collections.push(item.collection);
      ids.push(key(item.id));
    }
    changed += await upsertItems(db, datasetId, stamp, batch);
  }
  const itemsWritten = changed;
  // What the upload left out goes, without tombstones: other devices keep their own data.
  const leftOut = await db.query(
    `DELETE FROM items i WHERE i.dataset_id = $1 AND NOT EXISTS
       (SELECT 1 FROM unnest($2::text[], $3::text[]) AS k(collection, id) WHERE k.collection = i.collection AND k.id = i.id)`,
    [datasetId, collections, ids],
  );
  // An uploaded live item outlives its old deletion.
  const revived = await db.query(
    `DELETE FROM tombstones t USING unnest($2::text[], $3::text[]) AS k(type_key, id)
     WHERE t.dataset_id = $1 AND t.type_key = k.type_key AND t.id = k.id`,
    [datasetId, collections.map((c) => tombstoneTypeOf(c as Collection)), ids],
  );
  changed += (leftOut.rowCount ?? 0) + (revived.rowCount ?? 0) + (await insertTombstones(db, datasetId, stamp, tombstones));
  const { rows } = await db.query<{ extra_json: string; bytes: string }>(
    `SELECT extra_json, (SELECT coalesce(sum(octet_length(json)), 0) FROM items WHERE dataset_id = $1)
          + (SELECT coalesce(sum(octet_length(json)), 0) FROM tombstones WHERE dataset_id = $1) AS bytes
     FROM datasets WHERE id = $1`,
    [datasetId],
  );
  // Counted afresh, in UTF-8 bytes as stored, as the quota counts them.
  const bytes = Number(rows[0]!.bytes);
  // An upload that writes no new or changed item only deletes: it passes, whatever its tombstones weigh (as a delta does).
  if (itemsWritten > 0) checkQuota(dataset, bytes);
  if (changed > 0 || rows[0]!.extra_json !== extraFieldsJson) {
    const snapshot = upload.snapshot ? await upload.snapshot() : undefined;
    if (snapshot) {
      const { reason, items: count, tombstones: tombstoneCount, rawBytes, gzip } = snapshot;
      await db.query('INSERT INTO history (dataset_id, created_at, reason, items, tombstones, raw_bytes, gzip) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        datasetId,
        now,
        reason,
        count,
        tombstoneCount,
        rawBytes,
        gzip,
      ]);
    }
    // Down to HISTORY_KEEP with or without a new snapshot: 0 keeps none, earlier ones included.
    await db.query('DELETE FROM history WHERE dataset_id = $1 AND id NOT IN (SELECT id FROM history WHERE dataset_id = $1 ORDER BY id DESC LIMIT $2)', [datasetId, upload.historyKeep]);
  }
  await db.query('UPDATE datasets SET last_stamp = $2, written = true, extra_json = $3, json_bytes = $4 WHERE id = $1', [datasetId, stamp, extraFieldsJson, bytes]);
  return { stamp };
}
