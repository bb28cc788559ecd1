import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import { bearerToken } from '../http/auth.js';
import type { Principal, StoreWebAuth, WebSession } from './web-auth.js';

/**
 * The browser side of a web session: the cookie, the CSRF token derived from it,
 * and the same-site check on every POST.
 */
export const COOKIE = 'ascently_session';

export interface CookieOptions {
  /** Secure always (COOKIE_SECURE), else only on requests that came over HTTPS. */
  readonly forceSecure: boolean;
  readonly maxAgeDays: number;
  /** Whether X-Forwarded-Proto is believed (TRUST_PROXY). */
  readonly trustProxy: boolean;
}

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Whether the browser's connection was HTTPS: this one, or, behind trusted
 * proxies, the one facing the browser, which X-Forwarded-Proto lists first
 * (Fastify reads the nearest proxy's, the last), in any case.
 */
function cameOverHttps(request: FastifyRequest, options: CookieOptions): boolean {
  if (request.raw.socket && 'encrypted' in request.raw.socket && request.raw.socket.encrypted) return true;
  const forwarded = request.headers['x-forwarded-proto'];
  return options.trustProxy && typeof forwarded === 'string' && /^\s*https\s*(?:,|$)/i.test(forwarded);
}

function cookieFlags(request: FastifyRequest, options: CookieOptions): string {
  const secure = options.forceSecure || cameOverHttps(request, options);
  return `HttpOnly; SameSite=Strict; Path=/web${secure ? '; Secure' : ''}`;
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, id: string, options: CookieOptions): void {
  reply.header('set-cookie', `${COOKIE}=${id}; Max-Age=${options.maxAgeDays * 86_400}; ${cookieFlags(request, options)}`);
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply, options: CookieOptions): void {
  reply.header('set-cookie', `${COOKIE}=; Max-Age=0; ${cookieFlags(request, options)}`);
}

/** The CSRF token of a session: derived from its secret id, so it needs no storage and no other session can know it. */
export function csrfToken(sessionId: string): string {
  return createHash('sha256').update(`csrf\u0000${sessionId}`).digest('base64url');
}

export function checkCsrf(sessionId: string, sent: unknown): void {
  const expected = Buffer.from(csrfToken(sessionId));
  const given = Buffer.from(typeof sent === 'string' ? sent : '');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new ApiError(403, 'forbidden', 'the form lost its CSRF token: reload the page and try again');
}

/**
 * Refuses a POST that another site's page sent: an Origin (or, without one,
 * Sec-Fetch-Site) naming anything but this host. SameSite=Strict already keeps
 * the cookie off such requests; this refuses them even where it would not.
 */
export function checkSameOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin !== undefined) {
    // The address the browser used: the Host it sent, or, behind a trusted proxy that rewrites it, X-Forwarded-Host (request.host).
    if (!isOriginOf(origin, request.headers.host) && !isOriginOf(origin, request.host)) throw new ApiError(403, 'forbidden', 'cross-site form posts are refused');
    return;
  }
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new ApiError(403, 'forbidden', 'cross-site form posts are refused');
}

/**
 * Whether the Origin names `host`, compared as URLs do: the host's case and the
 * scheme's default port (`example.org:443` is `https://example.org`) make no
 * difference. The Origin's scheme is the one the browser used, whatever a proxy
 * that ends TLS passed on.
 */
function isOriginOf(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    const named = new URL(origin);
    return new URL(`${named.protocol}//${host}`).host === named.host;
  } catch {
    return false;
  }
}

export interface ActiveSession {
  readonly id: string;
  readonly session: WebSession;
}

/** The session named by the request's cookie, when it is live. */
export async function sessionOf(request: FastifyRequest, backend: StoreWebAuth): Promise<ActiveSession | undefined> {
  const id = readCookie(request, COOKIE);
  if (id === undefined || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
  const session = await backend.findSession(id, request.ip);
  return session ? { id, session } : undefined;
}

/** For /web/api only: a device's Bearer token, for people's own scripts. */
export async function bearerPrincipal(request: FastifyRequest, backend: StoreWebAuth): Promise<Principal | undefined> {
  const token = bearerToken(request);
  return typeof token === 'string' ? backend.authenticateToken(token, request.ip) : undefined;
}
