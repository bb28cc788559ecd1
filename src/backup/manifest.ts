/**
 * A backup is one `.tar.gz`: the database copy, every image, and last a manifest
 * with each file's size and SHA-256, written once every file has gone through the
 * hash. No token: a backup is a copy that travels, and the contract keeps tokens
 * out of backups. Archives of earlier versions hold the token --generate-token
 * kept (TOKEN_ENTRY); a restore still puts it back.
 */
export const BACKUP_FORMAT = 'ascently-sync backup';
export const BACKUP_VERSION = 1;
export const MANIFEST_ENTRY = 'manifest.json';
export const DATABASE_ENTRY = 'database/ascently.db';
export const TOKEN_ENTRY = 'data/auth-token';
export const IMAGES_PREFIX = 'images/';

export interface ManifestFile {
  readonly path: string;
  readonly size: number;
  /** Hex. */
  readonly sha256: string;
}

export interface Manifest {
  readonly format: typeof BACKUP_FORMAT;
  readonly version: typeof BACKUP_VERSION;
  readonly createdAt: string;
  readonly items: number;
  readonly accounts: number;
  readonly images: number;
  readonly files: ManifestFile[];
}

/** An archive that is not whole, not ours, or not as its manifest says. */
export class DamagedArchiveError extends Error {
  override name = 'DamagedArchiveError';
}

/**
 * Where an entry may point: the database, an earlier version's token, or a file under images/
 * whose every folder and name is a plain name (no `..`, `.`, empty part or NUL):
 * a restore never writes outside the folders it was given.
 */
export function isSafeEntryName(name: string): boolean {
  if (name === DATABASE_ENTRY || name === TOKEN_ENTRY) return true;
  if (!name.startsWith(IMAGES_PREFIX)) return false;
  const parts = name.slice(IMAGES_PREFIX.length).split('/');
  return parts.every((part) => part !== '' && part !== '.' && part !== '..' && !part.includes('\0'));
}

export function parseManifest(text: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DamagedArchiveError('its manifest is not JSON');
  }
  const m = value as Partial<Manifest> | null;
  if (m?.format !== BACKUP_FORMAT) throw new DamagedArchiveError('it is not an ascently-sync backup');
  if (m.version !== BACKUP_VERSION) throw new DamagedArchiveError(`it is a backup of format version ${String(m.version)}; this ascently-sync reads version ${BACKUP_VERSION}`);
  const files = Array.isArray(m.files) ? m.files : [];
  const wellFormed = files.every((f) => typeof f?.path === 'string' && isSafeEntryName(f.path) && Number.isSafeInteger(f.size) && /^[0-9a-f]{64}$/.test(String(f.sha256)));
  if (!wellFormed || !files.some((f) => f.path === DATABASE_ENTRY) || new Set(files.map((f) => f.path)).size !== files.length) {
    throw new DamagedArchiveError('its manifest is malformed');
  }
  return m as Manifest;
}
