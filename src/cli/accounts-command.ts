import { newDeviceToken, newShortId, secretHash } from '../auth/secrets.js';
import { ConfigError, parseQuota, type Config } from '../config.js';
import { DEFAULT_ACCOUNT, DEVICE_NAME_MAX, deviceName, type Account, type AccountUsage, type DeviceEntry, type Quotas } from '../store/account-store.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { formatInstant } from '../sync/timestamps.js';
import { CommandError } from './command-error.js';
import { describeFailure } from './exit-codes.js';
import { formatBytes } from './progress.js';
import { removeAccountThumbnails, thumbnailsDirOf } from '../images/thumbnail-files.js';

/** Options of `accounts` and `devices` beyond the positional words. */
export interface AccountOptions {
  json: boolean;
  yes: boolean;
  device?: string;
  maxBytes?: string;
  maxImageBytes?: string;
}

const ACCOUNT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const FIRST_DEVICE = 'first device';

const ACCOUNTS_USAGE =
  'usage: ascently-sync accounts add NAME [--device DEVICE_NAME] | accounts list | accounts set NAME [--max-bytes SIZE] [--max-image-bytes SIZE] | accounts remove NAME --yes';
const DEVICES_USAGE = 'usage: ascently-sync devices add ACCOUNT DEVICE_NAME | devices list ACCOUNT | devices revoke ACCOUNT DEVICE_ID';

interface Output {
  json: unknown;
  text: string;
}

/** Which of the `accounts` flags each action takes (--json: all of them). */
const ACTION_FLAGS: Record<string, readonly string[]> = { add: ['device'], list: [], set: ['max-bytes', 'max-image-bytes'], remove: ['yes'] };

/** A flag of another action is refused, not ignored: a quota typed on `accounts add` would silently not be set. */
function requireOwnFlags(action: string, options: AccountOptions): void {
  const given: [string, boolean][] = [
    ['device', options.device !== undefined],
    ['max-bytes', options.maxBytes !== undefined],
    ['max-image-bytes', options.maxImageBytes !== undefined],
    ['yes', options.yes],
  ];
  for (const [flag, isGiven] of given) {
    if (!isGiven || ACTION_FLAGS[action]!.includes(flag)) continue;
    const owner = Object.keys(ACTION_FLAGS).find((a) => ACTION_FLAGS[a]!.includes(flag));
    throw new ConfigError(`--${flag} is an option of \`accounts ${owner}\`, not of \`accounts ${action}\``);
  }
}

/** `ascently-sync accounts …`: every change is one transaction of the store, safe while the server runs. */
export function accountsCommand(config: Config, args: string[], options: AccountOptions): Promise<number> {
  const [action, name, ...extra] = args;
  if (extra.length > 0) throw new ConfigError(ACCOUNTS_USAGE);
  if (action !== undefined && Object.hasOwn(ACTION_FLAGS, action)) requireOwnFlags(action, options);
  return run(config, options, async (store) => {
    switch (action) {
      case 'add':
        return addAccount(store, config, requireName(name), options.device ?? FIRST_DEVICE);
      case 'list':
        if (name !== undefined) throw new ConfigError(ACCOUNTS_USAGE);
        return listAccounts(store, config);
      case 'set':
        return setQuotas(store, config, requireName(name), options);
      case 'remove':
        return removeAccount(store, config, requireName(name), options.yes);
      default:
        throw new ConfigError(ACCOUNTS_USAGE);
    }
  });
}

/** `ascently-sync devices …` */
export function devicesCommand(config: Config, args: string[], options: AccountOptions): Promise<number> {
  const [action, accountName, third, ...extra] = args;
  if (extra.length > 0 || accountName === undefined) throw new ConfigError(DEVICES_USAGE);
  return run(config, options, async (store) => {
    const account = await requireAccount(store, accountName);
    switch (action) {
      case 'add':
        if (third === undefined) throw new ConfigError(DEVICES_USAGE);
        return addDevice(store, account, third);
      case 'list':
        if (third !== undefined) throw new ConfigError(DEVICES_USAGE);
        return listDevices(store, account);
      case 'revoke':
        if (third === undefined) throw new ConfigError(DEVICES_USAGE);
        return revoke(store, account, third);
      default:
        throw new ConfigError(DEVICES_USAGE);
    }
  });
}

async function run(config: Config, options: AccountOptions, task: (store: Store) => Promise<Output>): Promise<number> {
  const store = await openStore(config);
  let output: Output;
  try {
    output = await task(store);
  } finally {
    await store.close();
  }
  process.stdout.write(options.json ? `${JSON.stringify(output.json)}\n` : output.text);
  return 0;
}

async function addAccount(store: Store, config: Config, name: string, deviceName: string): Promise<Output> {
  const device = newDevice(deviceName);
  const quotas = { maxBytes: config.defaultMaxBytes, maxImageBytes: config.defaultMaxImageBytes };
  const account = await store.accounts.create(name, device.record, quotas, Date.now());
  if (!account) throw new CommandError(`an account named "${name}" already exists`);
  return deviceMade(account, device, `Made account ${name}`);
}

async function addDevice(store: Store, account: Account, deviceName: string): Promise<Output> {
  const device = newDevice(deviceName);
  if (!(await store.accounts.addDevice(account.id, device.record, Date.now()))) throw unknownAccount(account.name);
  return deviceMade(account, device, `Added to account ${account.name}`);
}

function newDevice(name: string) {
  const valid = deviceName(name);
  if (valid === undefined) throw new CommandError(`"${name}" is not a device name: use 1-${DEVICE_NAME_MAX} printable characters, such as "Pixel 8"`);
  const token = newDeviceToken();
  return { token, record: { id: newShortId(), name: valid, tokenHash: secretHash(token) } };
}

function deviceMade(account: Account, device: ReturnType<typeof newDevice>, headline: string): Output {
  const { id, name } = device.record;
  return {
    json: { account: account.name, device: { id, name, token: device.token } },
    text:
      `${headline}: device "${name}" (id ${id}).\n` +
      `Its token, shown only this once (enter it in the app with this server's address):\n\n    ${device.token}\n\n`,
  };
}

async function listAccounts(store: Store, config: Config): Promise<Output> {
  const accounts = await Promise.all((await store.accounts.list()).map((a) => withImages(store, a, config)));
  const rows = accounts.map((a) => [
    a.name,
    String(a.devices),
    String(a.items),
    String(a.tombstones),
    `${formatBytes(a.bytes)}${a.maxBytes === null ? '' : ` of ${formatBytes(a.maxBytes)}`}`,
    `${a.images} (${formatBytes(a.imageBytes)}${a.maxImageBytes === null ? '' : ` of ${formatBytes(a.maxImageBytes)}`})`,
    a.lastSyncAt ?? 'never',
  ]);
  return { json: accounts, text: table(['ACCOUNT', 'DEVICES', 'ITEMS', 'DELETIONS', 'DATA', 'IMAGES', 'LAST SYNC'], rows) };
}

async function setQuotas(store: Store, config: Config, name: string, options: AccountOptions): Promise<Output> {
  if (options.maxBytes === undefined && options.maxImageBytes === undefined) throw new ConfigError(ACCOUNTS_USAGE);
  const quotas: { -readonly [K in keyof Quotas]?: Quotas[K] } = {};
  if (options.maxBytes !== undefined) quotas.maxBytes = parseQuota(options.maxBytes, '--max-bytes');
  if (options.maxImageBytes !== undefined) quotas.maxImageBytes = parseQuota(options.maxImageBytes, '--max-image-bytes');
  const account = await requireAccount(store, name);
  if (!(await store.accounts.setQuotas(account.id, quotas))) throw unknownAccount(name);
  const usage = (await store.accounts.list()).find((a) => a.id === account.id);
  if (!usage) throw unknownAccount(name);
  const json = await withImages(store, usage, config);
  const limit = (bytes: number | null): string => (bytes === null ? 'none' : formatBytes(bytes));
  return { json, text: `Account ${name}: data limit ${limit(json.maxBytes)}, image limit ${limit(json.maxImageBytes)}.\n` };
}

async function removeAccount(store: Store, config: Config, name: string, confirmed: boolean): Promise<Output> {
  if (name === DEFAULT_ACCOUNT) throw new CommandError('the default account cannot be removed');
  if (!confirmed) throw new ConfigError(`this removes account ${name} with all its data, history, devices and images: add --yes to confirm`);
  const account = await requireAccount(store, name);
  if (!(await store.accounts.remove(account.id, Date.now()))) throw unknownAccount(name);
  // After the commit: a crash or a file that will not go leaves only files, which the
  // next start (or `images check`) deletes. The account is gone either way, and said so.
  try {
    await store.images(config.imagesDir).removeAccount(account);
    await removeAccountThumbnails(thumbnailsDirOf(config.dataDir), account.id);
  } catch (err) {
    process.stderr.write(`ascently-sync: warning: some of ${name}'s images could not be deleted yet (${describeFailure(err).message}); the server deletes them at its next start\n`);
  }
  return { json: { removed: name }, text: `Removed account ${name} and everything it held; its tokens no longer work.\n` };
}

async function listDevices(store: Store, account: Account): Promise<Output> {
  const devices = await store.accounts.listDevices(account.id);
  const json = devices.map((d) => ({
    id: d.id,
    name: d.name,
    kind: d.kind,
    createdAt: formatInstant(d.createdAt),
    lastSeenAt: d.lastSeenAt === null ? null : formatInstant(d.lastSeenAt),
    lastSeenFrom: d.lastSeenFrom,
  }));
  const rows = json.map((d, i) => [d.id, d.kind, describeDevice(devices[i]!), d.createdAt, d.lastSeenAt ?? 'never', d.lastSeenFrom ?? '']);
  return { json, text: table(['ID', 'KIND', 'NAME', 'CREATED', 'LAST SEEN', 'FROM'], rows) };
}

function describeDevice(device: DeviceEntry): string {
  return device.fromEnvironment ? `${device.name} (from the environment)` : device.name;
}

async function revoke(store: Store, account: Account, id: string): Promise<Output> {
  const outcome = await store.accounts.revoke(account.id, id);
  if (outcome === 'from_environment') {
    throw new CommandError('the AUTH_TOKEN device comes from the environment: remove AUTH_TOKEN (or AUTH_TOKEN_FILE) there and restart the server');
  }
  if (outcome === 'not_found') throw new CommandError(`account ${account.name} has no device or web session with id "${id}"; see \`ascently-sync devices list ${account.name}\``);
  return { json: { revoked: id }, text: `Revoked ${id}: its token no longer works, from the next request on.\n` };
}

function requireName(name: string | undefined): string {
  if (name === undefined) throw new ConfigError(ACCOUNTS_USAGE);
  if (!ACCOUNT_NAME.test(name)) {
    throw new CommandError(`"${name}" is not an account name: use 1-64 of a-z, 0-9, ".", "_" and "-", starting with a letter or digit`);
  }
  return name;
}

async function requireAccount(store: Store, name: string): Promise<Account> {
  const account = await store.accounts.find(requireName(name));
  if (!account) throw unknownAccount(name);
  return account;
}

function unknownAccount(name: string): CommandError {
  return new CommandError(`no account named "${name}"; see \`ascently-sync accounts list\``);
}

/** The object `accounts list --json` prints for one account, keys in the documented order. */
async function withImages(store: Store, a: AccountUsage, config: Config) {
  const images = await (await store.images(config.imagesDir).account(a, { maxBytes: config.maxImageBytes, removeLeftovers: false })).usage();
  return {
    name: a.name,
    createdAt: formatInstant(a.createdAt),
    devices: a.devices,
    items: a.items,
    tombstones: a.tombstones,
    bytes: a.bytes,
    images: images.images,
    imageBytes: images.bytes,
    lastSyncAt: a.lastSyncAt === null ? null : formatInstant(a.lastSyncAt),
    maxBytes: a.maxBytes,
    maxImageBytes: a.maxImageBytes,
  };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}
