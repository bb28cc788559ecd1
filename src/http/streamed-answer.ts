import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** A document read from the store page by page while it is sent; `close` releases that read. */
export interface StreamedDocument {
  readonly chunks: AsyncIterable<string>;
  close(): void;
}

/**
 * Sends a streamed document and releases its read once the answer is done with,
 * finished or not; a client that hung up before its end is logged (such a request
 * gets no request line). HEAD gets the headers alone: Fastify would otherwise read
 * the whole document for nothing, after the answer's end had closed the read.
 */
export function sendStreamed(request: FastifyRequest, reply: FastifyReply, document: StreamedDocument): FastifyReply {
  if (request.method === 'HEAD') {
    document.close();
    return reply.send(Readable.from([]));
  }
  reply.raw.once('close', () => {
    document.close();
    if (!reply.raw.writableFinished) request.log.info({ method: request.method, route: request.routeOptions.url, ms: Math.round(reply.elapsedTime) }, 'client hung up before the answer ended');
  });
  return reply.send(Readable.from(document.chunks));
}
