import { endWebSession, resolveToken, resolveWebSession, startWebSession, type Identity } from '../auth/identity.js';
import { newDeviceToken, newShortId, secretHash } from '../auth/secrets.js';
import type { AccountStore, DeviceEntry } from '../store/account-store.js';

/**
 * Who a dashboard request acts for, and the dashboard's use of the account
 * store: device tokens, web sessions and devices. Secrets are hashed before they
 * reach the store (auth/identity.ts); nothing is cached, so a revocation by the
 * CLI in another process ends a browser's access on its next request.
 */
export interface Principal {
  readonly account: string;
  /** The account's dataset (its id). */
  readonly datasetId: number;
  /** The device whose token opened the session (or made the request). */
  readonly deviceId: string;
}

export interface WebSession extends Principal {
  /** The session's short id: the device list shows it and revoke takes it. */
  readonly key: string;
}

export class StoreWebAuth {
  constructor(
    private readonly accounts: AccountStore,
    private readonly sessionDays: number,
    private readonly now: () => number = Date.now,
  ) {}

  async authenticateToken(token: string, from: string): Promise<Principal | undefined> {
    const identity = await resolveToken(this.accounts, token, from, this.now());
    return identity && principalOf(identity);
  }

  /** Opens a web session for the principal's device; returns the cookie's secret (the store keeps its hash), or undefined if the device is gone by now. */
  startSession(principal: Principal, from: string): Promise<string | undefined> {
    const identity: Identity = { accountId: principal.datasetId, accountName: principal.account, deviceId: principal.deviceId, maxImageBytes: null };
    return startWebSession(this.accounts, identity, from, this.now());
  }

  /** The live session a cookie's secret names, touched as used; undefined once idle too long or its device is revoked. */
  async findSession(secret: string, from: string): Promise<WebSession | undefined> {
    const owner = await resolveWebSession(this.accounts, secret, from, this.now(), this.sessionDays);
    return owner && { account: owner.accountName, datasetId: owner.accountId, deviceId: owner.deviceId, key: owner.sessionId };
  }

  endSession(secret: string): Promise<void> {
    return endWebSession(this.accounts, secret);
  }

  listDevices(principal: Principal): Promise<DeviceEntry[]> {
    return this.accounts.listDevices(principal.datasetId);
  }

  /** Revokes a device of the principal's account (and the web sessions it opened), or ends one web session. */
  revoke(principal: Principal, id: string): Promise<'revoked' | 'not_found' | 'from_environment'> {
    return this.accounts.revoke(principal.datasetId, id);
  }

  /** A new device of the principal's account; its token is returned to be shown once, and only its hash is kept. */
  /** `name` as deviceName() gave it. */
  async addDevice(principal: Principal, name: string): Promise<{ id: string; token: string } | undefined> {
    const token = newDeviceToken();
    const id = newShortId();
    const added = await this.accounts.addDevice(principal.datasetId, { id, name, tokenHash: secretHash(token) }, this.now());
    return added ? { id, token } : undefined;
  }
}

function principalOf(identity: Identity): Principal {
  return { account: identity.accountName, datasetId: identity.accountId, deviceId: identity.deviceId };
}
