import type { AccountStore, WebSessionOwner } from '../store/account-store.js';
import { newSessionSecret, newShortId, secretHash } from './secrets.js';

/**
 * Who a request is, resolved once per request from its token: the API's auth hook
 * and the dashboard's login both come here. Nothing is cached between requests,
 * so a revocation made by another process counts from the very next request.
 */
export interface Identity {
  readonly accountId: number;
  readonly accountName: string;
  readonly deviceId: string;
  /** The account's image quota as of this request (null: none). */
  readonly maxImageBytes: number | null;
}

/** "Last seen" is written at most this often per device, so a sync costs no extra write most of the time. */
export const LAST_SEEN_INTERVAL_MS = 60_000;

const DAY_MS = 24 * 60 * 60 * 1000;

export async function resolveToken(store: AccountStore, token: string, from: string, now: number): Promise<Identity | undefined> {
  const owner = await store.findByTokenHash(secretHash(token));
  if (!owner) return undefined;
  if (owner.lastSeenAt === null || now - owner.lastSeenAt >= LAST_SEEN_INTERVAL_MS) {
    await store.markSeen(owner.deviceId, now, from, now - LAST_SEEN_INTERVAL_MS);
  }
  return { accountId: owner.accountId, accountName: owner.accountName, deviceId: owner.deviceId, maxImageBytes: owner.maxImageBytes };
}

/** Opens a web session for the device a token resolved to; returns the secret for the cookie (only its hash is kept). */
export async function startWebSession(store: AccountStore, identity: Identity, from: string, now: number): Promise<string> {
  const secret = newSessionSecret();
  await store.createWebSession({ id: newShortId(), idHash: secretHash(secret), accountId: identity.accountId, deviceId: identity.deviceId, from }, now);
  return secret;
}

/** The session a cookie's secret names, if live (WEB_SESSION_DAYS idle ends it). */
export function resolveWebSession(store: AccountStore, secret: string, from: string, now: number, idleDays: number): Promise<WebSessionOwner | undefined> {
  return store.findWebSession(secretHash(secret), now, idleDays * DAY_MS, from);
}

export function endWebSession(store: AccountStore, secret: string): Promise<void> {
  return store.deleteWebSession(secretHash(secret));
}
