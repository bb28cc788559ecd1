import type { Database } from './sqlite-driver.js';
import type {
  Account,
  AccountStore,
  AccountUsage,
  DeviceEntry,
  NewDevice,
  NewWebSession,
  Quotas,
  TokenOwner,
  WebSessionOwner,
} from './account-store.js';

/** The id and name of the device that AUTH_TOKEN (or --generate-token) stands for. */
export const ENVIRONMENT_DEVICE = { id: 'auth-token', name: 'AUTH_TOKEN' } as const;

interface AccountRow {
  id: number;
  name: string;
  createdAt: number;
  maxBytes: number | null;
  maxImageBytes: number | null;
}

/** Accounts, devices and web sessions in the server's SQLite file (migration 3). */
export class SqliteAccountStore implements AccountStore {
  private readonly s;

  constructor(private readonly db: Database) {
    this.s = prepareStatements(db);
  }

  async create(name: string, firstDevice: NewDevice, quotas: Quotas, now: number): Promise<Account | undefined> {
    return this.db
      .transaction((): Account | undefined => {
        if (this.s.accountByName.get(name)) return undefined;
        // Past every id ever used: a removed account's leftover image folder
        // (IMAGES_DIR/.accounts/<id>) can never become a new account's.
        const id = (this.s.nextAccountId.get() as number) ?? 1;
        this.s.insertAccount.run(id, name, now, quotas.maxBytes, quotas.maxImageBytes);
        this.s.insertDevice.run(firstDevice.id, id, firstDevice.name, firstDevice.tokenHash, 0, now);
        return { id, name, createdAt: now, ...quotas };
      })
      .immediate();
  }

  async find(name: string): Promise<Account | undefined> {
    return this.s.accountByName.get(name) as AccountRow | undefined;
  }

  async list(): Promise<AccountUsage[]> {
    return (this.s.listAccounts.all() as (AccountRow & Omit<AccountUsage, keyof AccountRow> & { written: number })[]).map(
      ({ written, lastSyncAt, ...row }) => ({ ...row, lastSyncAt: written ? lastSyncAt : null }),
    );
  }

  async setQuotas(accountId: number, quotas: Partial<Quotas>): Promise<boolean> {
    return this.db
      .transaction(() => {
        const current = this.s.accountById.get(accountId) as AccountRow | undefined;
        if (!current) return false;
        this.s.updateQuotas.run(quotas.maxBytes === undefined ? current.maxBytes : quotas.maxBytes, quotas.maxImageBytes === undefined ? current.maxImageBytes : quotas.maxImageBytes, accountId);
        return true;
      })
      .immediate();
  }

  async remove(accountId: number, now: number): Promise<boolean> {
    return this.db
      .transaction(() => {
        const account = this.s.accountById.get(accountId) as AccountRow | undefined;
        if (!account) return false;
        for (const statement of this.s.removeAccount) statement.run(accountId);
        this.s.recordRemoval.run(accountId, account.name, now);
        return true;
      })
      .immediate();
  }

  async addDevice(accountId: number, device: NewDevice, now: number): Promise<boolean> {
    return this.db
      .transaction(() => {
        if (!this.s.accountById.get(accountId)) return false;
        this.s.insertDevice.run(device.id, accountId, device.name, device.tokenHash, 0, now);
        return true;
      })
      .immediate();
  }

  async listDevices(accountId: number): Promise<DeviceEntry[]> {
    const devices = this.s.listDevices.all(accountId) as (Omit<DeviceEntry, 'kind' | 'fromEnvironment'> & { fromEnv: number })[];
    const sessions = this.s.listWebSessions.all(accountId) as Omit<DeviceEntry, 'kind' | 'fromEnvironment'>[];
    return [
      ...devices.map(({ fromEnv, ...d }) => ({ ...d, kind: 'device' as const, fromEnvironment: fromEnv === 1 })),
      ...sessions.map((w) => ({ ...w, kind: 'web' as const, fromEnvironment: false })),
    ];
  }

  async revoke(accountId: number, id: string): Promise<'revoked' | 'not_found' | 'from_environment'> {
    return this.db
      .transaction(() => {
        const device = this.s.deviceOfAccount.get(id, accountId) as { fromEnv: number } | undefined;
        if (device?.fromEnv) return 'from_environment' as const;
        if (device) {
          this.s.deleteSessionsOfDevice.run(id);
          this.s.deleteDevice.run(id);
          return 'revoked' as const;
        }
        return this.s.deleteSessionOfAccount.run(id, accountId).changes > 0 ? ('revoked' as const) : ('not_found' as const);
      })
      .immediate();
  }

  async findByTokenHash(tokenHash: Buffer): Promise<TokenOwner | undefined> {
    return this.s.ownerOfToken.get(tokenHash) as TokenOwner | undefined;
  }

  changeMark(): string {
    return this.s.changeMark.get() as string;
  }

  async markSeen(deviceId: string, at: number, from: string, seenBefore: number): Promise<void> {
    this.s.markSeen.run(at, from, deviceId, seenBefore);
  }

  async setEnvironmentDevice(accountId: number, tokenHash: Buffer | undefined, now: number): Promise<void> {
    const { id, name } = ENVIRONMENT_DEVICE;
    this.db
      .transaction(() => {
        const current = this.s.environmentDevice.get(id) as { tokenHash: Buffer; accountId: number } | undefined;
        if (current && tokenHash && current.tokenHash.equals(tokenHash) && current.accountId === accountId) return;
        // A new or removed AUTH_TOKEN ends what the old one opened.
        this.s.deleteSessionsOfDevice.run(id);
        this.s.deleteDevice.run(id);
        if (tokenHash) this.s.insertDevice.run(id, accountId, name, tokenHash, 1, now);
      })
      .immediate();
  }

  async countDevices(): Promise<number> {
    return this.s.countDevices.get() as number;
  }

  async createWebSession(session: NewWebSession, now: number): Promise<boolean> {
    return this.s.insertWebSession.run(session.id, session.idHash, session.accountId, session.deviceId, now, now, session.from, session.deviceId, session.accountId).changes === 1;
  }

  async findWebSession(idHash: Buffer, now: number, idleMs: number, from: string): Promise<WebSessionOwner | undefined> {
    const row = this.s.webSessionByHash.get(idHash) as (WebSessionOwner & { lastUsedAt: number }) | undefined;
    if (!row) return undefined;
    if (now - row.lastUsedAt > idleMs) {
      this.s.deleteWebSession.run(idHash);
      return undefined;
    }
    // Like a device's last seen: at most one write a minute per session.
    if (now - row.lastUsedAt >= 60_000) this.s.touchWebSession.run(now, from, idHash);
    return { sessionId: row.sessionId, accountId: row.accountId, accountName: row.accountName, deviceId: row.deviceId };
  }

  async deleteWebSession(idHash: Buffer): Promise<void> {
    this.s.deleteWebSession.run(idHash);
  }
}

const ACCOUNT_COLUMNS = 'id, name, created_at AS createdAt, max_bytes AS maxBytes, max_image_bytes AS maxImageBytes';

function prepareStatements(db: Database) {
  return {
    accountByName: db.prepare(`SELECT ${ACCOUNT_COLUMNS} FROM datasets WHERE name = ?`),
    accountById: db.prepare(`SELECT ${ACCOUNT_COLUMNS} FROM datasets WHERE id = ?`),
    nextAccountId: db.prepare('SELECT max(coalesce((SELECT max(id) FROM datasets), 0), coalesce((SELECT max(id) FROM removed_datasets), 0)) + 1').pluck(),
    insertAccount: db.prepare('INSERT INTO datasets (id, name, created_at, max_bytes, max_image_bytes) VALUES (?, ?, ?, ?, ?)'),
    listAccounts: db.prepare(
      `SELECT ${ACCOUNT_COLUMNS}, json_bytes AS bytes, written, last_stamp AS lastSyncAt,
         (SELECT count(*) FROM devices WHERE dataset_id = datasets.id) AS devices,
         (SELECT count(*) FROM items WHERE dataset_id = datasets.id) AS items,
         (SELECT count(*) FROM tombstones WHERE dataset_id = datasets.id) AS tombstones
       FROM datasets ORDER BY name`,
    ),
    updateQuotas: db.prepare('UPDATE datasets SET max_bytes = ?, max_image_bytes = ? WHERE id = ?'),
    // Children first: the foreign keys hold at every step.
    removeAccount: ['web_sessions', 'devices', 'history', 'tombstones', 'items', 'images', 'datasets'].map((table) =>
      db.prepare(`DELETE FROM ${table} WHERE ${table === 'datasets' ? 'id' : 'dataset_id'} = ?`),
    ),
    recordRemoval: db.prepare('INSERT OR REPLACE INTO removed_datasets (id, name, removed_at) VALUES (?, ?, ?)'),
    insertDevice: db.prepare('INSERT INTO devices (id, dataset_id, name, token_sha256, from_env, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    listDevices: db.prepare(
      `SELECT id, name, created_at AS createdAt, last_seen_at AS lastSeenAt, last_seen_from AS lastSeenFrom, from_env AS fromEnv
       FROM devices WHERE dataset_id = ? ORDER BY created_at, id`,
    ),
    listWebSessions: db.prepare(
      `SELECT w.id, 'web: ' || d.name AS name, w.created_at AS createdAt, w.last_used_at AS lastSeenAt, w.last_used_from AS lastSeenFrom
       FROM web_sessions w JOIN devices d ON d.id = w.device_id WHERE w.dataset_id = ? ORDER BY w.created_at, w.id`,
    ),
    deviceOfAccount: db.prepare('SELECT from_env AS fromEnv FROM devices WHERE id = ? AND dataset_id = ?'),
    deleteDevice: db.prepare('DELETE FROM devices WHERE id = ?'),
    deleteSessionsOfDevice: db.prepare('DELETE FROM web_sessions WHERE device_id = ?'),
    deleteSessionOfAccount: db.prepare('DELETE FROM web_sessions WHERE id = ? AND dataset_id = ?'),
    ownerOfToken: db.prepare(
      `SELECT d.dataset_id AS accountId, a.name AS accountName, d.id AS deviceId, d.last_seen_at AS lastSeenAt, a.max_image_bytes AS maxImageBytes
       FROM devices d JOIN datasets a ON a.id = d.dataset_id WHERE d.token_sha256 = ?`,
    ),
    // data_version moves when another connection (the CLI, another process)
    // commits; total_changes counts every row this connection wrote. Together,
    // nothing in the file can have changed while both stay the same.
    changeMark: db.prepare("SELECT total_changes() || ':' || data_version FROM pragma_data_version").pluck(),
    markSeen: db.prepare('UPDATE devices SET last_seen_at = ?, last_seen_from = ? WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at <= ?)'),
    environmentDevice: db.prepare('SELECT token_sha256 AS tokenHash, dataset_id AS accountId FROM devices WHERE id = ?'),
    countDevices: db.prepare('SELECT count(*) FROM devices').pluck(),
    // Only for a device still there: one revoked (or its account removed) since its token was checked fails no foreign key.
    insertWebSession: db.prepare(
      `INSERT INTO web_sessions (id, id_sha256, dataset_id, device_id, created_at, last_used_at, last_used_from)
       SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM devices WHERE id = ? AND dataset_id = ?)`,
    ),
    webSessionByHash: db.prepare(
      `SELECT w.id AS sessionId, w.dataset_id AS accountId, a.name AS accountName, w.device_id AS deviceId, w.last_used_at AS lastUsedAt
       FROM web_sessions w JOIN datasets a ON a.id = w.dataset_id WHERE w.id_sha256 = ?`,
    ),
    touchWebSession: db.prepare('UPDATE web_sessions SET last_used_at = ?, last_used_from = ? WHERE id_sha256 = ?'),
    deleteWebSession: db.prepare('DELETE FROM web_sessions WHERE id_sha256 = ?'),
  };
}
