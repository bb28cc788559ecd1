import type Database from 'better-sqlite3';

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
];

export function migrate(db: Database.Database): void {
  const applied = db.pragma('user_version', { simple: true }) as number;
  if (applied > MIGRATIONS.length) {
    throw new Error(`the database was written by a newer ascently-sync (schema ${applied}, this one knows ${MIGRATIONS.length})`);
  }
  for (let version = applied; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
