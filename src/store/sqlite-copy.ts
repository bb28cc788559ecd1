import { Database, type Statement } from './sqlite-driver.js';
import {
  HOLDS_DATA,
  inBatches,
  TargetNotEmptyError,
  type CopyBatch,
  type DeviceRecord,
  type HistoryRecord,
  type ItemRecord,
  type TombstoneRecord,
  type WebSessionRecord,
} from './store-copy.js';

/* SqliteStore's side of copy-store: the whole database read as batches, and batches written into an empty one. */

interface DatasetCopyRow {
  id: number;
  name: string;
  last_stamp: number;
  written: number;
  extra_json: string;
  created_at: number;
  max_bytes: number | null;
  max_image_bytes: number | null;
  json_bytes: number;
}

/** Every account with all it holds, from one read transaction on a connection of its own. */
export async function* readAllRows(file: string): AsyncGenerator<CopyBatch> {
  const reader = new Database(file, { readonly: true, fileMustExist: true });
  try {
    reader.exec('BEGIN');
    const datasets = reader.prepare('SELECT id, name, last_stamp, written, extra_json, created_at, max_bytes, max_image_bytes, json_bytes FROM datasets ORDER BY id').all() as DatasetCopyRow[];
    for (const d of datasets) {
      const dataset = d.name;
      yield {
        kind: 'dataset',
        dataset: {
          name: d.name,
          lastStamp: d.last_stamp,
          written: d.written === 1,
          extraJson: d.extra_json,
          createdAt: d.created_at,
          maxBytes: d.max_bytes,
          maxImageBytes: d.max_image_bytes,
          jsonBytes: d.json_bytes,
        },
      };
      const devices = reader.prepare(
        `SELECT id, name, token_sha256 AS tokenSha256, from_env AS fromEnv, created_at AS createdAt, last_seen_at AS lastSeenAt, last_seen_from AS lastSeenFrom
         FROM devices WHERE dataset_id = ? ORDER BY created_at, id`,
      );
      const deviceRows = (devices.all(d.id) as (Omit<DeviceRecord, 'fromEnv'> & { fromEnv: number })[]).map((r) => ({ ...r, fromEnv: r.fromEnv === 1 }));
      if (deviceRows.length > 0) yield { kind: 'devices', dataset, rows: deviceRows };
      const sessions = reader.prepare(
        `SELECT id, id_sha256 AS idSha256, device_id AS deviceId, created_at AS createdAt, last_used_at AS lastUsedAt, last_used_from AS lastUsedFrom
         FROM web_sessions WHERE dataset_id = ? ORDER BY created_at, id`,
      );
      const sessionRows = sessions.all(d.id) as WebSessionRecord[];
      if (sessionRows.length > 0) yield { kind: 'webSessions', dataset, rows: sessionRows };
      // rowid order: the order items were first stored, which GET /sync lists and deltas break ties by.
      const items = reader.prepare('SELECT collection, id, updated_ms AS updatedMs, stamp, json FROM items WHERE dataset_id = ? ORDER BY rowid');
      for await (const rows of inBatches(items.iterate(d.id) as Iterable<ItemRecord>)) yield { kind: 'items', dataset, rows };
      const tombstones = reader.prepare('SELECT type_key AS typeKey, id, stamp, json FROM tombstones WHERE dataset_id = ? ORDER BY rowid');
      for await (const rows of inBatches(tombstones.iterate(d.id) as Iterable<TombstoneRecord>)) yield { kind: 'tombstones', dataset, rows };
      const history = reader.prepare(
        'SELECT created_at AS createdAt, reason, items, tombstones, raw_bytes AS rawBytes, gzip FROM history WHERE dataset_id = ? ORDER BY id',
      );
      for await (const rows of inBatches(history.iterate(d.id) as Iterable<HistoryRecord>)) yield { kind: 'history', dataset, rows };
    }
  } finally {
    if (reader.inTransaction) reader.exec('COMMIT');
    reader.close();
  }
}

/** Writes the batches in one transaction on `db`, which the CLI holds alone; refuses a database that already holds data. */
export async function writeAllRows(db: Database, file: string, insertHistory: Statement, batches: AsyncIterable<CopyBatch>): Promise<void> {
  const upsertDataset = db.prepare(
    `INSERT INTO datasets (name, last_stamp, written, extra_json, created_at, max_bytes, max_image_bytes, json_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET last_stamp = excluded.last_stamp, written = excluded.written, extra_json = excluded.extra_json,
       created_at = excluded.created_at, max_bytes = excluded.max_bytes, max_image_bytes = excluded.max_image_bytes, json_bytes = excluded.json_bytes
     RETURNING id`,
  );
  // The AUTH_TOKEN device a start of the target made is replaced by the source's.
  const upsertDevice = db.prepare(
    `INSERT INTO devices (id, dataset_id, name, token_sha256, from_env, created_at, last_seen_at, last_seen_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET dataset_id = excluded.dataset_id, name = excluded.name, token_sha256 = excluded.token_sha256, from_env = excluded.from_env,
       created_at = excluded.created_at, last_seen_at = excluded.last_seen_at, last_seen_from = excluded.last_seen_from`,
  );
  const insertSession = db.prepare(
    'INSERT INTO web_sessions (id, id_sha256, dataset_id, device_id, created_at, last_used_at, last_used_from) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertItem = db.prepare('INSERT INTO items (dataset_id, collection, id, updated_ms, stamp, json) VALUES (?, ?, ?, ?, ?, ?)');
  const insertTombstone = db.prepare('INSERT INTO tombstones (dataset_id, type_key, id, stamp, json) VALUES (?, ?, ?, ?, ?)');
  // The CLI holds this connection alone: the transaction may stay open across awaits.
  db.exec('BEGIN IMMEDIATE');
  try {
    if (db.prepare(HOLDS_DATA).pluck().get() === 1) throw new TargetNotEmptyError(`${file} already holds data`);
    const ids = new Map<string, number>();
    for await (const batch of batches) {
      if (batch.kind === 'dataset') {
        const d = batch.dataset;
        ids.set(d.name, (upsertDataset.get(d.name, d.lastStamp, d.written ? 1 : 0, d.extraJson, d.createdAt, d.maxBytes, d.maxImageBytes, d.jsonBytes) as { id: number }).id);
        continue;
      }
      const datasetId = ids.get(batch.dataset)!;
      if (batch.kind === 'devices') {
        for (const r of batch.rows) upsertDevice.run(r.id, datasetId, r.name, r.tokenSha256, r.fromEnv ? 1 : 0, r.createdAt, r.lastSeenAt, r.lastSeenFrom);
        continue;
      }
      if (batch.kind === 'webSessions') {
        for (const r of batch.rows) insertSession.run(r.id, r.idSha256, datasetId, r.deviceId, r.createdAt, r.lastUsedAt, r.lastUsedFrom);
        continue;
      }
      if (batch.kind === 'items') for (const r of batch.rows) insertItem.run(datasetId, r.collection, r.id, r.updatedMs, r.stamp, r.json);
      else if (batch.kind === 'tombstones') for (const r of batch.rows) insertTombstone.run(datasetId, r.typeKey, r.id, r.stamp, r.json);
      else for (const r of batch.rows) insertHistory.run(datasetId, r.createdAt, r.reason, r.items, r.tombstones, r.rawBytes, r.gzip);
    }
    db.exec('COMMIT');
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
  }
}
