import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics/metrics.js';

export const METRICS_PATH = '/metrics';

/**
 * GET /metrics, and one hook that counts every answered request. The route is
 * registered only when METRICS_TOKEN is set; the app's auth hook then checks that
 * token, and only that token, on this route (app.ts).
 */
export async function metricsRoutes(app: FastifyInstance, options: { metrics: Metrics }): Promise<void> {
  const { metrics } = options;
  app.get(METRICS_PATH, async (_request, reply) => {
    const { text, contentType } = await metrics.scrape();
    return reply.header('cache-control', 'no-store').type(contentType).send(text);
  });
}

/** Counts each answer under its route pattern (never the raw URL); in callback style, as it runs on every request. */
export function installRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    metrics.request({ route: request.routeOptions.url ?? 'unmatched', method: request.method, status: reply.statusCode }, reply.elapsedTime / 1000);
    done();
  });
}
