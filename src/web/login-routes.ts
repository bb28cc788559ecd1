import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { FailureThrottle } from '../http/failure-throttle.js';
import { loginPage } from './pages/login.js';
import { en } from './strings.js';
import type { StoreWebAuth } from './web-auth.js';
import { checkCsrf, checkSameOrigin, clearSessionCookie, sessionOf, setSessionCookie, type CookieOptions } from './web-session.js';

export interface LoginOptions {
  backend: StoreWebAuth;
  throttle: FailureThrottle;
  cookie: CookieOptions;
}

/** Tokens are 47 characters; anything past this is not one, whatever it is. */
const MAX_TOKEN = 512;

/** What a form post parsed to; any other body type arrives as `unsupported`. */
export const UNSUPPORTED_BODY = Symbol('unsupported body');

/**
 * GET/POST /web/login and POST /web/logout. A wrong token counts toward the same
 * failure throttle as the API's Bearer check, and so does every malformed login
 * (JSON, multipart, an empty or oversized token): guessing through the form is
 * no cheaper than through the API.
 */
export async function loginRoutes(app: FastifyInstance, options: LoginOptions): Promise<void> {
  const { backend, throttle, cookie } = options;

  app.get('/login', async (_request, reply) => html(reply, 200, loginPage()));

  app.post('/login', async (request, reply) => {
    checkSameOrigin(request);
    const token = formToken(request.body);
    const principal = token ? await backend.authenticateToken(token, request.ip) : undefined;
    // A device revoked (or its account removed) since its token was checked opens no
    // session: the token is wrong by now, and answered and counted as any wrong one.
    const secret = principal && (await backend.startSession(principal, request.ip));
    if (secret !== undefined) {
      setSessionCookie(request, reply, secret, cookie);
      return reply.code(303).header('location', '/web/').send();
    }
    const retryAfter = throttle.retryAfterSeconds(request.ip);
    if (retryAfter > 0) return html(reply.header('retry-after', String(retryAfter)), 429, loginPage(en.login.throttled(retryAfter)));
    throttle.recordFailure(request.ip);
    return token === undefined ? html(reply, 400, loginPage(en.login.badForm)) : html(reply, 401, loginPage(en.login.wrong));
  });

  app.post('/logout', async (request, reply) => {
    checkSameOrigin(request);
    const active = await sessionOf(request, backend);
    if (active) {
      checkCsrf(active.id, fieldOf(request.body, 'csrf'));
      await backend.endSession(active.id);
    }
    clearSessionCookie(request, reply, cookie);
    return reply.code(303).header('location', '/web/login').send();
  });
}

/**
 * The `token` field of a form post, trimmed: '' when the form holds none that
 * could be one (left empty, missing, too long), which is a wrong token; undefined
 * when the body is not a form with at most one token (JSON, multipart).
 */
function formToken(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const token = (body as Record<string, unknown>)['token'];
  if (token === undefined) return '';
  if (typeof token !== 'string') return undefined;
  return token.length <= MAX_TOKEN ? token.trim() : '';
}

export function fieldOf(body: unknown, name: string): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

export function html(reply: FastifyReply, status: number, page: { text: string }): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(page.text);
}

export function requireField(request: FastifyRequest, name: string): string {
  const value = fieldOf(request.body, name);
  if (value === undefined) throw ApiError.badRequest(`the form needs ${name}`);
  return value;
}
