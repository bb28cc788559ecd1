import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { secretHash } from '../auth/secrets.js';
import { TokenResolver, type Identity } from '../auth/identity.js';
import { ApiError } from '../errors.js';
import type { AccountStore } from '../store/account-store.js';
import { FailureThrottle } from './failure-throttle.js';
import { METRICS_PATH } from './metrics-routes.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every request that gets to a route. */
    identity: Identity | null;
  }
}

const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i;

/** Ten wrong tokens a minute from one address, then 429 for tokens until the minute is over. */
export const AUTH_FAILURE_LIMIT = { maxFailures: 10, windowMs: 60_000, maxAddresses: 10_000 };

/**
 * Resolves `Authorization: Bearer <token>` to an account and device on every
 * request; a device revoked by the CLI in another process is refused from its
 * next request (TokenResolver, identity.ts). A valid token is always served, even
 * from an address that is being throttled: the throttle slows guessing, it must
 * not lock out the owner behind a shared NAT.
 */
export function createAuthenticator(accounts: AccountStore, throttle = new FailureThrottle(AUTH_FAILURE_LIMIT), now: () => number = Date.now) {
  const tokens = new TokenResolver(accounts);
  /** The identity at once when the token was resolved before and nothing changed since (no promise, no lookup); else a promise. */
  return function authenticate(request: FastifyRequest): Identity | Promise<Identity> {
    const token = bearerToken(request);
    const remembered = typeof token === 'string' ? tokens.remembered(token, now()) : undefined;
    if (remembered) return remembered;
    return (async () => {
      const identity = typeof token === 'string' ? await tokens.resolve(token, request.ip, now()) : undefined;
      if (identity) return identity;
      throw refusal(request, throttle, token);
    })();
  };
}

/**
 * METRICS_TOKEN, for GET /metrics only: compared by SHA-256 digests so that the
 * comparison takes the same time whatever the lengths, and counted by the same
 * throttle as device tokens, since guessing it is guessing too.
 */
export function createMetricsAuthenticator(metricsToken: string, throttle: FailureThrottle) {
  const expected = secretHash(metricsToken);
  return function authenticateMetrics(request: FastifyRequest): void {
    const token = bearerToken(request);
    if (typeof token === 'string' && timingSafeEqual(secretHash(token), expected)) return;
    throw refusal(request, throttle, token);
  };
}

const NO_TOKEN = Symbol('no bearer token');
const SEVERAL_HEADERS = Symbol('several Authorization headers');

/**
 * The request's bearer token. Node keeps only the first of several Authorization
 * headers, so a request with two (a proxy's and a client's, say) would be judged
 * by one of them unseen: it has no token at all.
 */
export function bearerToken(request: FastifyRequest): string | typeof NO_TOKEN | typeof SEVERAL_HEADERS {
  const raw = request.raw.rawHeaders;
  let headers = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 13 && raw[i]!.toLowerCase() === 'authorization') headers++;
  if (headers > 1) return SEVERAL_HEADERS;
  return BEARER.exec(request.headers.authorization ?? '')?.[1] ?? NO_TOKEN;
}

const REFUSALS = new Map<string | symbol, string>([
  [NO_TOKEN, 'missing bearer token: send "Authorization: Bearer <token>"'],
  [SEVERAL_HEADERS, 'several Authorization headers: send exactly one, "Authorization: Bearer <token>"'],
]);

/**
 * A wrong token: 429 while the address is throttled, else 401, counted as a
 * failure. A request with no token to try guesses nothing, so it is neither
 * counted nor throttled: a client (or a check script) that asks several
 * addresses without one is told 401 each time, as it should be.
 */
function refusal(request: FastifyRequest, throttle: FailureThrottle, token: string | symbol): ApiError {
  const retryAfter = typeof token === 'string' ? throttle.retryAfterSeconds(request.ip) : 0;
  if (retryAfter > 0) {
    return new ApiError(429, 'too_many_requests', 'too many failed authentication attempts; try again later', {
      'retry-after': String(retryAfter),
    });
  }
  if (typeof token === 'string') throttle.recordFailure(request.ip);
  return new ApiError(401, 'unauthorized', REFUSALS.get(token) ?? 'invalid bearer token', {
    'www-authenticate': 'Bearer',
  });
}

export interface AuthOptions {
  now?: () => number;
  /** Shared with the dashboard's login form, so that both count toward one limit. */
  throttle?: FailureThrottle;
  /** Paths that check their own credentials (the dashboard's session cookie). */
  skip?: (url: string) => boolean;
  /** Set when GET /metrics is on: the one token it takes. */
  metricsToken?: string;
}

/**
 * Every request must carry a device token; routes then read `request.identity`,
 * never the token. GET /metrics, registered only when METRICS_TOKEN is set, takes
 * that token and no other: a device token does not open it, and it opens nothing else.
 */
export function installAuth(app: FastifyInstance, accounts: AccountStore, options: AuthOptions = {}): void {
  const throttle = options.throttle ?? new FailureThrottle(AUTH_FAILURE_LIMIT);
  const authenticate = createAuthenticator(accounts, throttle, options.now);
  const authenticateMetrics = options.metricsToken === undefined ? undefined : createMetricsAuthenticator(options.metricsToken, throttle);
  const skip = options.skip ?? (() => false);
  app.decorateRequest('identity', null);
  // Callback style like the other per-request hooks: one promise fewer per request.
  app.addHook('onRequest', (request, _reply, done) => {
    if (skip(request.url)) return done();
    if (authenticateMetrics && request.routeOptions.url === METRICS_PATH) {
      try {
        authenticateMetrics(request);
        done();
      } catch (err) {
        done(err as Error);
      }
      return;
    }
    const identity = authenticate(request);
    if (!(identity instanceof Promise)) {
      request.identity = identity;
      return done();
    }
    identity.then(
      (resolved) => {
        request.identity = resolved;
        done();
      },
      (err: Error) => done(err),
    );
  });
}

/** The authenticated account of a request that reached a route. */
export function accountOf(request: FastifyRequest): Identity {
  if (!request.identity) throw new Error('route reached without authentication');
  return request.identity;
}
