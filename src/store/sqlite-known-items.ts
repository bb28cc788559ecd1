import type { Collection } from '../sync/model.js';
import type { KnownItem, KnownItems } from '../sync/upload-scan.js';
import type { Database } from './sqlite-driver.js';

/** Stored items read at a time: their texts as one Buffer, their ids, times and lengths as rows. */
const BATCH_ROWS = 1024;

interface Batch {
  /** The last rowid read so far; undefined once the collection is read to its end. */
  after: number | undefined;
  texts: Buffer;
  ids: string[];
  times: number[];
  lengths: number[];
  /** The next row, and where its text starts in `texts`. */
  row: number;
  offset: number;
}

/**
 * A dataset's stored items in the export's order for the full-upload scan
 * (KnownItems), from `reader`, a connection in a read transaction. One query a
 * batch: its aggregates see the rows in one and the same order, so each id, time
 * and length belongs to the text at the same place, whatever that order is.
 */
export function knownItems(reader: Database, datasetId: number): KnownItems {
  const batchOf = reader
    .prepare(
      `SELECT max(r), json_group_array(id), json_group_array(t), json_group_array(n), CAST(group_concat(json, '') AS BLOB) FROM (
         SELECT rowid AS r, id, updated_ms AS t, octet_length(json) AS n, json FROM items INDEXED BY items_in_order
         WHERE dataset_id = ? AND collection = ? AND rowid > ? ORDER BY rowid LIMIT ${BATCH_ROWS})`,
    )
    .raw();
  const batches = new Map<Collection, Batch>();
  const current = (collection: Collection): Batch | undefined => {
    let batch = batches.get(collection);
    if (!batch) {
      batch = { after: -1, texts: Buffer.alloc(0), ids: [], times: [], lengths: [], row: 0, offset: 0 };
      batches.set(collection, batch);
    }
    if (batch.row < batch.ids.length) return batch;
    if (batch.after === undefined) return undefined;
    const [last, ids, times, lengths, texts] = batchOf.get(datasetId, collection, batch.after) as [number | null, string, string, string, Buffer | null];
    if (last === null || texts === null) {
      batch.after = undefined;
      return undefined;
    }
    batch.ids = JSON.parse(ids) as string[];
    batch.times = JSON.parse(times) as number[];
    batch.lengths = JSON.parse(lengths) as number[];
    if (batch.lengths.reduce((sum, n) => sum + n, 0) !== texts.length) throw new Error('stored item lengths do not add up to their texts');
    batch.texts = texts;
    batch.row = 0;
    batch.offset = 0;
    batch.after = last;
    return batch;
  };
  return {
    peek(collection): KnownItem | undefined {
      const batch = current(collection);
      if (!batch) return undefined;
      return { bytes: batch.texts.subarray(batch.offset, batch.offset + batch.lengths[batch.row]!), id: batch.ids[batch.row]!, time: batch.times[batch.row]! };
    },
    skip(collection): void {
      const batch = current(collection);
      if (!batch) return;
      batch.offset += batch.lengths[batch.row]!;
      batch.row += 1;
    },
  };
}
