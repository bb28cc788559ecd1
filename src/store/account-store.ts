/**
 * Accounts, their devices and the dashboard's web sessions: the part of the
 * storage seam that says who a request is. Secrets never reach the store: it
 * keeps and looks up only their SHA-256 (src/auth/secrets.ts). Each write is one
 * transaction, and every method is asynchronous like the rest of the Store.
 */
/** The account that holds the data written before accounts existed, and AUTH_TOKEN's device. */
export const DEFAULT_ACCOUNT = 'default';

/** The longest device name, in Unicode code points (most emoji are one; one UTF-16 unit is not a character). */
export const DEVICE_NAME_MAX = 100;

/**
 * A device name as the CLI and the dashboard take it: trimmed, 1 to
 * DEVICE_NAME_MAX characters, none a control character (a line break or a
 * terminal escape would forge lines in a listing); undefined otherwise.
 */
export function deviceName(raw: string): string | undefined {
  const trimmed = raw.trim();
  const length = [...trimmed].length;
  // eslint-disable-next-line no-control-regex
  return length === 0 || length > DEVICE_NAME_MAX || /[\u0000-\u001f\u007f-\u009f]/.test(trimmed) ? undefined : trimmed;
}

export interface AccountStore {
  /**
   * Makes an account and its first device in one transaction; undefined when the
   * name is taken. A new account never reuses the id of a removed one.
   */
  create(name: string, firstDevice: NewDevice, quotas: Quotas, now: number): Promise<Account | undefined>;
  find(name: string): Promise<Account | undefined>;
  /** Every account with its usage, by name. Image figures are counted from the files, not here. */
  list(): Promise<AccountUsage[]>;
  /** Changes the limits given (null removes one); false when the account is gone. */
  setQuotas(accountId: number, quotas: Partial<Quotas>): Promise<boolean>;
  /**
   * Removes the account and everything the database holds for it (items,
   * tombstones, history, image index, devices, web sessions) in one transaction.
   * Its image files are the caller's to delete afterwards.
   */
  remove(accountId: number, now: number): Promise<boolean>;

  /** false when the account is gone. */
  addDevice(accountId: number, device: NewDevice, now: number): Promise<boolean>;
  /** The account's devices, then its web sessions, each oldest first. */
  listDevices(accountId: number): Promise<DeviceEntry[]>;
  /**
   * Revokes a device (and the web sessions it opened) or ends one web session, by
   * the id shown in listDevices. The AUTH_TOKEN device is not revocable here.
   */
  revoke(accountId: number, id: string): Promise<'revoked' | 'not_found' | 'from_environment'>;
  /** Who holds the token with this SHA-256: one indexed lookup, never cached here (TokenResolver decides, by changeMark). */
  findByTokenHash(tokenHash: Buffer): Promise<TokenOwner | undefined>;
  /**
   * A mark that differs whenever an account, device or web session may have
   * changed since it was read, by this process or another; undefined when the
   * store cannot tell more cheaply than by the lookup itself (PostgreSQL, shared
   * by several processes), and then nothing may be served from a cache.
   */
  changeMark(): string | undefined;
  /** Records a device as seen, only if it was last seen at or before `seenBefore` (so at most one write a minute). */
  markSeen(deviceId: string, at: number, from: string, seenBefore: number): Promise<void>;
  /**
   * The AUTH_TOKEN device of the account (named `AUTH_TOKEN`): made, given the
   * new hash, or removed (undefined) to follow the environment at each start.
   */
  setEnvironmentDevice(accountId: number, tokenHash: Buffer | undefined, now: number): Promise<void>;
  /** How many devices exist in all, the AUTH_TOKEN one included. */
  countDevices(): Promise<number>;

  /**
   * false, keeping nothing, when the session's device is gone: revoked, or its
   * account removed, since its token was checked (another request, another process).
   */
  createWebSession(session: NewWebSession, now: number): Promise<boolean>;
  /**
   * The live web session with this SHA-256, touched as used now; undefined (and
   * deleted) once idle longer than `idleMs`, or when its device is gone.
   */
  findWebSession(idHash: Buffer, now: number, idleMs: number, from: string): Promise<WebSessionOwner | undefined>;
  deleteWebSession(idHash: Buffer): Promise<void>;
}

export interface Quotas {
  /** Bound on the account's stored JSON (items and tombstones) in bytes; null is none. */
  readonly maxBytes: number | null;
  /** Bound on the sum of its image files in bytes; null is none. */
  readonly maxImageBytes: number | null;
}

export interface Account extends Quotas {
  readonly id: number;
  readonly name: string;
  readonly createdAt: number;
}

export interface AccountUsage extends Account {
  readonly devices: number;
  readonly items: number;
  readonly tombstones: number;
  /** UTF-8 bytes of its stored items and tombstones: what maxBytes bounds. */
  readonly bytes: number;
  /** The stamp of its last write or delta sync; null before the first. */
  readonly lastSyncAt: number | null;
}

export interface NewDevice {
  /** Short and random, shown in lists and given to `devices revoke`. */
  readonly id: string;
  readonly name: string;
  readonly tokenHash: Buffer;
}

export interface DeviceEntry {
  readonly id: string;
  readonly name: string;
  readonly kind: 'device' | 'web';
  readonly createdAt: number;
  readonly lastSeenAt: number | null;
  readonly lastSeenFrom: string | null;
  /** The AUTH_TOKEN device, which only the environment can take away. */
  readonly fromEnvironment: boolean;
}

/** Whose a token is, as the auth hook needs it on every request. */
export interface TokenOwner {
  readonly accountId: number;
  readonly accountName: string;
  readonly deviceId: string;
  readonly lastSeenAt: number | null;
  readonly maxImageBytes: number | null;
}

export interface NewWebSession {
  /** Short and random, shown in the device list (not the cookie's secret). */
  readonly id: string;
  readonly idHash: Buffer;
  readonly accountId: number;
  /** The device whose token opened it: revoking that device ends the session. */
  readonly deviceId: string;
  readonly from: string;
}

export interface WebSessionOwner {
  readonly sessionId: string;
  readonly accountId: number;
  readonly accountName: string;
  readonly deviceId: string;
}
