import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import { sendError } from '../http/error-handler.js';
import { sendStreamed } from '../http/streamed-answer.js';
import type { FailureThrottle } from '../http/failure-throttle.js';
import type { AccountImageStores } from '../images/account-image-stores.js';
import type { Store } from '../store/store.js';
import type { SyncService } from '../sync/sync-service.js';
import { ASSET_BY_NAME } from './assets.js';
import { DashboardData } from './dashboard-data.js';
import { errorPage } from './pages/error.js';
import { html, loginRoutes, UNSUPPORTED_BODY } from './login-routes.js';
import { pageRoutes } from './page-routes.js';
import type { Principal, StoreWebAuth } from './web-auth.js';
import { webImageRoutes } from './web-images.js';
import { bearerPrincipal, sessionOf, setSessionCookie, type ActiveSession, type CookieOptions } from './web-session.js';
import { thumbnailsDirOf } from '../images/thumbnail-files.js';

export interface WebOptions {
  store: Store;
  service: SyncService;
  backend: StoreWebAuth;
  throttle: FailureThrottle;
  images: AccountImageStores;
  dataDir: string;
  cookie: CookieOptions;
  now: () => number;
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** The headers of every dashboard answer. */
const PAGE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'content-security-policy': CSP,
  'x-frame-options': 'DENY',
};

/**
 * A /web/ address Fastify cannot even route (a malformed %-escape, a part too
 * long): the error page with every page's headers, which the plugin's hooks would
 * not add to it.
 */
export function unreadableWebAddress(reply: FastifyReply, status: number): FastifyReply {
  return html(reply.headers({ ...PAGE_HEADERS, 'cache-control': 'no-store' }), status, errorPage(status));
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who a dashboard request acts for, once the session (or an API Bearer token) is checked. */
    principal?: Principal;
    webSession?: ActiveSession;
  }
}

/** `/` (a redirect to the dashboard) and everything under /web: the paths the API's Bearer check leaves alone. */
export function isDashboardPath(url: string): boolean {
  return url === '/' || url === '/web' || url.startsWith('/web/') || url.startsWith('/web?') || url.startsWith('/?');
}

/** Paths under /web/ that need no session. */
function isPublic(url: string): boolean {
  return url === '/web/login' || url.startsWith('/web/login?') || url.startsWith('/web/assets/');
}

/**
 * The dashboard, registered under /web. Its own content-type parsers, error pages
 * and headers apply to it alone; the sync API outside it is unchanged and never
 * reads the cookie.
 */
export async function webPlugin(app: FastifyInstance, options: WebOptions): Promise<void> {
  const { backend } = options;
  const data = new DashboardData(options.store);

  app.removeAllContentTypeParsers();
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  // JSON, multipart or anything else: read (up to the limit) and refused by the route.
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 16 * 1024 }, (_request, _body, done) => done(null, UNSUPPORTED_BODY));

  app.addHook('onSend', (request, reply, payload, done) => {
    reply.headers(PAGE_HEADERS);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });

  app.addHook('preHandler', async (request, reply) => {
    const url = request.url;
    if (isPublic(url)) return;
    const active = await sessionOf(request, backend);
    if (active) {
      request.webSession = active;
      request.principal = active.session;
      // A session ends after WEB_SESSION_DAYS without use: the browser's cookie is given as long again with each page.
      if (request.method === 'GET') setSessionCookie(request, reply, active.id, options.cookie);
      return;
    }
    if (url.startsWith('/web/api/')) {
      const principal = await bearerPrincipal(request, backend);
      if (principal) {
        request.principal = principal;
        return;
      }
      // A wrong Bearer token here is a guess like any other: the same throttle counts it.
      if (request.headers.authorization !== undefined) {
        const retryAfter = options.throttle.retryAfterSeconds(request.ip);
        if (retryAfter > 0) throw new ApiError(429, 'too_many_requests', 'too many failed authentication attempts; try again later', { 'retry-after': String(retryAfter) });
        options.throttle.recordFailure(request.ip);
      }
      throw new ApiError(401, 'unauthorized', 'log in at /web/login, or send a device token as "Authorization: Bearer <token>"', { 'www-authenticate': 'Bearer' });
    }
    // POSTs without a session fall through to their handlers' own checks only for logout.
    if (url === '/web/logout') return;
    return reply.code(303).header('location', '/web/login').send();
  });

  app.setErrorHandler((error: FastifyError | ApiError | Error, request, reply) => {
    const status = statusOf(error);
    if (status >= 500) request.log.error({ err: error }, 'dashboard request failed');
    if (request.method === 'POST' && request.url.startsWith('/web/login') && status < 500) options.throttle.recordFailure(request.ip);
    if (request.url.startsWith('/web/api/')) {
      return sendError(reply, error instanceof ApiError && status < 500 ? error : new ApiError(status, status >= 500 ? 'internal' : 'bad_request', status >= 500 ? 'internal server error' : error.message));
    }
    if (error instanceof ApiError) reply.headers(error.headers);
    // A refusal's own words (ours, never the request's) say what to change; 404 and 403 say it already.
    const reason = error instanceof ApiError && status === 400 ? error.message : undefined;
    return html(reply, status, errorPage(status, reason));
  });

  app.setNotFoundHandler(async (request, reply) => {
    if (!isPublic(request.url) && !(await sessionOf(request, backend))) {
      if (request.url.startsWith('/web/api/')) return sendError(reply, new ApiError(401, 'unauthorized', 'log in at /web/login'));
      return reply.code(303).header('location', '/web/login').send();
    }
    if (request.url.startsWith('/web/api/')) return sendError(reply, ApiError.notFound('no such endpoint'));
    return html(reply, 404, errorPage(404));
  });

  app.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
    const asset = ASSET_BY_NAME.get(request.params.name);
    if (!asset) throw ApiError.notFound('no such asset');
    return reply.type(asset.type).header('cache-control', 'public, max-age=31536000, immutable').send(asset.body);
  });

  await app.register(loginRoutes, { backend, throttle: options.throttle, cookie: options.cookie });
  await app.register(webImageRoutes, { images: options.images, thumbnailsDir: thumbnailsDirOf(options.dataDir) });
  await app.register(pageRoutes, { data, backend, now: options.now });

  app.get('/export/sync.json', async (request, reply) => {
    // An account never written gets the empty document rather than a 404 page: the download is the data, and it has none.
    const exported = (await options.service.openExport(principalOf(request).datasetId)) ?? options.service.emptyExport();
    return sendStreamed(request, reply.type('application/json; charset=utf-8').header('content-disposition', 'attachment; filename="ascently-sync.json"'), exported);
  });
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ApiError(401, 'unauthorized', 'log in at /web/login');
  return request.principal;
}

function statusOf(error: Error): number {
  if (error instanceof ApiError) return error.status;
  const code = 'code' in error ? error.code : undefined;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 413;
  const status = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
  return status >= 400 && status < 600 ? status : 500;
}

