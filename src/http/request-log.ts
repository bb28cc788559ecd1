import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    socketBytesAtStart?: number;
  }
}

/**
 * One log line per request: method, route, status, duration and bytes sent.
 * Headers, query strings and bodies are never logged: they carry the token and
 * the climbers' data.
 */
export function installRequestLog(app: FastifyInstance): void {
  // Callback-style hooks: on a tiny answer such as /health, a promise per hook shows.
  app.addHook('onRequest', (request, _reply, done) => {
    request.socketBytesAtStart = request.raw.socket?.bytesWritten ?? 0;
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const socket = request.raw.socket;
    const bytes = socket ? socket.bytesWritten - (request.socketBytesAtStart ?? 0) : undefined;
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unknown',
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        bytes,
      },
      'request',
    );
    done();
  });
}
