import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import { FailureThrottle } from './failure-throttle.js';

const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i;

/** Ten wrong tokens a minute from one address, then 429 until the minute is over. */
export const AUTH_FAILURE_LIMIT = { maxFailures: 10, windowMs: 60_000, maxAddresses: 10_000 };

/**
 * Checks `Authorization: Bearer <token>` on every request. Both sides are hashed
 * first so that the comparison takes the same time whatever the lengths. A correct
 * token is always served, even from an address that is being throttled: the
 * throttle slows guessing, it must not lock out the owner behind a shared NAT.
 */
export function createAuthenticator(token: string, throttle = new FailureThrottle(AUTH_FAILURE_LIMIT)) {
  const expected = digest(token);
  return function authenticate(request: FastifyRequest): void {
    const match = BEARER.exec(request.headers.authorization ?? '');
    if (match && timingSafeEqual(digest(match[1]!), expected)) return;

    const retryAfter = throttle.retryAfterSeconds(request.ip);
    if (retryAfter > 0) {
      throw new ApiError(429, 'too_many_requests', 'too many failed authentication attempts; try again later', {
        'retry-after': String(retryAfter),
      });
    }
    throttle.recordFailure(request.ip);
    throw new ApiError(401, 'unauthorized', match ? 'invalid bearer token' : 'missing bearer token: send "Authorization: Bearer <token>"', {
      'www-authenticate': 'Bearer',
    });
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
