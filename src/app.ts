import { constants as zlib } from 'node:zlib';
import compress from '@fastify/compress';
import { createParallelGzip } from './sync/parallel-gzip.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ConfigError, type Config } from './config.js';
import { ApiError } from './errors.js';
import { secretHash } from './auth/secrets.js';
import { AUTH_FAILURE_LIMIT, installAuth } from './http/auth.js';
import { installRequestMetrics, metricsRoutes } from './http/metrics-routes.js';
import { Metrics } from './metrics/metrics.js';
import { installErrorHandling, sendError } from './http/error-handler.js';
import { FailureThrottle } from './http/failure-throttle.js';
import { healthRoutes } from './http/health-routes.js';
import { imageRoutes } from './http/image-routes.js';
import { installExpectContinue } from './http/expect-continue.js';
import { requireHostHeader } from './http/host-header.js';
import { installLingeringClose, type LingerBound } from './http/lingering-close.js';
import { installRequestLog } from './http/request-log.js';
import { syncRoutes } from './http/sync-routes.js';
import { AccountImageStores } from './images/account-image-stores.js';
import type { Store } from './store/store.js';
import { SyncService } from './sync/sync-service.js';
import { DEFAULT_ACCOUNT } from './store/account-store.js';
import { StoreWebAuth } from './web/web-auth.js';
import { isDashboardPath, unreadableWebAddress, webPlugin } from './web/web-plugin.js';

export interface AppDeps {
  store: Store;
  /**
   * AUTH_TOKEN (or the generated token), which authenticates as the `default`
   * account's device named AUTH_TOKEN; undefined when only the database's device
   * tokens are to work.
   */
  token?: string;
  logger: Logger;
  now?: () => number;
  /** Tests shorten how long a refused body is read (lingering-close.ts). */
  linger?: LingerBound;
  /** Tests shorten how long a socket may be idle, and a streamed answer go untaken (streamed-answer.ts); 60 s. */
  idleTimeoutMs?: number;
}

export const GZIP_LEVEL = 3;
const BROTLI_QUALITY = 2;

/** The account that holds the data written before accounts existed, and AUTH_TOKEN's. */
export const DEFAULT_DATASET = DEFAULT_ACCOUNT;

/**
 * A request the router cannot place: a path with a malformed %-escape (400), or a
 * part longer than any id (414). Refused in our own words: Fastify's echoed the path.
 */
function unroutable(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
  const status = tooLong ? 414 : 400;
  if (isDashboardPath(request.raw.url ?? '')) return unreadableWebAddress(reply, status);
  return sendError(reply, tooLong ? new ApiError(414, 'uri_too_long', 'the request path is too long') : ApiError.badRequest('the request path is not a valid URL: a %-escape in it is malformed'));
}

/** Builds the HTTP app without listening, so that tests and the server build it the same way. */
export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Fastify's two lines per request are replaced by one of ours (request-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
    // One proxy in front: the client address is the last one X-Forwarded-For holds,
    // the one that proxy added. Those before it are whatever the client sent.
    trustProxy: config.trustProxy ? (_address: string, hop: number) => hop === 0 : false,
    bodyLimit: config.maxJsonBytes,
    // Slow clients: headers must arrive within 20 s and a socket idle for 60 s is
    // dropped (a stalled upload), yet a large upload on a slow phone may take minutes.
    // requestTimeout is Fastify's own option: Fastify sets it on the server after
    // creating it, so inside `http` it was overwritten with 0 (no limit at all).
    // A missing Host is refused by requireHostHeader (host-header.ts), as JSON.
    http: { headersTimeout: 20_000, requireHostHeader: false },
    requestTimeout: 10 * 60_000,
    connectionTimeout: deps.idleTimeoutMs ?? 60_000,
    keepAliveTimeout: 30_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Item ids go in dashboard addresses, and the sync API takes ids of any length:
    // as long as the request line Node itself accepts (its 16 KiB header limit).
    // A server address typed with a slash at its end ("https://climb.example.org/")
    // makes the apps ask for //sync, and a script may ask for /sync/: both are
    // the route they name, not a 404 that reads as "no sync server here".
    routerOptions: { maxParamLength: 16 * 1024, ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
    frameworkErrors: unroutable,
  });

  // A client may end its side of the connection once its request is sent (a script
  // writing raw HTTP does): that does not say it wants no answer (RFC 9112 §9.6).
  // Node's default aborted such a request unless its answer was already written,
  // so whether it was answered depended on the store's speed, and a write could be
  // stored unanswered. Each is answered, and the connection closed after that answer.
  (app.server as typeof app.server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  installLingeringClose(app, config.maxJsonBytes, deps.linger);
  installExpectContinue(app);
  requireHostHeader(app);

  // Once shutting down, answers in flight close their connection, so the server
  // can finish as soon as they are sent instead of waiting on idle keep-alives.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  // An answer whose headers went out before the stop began (a download, a streamed
  // GET /sync) could not say so; once it is sent, its connection is an idle
  // keep-alive, which the stop would wait on until keepAliveTimeout.
  app.addHook('onResponse', (_request, _reply, done) => {
    if (closing) setImmediate(() => app.server.closeIdleConnections());
    done();
  });

  installErrorHandling(app, { maxJsonBytes: config.maxJsonBytes });
  installRequestLog(app);
  const metrics = config.metricsToken === undefined ? undefined : new Metrics({ store: deps.store, imagesDir: config.imagesDir });
  if (metrics) installRequestMetrics(app, metrics);
  const now = deps.now ?? Date.now;
  await deps.store.accounts.setEnvironmentDevice(
    await deps.store.datasetId(DEFAULT_DATASET),
    deps.token === undefined ? undefined : secretHash(deps.token),
    now(),
  );
  if (config.metricsToken !== undefined && (await deps.store.accounts.findByTokenHash(secretHash(config.metricsToken)))) {
    throw new ConfigError('METRICS_TOKEN is also a device token: the metrics token must open /metrics only, so choose another one.');
  }
  // One throttle for the API's Bearer check, the metrics token and the dashboard's
  // login form. The dashboard checks its own session cookie; the API never reads it.
  const throttle = new FailureThrottle(AUTH_FAILURE_LIMIT);
  installAuth(app, deps.store.accounts, { now, throttle, skip: isDashboardPath, metricsToken: config.metricsToken });

  // Answers only: compressed request bodies are refused with 415 (sync-routes.ts).
  // gzip is what the apps get (OkHttp and URLSession ask for it on their own), so
  // its level is chosen for them: level 3 compresses a dataset to about 24% (a
  // quarter of the text is random UUIDs) at twice the speed of the default 6, which
  // saves only one point more; and it runs on several threads (parallel-gzip.ts).
  // Brotli quality 2 takes about gzip's time on one thread and is a sixth smaller;
  // 4 saved under one point more at 1.6 times the time. `npm run bench -- --only
  // compression` measures each choice.
  await app.register(compress, {
    threshold: 1024,
    encodings: ['br', 'gzip', 'deflate'],
    zlib: { createGzip: () => createParallelGzip({ level: GZIP_LEVEL, memLevel: 9 }) },
    zlibOptions: { level: GZIP_LEVEL, memLevel: 9, chunkSize: 64 * 1024 },
    brotliOptions: { params: { [zlib.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY }, chunkSize: 64 * 1024 },
    globalDecompression: false,
  });

  const service = new SyncService(deps.store, { historyKeep: config.historyKeep, now: deps.now, onSync: metrics?.synced });
  await app.register(healthRoutes);
  await app.register(syncRoutes, { service, maxJsonBytes: config.maxJsonBytes, uploadDir: config.dataDir });
  const images = new AccountImageStores(deps.store.images(config.imagesDir), config.maxImageBytes);
  await app.register(imageRoutes, { images, maxImageBytes: config.maxImageBytes, store: deps.store, metrics });
  if (metrics) await app.register(metricsRoutes, { metrics });

  await app.register(webPlugin, {
    prefix: '/web',
    store: deps.store,
    service,
    backend: new StoreWebAuth(deps.store.accounts, config.webSessionDays, now),
    throttle,
    images,
    dataDir: config.dataDir,
    cookie: { forceSecure: config.cookieSecure, maxAgeDays: config.webSessionDays, trustProxy: config.trustProxy },
    now,
  });
  app.get('/', async (_request, reply) => reply.code(302).header('location', '/web/').send());
  return app;
}
