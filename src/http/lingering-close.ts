import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { declineBody, hasBody } from './expect-continue.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The largest body this route accepts, when it is not the JSON limit. */
    bodyLimitBytes?: number;
  }
}

export interface LingerBound {
  /** How long the rest of a refused body may take to arrive. */
  maxMs: number;
  /** Read at most twice the route's limit, but never less than this. */
  minBytes: number;
}

/** Like nginx's lingering close: 30 s at most, and twice the limit (64 MiB at least). */
export const LINGER: LingerBound = { maxMs: 30_000, minBytes: 64 * 1024 * 1024 };

/**
 * An answer sent before the request's body was read (401, 413, 415, 429) must
 * reach clients that write their whole body before they read: Node's fetch,
 * OkHttp, URLSession. Closing at once makes the kernel reset the connection over
 * the unread bytes, and such a client sees a broken pipe instead of the answer.
 * So the rest of the body is read and thrown away, up to a bound, and the
 * connection is kept: a client that sends it all can go on using it.
 *
 * Registered before the shutdown hook, so that one may still ask to close.
 */
export function installLingeringClose(app: FastifyInstance, jsonLimit: number, bound: LingerBound = LINGER): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    const raw = request.raw;
    // A request without a body is not complete either while it is answered within the parser's
    // own callback (an authenticated GET): there is nothing to read, and no timer to spend on it.
    const unread = hasBody(raw) && !raw.complete && !raw.destroyed;
    // A client still waiting for `100 Continue` is not asked for the body: Node closes after this answer (expect-continue.ts).
    const declined = unread && declineBody(raw);
    if (unread) discardRest(raw, Math.max(2 * (request.routeOptions.config?.bodyLimitBytes ?? jsonLimit), bound.minBytes), bound.maxMs);
    // Fastify asks to close after refusing a body too large to read (413). Once the
    // body is read, here or already by the parser, the connection is as good as any
    // other, and the answer says what any kept connection's does.
    if (!declined && (unread || (reply.statusCode === 413 && raw.complete && !raw.destroyed)) && reply.hasHeader('connection') && keepsAlive(raw)) {
      reply.header('connection', 'keep-alive');
      reply.header('keep-alive', `timeout=${Math.floor(request.server.server.keepAliveTimeout / 1000)}`);
    }
    done(null, payload);
  });
}

/** Whether the client means to keep the connection: HTTP/1.1 and no `Connection: close`. */
function keepsAlive(request: IncomingMessage): boolean {
  return request.httpVersion === '1.1' && !/(^|,)\s*close\s*(,|$)/i.test(request.headers.connection ?? '');
}

const discarding = new WeakSet<IncomingMessage>();

/**
 * Reads and drops what is left of the body (memory stays flat); past the bound,
 * the connection is closed. When the connection is to close after this answer
 * (the request said `Connection: close`), Node would close it, unread bytes and
 * all, as soon as the answer is out: the kernel then resets it, and the client
 * still writing sees a broken pipe. Only our side is ended then; the socket goes
 * once the body is read, or at the bound.
 */
function discardRest(request: IncomingMessage, maxBytes: number, maxMs: number): void {
  if (discarding.has(request)) return;
  discarding.add(request);
  const socket = request.socket as (Socket & { destroySoon?: () => void }) | null;
  let bytes = 0;
  let closeWhenRead = false;
  const stop = (): void => {
    clearTimeout(timer);
    socket?.destroy();
  };
  const timer = setTimeout(stop, maxMs);
  timer.unref();
  if (socket && typeof socket.destroySoon === 'function') {
    // What Node's HTTP server calls once an answer that ends the connection is written.
    socket.destroySoon = () => {
      closeWhenRead = true;
      socket.end();
      if (request.complete) stop();
    };
  }
  request.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > maxBytes) stop();
  });
  request.once('end', () => (closeWhenRead ? stop() : clearTimeout(timer)));
  request.once('close', () => clearTimeout(timer));
  request.on('error', () => undefined);
  request.resume();
}
