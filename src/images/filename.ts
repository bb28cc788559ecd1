import path from 'node:path';
import { ApiError } from '../errors.js';

/**
 * A plain name: letters, digits, `.`, `_`, `-`, 1-255 characters, not starting with
 * a dot. Everything that could name another folder (separators, `..`, NUL, a drive
 * letter's colon) falls outside the alphabet, so no decoding trick can get through:
 * the query string is already percent-decoded when it reaches us, and the decoded
 * text is what is checked. A leading dot is refused so that hidden files, and our
 * own `.upload-*.tmp` files, can never be named by a client.
 */
const PLAIN_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;

export function isPlainImageName(name: string): boolean {
  return PLAIN_NAME.test(name) && !name.includes('..');
}

/** The `filename` query parameter as a plain name, or a 400; no disk access happens before this. */
export function requireImageName(raw: unknown): string {
  if (raw === undefined || raw === '') throw ApiError.badRequest('filename is required: ?filename=NAME');
  if (typeof raw !== 'string') throw ApiError.badRequest('give filename once');
  if (!isPlainImageName(raw)) {
    throw ApiError.badRequest('filename must be 1-255 letters, digits, ".", "_" or "-", not starting with a dot and without ".."');
  }
  return raw;
}

/**
 * The file's path inside `dir`. The name check above already rules out escaping;
 * this second check guards against a future change to that check.
 */
export function imagePath(dir: string, name: string): string {
  const root = path.resolve(dir);
  const resolved = path.resolve(root, name);
  if (path.dirname(resolved) !== root) throw ApiError.badRequest('filename must name a file inside the image folder');
  return resolved;
}
