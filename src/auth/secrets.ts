import { createHash, randomBytes } from 'node:crypto';

/** The prefix of every device token, so that secret scanners can find a leaked one. */
export const DEVICE_TOKEN_PREFIX = 'asy_';

/** A new device token: `asy_` and 32 random bytes in base64url (43 characters). Shown once, never stored. */
export function newDeviceToken(): string {
  return DEVICE_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** A new web session secret for the cookie: 32 random bytes in base64url. */
export function newSessionSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * A short id shown in lists and typed into `devices revoke`: hex, so it never
 * starts with a dash that a command line would take for an option.
 */
export function newShortId(): string {
  return randomBytes(5).toString('hex');
}

/**
 * What the store keeps of a token or session secret. A plain SHA-256 is enough:
 * the secrets are 256 random bits, not passwords, so there is nothing to stretch,
 * and the lookup by hash is an index probe rather than a comparison in JavaScript.
 */
export function secretHash(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}
