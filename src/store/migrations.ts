import type { Database } from './sqlite-driver.js';

/**
 * Numbered schema migrations, applied in order at start; `PRAGMA user_version`
 * records how many have run. Never edit a released migration: add a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: datasets, items and tombstones keyed by dataset from the start, so that
  // several accounts can share one server without a schema rewrite.
  `
  CREATE TABLE datasets (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    last_stamp  INTEGER NOT NULL DEFAULT 0,
    written     INTEGER NOT NULL DEFAULT 0,
    extra_json  TEXT NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL
  );
  CREATE TABLE items (
    dataset_id  INTEGER NOT NULL REFERENCES datasets(id),
    collection  TEXT NOT NULL,
    id          TEXT NOT NULL,
    updated_ms  REAL NOT NULL,
    stamp       INTEGER NOT NULL,
    json        TEXT NOT NULL,
    PRIMARY KEY (dataset_id, collection, id)
  );
  CREATE INDEX items_by_stamp ON items (dataset_id, stamp);
  -- An index entry ends with the rowid, so this one lists a collection in the
  -- order its items were first stored: GET /sync returns an upload in its order.
  CREATE INDEX items_in_order ON items (dataset_id, collection);
  CREATE TABLE tombstones (
    dataset_id  INTEGER NOT NULL REFERENCES datasets(id),
    type_key    TEXT NOT NULL,
    id          TEXT NOT NULL,
    stamp       INTEGER NOT NULL,
    json        TEXT NOT NULL,
    PRIMARY KEY (dataset_id, type_key, id)
  );
  CREATE INDEX tombstones_by_stamp ON tombstones (dataset_id, stamp);
  CREATE TABLE history (
    id            INTEGER PRIMARY KEY,
    dataset_id    INTEGER NOT NULL REFERENCES datasets(id),
    created_at    INTEGER NOT NULL,
    reason        TEXT NOT NULL,
    items         INTEGER NOT NULL,
    tombstones    INTEGER NOT NULL,
    raw_bytes     INTEGER NOT NULL,
    gzip          BLOB NOT NULL
  );
  CREATE INDEX history_by_dataset ON history (dataset_id, id);
  `,
  // 2: what the server knows about each stored image (type, content hash for the
  // ETag), checked against the file's size, mtime and inode before use: the files
  // in IMAGES_DIR stay the truth (src/images/image-index.ts).
  `
  CREATE TABLE images (
    name      TEXT PRIMARY KEY,
    size      INTEGER NOT NULL,
    mtime_ns  TEXT NOT NULL,
    ino       TEXT NOT NULL,
    type      TEXT,
    sha256    TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // 3: accounts. A dataset is an account; the data written before accounts
  // existed is the `default` account's. Each device holds a token of which only
  // the SHA-256 is kept, looked up by its unique index. The JSON byte count is
  // kept per account for quotas, counted once here from what is stored.
  // Removed account ids are remembered so that a new account never takes the id
  // (and so the image folder) of a removed one. The image index gains the account.
  `
  ALTER TABLE datasets ADD COLUMN max_bytes INTEGER;
  ALTER TABLE datasets ADD COLUMN max_image_bytes INTEGER;
  ALTER TABLE datasets ADD COLUMN json_bytes INTEGER NOT NULL DEFAULT 0;
  UPDATE datasets SET json_bytes =
      coalesce((SELECT sum(length(CAST(json AS BLOB))) FROM items WHERE dataset_id = datasets.id), 0)
    + coalesce((SELECT sum(length(CAST(json AS BLOB))) FROM tombstones WHERE dataset_id = datasets.id), 0);
  INSERT OR IGNORE INTO datasets (name, created_at)
    VALUES ('default', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
  CREATE TABLE devices (
    id              TEXT PRIMARY KEY,
    dataset_id      INTEGER NOT NULL REFERENCES datasets(id),
    name            TEXT NOT NULL,
    token_sha256    BLOB NOT NULL UNIQUE,
    from_env        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER,
    last_seen_from  TEXT
  );
  CREATE INDEX devices_by_dataset ON devices (dataset_id);
  CREATE TABLE web_sessions (
    id              TEXT PRIMARY KEY,
    id_sha256       BLOB NOT NULL UNIQUE,
    dataset_id      INTEGER NOT NULL REFERENCES datasets(id),
    device_id       TEXT NOT NULL REFERENCES devices(id),
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER NOT NULL,
    last_used_from  TEXT
  );
  CREATE INDEX web_sessions_by_dataset ON web_sessions (dataset_id);
  CREATE INDEX web_sessions_by_device ON web_sessions (device_id);
  CREATE TABLE removed_datasets (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    removed_at  INTEGER NOT NULL
  );
  CREATE TABLE account_images (
    dataset_id  INTEGER NOT NULL,
    name        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    mtime_ns    TEXT NOT NULL,
    ino         TEXT NOT NULL,
    type        TEXT,
    sha256      TEXT NOT NULL,
    PRIMARY KEY (dataset_id, name)
  ) WITHOUT ROWID;
  INSERT INTO account_images (dataset_id, name, size, mtime_ns, ino, type, sha256)
    SELECT (SELECT id FROM datasets WHERE name = 'default'), name, size, mtime_ns, ino, type, sha256 FROM images;
  DROP TABLE images;
  ALTER TABLE account_images RENAME TO images;
  `,
  // 4: the stamp index holds each collection's rows together. A device syncing
  // from scratch reads a collection in stamp order: with (dataset_id, stamp)
  // alone, each of the four reads walked every row of the dataset and fetched it
  // to test its collection.
  `
  DROP INDEX items_by_stamp;
  CREATE INDEX items_by_stamp ON items (dataset_id, collection, stamp);
  `,
];

/** SQLite's schema version of this release: a database's `user_version` past it was written by a newer one. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

/** A database a newer release migrated: this one cannot know what its schema means, so it leaves it alone. */
export class NewerSchemaError extends Error {
  override name = 'NewerSchemaError';
  constructor(
    readonly store: 'sqlite' | 'postgres',
    applied: number,
    known: number,
  ) {
    super(`the database was written by a newer ascently-sync (schema ${applied}; this one knows ${known}): run that version or a newer one, or restore a backup this one made`);
  }
}

export function migrate(db: Database): void {
  const applied = db.pragma('user_version', { simple: true }) as number;
  if (applied > MIGRATIONS.length) throw new NewerSchemaError('sqlite', applied, MIGRATIONS.length);
  for (let version = applied; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
