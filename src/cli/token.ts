import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, readConfiguredToken, type Config } from '../config.js';

export const GENERATED_TOKEN_FILE = 'auth-token';

/** A new random 256-bit token, as 64 hex characters. */
export function newToken(): string {
  return randomBytes(32).toString('hex');
}

/**
 * The token to serve with: the configured one; else, with --generate-token, the
 * one kept in DATA_DIR (made on first use, mode 0600, printed once); else none,
 * and the server starts only if the database holds a device (server.ts).
 */
export function resolveToken(config: Config, generate: boolean, announce: (message: string) => void): string | undefined {
  const configured = readConfiguredToken(config);
  if (configured !== undefined) return configured;
  if (!generate) return undefined;
  const file = path.join(config.dataDir, GENERATED_TOKEN_FILE);
  const kept = readKeptToken(config);
  if (kept !== undefined) {
    announce(`Using the token kept in ${file}.`);
    return kept;
  }
  mkdirSync(config.dataDir, { recursive: true });
  const token = newToken();
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  announce(`Generated a token and saved it in ${file} (shown only this once):\n\n    ${token}\n\nEnter it in the app's sync settings together with this server's address.`);
  return token;
}

/** The token an earlier --generate-token left in DATA_DIR, if any. */
export function readKeptToken(config: Config): string | undefined {
  const file = path.join(config.dataDir, GENERATED_TOKEN_FILE);
  if (!existsSync(file)) return undefined;
  const kept = readFileSync(file, 'utf8').trim();
  if (kept === '') throw new ConfigError(`${file} is empty; delete it to have a new token made.`);
  return kept;
}
