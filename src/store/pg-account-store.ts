import type pg from 'pg';
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
import { ENVIRONMENT_DEVICE } from './sqlite-account-store.js';

const ACCOUNT_COLUMNS = 'id, name, created_at AS "createdAt", max_bytes AS "maxBytes", max_image_bytes AS "maxImageBytes"';

type Transaction = <T>(task: (db: pg.PoolClient) => Promise<T>) => Promise<T>;

/**
 * Accounts, devices and web sessions in PostgreSQL (migration 3), the twin of
 * sqlite-account-store.ts. Nothing is cached: a token revoked through any process
 * is refused on the next request on every process, since every request looks its
 * token's hash up here.
 */
export class PgAccountStore implements AccountStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly transaction: Transaction,
  ) {}

  create(name: string, firstDevice: NewDevice, quotas: Quotas, now: number): Promise<Account | undefined> {
    return this.transaction(async (db) => {
      const { rows } = await db.query<{ id: number }>(
        'INSERT INTO datasets (name, created_at, max_bytes, max_image_bytes) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING RETURNING id',
        [name, now, quotas.maxBytes, quotas.maxImageBytes],
      );
      if (!rows[0]) return undefined;
      await insertDevice(db, firstDevice, rows[0].id, false, now);
      return { id: rows[0].id, name, createdAt: now, ...quotas };
    });
  }

  async find(name: string): Promise<Account | undefined> {
    return (await this.pool.query<Account>(`SELECT ${ACCOUNT_COLUMNS} FROM datasets WHERE name = $1`, [name])).rows[0];
  }

  async list(): Promise<AccountUsage[]> {
    const { rows } = await this.pool.query<AccountUsage & { written: boolean }>(
      `SELECT ${ACCOUNT_COLUMNS}, json_bytes AS bytes, written, last_stamp AS "lastSyncAt",
         (SELECT count(*) FROM devices WHERE dataset_id = datasets.id) AS devices,
         (SELECT count(*) FROM items WHERE dataset_id = datasets.id) AS items,
         (SELECT count(*) FROM tombstones WHERE dataset_id = datasets.id) AS tombstones
       FROM datasets ORDER BY name COLLATE "C"`,
    );
    return rows.map(({ written, lastSyncAt, ...row }) => ({ ...row, lastSyncAt: written ? lastSyncAt : null }));
  }

  async setQuotas(accountId: number, quotas: Partial<Quotas>): Promise<boolean> {
    const result = await this.pool.query(
      `UPDATE datasets SET max_bytes = CASE WHEN $2 THEN $3 ELSE max_bytes END, max_image_bytes = CASE WHEN $4 THEN $5 ELSE max_image_bytes END WHERE id = $1`,
      [accountId, quotas.maxBytes !== undefined, quotas.maxBytes ?? null, quotas.maxImageBytes !== undefined, quotas.maxImageBytes ?? null],
    );
    return result.rowCount === 1;
  }

  remove(accountId: number, now: number): Promise<boolean> {
    return this.transaction(async (db) => {
      const { rows } = await db.query<{ name: string }>('SELECT name FROM datasets WHERE id = $1 FOR UPDATE', [accountId]);
      if (!rows[0]) return false;
      // Its images go in the same transaction: with PostgreSQL nothing is left for afterwards.
      // Their rows first, then the chunks of the blobs they named, in a statement of its
      // own: an upload (of another process) that replaced one meanwhile is waited for and
      // its blob taken. Chunks deleted by the names read first left that blob's for good.
      const { rows: blobs } = await db.query<{ blob_id: number }>('DELETE FROM images WHERE dataset_id = $1 RETURNING blob_id', [accountId]);
      await db.query('DELETE FROM image_chunks WHERE blob_id = ANY($1::bigint[])', [blobs.map((b) => b.blob_id)]);
      // Children first: the foreign keys hold at every step.
      for (const table of ['web_sessions', 'devices', 'history', 'tombstones', 'items']) {
        await db.query(`DELETE FROM ${table} WHERE dataset_id = $1`, [accountId]);
      }
      await db.query('DELETE FROM datasets WHERE id = $1', [accountId]);
      await db.query(
        'INSERT INTO removed_datasets (id, name, removed_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET name = excluded.name, removed_at = excluded.removed_at',
        [accountId, rows[0].name, now],
      );
      return true;
    });
  }

  async addDevice(accountId: number, device: NewDevice, now: number): Promise<boolean> {
    return this.transaction(async (db) => {
      const { rows } = await db.query('SELECT 1 FROM datasets WHERE id = $1 FOR SHARE', [accountId]);
      if (rows.length === 0) return false;
      await insertDevice(db, device, accountId, false, now);
      return true;
    });
  }

  async listDevices(accountId: number): Promise<DeviceEntry[]> {
    const devices = await this.pool.query<Omit<DeviceEntry, 'kind' | 'fromEnvironment'> & { fromEnv: boolean }>(
      `SELECT id, name, created_at AS "createdAt", last_seen_at AS "lastSeenAt", last_seen_from AS "lastSeenFrom", from_env AS "fromEnv"
       FROM devices WHERE dataset_id = $1 ORDER BY created_at, id COLLATE "C"`,
      [accountId],
    );
    const sessions = await this.pool.query<Omit<DeviceEntry, 'kind' | 'fromEnvironment'>>(
      `SELECT w.id, 'web: ' || d.name AS name, w.created_at AS "createdAt", w.last_used_at AS "lastSeenAt", w.last_used_from AS "lastSeenFrom"
       FROM web_sessions w JOIN devices d ON d.id = w.device_id WHERE w.dataset_id = $1 ORDER BY w.created_at, w.id COLLATE "C"`,
      [accountId],
    );
    return [
      ...devices.rows.map(({ fromEnv, ...d }) => ({ ...d, kind: 'device' as const, fromEnvironment: fromEnv })),
      ...sessions.rows.map((w) => ({ ...w, kind: 'web' as const, fromEnvironment: false })),
    ];
  }

  revoke(accountId: number, id: string): Promise<'revoked' | 'not_found' | 'from_environment'> {
    // No id holds U+0000, which PostgreSQL text cannot: unknown, as on SQLite, not a failed query.
    if (id.includes('\u0000')) return Promise.resolve('not_found');
    return this.transaction(async (db) => {
      // The account's row first, as every write and `accounts remove` take it: a
      // revoke that locked the device first deadlocked with a removal holding the
      // account and deleting its web sessions, and PostgreSQL failed one of them.
      const account = await db.query('SELECT 1 FROM datasets WHERE id = $1 FOR SHARE', [accountId]);
      if (account.rows.length === 0) return 'not_found' as const;
      const { rows } = await db.query<{ from_env: boolean }>('SELECT from_env FROM devices WHERE id = $1 AND dataset_id = $2 FOR UPDATE', [id, accountId]);
      if (rows[0]?.from_env) return 'from_environment' as const;
      if (rows[0]) {
        await db.query('DELETE FROM web_sessions WHERE device_id = $1', [id]);
        await db.query('DELETE FROM devices WHERE id = $1', [id]);
        return 'revoked' as const;
      }
      const session = await db.query('DELETE FROM web_sessions WHERE id = $1 AND dataset_id = $2', [id, accountId]);
      return session.rowCount ? ('revoked' as const) : ('not_found' as const);
    });
  }

  /** Another process may revoke at any time, and only a query can tell: nothing is cached. */
  changeMark(): undefined {
    return undefined;
  }

  async findByTokenHash(tokenHash: Buffer): Promise<TokenOwner | undefined> {
    const { rows } = await this.pool.query<TokenOwner>(
      `SELECT d.dataset_id AS "accountId", a.name AS "accountName", d.id AS "deviceId", d.last_seen_at AS "lastSeenAt", a.max_image_bytes AS "maxImageBytes"
       FROM devices d JOIN datasets a ON a.id = d.dataset_id WHERE d.token_sha256 = $1`,
      [tokenHash],
    );
    return rows[0];
  }

  async markSeen(deviceId: string, at: number, from: string, seenBefore: number): Promise<void> {
    await this.pool.query('UPDATE devices SET last_seen_at = $1, last_seen_from = $2 WHERE id = $3 AND (last_seen_at IS NULL OR last_seen_at <= $4)', [
      at,
      from,
      deviceId,
      seenBefore,
    ]);
  }

  async setEnvironmentDevice(accountId: number, tokenHash: Buffer | undefined, now: number): Promise<void> {
    const { id } = ENVIRONMENT_DEVICE;
    await this.transaction(async (db) => {
      // Several processes start together with the same AUTH_TOKEN: one at a time here.
      await db.query('SELECT pg_advisory_xact_lock($1)', [ENVIRONMENT_LOCK]);
      const { rows } = await db.query<{ token_sha256: Buffer; dataset_id: number }>('SELECT token_sha256, dataset_id FROM devices WHERE id = $1', [id]);
      const current = rows[0];
      if (current && tokenHash && current.token_sha256.equals(tokenHash) && current.dataset_id === accountId) return;
      // A new or removed AUTH_TOKEN ends what the old one opened.
      await db.query('DELETE FROM web_sessions WHERE device_id = $1', [id]);
      await db.query('DELETE FROM devices WHERE id = $1', [id]);
      if (tokenHash) await insertDevice(db, { id, name: ENVIRONMENT_DEVICE.name, tokenHash }, accountId, true, now);
    });
  }

  async countDevices(): Promise<number> {
    return (await this.pool.query<{ n: number }>('SELECT count(*) AS n FROM devices')).rows[0]!.n;
  }

  createWebSession(session: NewWebSession, now: number): Promise<boolean> {
    return this.transaction(async (db) => {
      // The account's row, then the device's, in the order a removal and a revoke take
      // them: either is waited for and then found gone, where the insert's foreign key
      // failed (a 500 for a login whose device was revoked meanwhile). Held, neither
      // can be deleted until the session is in, for them to delete with it.
      const account = await db.query('SELECT 1 FROM datasets WHERE id = $1 FOR KEY SHARE', [session.accountId]);
      if (account.rows.length === 0) return false;
      const device = await db.query('SELECT 1 FROM devices WHERE id = $1 AND dataset_id = $2 FOR KEY SHARE', [session.deviceId, session.accountId]);
      if (device.rows.length === 0) return false;
      await db.query(
        'INSERT INTO web_sessions (id, id_sha256, dataset_id, device_id, created_at, last_used_at, last_used_from) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [session.id, session.idHash, session.accountId, session.deviceId, now, now, session.from],
      );
      return true;
    });
  }

  async findWebSession(idHash: Buffer, now: number, idleMs: number, from: string): Promise<WebSessionOwner | undefined> {
    const { rows } = await this.pool.query<WebSessionOwner & { lastUsedAt: number }>(
      `SELECT w.id AS "sessionId", w.dataset_id AS "accountId", a.name AS "accountName", w.device_id AS "deviceId", w.last_used_at AS "lastUsedAt"
       FROM web_sessions w JOIN datasets a ON a.id = w.dataset_id WHERE w.id_sha256 = $1`,
      [idHash],
    );
    const row = rows[0];
    if (!row) return undefined;
    if (now - row.lastUsedAt > idleMs) {
      await this.deleteWebSession(idHash);
      return undefined;
    }
    // Like a device's last seen: at most one write a minute per session.
    if (now - row.lastUsedAt >= 60_000) await this.pool.query('UPDATE web_sessions SET last_used_at = $1, last_used_from = $2 WHERE id_sha256 = $3', [now, from, idHash]);
    return { sessionId: row.sessionId, accountId: row.accountId, accountName: row.accountName, deviceId: row.deviceId };
  }

  async deleteWebSession(idHash: Buffer): Promise<void> {
    await this.pool.query('DELETE FROM web_sessions WHERE id_sha256 = $1', [idHash]);
  }
}

/** The first key of the advisory lock around the AUTH_TOKEN device, apart from every other lock. */
const ENVIRONMENT_LOCK = 0x656e76; // "env"

async function insertDevice(db: pg.PoolClient, device: NewDevice, accountId: number, fromEnv: boolean, now: number): Promise<void> {
  await db.query('INSERT INTO devices (id, dataset_id, name, token_sha256, from_env, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
    device.id,
    accountId,
    device.name,
    device.tokenHash,
    fromEnv,
    now,
  ]);
}
