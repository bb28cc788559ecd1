import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';

/**
 * Compressed request bodies are refused, not inflated: the apps never compress
 * what they send, and inflating would let a small request grow past its limit (a
 * gzip bomb), or store an image's compressed bytes as the image. An empty header,
 * or `identity`, is no encoding.
 */
export function refuseCompressedBodies(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const encoding = request.headers['content-encoding'];
    if (request.method === 'GET' || request.method === 'HEAD' || encoding === undefined || /^\s*(identity)?\s*$/i.test(encoding)) return done();
    const named = JSON.stringify(encoding.replace(/[^\x20-\x7e]/g, '?').slice(0, 60));
    done(ApiError.unsupportedMediaType(`Content-Encoding ${named} is not accepted: send the request body uncompressed`));
  });
}
