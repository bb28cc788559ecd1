/**
 * Every row a store holds, as `ascently-sync copy-store` moves it between SQLite
 * and PostgreSQL. Rows keep their stamps and their stored order (SQLite's rowid,
 * PostgreSQL's seq), so that after a move every device's next delta is answered
 * exactly as before and GET /sync lists items in the same order.
 */
export type CopyBatch =
  | { readonly kind: 'dataset'; readonly dataset: DatasetRecord }
  | { readonly kind: 'items'; readonly dataset: string; readonly rows: readonly ItemRecord[] }
  | { readonly kind: 'tombstones'; readonly dataset: string; readonly rows: readonly TombstoneRecord[] }
  | { readonly kind: 'history'; readonly dataset: string; readonly rows: readonly HistoryRecord[] }
  | { readonly kind: 'devices'; readonly dataset: string; readonly rows: readonly DeviceRecord[] }
  | { readonly kind: 'webSessions'; readonly dataset: string; readonly rows: readonly WebSessionRecord[] };

export interface DatasetRecord {
  readonly name: string;
  readonly lastStamp: number;
  readonly written: boolean;
  readonly extraJson: string;
  readonly createdAt: number;
  readonly maxBytes: number | null;
  readonly maxImageBytes: number | null;
  readonly jsonBytes: number;
}

/** Devices keep their ids and token hashes: every phone's token works on the copy. */
export interface DeviceRecord {
  readonly id: string;
  readonly name: string;
  readonly tokenSha256: Buffer;
  readonly fromEnv: boolean;
  readonly createdAt: number;
  readonly lastSeenAt: number | null;
  readonly lastSeenFrom: string | null;
}

export interface WebSessionRecord {
  readonly id: string;
  readonly idSha256: Buffer;
  readonly deviceId: string;
  readonly createdAt: number;
  readonly lastUsedAt: number;
  readonly lastUsedFrom: string | null;
}

export interface ItemRecord {
  readonly collection: string;
  readonly id: string;
  readonly updatedMs: number;
  readonly stamp: number;
  readonly json: string;
}

export interface TombstoneRecord {
  readonly typeKey: string;
  readonly id: string;
  readonly stamp: number;
  readonly json: string;
}

export interface HistoryRecord {
  readonly createdAt: number;
  readonly reason: string;
  readonly items: number;
  readonly tombstones: number;
  readonly rawBytes: number;
  readonly gzip: Buffer;
}

/** Rows per batch, both ways: one round trip each on PostgreSQL. */
export const COPY_BATCH_ROWS = 1000;

/**
 * What makes a store hold data, in SQL both stores speak: anything written, any
 * history, any account but `default`, any device but the AUTH_TOKEN one (which
 * starting a server on the empty target made).
 */
export const HOLDS_DATA = `SELECT EXISTS (SELECT 1 FROM datasets WHERE written OR name <> 'default')
  OR EXISTS (SELECT 1 FROM history) OR EXISTS (SELECT 1 FROM devices WHERE NOT from_env) OR EXISTS (SELECT 1 FROM web_sessions) AS held`;

export class TargetNotEmptyError extends Error {
  override name = 'TargetNotEmptyError';
}

/** Reads batches of rows (pages from a cursor) out of any iterator of rows. */
export async function* inBatches<T>(rows: AsyncIterable<T> | Iterable<T>): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const row of rows) {
    batch.push(row);
    if (batch.length === COPY_BATCH_ROWS) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
