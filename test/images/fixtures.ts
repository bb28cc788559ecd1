import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

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
