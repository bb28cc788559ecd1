import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';

/** Requests that sent `Expect: 100-continue` and whose body nothing has asked for yet. */
const awaitingContinue = new WeakSet<IncomingMessage>();
/** Requests whose Expect asks for something else, which no server of ours can meet. */
const unmetExpectation = new WeakSet<IncomingMessage>();

/**
 * `Expect: 100-continue` (curl sends it for bodies over 1 MiB, OkHttp when the
 * app asks) lets a client hear a refusal before it sends the body. Node answered
 * `100 Continue` as soon as the headers came, before the token or the declared
 * size was looked at, so a refused upload was sent whole all the same. The 100 is
 * now sent when something first reads the body: a request refused before that (no
 * or wrong token, throttled, too large by its Content-Length, a Content-Encoding,
 * no such route) gets its final answer alone, and Node closes the connection after
 * it, since the client may or may not send the body then (RFC 9110 §10.1.1).
 * A refusal that needs the body's first bytes (not an image) still asks for it.
 */
export function installExpectContinue(app: FastifyInstance): void {
  app.server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    if (!hasBody(request)) {
      // Nothing to wait for: as Node did, so that the connection is kept.
      response.writeContinue();
    } else {
      awaitingContinue.add(request);
      const read = request._read;
      request._read = function readAfterContinue(this: IncomingMessage, size: number): void {
        if (awaitingContinue.delete(request) && !response.headersSent) response.writeContinue();
        read.call(this, size);
      };
    }
    app.server.emit('request', request, response);
  });
  // Any other expectation is refused with 417 (RFC 9110 §10.1.1). Node answered it
  // itself with an empty body, unlogged; now as any refusal is, through Fastify.
  app.server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    unmetExpectation.add(request);
    app.server.emit('request', request, response);
  });
  app.addHook('onRequest', (request, _reply, done) => {
    if (!unmetExpectation.has(request.raw)) return done();
    const named = JSON.stringify(String(request.headers.expect).replace(/[^\x20-\x7e]/g, '?').slice(0, 60));
    done(new ApiError(417, 'expectation_failed', `Expect ${named} cannot be met: the only expectation this server knows is "100-continue"`));
  });
}

/**
 * For a request refused before its body was read: whether its client still waits
 * for a `100 Continue`, which it will now never get (reading what it may send
 * anyway no longer asks for the rest).
 */
export function declineBody(request: IncomingMessage): boolean {
  return awaitingContinue.delete(request);
}

/** Whether the request declared a body. */
export function hasBody(request: IncomingMessage): boolean {
  return request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
}
