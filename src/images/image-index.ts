import type { ImageType } from './image-type.js';

/**
 * What the server remembers about a stored image so that a download needs neither
 * to sniff nor to hash it. The file is the truth and this is a cache: an entry is
 * used only while the file's size, mtime and inode still match, and is recomputed
 * from the bytes otherwise. That covers a crash between rename and index write (or
 * the reverse), two uploads racing on one name, and an IMAGES_DIR copied from the
 * reference server, which has files only.
 */
export interface ImageMeta {
  readonly size: number;
  /** st_mtime in nanoseconds, and st_ino, as decimal text: both can exceed 2^53. */
  readonly mtimeNs: string;
  readonly ino: string;
  /** null for a file in the folder that is not one of the four types (copied in by hand). */
  readonly type: ImageType | null;
  /** SHA-256 of the content, base64url: the strong ETag. */
  readonly sha256: string;
}

/** Keyed by account (dataset id) and name: two accounts may hold images of the same name. */
export interface ImageIndex {
  get(datasetId: number, name: string): Promise<ImageMeta | undefined>;
  put(datasetId: number, name: string, meta: ImageMeta): Promise<void>;
  delete(datasetId: number, name: string): Promise<void>;
}

export interface FileIdentity {
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ino: bigint;
}

export function matches(meta: ImageMeta, file: FileIdentity): boolean {
  return BigInt(meta.size) === file.size && meta.mtimeNs === String(file.mtimeNs) && meta.ino === String(file.ino);
}
