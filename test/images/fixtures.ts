import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pgOf, type TestServer } from '../helpers/server.js';

/** Why a test of files in IMAGES_DIR is skipped in the PostgreSQL half. */
export const FILES_ONLY = 'about files in IMAGES_DIR: with PostgreSQL, images are kept in the database';

/** Real 1x1 images, one of each accepted type (checked with file(1) when written down). */
export const TINY_IMAGES = {
  'image/png': Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64'),
  'image/gif': Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64'),
  'image/webp': Buffer.from('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==', 'base64'),
  'image/jpeg': Buffer.from(
    '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
    'base64',
  ),
} as const;

/** A JPEG signature followed by `size` bytes of a pattern seeded by `seed`: large and recognisable. */
export function patternedJpeg(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  bytes[0] = 0xff;
  bytes[1] = 0xd8;
  bytes[2] = 0xff;
  return bytes;
}

/** Every file under `dir`, as relative paths, sorted. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string): void => {
    for (const name of readdirSync(current)) {
      const full = path.join(current, name);
      out.push(path.relative(dir, full));
      if (statSync(full).isDirectory()) walk(full);
    }
  };
  walk(dir);
  return out.sort();
}

export function upload(server: { fetch(p: string, init?: RequestInit): Promise<Response> }, name: string, body: RequestInit['body'], contentType?: string): Promise<Response> {
  const headers: Record<string, string> = contentType === undefined ? {} : { 'content-type': contentType };
  return server.fetch(`/images/upload?filename=${encodeURIComponent(name)}`, { method: 'POST', body, headers });
}

export function download(server: { fetch(p: string, init?: RequestInit): Promise<Response> }, name: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Response> {
  return server.fetch(`/images/download?filename=${encodeURIComponent(name)}`, { method, headers });
}

/**
 * What the image storage holds, whichever it is: the file names in IMAGES_DIR
 * (temporary files included), or the image names in PostgreSQL plus a marker for
 * chunks no name points at (what a half-kept upload would leave), those of
 * replaced images kept for the downloads still reading them excepted.
 */
export async function storedImages(server: TestServer): Promise<string[]> {
  const pg = pgOf(server);
  if (!pg) return readdirSync(server.config.imagesDir);
  const names = (await pg.pool.query<{ name: string }>('SELECT name FROM images ORDER BY name')).rows.map((r) => r.name);
  const stray = await pg.pool.query('SELECT 1 FROM image_chunks WHERE blob_id NOT IN (SELECT blob_id FROM images UNION ALL SELECT blob_id FROM retired_image_blobs) LIMIT 1');
  return stray.rows.length > 0 ? [...names, '(chunks of no image)'] : names;
}

/** The stored bytes of one image, read behind the server's back; undefined when there is none. */
export async function storedImage(server: TestServer, name: string): Promise<Buffer | undefined> {
  const pg = pgOf(server);
  if (!pg) return existsSync(path.join(server.config.imagesDir, name)) ? readFileSync(path.join(server.config.imagesDir, name)) : undefined;
  const { rows } = await pg.pool.query<{ bytes: Buffer }>(
    'SELECT c.bytes FROM images i JOIN image_chunks c ON c.blob_id = i.blob_id WHERE i.name = $1 ORDER BY c.chunk_no',
    [name],
  );
  return rows.length === 0 ? undefined : Buffer.concat(rows.map((r) => r.bytes));
}

/**
 * Puts an image (or any bytes, on the file store) in place behind the server's
 * back with the given modification time, as a copy from elsewhere or an old upload.
 */
export async function plantImage(server: TestServer, name: string, bytes: Buffer, modified: Date): Promise<void> {
  const pg = pgOf(server);
  if (!pg) {
    writeFileSync(path.join(server.config.imagesDir, name), bytes);
    utimesSync(path.join(server.config.imagesDir, name), modified, modified);
    return;
  }
  const response = await upload(server, name, bytes);
  if (response.status !== 200) throw new Error(`could not plant ${name}: ${response.status}`);
  await pg.pool.query('UPDATE images SET modified_ms = $2 WHERE name = $1', [name, modified.getTime()]);
}

