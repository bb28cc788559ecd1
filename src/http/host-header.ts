import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';

/**
 * An HTTP/1.1 request without a Host header is a 400 (RFC 9112 §3.2). Node
 * refused it itself, with an empty body and before Fastify saw it (no request
 * line in the log); the server leaves that to this hook instead, so that the
 * refusal says what is wrong in the JSON every other one has.
 */
export function requireHostHeader(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.headers.host !== undefined || request.raw.httpVersion !== '1.1') return done();
    done(ApiError.badRequest('the Host header is missing: an HTTP/1.1 request must send one'));
  });
}
