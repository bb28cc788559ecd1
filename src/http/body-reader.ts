import { closeSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { errorCodes, type FastifyRequest } from 'fastify';
import { GarbageMeter } from '../garbage.js';
import { openUnlinked, writeAllAt } from '../private-files.js';
import { ApiError } from '../errors.js';
import { FileSource } from '../sync/upload-source.js';
import { NOT_UTF8_BODY, Utf8Check } from '../sync/utf8-check.js';

/** Where a body is received to: a Buffer, or a FileSource in a folder when `fileDir` names one for this request. */
export type FileDir = (request: FastifyRequest) => string | undefined;

/**
 * A content-type parser that reads the body into one Buffer, as Fastify's own
 * `parseAs: 'buffer'` does (same limit, same errors), except that a body whose
 * Content-Length is known is copied straight into a buffer of that size. Fastify
 * collects the chunks and concatenates them at the end, which holds the body
 * twice at once: for a 200 MiB upload on a 1 GiB machine that is the difference.
 *
 * The body is checked to be UTF-8 as it arrives (utf8-check.ts).
 *
 * Where `fileDir` names a folder, the body goes to a file there instead, read
 * back in windows (a full upload): it is then never in memory whole, and the
 * file is unlinked as soon as it is opened, so nothing is left behind by a crash.
 */
export function bodyReader(limit: number, fileDir: FileDir = () => undefined) {
  return (request: FastifyRequest, payload: IncomingMessage, done: (err: Error | null, body?: Buffer | FileSource) => void): void => {
    const declared = Number(request.headers['content-length']);
    if (declared > limit) {
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    const known = Number.isInteger(declared) && declared >= 0;
    const dir = fileDir(request);
    let fd: number | undefined;
    try {
      fd = dir === undefined ? undefined : openUnlinked(dir, '.upload-');
    } catch {
      // A folder the server cannot write to (a read-only DATA_DIR next to PostgreSQL): in memory, as before.
      fd = undefined;
    }
    const whole = known && fd === undefined ? Buffer.allocUnsafe(declared) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    // The socket's chunks are copied and dropped: without this they all stay resident until the body is done with.
    const garbage = fd !== undefined || whole ? new GarbageMeter() : undefined;
    const utf8 = new Utf8Check();

    const finish = (err: Error | null, body?: Buffer | FileSource): void => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
      if (err && fd !== undefined) closeSync(fd);
      done(err, body);
    };
    const onData = (chunk: Buffer): void => {
      if (received + chunk.length > limit || (known && received + chunk.length > declared)) {
        finish(known ? new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH() : new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
        return;
      }
      if (fd !== undefined) {
        try {
          writeAllAt(fd, chunk, received);
        } catch (err) {
          finish(err as Error);
          return;
        }
      } else if (whole) {
        chunk.copy(whole, received);
      } else {
        chunks.push(chunk);
      }
      received += chunk.length;
      utf8.add(chunk);
      garbage?.add(chunk.length);
    };
    const onEnd = (): void => {
      if (known && received !== declared) finish(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      else if (!utf8.ok) finish(ApiError.badRequest(NOT_UTF8_BODY));
      else finish(null, fd !== undefined ? new FileSource(fd, received) : (whole ?? Buffer.concat(chunks, received)));
    };
    const onError = (err: Error & { statusCode?: number }): void => {
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
      finish(err);
    };
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
    payload.resume();
  };
}
