import type pg from 'pg';
import { NewerSchemaError } from './migrations.js';

/**
 * The PostgreSQL schema as numbered migrations, the twin of migrations.ts. Table
 * `schema_migrations` records which have run. Never edit a released migration:
 * add a new one.
 */
export const PG_MIGRATIONS: readonly string[] = [
  // 1: the same tables as SQLite's migration 1. `seq` stands in for SQLite's rowid:
  // an upsert keeps it, so GET /sync lists a collection in the order its items were
  // first stored and a delta breaks ties between equal stamps the same way.
  `
  CREATE TABLE datasets (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    last_stamp  bigint NOT NULL DEFAULT 0,
    written     boolean NOT NULL DEFAULT false,
    extra_json  text NOT NULL DEFAULT '{}',
    created_at  bigint NOT NULL
  );
  CREATE TABLE items (
    dataset_id  integer NOT NULL REFERENCES datasets(id),
    collection  text NOT NULL,
    id          text NOT NULL,
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    updated_ms  double precision NOT NULL,
    stamp       bigint NOT NULL,
    json        text NOT NULL,
    PRIMARY KEY (dataset_id, collection, id)
  );
  CREATE INDEX items_by_stamp ON items (dataset_id, stamp, seq);
  CREATE INDEX items_in_order ON items (dataset_id, collection, seq);
  CREATE TABLE tombstones (
    dataset_id  integer NOT NULL REFERENCES datasets(id),
    type_key    text NOT NULL,
    id          text NOT NULL,
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    stamp       bigint NOT NULL,
    json        text NOT NULL,
    PRIMARY KEY (dataset_id, type_key, id)
  );
  CREATE INDEX tombstones_by_stamp ON tombstones (dataset_id, stamp, seq);
  CREATE TABLE history (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataset_id  integer NOT NULL REFERENCES datasets(id),
    created_at  bigint NOT NULL,
    reason      text NOT NULL,
    items       integer NOT NULL,
    tombstones  integer NOT NULL,
    raw_bytes   bigint NOT NULL,
    gzip        bytea NOT NULL
  );
  CREATE INDEX history_by_dataset ON history (dataset_id, id);
  `,
  // 2: images live in the database, so that server processes share nothing else;
  // each account's are its own. An upload writes its chunks under a fresh blob id
  // and points the name at it in the same transaction: a name always names a whole image.
  `
  CREATE SEQUENCE image_blob_ids;
  CREATE TABLE images (
    dataset_id   integer NOT NULL REFERENCES datasets(id),
    name         text NOT NULL,
    blob_id      bigint NOT NULL,
    size         bigint NOT NULL,
    type         text,
    sha256       text NOT NULL,
    modified_ms  bigint NOT NULL,
    chunk_bytes  integer NOT NULL,
    PRIMARY KEY (dataset_id, name)
  );
  CREATE TABLE image_chunks (
    blob_id   bigint NOT NULL,
    chunk_no  integer NOT NULL,
    bytes     bytea NOT NULL,
    PRIMARY KEY (blob_id, chunk_no)
  );
  `,
  // 3: accounts (a dataset each, with quotas and the exact size of its stored
  // JSON), their devices and the dashboard's web sessions, as SQLite's migration 3.
  // Only SHA-256 hashes of tokens and session ids are kept. An identity column
  // never hands out an id twice, so removed accounts need no table to avoid reuse.
  `
  ALTER TABLE datasets ADD COLUMN max_bytes bigint;
  ALTER TABLE datasets ADD COLUMN max_image_bytes bigint;
  ALTER TABLE datasets ADD COLUMN json_bytes bigint NOT NULL DEFAULT 0;
  INSERT INTO datasets (name, created_at) VALUES ('default', (extract(epoch FROM now()) * 1000)::bigint) ON CONFLICT (name) DO NOTHING;
  CREATE TABLE devices (
    id              text PRIMARY KEY,
    dataset_id      integer NOT NULL REFERENCES datasets(id),
    name            text NOT NULL,
    token_sha256    bytea NOT NULL UNIQUE,
    from_env        boolean NOT NULL DEFAULT false,
    created_at      bigint NOT NULL,
    last_seen_at    bigint,
    last_seen_from  text
  );
  CREATE INDEX devices_by_dataset ON devices (dataset_id);
  CREATE TABLE web_sessions (
    id              text PRIMARY KEY,
    id_sha256       bytea NOT NULL UNIQUE,
    dataset_id      integer NOT NULL REFERENCES datasets(id),
    device_id       text NOT NULL REFERENCES devices(id),
    created_at      bigint NOT NULL,
    last_used_at    bigint NOT NULL,
    last_used_from  text
  );
  CREATE INDEX web_sessions_by_dataset ON web_sessions (dataset_id);
  CREATE INDEX web_sessions_by_device ON web_sessions (device_id);
  CREATE TABLE removed_datasets (
    id          integer PRIMARY KEY,
    name        text NOT NULL,
    removed_at  bigint NOT NULL
  );
  `,
  // 4: keys longer than 1000 bytes are kept as their SHA-256 (pg-rows.ts, key()):
  // a longer id no longer fails the write, and the ones stored before (a b-tree
  // entry took them when they compressed well) are hashed the same way. A key
  // with an escape in it (a backslash or U+0000 in the id) is left as it was.
  `
  UPDATE items SET id = '\\h' || encode(sha256(convert_to(id, 'UTF8')), 'hex') WHERE octet_length(id) > 1000 AND strpos(id, '\\') = 0;
  UPDATE tombstones SET id = '\\h' || encode(sha256(convert_to(id, 'UTF8')), 'hex') WHERE octet_length(id) > 1000 AND strpos(id, '\\') = 0;
  UPDATE tombstones SET type_key = '\\h' || encode(sha256(convert_to(type_key, 'UTF8')), 'hex') WHERE octet_length(type_key) > 1000 AND strpos(type_key, '\\') = 0;
  `,
  // 5: a download reads its image's chunks in short queries, holding no connection
  // while its client is slow; so an image replaced meanwhile keeps its chunks for
  // a while (pg-image-storage.ts, RETIRED_BLOB_GRACE_MS) instead of losing them at once.
  `
  CREATE TABLE retired_image_blobs (
    blob_id     bigint PRIMARY KEY,
    retired_ms  bigint NOT NULL
  );
  `,
];

/** Any constant will do, as long as it is this program's own: pg_advisory_lock keys are per database. */
const MIGRATION_LOCK = 0x61736331; // "asc1"

/**
 * Applies what has not run yet, under an advisory lock, so that several processes
 * starting together migrate once: the others wait, then find nothing to do.
 */
export async function migratePg(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)');
      const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
      const applied = rows[0]?.version ?? 0;
      if (applied > PG_MIGRATIONS.length) throw new NewerSchemaError('postgres', applied, PG_MIGRATIONS.length);
      for (let version = applied; version < PG_MIGRATIONS.length; version++) {
        await client.query('BEGIN');
        try {
          await client.query(PG_MIGRATIONS[version]!);
          await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [version + 1, Date.now()]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
