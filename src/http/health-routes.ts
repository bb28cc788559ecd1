import type { FastifyInstance } from 'fastify';

/** "2.0.0" is the API version the apps check, not this server's own version. */
const HEALTH_BODY = JSON.stringify({ status: 'ok', version: '2.0.0' });

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/health', { compress: false }, (_request, reply) => {
    reply.type('application/json; charset=utf-8').send(HEALTH_BODY);
  });
}
