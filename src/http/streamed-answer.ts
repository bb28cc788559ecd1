import type { Socket } from 'node:net';
import { finished, Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** A document read from the store page by page while it is sent; `close` releases that read. */
export interface StreamedDocument {
  readonly chunks: AsyncIterable<string | Buffer>;
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
  const stopWatching = dropWhenUntaken(reply, request.server.initialConfig.connectionTimeout ?? 60_000);
  // An answer queued behind another on a pipelining connection has no socket yet,
  // and Node neither closes nor finishes it when that connection goes: finished()
  // below never ran for it, and its read (on PostgreSQL, a connection and one of
  // the account's streamed answers) stayed open for good. The connection's end ends it.
  let ended = false;
  let forgetConnection = (): void => undefined;
  const end = (): void => {
    if (ended) return;
    ended = true;
    forgetConnection();
    stopWatching();
    document.close();
    if (reply.raw.writableFinished) return;
    const line = { method: request.method, route: request.routeOptions.url, ms: Math.round(reply.elapsedTime) };
    if (failure === undefined) request.log.info(line, 'client hung up before the answer ended');
    else request.log.error({ ...line, err: failure }, 'the answer was cut short: reading it from the store failed');
  };
  // finished(), not a 'close' listener: a client that hung up while the read was
  // being opened had closed the answer already, and a listener added now would
  // never run, leaving the read open for good. So for the connection too.
  finished(reply.raw, end);
  forgetConnection = whenConnectionEnds(request.raw.socket, end);
  return reply.send(source);
}

const connectionEnds = new WeakMap<Socket, Set<() => void>>();

/**
 * Runs `then` when the connection closes (at once if it has); returns what forgets
 * it. One listener a connection, however many answers are queued on it.
 */
function whenConnectionEnds(socket: Socket | null, then: () => void): () => void {
  if (!socket) return () => undefined;
  if (socket.destroyed) {
    setImmediate(then);
    return () => undefined;
  }
  let waiting = connectionEnds.get(socket);
  if (!waiting) {
    const callbacks = new Set<() => void>();
    connectionEnds.set(socket, callbacks);
    socket.once('close', () => {
      for (const callback of callbacks) callback();
      callbacks.clear();
    });
    waiting = callbacks;
  }
  const callbacks = waiting;
  callbacks.add(then);
  return () => callbacks.delete(then);
}

/**
 * Ends an answer its client has taken nothing of for `idleMs`: a phone that stopped
 * reading without hanging up. Node's own idle timeout was seen not to end one (a
 * paused client of a `serve` on PostgreSQL still held its connection 75 s into a
 * 60 s timeout), and the answer's read stays open meanwhile: on SQLite a snapshot
 * that keeps the WAL from being checkpointed, on PostgreSQL a connection of the pool.
 */
function dropWhenUntaken(reply: FastifyReply, idleMs: number): () => void {
  const socket = reply.raw.socket;
  if (!socket || idleMs <= 0) return () => undefined;
  let taken = socket.bytesWritten;
  let lastTaken = Date.now();
  const timer = setInterval(() => {
    if (socket.bytesWritten !== taken) {
      taken = socket.bytesWritten;
      lastTaken = Date.now();
    } else if (Date.now() - lastTaken >= idleMs) {
      socket.destroy();
    }
  }, Math.max(100, Math.floor(idleMs / 4)));
  timer.unref();
  return () => clearInterval(timer);
}
