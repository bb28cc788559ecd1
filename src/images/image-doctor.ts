import { isPlainImageName } from './filename.js';
import type { ImageStorage, StoredImage } from './image-storage.js';

/**
 * The image doctor: compares the names problems reference (`imagePaths`) with the
 * images stored (files in IMAGES_DIR, or PostgreSQL). Uploads and the deltas that reference them arrive
 * separately (either may come first), so a fresh orphan is normal and only old
 * ones are deleted.
 */
export const ORPHAN_AGE_MS = 24 * 60 * 60 * 1000;

export type StoredFile = StoredImage;

export interface MissingImage {
  readonly name: string;
  /** Ids of the problems that reference it. */
  readonly problems: string[];
  /** A reference no upload could ever satisfy (a path, say). */
  readonly invalidName: boolean;
}

export interface DoctorReport {
  readonly stored: StoredFile[];
  readonly referenced: number;
  readonly missing: MissingImage[];
  readonly orphans: StoredFile[];
  /** Partial uploads: the server removes them at start; one in flight is young. */
  readonly leftovers: StoredFile[];
}

/** Referenced image name → problem ids, from the JSON text of each problem. */
export async function collectReferences(problemPages: AsyncIterable<readonly string[]> | readonly string[][]): Promise<Map<string, string[]>> {
  const references = new Map<string, string[]>();
  for await (const page of problemPages) for (const json of page) {
    const problem = JSON.parse(json) as { id?: unknown; imagePaths?: unknown };
    if (!Array.isArray(problem.imagePaths)) continue;
    for (const name of problem.imagePaths) {
      if (typeof name !== 'string' || name === '') continue;
      const ids = references.get(name) ?? [];
      ids.push(String(problem.id));
      references.set(name, ids);
    }
  }
  return references;
}

export async function examineImages(images: ImageStorage, references: ReadonlyMap<string, string[]>): Promise<DoctorReport> {
  const { stored, leftovers } = await images.list();
  const storedNames = new Set(stored.map((f) => f.name));
  const missing = [...references]
    .filter(([name]) => !storedNames.has(name))
    .map(([name, problems]) => ({ name, problems, invalidName: !isPlainImageName(name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const orphans = stored.filter((f) => !references.has(f.name)).sort((a, b) => a.name.localeCompare(b.name));
  return { stored, referenced: references.size, missing, orphans, leftovers };
}

/**
 * Deletes the orphans and leftovers last modified before `cutoffMs`. Each is
 * looked at again just before it goes: one uploaded again since the report is
 * young again, and kept.
 */
export async function deleteOldOrphans(images: ImageStorage, report: DoctorReport, cutoffMs: number): Promise<StoredFile[]> {
  const deleted: StoredFile[] = [];
  for (const file of [...report.orphans, ...report.leftovers]) {
    if (file.modifiedMs >= cutoffMs) continue;
    if (await images.deleteIfOlder(file.name, cutoffMs)) deleted.push(file);
  }
  return deleted;
}
