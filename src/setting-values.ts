/*
 * How each setting's text is read, for env variables and flags alike (config.ts
 * holds the schema): a bad value is a ConfigError whose one line names the
 * setting and what it may be.
 */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export type LogFormat = 'json' | 'pretty';
const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const MiB = 1024 * 1024;

export function parsePort(raw: string, name: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(`${name}: "${raw}" is not a port; use a whole number from 0 to 65535.`);
  }
  return n;
}

export function parseNonEmpty(raw: string, name: string): string {
  if (raw.trim() === '') throw new ConfigError(`${name}: must not be empty.`);
  return raw.trim();
}

export function parseDatabaseUrl(raw: string, name: string): string {
  const value = raw.trim();
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  // The value may hold a password: it is never repeated in the message.
  if (url === undefined || !['postgres:', 'postgresql:'].includes(url.protocol)) {
    throw new ConfigError(`${name}: not a PostgreSQL URL; use postgres://user:password@host:5432/database.`);
  }
  return value;
}

/**
 * Counts of snapshots and of days stop at 100,000: more means nothing here, and a
 * day count past it, as milliseconds, would no longer be an exact number.
 */
const MAX_COUNT = 100_000;

export function parseCount(raw: string, name: string, min = 0): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < min || value > MAX_COUNT) throw new ConfigError(`${name}: "${raw}" is not a whole number from ${min} to ${MAX_COUNT.toLocaleString('en-US')}.`);
  return value;
}

export function parsePositiveCount(raw: string, name: string): number {
  return parseCount(raw, name, 1);
}

export function parseBoolean(raw: string, name: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(`${name}: "${raw}" is not a boolean; use true or false.`);
}

export function parseLogLevel(raw: string, name: string): LogLevel {
  const v = raw.trim().toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(v)) throw new ConfigError(`${name}: "${raw}" is not a log level; use one of ${LOG_LEVELS.join(', ')}.`);
  return v;
}

export function parseLogFormat(raw: string, name: string): LogFormat {
  const v = raw.trim().toLowerCase() as LogFormat;
  if (!LOG_FORMATS.includes(v)) throw new ConfigError(`${name}: "${raw}" is not a log format; use json or pretty.`);
  return v;
}

const UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: MiB, gib: 1024 * MiB };

/** A quota: a size, or `none` / 0 for no limit (null). */
export function parseQuota(raw: string, name: string): number | null {
  const v = raw.trim().toLowerCase();
  if (v === 'none' || /^0+$/.test(v)) return null;
  return parseBytes(raw, name);
}

export function parseBytes(raw: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  // A whole number of bytes: 1.5MB is 1,500,000 (1.1KB is 1,100, though floating point
  // makes it 1100.0000000000002), while "1.5" or 0.0005KB is a typo, not a size.
  const exact = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  const bytes = Math.abs(exact - Math.round(exact)) < 1e-6 ? Math.round(exact) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new ConfigError(`${name}: "${raw}" is not a size; use bytes or a number with KB, MB, GB, KiB, MiB or GiB.`);
  }
  return bytes;
}
