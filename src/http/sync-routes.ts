import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import { refuseCompressedBodies } from './compressed-bodies.js';
import { releaseAllGarbageSoon } from '../garbage.js';
import { makePrivateDir } from '../private-files.js';
import { bodyReader } from './body-reader.js';
import { withClientWaiting } from './busy-socket.js';
import { sendStreamed } from './streamed-answer.js';
import type { SyncService } from '../sync/sync-service.js';
import { FileSource } from '../sync/upload-source.js';
import { accountOf } from './auth.js';

export interface SyncRouteOptions {
  service: SyncService;
  maxJsonBytes: number;
  /** Folder a full upload's body is received into (as a file unlinked at once), so that it is never held whole in memory. */
  uploadDir: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';
/** A body from this size on leaves enough garbage behind to be worth a collection of its own. */
const LARGE_BODY_BYTES = 4 * 1024 * 1024;

export async function syncRoutes(app: FastifyInstance, options: SyncRouteOptions): Promise<void> {
  const { service } = options;

  // Bodies are read as bytes whatever Content-Type the client sends, and parsed
  // by the service with plain JSON.parse: it keeps a "__proto__" key as an
  // ordinary field, which the item must round-trip unchanged.
  app.removeAllContentTypeParsers();
  refuseCompressedBodies(app);
  try {
    makePrivateDir(options.uploadDir);
  } catch {
    // Not writable: bodies are then read into memory (body-reader.ts).
  }
  const fullUpload = (request: FastifyRequest): boolean => request.method === 'POST' && request.routeOptions.url === '/sync';
  app.addContentTypeParser('*', bodyReader(options.maxJsonBytes, (request) => (fullUpload(request) ? options.uploadDir : undefined)));
  app.addHook('onResponse', async (request) => {
    const body = request.body;
    // The handler closes the file; this covers a request answered before it ran.
    if (body instanceof FileSource) body.close();
    // What a large body was read into is garbage now: collected once its answer is out (garbage.ts).
    if ((body instanceof FileSource || Buffer.isBuffer(body)) && body.length >= LARGE_BODY_BYTES) releaseAllGarbageSoon();
  });

  // The account (dataset) comes from the token, resolved by the auth hook.
  app.get('/sync', async (request, reply) => {
    const exported = await service.download(accountOf(request).accountId);
    if (!exported) throw ApiError.notFound('no data on the server yet: upload with POST /sync or POST /sync/delta first');
    return sendStreamed(request, reply.type(JSON_TYPE), exported);
  });

  app.post('/sync', async (request, reply) => {
    const body = request.body instanceof FileSource ? request.body : bodyBytes(request.body);
    try {
      await withClientWaiting(request, () => service.fullUpload(accountOf(request).accountId, body));
    } finally {
      if (body instanceof FileSource) body.close();
    }
    return reply.type(JSON_TYPE).send('{}');
  });

  app.post('/sync/delta', async (request, reply) => {
    const answer = await withClientWaiting(request, () => service.delta(accountOf(request).accountId, bodyBytes(request.body).toString('utf8')));
    if (typeof answer === 'string') return reply.type(JSON_TYPE).send(answer);
    return sendStreamed(request, reply.type(JSON_TYPE), answer);
  });
}

function bodyBytes(body: unknown): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.alloc(0);
}
