import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** A document read from the store page by page while it is sent; `close` releases that read. */
export interface StreamedDocument {
  readonly chunks: AsyncIterable<string>;
  close(): void;
}

/**
 * Sends a streamed document and releases its read once the answer is done with,
 * finished or not; an answer that did not end (a client that hung up, a read that
 * failed) is logged, since such a request gets no request line. HEAD gets the
 * headers alone: Fastify would otherwise read the whole document for nothing,
 * after the answer's end had closed the read.
 */
export function sendStreamed(request: FastifyRequest, reply: FastifyReply, document: StreamedDocument): FastifyReply {
  if (request.method === 'HEAD') {
    document.close();
    return reply.send(Readable.from([]));
  }
  const source = Readable.from(document.chunks);
  // A read that fails once the headers are out (the database dropped its connection) can only cut the answer short: said as such.
  let failure: unknown;
  source.once('error', (err) => (failure = err));
  reply.raw.once('close', () => {
    document.close();
    if (reply.raw.writableFinished) return;
    const line = { method: request.method, route: request.routeOptions.url, ms: Math.round(reply.elapsedTime) };
    if (failure === undefined) request.log.info(line, 'client hung up before the answer ended');
    else request.log.error({ ...line, err: failure }, 'the answer was cut short: reading it from the store failed');
  });
  return reply.send(source);
}
