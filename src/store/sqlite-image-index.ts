import type { Database } from './sqlite-driver.js';
import type { ImageIndex, ImageMeta } from '../images/image-index.js';

/**
 * The image index in the server's SQLite file (table `images`, migrations 2 and 3) rather
 * than in sidecar files: a sidecar beside `x.jpg` would itself be a valid image
 * name, and one table is one fsync per upload instead of a second file and rename.
 */
export class SqliteImageIndex implements ImageIndex {
  private readonly statements;

  constructor(db: Database) {
    this.statements = {
      get: db.prepare('SELECT size, mtime_ns AS mtimeNs, ino, type, sha256 FROM images WHERE dataset_id = ? AND name = ?'),
      put: db.prepare(
        `INSERT INTO images (dataset_id, name, size, mtime_ns, ino, type, sha256) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (dataset_id, name) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, ino = excluded.ino,
           type = excluded.type, sha256 = excluded.sha256`,
      ),
      delete: db.prepare('DELETE FROM images WHERE dataset_id = ? AND name = ?'),
    };
  }

  async get(datasetId: number, name: string): Promise<ImageMeta | undefined> {
    return this.statements.get.get(datasetId, name) as ImageMeta | undefined;
  }

  async put(datasetId: number, name: string, meta: ImageMeta): Promise<void> {
    this.statements.put.run(datasetId, name, meta.size, meta.mtimeNs, meta.ino, meta.type, meta.sha256);
  }

  async delete(datasetId: number, name: string): Promise<void> {
    this.statements.delete.run(datasetId, name);
  }
}
