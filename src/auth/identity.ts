import type { AccountStore, WebSessionOwner } from '../store/account-store.js';
import { newSessionSecret, newShortId, secretHash } from './secrets.js';

/**
 * Who a request is, resolved once per request from its token: the API's auth hook
 * (through a TokenResolver) and the dashboard's login both come here. A revocation,
 * also one made by another process, counts from the very next request.
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
  return (await lookUpToken(store, token, from, now))?.identity;
}

interface Resolved {
  readonly identity: Identity;
  readonly lastSeenAt: number;
  /** This lookup wrote "last seen" (which itself changes the store's change mark). */
  readonly marked: boolean;
}

async function lookUpToken(store: AccountStore, token: string, from: string, now: number): Promise<Resolved | undefined> {
  const owner = await store.findByTokenHash(secretHash(token));
  if (!owner) return undefined;
  const marked = seenDue(owner.lastSeenAt, now);
  if (marked) await store.markSeen(owner.deviceId, now, from, now - LAST_SEEN_INTERVAL_MS);
  const identity = { accountId: owner.accountId, accountName: owner.accountName, deviceId: owner.deviceId, maxImageBytes: owner.maxImageBytes };
  return { identity, lastSeenAt: marked ? now : owner.lastSeenAt!, marked };
}

function seenDue(lastSeenAt: number | null, now: number): boolean {
  return lastSeenAt === null || now - lastSeenAt >= LAST_SEEN_INTERVAL_MS;
}

/**
 * resolveToken for the API, where every request carries a token: the lookup (a
 * SHA-256 and a query, most of the cost of a /health) is skipped for a token
 * resolved before while the store's change mark is the one read before that
 * lookup, i.e. while no account, device or session can have changed since, in this
 * process or another. A store that cannot tell (PostgreSQL) is asked every time.
 */
export class TokenResolver {
  private readonly known = new Map<string, { readonly mark: string; readonly resolved: Resolved }>();

  constructor(
    private readonly store: AccountStore,
    /** Only valid tokens are kept, so this bounds a server with very many devices, not an attacker. */
    private readonly maxTokens = 1024,
  ) {}

  /** The identity of a token resolved before, if nothing can have changed since; else undefined (resolve it). */
  remembered(token: string, now: number): Identity | undefined {
    const hit = this.known.get(token);
    if (!hit || seenDue(hit.resolved.lastSeenAt, now) || hit.mark !== this.store.changeMark()) return undefined;
    return hit.resolved.identity;
  }

  async resolve(token: string, from: string, now: number): Promise<Identity | undefined> {
    // Read before the lookup, so that a change committed after it leaves the entry stale.
    const mark = this.store.changeMark();
    const resolved = await lookUpToken(this.store, token, from, now);
    if (!resolved || mark === undefined || resolved.marked) {
      this.known.delete(token);
    } else {
      if (this.known.size >= this.maxTokens) this.known.clear();
      this.known.set(token, { mark, resolved });
    }
    return resolved?.identity;
  }
}

/** Opens a web session for the device a token resolved to; returns the secret for the cookie (only its hash is kept), or undefined if the device is gone by now. */
export async function startWebSession(store: AccountStore, identity: Identity, from: string, now: number): Promise<string | undefined> {
  const secret = newSessionSecret();
  const started = await store.createWebSession({ id: newShortId(), idHash: secretHash(secret), accountId: identity.accountId, deviceId: identity.deviceId, from }, now);
  return started ? secret : undefined;
}

/** The session a cookie's secret names, if live (WEB_SESSION_DAYS idle ends it). */
export function resolveWebSession(store: AccountStore, secret: string, from: string, now: number, idleDays: number): Promise<WebSessionOwner | undefined> {
  return store.findWebSession(secretHash(secret), now, idleDays * DAY_MS, from);
}

export function endWebSession(store: AccountStore, secret: string): Promise<void> {
  return store.deleteWebSession(secretHash(secret));
}
