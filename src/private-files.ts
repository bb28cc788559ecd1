import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * The data folder holds the token and every climber's data: folders the server
 * creates are 0700 and its files 0600, whatever the umask. A folder that already
 * exists keeps its mode (the owner chose it); the files in it are still private.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * Creates `file` empty and 0600 if it is missing, and makes it 0600 if an earlier
 * version left it readable by others. SQLite gives its -wal and -shm files the
 * database file's mode, so this is enough for all three.
 */
export function makePrivateFile(file: string): void {
  if (!existsSync(file)) {
    closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
    return;
  }
  try {
    chmodSync(file, PRIVATE_FILE_MODE);
  } catch {
    // Not our file to change (another owner): leave it as it is.
  }
}

/**
 * A new private file in `dir`, named `prefix` and random hex, opened for reading
 * and writing and already unlinked: it goes with its descriptor, whatever ends
 * the process, so a body received into it leaves nothing behind.
 */
export function openUnlinked(dir: string, prefix: string): number {
  const file = path.join(dir, `${prefix}${randomBytes(12).toString('hex')}`);
  const fd = openSync(file, 'wx+', PRIVATE_FILE_MODE);
  try {
    unlinkSync(file);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** Writes all of `chunk` at `position`; it goes to the page cache, so a synchronous call is short. */
export function writeAllAt(fd: number, chunk: Buffer, position: number): void {
  for (let written = 0; written < chunk.length; ) written += writeSync(fd, chunk, written, chunk.length - written, position + written);
}
