import { readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { thumbnailsDirOf } from './images/thumbnail-files.js';
import {
  ConfigError,
  LOG_LEVELS,
  MiB,
  parseBoolean,
  parseBytes,
  parseCount,
  parseDatabaseUrl,
  parseLogFormat,
  parseLogLevel,
  parseNonEmpty,
  parsePort,
  parsePositiveCount,
  parseQuota,
  type LogFormat,
  type LogLevel,
} from './setting-values.js';

export { ConfigError, parseQuota, type LogFormat, type LogLevel };

/**
 * One schema for every setting: its env variable, CLI flag, default and doc.
 * The README's configuration table is generated from (and tested against) it.
 */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly authToken: string | undefined;
  readonly authTokenFile: string | undefined;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly dataFile: string;
  readonly imagesDir: string;
  readonly maxJsonBytes: number;
  readonly maxImageBytes: number;
  readonly logLevel: LogLevel;
  readonly trustProxy: boolean;
  readonly historyKeep: number;
  readonly tombstoneRetentionDays: number;
  /** Quotas a new account gets (null: unlimited). */
  readonly defaultMaxBytes: number | null;
  readonly defaultMaxImageBytes: number | null;
  readonly cookieSecure: boolean;
  readonly webSessionDays: number;
  readonly metricsToken: string | undefined;
  readonly logFormat: LogFormat;
}

interface Setting<K extends keyof Config> {
  key: K;
  env: string;
  flag: string;
  /** Shown in the README; derived defaults are computed in resolveConfig. */
  defaultText: string;
  doc: string;
  /** Never shown: the start-up line says only whether it is set. */
  secret?: true;
  parse(raw: string, name: string): Config[K];
}

type AnySetting = { [K in keyof Config]: Setting<K> }[keyof Config];


export const SETTINGS: readonly AnySetting[] = [
  { key: 'port', env: 'PORT', flag: 'port', defaultText: '8080', doc: 'TCP port to listen on.', parse: parsePort },
  { key: 'host', env: 'HOST', flag: 'host', defaultText: '0.0.0.0', doc: 'Address to listen on (`127.0.0.1` to accept local connections only).', parse: parseNonEmpty },
  { key: 'authToken', env: 'AUTH_TOKEN', flag: 'auth-token', defaultText: '(none)', doc: 'A bearer token for the `default` account, listed as its device `AUTH_TOKEN`. Needed unless `AUTH_TOKEN_FILE` is set, a token is kept in `DATA_DIR/auth-token` (`--generate-token` makes one) or a device made with `accounts add` / `devices add` is there. Use 32 characters or more: a shorter one works, with a warning at every start.', secret: true, parse: parseNonEmpty },
  { key: 'authTokenFile', env: 'AUTH_TOKEN_FILE', flag: 'auth-token-file', defaultText: '(none)', doc: 'Read the token from this file instead (Docker secrets).', parse: parseNonEmpty },
  { key: 'dataDir', env: 'DATA_DIR', flag: 'data-dir', defaultText: './data', doc: 'Folder for the SQLite database, history and generated token; a full upload is received into a file here (deleted as it is opened) while it is checked.', parse: parseNonEmpty },
  { key: 'databaseUrl', env: 'DATABASE_URL', flag: 'database-url', defaultText: '(none)', doc: 'Keep everything, images included, in this PostgreSQL database (`postgres://user:password@host:5432/db`) instead of SQLite in `DATA_DIR`; several server processes may share it.', secret: true, parse: parseDatabaseUrl },
  { key: 'dataFile', env: 'DATA_FILE', flag: 'data-file', defaultText: '`DATA_DIR/ascently.json`', doc: "A reference server's `ascently.json`, imported once on first start when the database is empty.", parse: parseNonEmpty },
  { key: 'imagesDir', env: 'IMAGES_DIR', flag: 'images-dir', defaultText: '`DATA_DIR/images`', doc: 'Folder for uploaded images, of their own: not `DATA_DIR` itself, a folder above it or its `thumbnails`.', parse: parseNonEmpty },
  { key: 'maxJsonBytes', env: 'MAX_JSON_BYTES', flag: 'max-json-bytes', defaultText: '200MiB', doc: 'Largest JSON request body; larger ones get 413. Accepts bytes or a unit (`50MB`, `200MiB`).', parse: parseBytes },
  { key: 'maxImageBytes', env: 'MAX_IMAGE_BYTES', flag: 'max-image-bytes', defaultText: '25MiB', doc: 'Largest image upload; larger ones get 413.', parse: parseBytes },
  { key: 'logLevel', env: 'LOG_LEVEL', flag: 'log-level', defaultText: 'info', doc: `Log level: ${LOG_LEVELS.join(', ')}.`, parse: parseLogLevel },
  { key: 'trustProxy', env: 'TRUST_PROXY', flag: 'trust-proxy', defaultText: 'false', doc: 'Take the client address from `X-Forwarded-For` (set when behind a reverse proxy): the last address in it, which the proxy added.', parse: parseBoolean },
  { key: 'historyKeep', env: 'HISTORY_KEEP', flag: 'history-keep', defaultText: '20', doc: 'How many snapshots of replaced data to keep (one per full upload).', parse: parseCount },
  { key: 'defaultMaxBytes', env: 'DEFAULT_MAX_BYTES', flag: 'default-max-bytes', defaultText: 'none', doc: "A new account's limit on its stored data (items and deletions, as JSON); `none` or 0 is unlimited. Change one account's with `accounts set`.", parse: parseQuota },
  { key: 'defaultMaxImageBytes', env: 'DEFAULT_MAX_IMAGE_BYTES', flag: 'default-max-image-bytes', defaultText: 'none', doc: "A new account's limit on the sum of its images; `none` or 0 is unlimited.", parse: parseQuota },
  { key: 'webSessionDays', env: 'WEB_SESSION_DAYS', flag: 'web-session-days', defaultText: '30', doc: 'A dashboard login ends after this many days without use.', parse: parsePositiveCount },
  { key: 'tombstoneRetentionDays', env: 'TOMBSTONE_RETENTION_DAYS', flag: 'tombstone-retention-days', defaultText: '0', doc: 'Forget deletions older than this many days (0 keeps them forever). A device offline for longer may bring items deleted meanwhile back.', parse: parseCount },
  { key: 'metricsToken', env: 'METRICS_TOKEN', flag: 'metrics-token', defaultText: '(none)', doc: 'Turns on `GET /metrics` (Prometheus) for `Authorization: Bearer <METRICS_TOKEN>` only; it opens nothing else. Unset, `/metrics` is a 404.', secret: true, parse: parseNonEmpty },
  { key: 'logFormat', env: 'LOG_FORMAT', flag: 'log-format', defaultText: 'json', doc: 'Log format: `json` (one JSON line per event) or `pretty` (readable on a terminal).', parse: parseLogFormat },
  { key: 'cookieSecure', env: 'COOKIE_SECURE', flag: 'cookie-secure', defaultText: 'false', doc: 'Mark the dashboard\'s session cookie `Secure` on every answer (it is anyway on HTTPS requests).', parse: parseBoolean },
];

const DEFAULTS = {
  port: 8080,
  host: '0.0.0.0',
  dataDir: './data',
  maxJsonBytes: 200 * MiB,
  maxImageBytes: 25 * MiB,
  logLevel: 'info',
  trustProxy: false,
  historyKeep: 20,
  tombstoneRetentionDays: 0,
  cookieSecure: false,
  webSessionDays: 30,
  logFormat: 'json',
} as const;

/** Raw values by setting key, from env or flags; flags win. */
export type RawSettings = Partial<Record<keyof Config, string>>;

export function rawFromEnv(env: NodeJS.ProcessEnv): RawSettings {
  const raw: RawSettings = {};
  for (const s of SETTINGS) {
    const value = env[s.env];
    if (value !== undefined && value !== '') raw[s.key] = value;
  }
  return raw;
}

export function resolveConfig(raw: RawSettings): Config {
  const parsed: Partial<Record<keyof Config, unknown>> = {};
  for (const s of SETTINGS) {
    const value = raw[s.key];
    if (value !== undefined) parsed[s.key] = s.parse(value, `${s.env} (--${s.flag})`);
  }
  const dataDir = path.resolve((parsed.dataDir as string | undefined) ?? DEFAULTS.dataDir);
  if (parsed.authToken !== undefined && parsed.authTokenFile !== undefined) {
    throw new ConfigError('AUTH_TOKEN and AUTH_TOKEN_FILE are both set: set only one.');
  }
  const config: Config = {
    port: (parsed.port as number | undefined) ?? DEFAULTS.port,
    host: (parsed.host as string | undefined) ?? DEFAULTS.host,
    authToken: parsed.authToken as string | undefined,
    authTokenFile: parsed.authTokenFile === undefined ? undefined : path.resolve(parsed.authTokenFile as string),
    dataDir,
    databaseUrl: parsed.databaseUrl as string | undefined,
    dataFile: path.resolve((parsed.dataFile as string | undefined) ?? path.join(dataDir, 'ascently.json')),
    imagesDir: path.resolve((parsed.imagesDir as string | undefined) ?? path.join(dataDir, 'images')),
    maxJsonBytes: (parsed.maxJsonBytes as number | undefined) ?? DEFAULTS.maxJsonBytes,
    maxImageBytes: (parsed.maxImageBytes as number | undefined) ?? DEFAULTS.maxImageBytes,
    logLevel: (parsed.logLevel as LogLevel | undefined) ?? DEFAULTS.logLevel,
    trustProxy: (parsed.trustProxy as boolean | undefined) ?? DEFAULTS.trustProxy,
    historyKeep: (parsed.historyKeep as number | undefined) ?? DEFAULTS.historyKeep,
    tombstoneRetentionDays: (parsed.tombstoneRetentionDays as number | undefined) ?? DEFAULTS.tombstoneRetentionDays,
    defaultMaxBytes: (parsed.defaultMaxBytes as number | null | undefined) ?? null,
    defaultMaxImageBytes: (parsed.defaultMaxImageBytes as number | null | undefined) ?? null,
    cookieSecure: (parsed.cookieSecure as boolean | undefined) ?? DEFAULTS.cookieSecure,
    webSessionDays: (parsed.webSessionDays as number | undefined) ?? DEFAULTS.webSessionDays,
    metricsToken: parsed.metricsToken as string | undefined,
    logFormat: (parsed.logFormat as LogFormat | undefined) ?? DEFAULTS.logFormat,
  };
  if (config.databaseUrl === undefined) checkImagesDir(config);
  return Object.freeze(config);
}

/**
 * Before the server starts: a folder setting that names a file is said as such,
 * not as whatever making a folder in it fails with. (The CLI's commands meet the
 * same file with its path in their one line.)
 */
export function checkFolders(config: Config): void {
  checkFolder(config.dataDir, 'DATA_DIR (--data-dir)');
  if (config.databaseUrl === undefined) checkFolder(config.imagesDir, 'IMAGES_DIR (--images-dir)');
}

function checkFolder(dir: string, setting: string): void {
  let stats;
  try {
    stats = statSync(dir);
  } catch {
    return; // Missing (made at start) or unreadable (reported with its path when used).
  }
  if (!stats.isDirectory()) throw new ConfigError(`${setting} is ${dir}, which is a file: give a folder (it is made if missing).`);
}

/**
 * Devices download and replace files in IMAGES_DIR by name, so it must hold none of
 * the server's own: with IMAGES_DIR set to DATA_DIR, a device could download the
 * database (every account's data, the token hashes) or upload an "image" over it.
 */
function checkImagesDir(config: Config): void {
  const images = realPath(config.imagesDir);
  const data = realPath(config.dataDir);
  if (within(data, images)) {
    throw new ConfigError(
      `IMAGES_DIR (--images-dir) is ${images === data ? 'DATA_DIR' : 'a folder that holds DATA_DIR'}: devices could download or replace the database by name. Give images a folder of their own, such as ${path.join(config.dataDir, 'images')}.`,
    );
  }
  if (within(images, realPath(thumbnailsDirOf(config.dataDir)))) {
    throw new ConfigError(`IMAGES_DIR (--images-dir) is inside DATA_DIR/thumbnails, where the dashboard keeps its thumbnails: give images a folder of their own.`);
  }
  for (const [setting, file] of [['DATA_FILE (--data-file)', config.dataFile], ['AUTH_TOKEN_FILE (--auth-token-file)', config.authTokenFile]] as const) {
    if (file !== undefined && within(realPath(file), images)) throw new ConfigError(`${setting} is inside IMAGES_DIR, where devices could download or replace it by name: keep it outside.`);
  }
}

function within(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith(path.sep) ? outer : outer + path.sep);
}

/** The path with its symbolic links followed as far as it exists (folders may be made only at start). */
function realPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    const parent = path.dirname(p);
    return parent === p ? p : path.join(realPath(parent), path.basename(p));
  }
}

/**
 * The settings in force, by environment variable, for the start-up line. A secret
 * shows only whether it is set, never its value or a part of it.
 */
export function effectiveSettings(config: Config): Record<string, string | number | boolean> {
  const shown: Record<string, string | number | boolean> = {};
  for (const s of SETTINGS) {
    const value = config[s.key];
    if (s.secret) shown[s.env] = value === undefined ? '(not set)' : '(set)';
    else if (value === null) shown[s.env] = 'none';
    else if (value !== undefined) shown[s.env] = value;
  }
  return shown;
}

/**
 * A PostgreSQL URL as it may be shown (the start-up line, the CLI's messages): user,
 * host, port and database, never a password, whether in the URL or its parameters.
 */
export function postgresLabel(databaseUrl: string): string {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return 'PostgreSQL (DATABASE_URL)';
  }
  const user = url.username === '' ? '' : `${url.username}@`;
  return `${url.protocol}//${user}${url.host}${url.pathname}`;
}

/** The token the server checks, from AUTH_TOKEN or AUTH_TOKEN_FILE; undefined when neither is set. */
export function readConfiguredToken(config: Config): string | undefined {
  if (config.authToken !== undefined) return sendable(config.authToken, 'AUTH_TOKEN');
  if (config.authTokenFile === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(config.authTokenFile, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`AUTH_TOKEN_FILE: cannot read ${config.authTokenFile} (${reason}).`);
  }
  const token = text.trim();
  if (token === '') throw new ConfigError(`AUTH_TOKEN_FILE: ${config.authTokenFile} is empty.`);
  return sendable(token, `AUTH_TOKEN_FILE (${config.authTokenFile})`);
}

/**
 * A token goes in an `Authorization: Bearer` header: one word of printable ASCII.
 * One with a space, a line break or a letter like é could never be sent, and the
 * server would start only to refuse every device.
 */
function sendable(token: string, setting: string): string {
  if (!/^[\x21-\x7e]+$/.test(token)) throw new ConfigError(`${setting}: the token must be printable ASCII without spaces or line breaks (it is sent in an HTTP header).`);
  return token;
}
