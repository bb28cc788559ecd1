import type pg from 'pg';
import { cursorRows, idIn, key, typeKeyIn, unkey } from './pg-rows.js';
import {
  HOLDS_DATA,
  TargetNotEmptyError,
  type CopyBatch,
  type DatasetRecord,
  type DeviceRecord,
  type HistoryRecord,
  type ItemRecord,
  type TombstoneRecord,
  type WebSessionRecord,
} from './store-copy.js';

/* PgStore's side of copy-store: the whole database read as batches, and batches written into an empty one. */

/** Every account with all it holds, from one REPEATABLE READ snapshot. */
export async function* readAllRows(pool: pg.Pool): AsyncGenerator<CopyBatch> {
  const db = await pool.connect();
  let broken: Error | undefined;
  try {
    await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows: datasets } = await db.query<DatasetRecord & { id: number }>(
      `SELECT id, name, last_stamp AS "lastStamp", written, extra_json AS "extraJson", created_at AS "createdAt",
         max_bytes AS "maxBytes", max_image_bytes AS "maxImageBytes", json_bytes AS "jsonBytes"
       FROM datasets ORDER BY id`,
    );
    for (const { id, ...d } of datasets) {
      const dataset = d.name;
      yield { kind: 'dataset', dataset: d };
      const devices = await db.query<DeviceRecord>(
        `SELECT id, name, token_sha256 AS "tokenSha256", from_env AS "fromEnv", created_at AS "createdAt", last_seen_at AS "lastSeenAt", last_seen_from AS "lastSeenFrom"
         FROM devices WHERE dataset_id = $1 ORDER BY created_at, id COLLATE "C"`,
        [id],
      );
      if (devices.rows.length > 0) yield { kind: 'devices', dataset, rows: devices.rows };
      const sessions = await db.query<WebSessionRecord>(
        `SELECT id, id_sha256 AS "idSha256", device_id AS "deviceId", created_at AS "createdAt", last_used_at AS "lastUsedAt", last_used_from AS "lastUsedFrom"
         FROM web_sessions WHERE dataset_id = $1 ORDER BY created_at, id COLLATE "C"`,
        [id],
      );
      if (sessions.rows.length > 0) yield { kind: 'webSessions', dataset, rows: sessions.rows };
      const items = 'SELECT collection, id, updated_ms AS "updatedMs", stamp, json FROM items WHERE dataset_id = $1 ORDER BY seq';
      for await (const rows of cursorRows<ItemRecord>(db, 'copy_items', items, [id])) yield { kind: 'items', dataset, rows: rows.map((r) => ({ ...r, id: unkey(r.id, idIn(r.json)) })) };
      const tombstones = 'SELECT type_key AS "typeKey", id, stamp, json FROM tombstones WHERE dataset_id = $1 ORDER BY seq';
      for await (const rows of cursorRows<TombstoneRecord>(db, 'copy_tombstones', tombstones, [id])) {
        yield { kind: 'tombstones', dataset, rows: rows.map((r) => ({ ...r, typeKey: unkey(r.typeKey, typeKeyIn(r.json)), id: unkey(r.id, idIn(r.json)) })) };
      }
      const history = 'SELECT created_at AS "createdAt", reason, items, tombstones, raw_bytes AS "rawBytes", gzip FROM history WHERE dataset_id = $1 ORDER BY id';
      for await (const rows of cursorRows<HistoryRecord>(db, 'copy_history', history, [id])) yield { kind: 'history', dataset, rows };
    }
    await db.query('COMMIT');
  } finally {
    // Also when the reader stopped early: the connection goes back to the pool outside any transaction.
    if (!broken) await db.query('ROLLBACK').catch((err: Error) => (broken = err));
    db.release(broken);
  }
}

/**
 * Writes the batches inside the caller's transaction; refuses a database that
 * already holds data, or with `replace` empties it first. Sequences go on where
 * they were, so an account id is never handed out twice.
 */
export async function writeAllRows(db: pg.PoolClient, batches: AsyncIterable<CopyBatch>, { replace }: { replace: boolean }): Promise<void> {
  // Servers still running on this database wait until the copy is over.
  await db.query('LOCK TABLE datasets IN EXCLUSIVE MODE');
  if (replace) {
    await db.query('TRUNCATE items, tombstones, history, image_chunks, retired_image_blobs, images, web_sessions, devices, removed_datasets, datasets');
  } else {
    const { rows } = await db.query<{ held: boolean }>(HOLDS_DATA);
    if (rows[0]!.held) throw new TargetNotEmptyError('the PostgreSQL database already holds data');
  }
  const ids = new Map<string, number>();
  for await (const batch of batches) {
    if (batch.kind === 'dataset') {
      const d = batch.dataset;
      const { rows: created } = await db.query<{ id: number }>(
        `INSERT INTO datasets (name, last_stamp, written, extra_json, created_at, max_bytes, max_image_bytes, json_bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (name) DO UPDATE SET last_stamp = excluded.last_stamp, written = excluded.written, extra_json = excluded.extra_json,
           created_at = excluded.created_at, max_bytes = excluded.max_bytes, max_image_bytes = excluded.max_image_bytes, json_bytes = excluded.json_bytes
         RETURNING id`,
        [d.name, d.lastStamp, d.written, d.extraJson, d.createdAt, d.maxBytes, d.maxImageBytes, d.jsonBytes],
      );
      ids.set(d.name, created[0]!.id);
      continue;
    }
    const datasetId = ids.get(batch.dataset)!;
    if (batch.kind === 'devices') {
      for (const r of batch.rows) {
        // The AUTH_TOKEN device a start of the target made is replaced by the source's.
        await db.query(
          `INSERT INTO devices (id, dataset_id, name, token_sha256, from_env, created_at, last_seen_at, last_seen_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO UPDATE SET dataset_id = excluded.dataset_id, name = excluded.name, token_sha256 = excluded.token_sha256, from_env = excluded.from_env,
             created_at = excluded.created_at, last_seen_at = excluded.last_seen_at, last_seen_from = excluded.last_seen_from`,
          [r.id, datasetId, r.name, r.tokenSha256, r.fromEnv, r.createdAt, r.lastSeenAt, r.lastSeenFrom],
        );
      }
      continue;
    }
    if (batch.kind === 'webSessions') {
      for (const r of batch.rows) {
        await db.query(
          'INSERT INTO web_sessions (id, id_sha256, dataset_id, device_id, created_at, last_used_at, last_used_from) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          [r.id, r.idSha256, datasetId, r.deviceId, r.createdAt, r.lastUsedAt, r.lastUsedFrom],
        );
      }
      continue;
    }
    if (batch.kind === 'items') {
      const r = batch.rows;
      await db.query(
        `INSERT INTO items (dataset_id, collection, id, updated_ms, stamp, json)
         SELECT $1, k.collection, k.id, k.time, k.stamp, k.json
         FROM unnest($2::text[], $3::text[], $4::float8[], $5::bigint[], $6::text[]) WITH ORDINALITY AS k(collection, id, time, stamp, json, n) ORDER BY k.n`,
        [datasetId, r.map((i) => i.collection), r.map((i) => key(i.id)), r.map((i) => i.updatedMs), r.map((i) => i.stamp), r.map((i) => i.json)],
      );
    } else if (batch.kind === 'tombstones') {
      const r = batch.rows;
      await db.query(
        `INSERT INTO tombstones (dataset_id, type_key, id, stamp, json)
         SELECT $1, k.type_key, k.id, k.stamp, k.json
         FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[]) WITH ORDINALITY AS k(type_key, id, stamp, json, n) ORDER BY k.n`,
        [datasetId, r.map((t) => key(t.typeKey)), r.map((t) => key(t.id)), r.map((t) => t.stamp), r.map((t) => t.json)],
      );
    } else {
      for (const h of batch.rows) {
        await db.query('INSERT INTO history (dataset_id, created_at, reason, items, tombstones, raw_bytes, gzip) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          datasetId,
          h.createdAt,
          h.reason,
          h.items,
          h.tombstones,
          h.rawBytes,
          h.gzip,
        ]);
      }
    }
  }
}
