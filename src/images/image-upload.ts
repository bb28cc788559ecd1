import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ApiError } from '../errors.js';
import { NOT_AN_IMAGE, tooLarge } from './image-storage.js';
import { SNIFF_BYTES, sniffImageType, type ImageType } from './image-type.js';

export interface ReceivedImage {
  readonly size: number;
  readonly type: ImageType;
  /** SHA-256 of the content, base64url: the strong ETag. */
  readonly sha256: string;
}

/**
 * Reads an upload body chunk by chunk into `write`, for every image storage:
 * nothing reaches `write` until the first bytes show an image, and the size limit
 * (and the account's room) is checked as the bytes arrive. On any failure the rest of the body is drained
 * and the error is thrown for the caller to drop what it wrote.
 */
export async function receiveImage(
  source: Readable,
  maxBytes: number,
  write: (chunk: Buffer) => Promise<void>,
  room: { bytes: number; error(): ApiError } = { bytes: Infinity, error: () => tooLarge(maxBytes) },
): Promise<ReceivedImage> {
  const hash = createHash('sha256');
  let head: Buffer[] = [];
  let headBytes = 0;
  let type: ImageType | undefined;
  let size = 0;

  const writeChunk = async (chunk: Buffer): Promise<void> => {
    hash.update(chunk);
    await write(chunk);
  };
  const decideType = async (): Promise<void> => {
    type = sniffImageType(Buffer.concat(head, headBytes));
    if (type === undefined) throw ApiError.unsupportedMediaType(NOT_AN_IMAGE);
    await writeChunk(Buffer.concat(head, headBytes));
    head = [];
  };

  let completed = false;
  try {
    // destroyOnReturn: false, so that leaving the loop early (too large, not an
    // image) leaves the connection open for the error answer.
    for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw tooLarge(maxBytes);
      // An account's image quota: an upload that cannot fit stops early, before it is all read.
      if (size > room.bytes) throw room.error();
      if (type === undefined) {
        head.push(chunk);
        headBytes += chunk.length;
        if (headBytes >= SNIFF_BYTES) await decideType();
      } else {
        await writeChunk(chunk);
      }
    }
    completed = true;
    if (type === undefined) await decideType();
    return { size, type: type!, sha256: hash.digest('base64url') };
  } catch (err) {
    // The rest of a refused body is left unread: the HTTP layer reads and drops
    // it, up to a bound, after answering (http/lingering-close.ts).
    if (!completed) source.on('error', () => undefined);
    throw err;
  }
}

/**
 * A body cut short by the client is its fault (400), not the server's. One that
 * ended is destroyed too once read: what failed after it is the server's.
 */
export function interrupted(err: unknown, source: Readable): ApiError | undefined {
  if (err instanceof ApiError) return undefined;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || (source.destroyed && !source.readableEnded)) return ApiError.badRequest('the upload was interrupted before the body ended');
  return undefined;
}
