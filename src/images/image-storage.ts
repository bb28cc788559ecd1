import type { Readable } from 'node:stream';
import { ApiError } from '../errors.js';
import type { ImageType } from './image-type.js';

/**
 * Where images are kept, behind one interface: files in IMAGES_DIR beside SQLite
 * (image-store.ts), or chunks in PostgreSQL (store/pg-image-storage.ts) so that
 * server processes share nothing but the database. Either way a name holds a whole
 * image, old or new, never a part, and memory stays flat whatever the size.
 */
export interface ImageStorage {
  /** Where the images are, as the image doctor reports it. */
  readonly location: string;
  /**
   * Streams `source` in under `name`, replacing any image of that name as a whole.
   * Nothing is kept unless the first bytes show one of the four types and the
   * body ends within the size limit. With a quota (the account's maxImageBytes),
   * the account's other images plus this one may not pass it, unless this one is
   * no larger than the one it replaces.
   */
  save(name: string, source: Readable, quota?: number | null, options?: SaveOptions): Promise<SavedImage>;
  /** Opens a stored image, or undefined when there is none by that name. */
  open(name: string): Promise<OpenedImage | undefined>;
  /** Every stored image, and the partial uploads a crash left behind. */
  list(): Promise<{ stored: StoredImage[]; leftovers: StoredImage[] }>;
  /**
   * Deletes an image (or leftover) last modified before `cutoffMs`, looked at again
   * just before: one uploaded again since the listing is young, and kept.
   */
  deleteIfOlder(name: string, cutoffMs: number): Promise<boolean>;
  /** How many images the account holds and their bytes, as image quotas count them. */
  usage(): Promise<{ images: number; bytes: number }>;
}

export interface SaveOptions {
  /** The image's last-modified time, when it is a copy (copy-store, restore) rather than an upload made now. */
  readonly modified?: Date;
}

export interface SavedImage {
  readonly size: number;
  readonly type: ImageType;
  readonly etag: string;
}

/** A stored image opened for reading: it stays this version even if it is replaced meanwhile. */
export interface OpenedImage {
  readonly size: number;
  readonly type: ImageType | null;
  readonly etag: string;
  readonly modified: Date;
  /** The bytes from `start` to `end` inclusive; the stream releases the image when it ends or is destroyed. */
  stream(start: number, end: number): Readable;
  /** Releases the image when it is not streamed (HEAD, 304, an error). */
  close(): Promise<void>;
}

export interface StoredImage {
  readonly name: string;
  readonly size: number;
  readonly modifiedMs: number;
}

export const NOT_AN_IMAGE = 'the body is not a JPEG, PNG, GIF or WebP image';

export function tooLarge(maxBytes: number): ApiError {
  return ApiError.payloadTooLarge(`image is larger than the ${maxBytes} bytes this server accepts (MAX_IMAGE_BYTES)`);
}

export function overQuota(quota: number): ApiError {
  return ApiError.quotaExceeded(`this image would take the account's images past their limit of ${quota} bytes (accounts set --max-image-bytes); nothing was stored`);
}

export function etagOf(sha256: string): string {
  return `"${sha256}"`;
}


/** Every account's images in one store: each account's its own, as its data is. */
export interface ImageBackend {
  /**
   * One account's images. `removeLeftovers`: the server clears the partial uploads
   * a crash left; the image doctor only reports them.
   */
  account(account: AccountRef, options: { maxBytes: number; removeLeftovers: boolean }): Promise<ImageStorage>;
  /** Deletes a removed account's images, after the database forgot the account. */
  removeAccount(account: AccountRef): Promise<void>;
  /** How many images all accounts hold, and their bytes (for the metrics). */
  totals(): Promise<{ files: number; bytes: number }>;
  /** Deletes what accounts that no longer exist left (a crash between removal and clean-up); returns their ids. */
  removeOrphans(liveAccountIds: ReadonlySet<number>): Promise<number[]>;
}

export interface AccountRef {
  readonly id: number;
  readonly name: string;
}
