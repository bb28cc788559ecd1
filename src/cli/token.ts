import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, readConfiguredToken, type Config } from '../config.js';
import { makePrivateDir, PRIVATE_FILE_MODE } from '../private-files.js';

export const GENERATED_TOKEN_FILE = 'auth-token';

/** A new random 256-bit token, as 64 hex characters. */
export function newToken(): string {
  return randomBytes(32).toString('hex');
}

/** Shorter tokens are accepted, with a warning: anyone who can reach the server may guess them. */
export const SHORT_TOKEN_CHARACTERS = 32;

/**
 * The token to serve with: the configured one; else the one an earlier
 * --generate-token kept in DATA_DIR (with or without the flag now); else, with
 * --generate-token, a new one (mode 0600, printed once); else none, and the
 * server starts only if the database holds a device (server.ts).
 */
export function resolveToken(config: Config, generate: boolean, announce: (message: string) => void): string | undefined {
  const file = path.join(config.dataDir, GENERATED_TOKEN_FILE);
  const configured = readConfiguredToken(config);
  if (configured !== undefined) return warnIfShort(configured, config.authToken !== undefined ? 'AUTH_TOKEN' : 'AUTH_TOKEN_FILE', announce);
  const kept = readKeptToken(config);
  if (kept !== undefined) {
    announce(`Using the token kept in ${file}.`);
    return warnIfShort(kept, file, announce);
  }
  if (!generate) return undefined;
  makePrivateDir(config.dataDir);
  const token = newToken();
  writeFileSync(file, `${token}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  announce(`Generated a token and saved it in ${file} (shown only this once):\n\n    ${token}\n\nEnter it in the app's sync settings together with this server's address.`);
  return token;
}

function warnIfShort(token: string, source: string, announce: (message: string) => void): string {
  if (token.length < SHORT_TOKEN_CHARACTERS) {
    announce(
      `Warning: the token from ${source} is only ${token.length} characters long and may be guessed; use at least ${SHORT_TOKEN_CHARACTERS} (\`ascently-sync token\` makes one of 64).`,
    );
  }
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
