import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';
import type { SyncService } from '../sync/sync-service.js';

export interface SyncRouteOptions {
  service: SyncService;
  datasetId: number;
  maxJsonBytes: number;
}

const JSON_TYPE = 'application/json; charset=utf-8';

export async function syncRoutes(app: FastifyInstance, options: SyncRouteOptions): Promise<void> {
  const { service, datasetId } = options;

  // Bodies are read as bytes whatever Content-Type the client sends, and parsed
  // by the service with plain JSON.parse: it keeps a "__proto__" key as an
  // ordinary field, which the item must round-trip unchanged.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.maxJsonBytes }, (_request, body, done) => done(null, body));

  app.get('/sync', async (_request, reply) => {
    const exported = await service.openExport(datasetId);
    if (!exported) throw ApiError.notFound('no data on the server yet: upload with POST /sync or POST /sync/delta first');
    // Finished, aborted or HEAD: the export's read connection is released either way.
    reply.raw.once('close', exported.close);
    return reply.type(JSON_TYPE).send(Readable.from(exported.chunks));
  });

  app.post('/sync', async (request, reply) => {
    await service.fullUpload(datasetId, bodyText(request.body));
    return reply.type(JSON_TYPE).send('{}');
  });

  app.post('/sync/delta', async (request, reply) => {
    const answer = await service.delta(datasetId, bodyText(request.body));
    return reply.type(JSON_TYPE).send(answer);
  });
}

function bodyText(body: unknown): string {
  return Buffer.isBuffer(body) ? body.toString('utf8') : '';
}
