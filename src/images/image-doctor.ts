import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { isPlainImageName } from './filename.js';
import { isTempFile } from './image-store.js';

/**
 * The image doctor: compares the names problems reference (`imagePaths`) with the
 * files in IMAGES_DIR. Uploads and the deltas that reference them arrive
 * separately (either may come first), so a fresh orphan is normal and only old
 * ones are deleted.
 */
export const ORPHAN_AGE_MS = 24 * 60 * 60 * 1000;

export interface StoredFile {
  readonly name: string;
  readonly size: number;
  readonly modifiedMs: number;
}

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

export async function examineImages(imagesDir: string, references: ReadonlyMap<string, string[]>): Promise<DoctorReport> {
  const stored: StoredFile[] = [];
  const leftovers: StoredFile[] = [];
  for (const name of await listFolder(imagesDir)) {
    const info = await stat(path.join(imagesDir, name)).catch(() => undefined);
    if (!info?.isFile()) continue;
    const file = { name, size: info.size, modifiedMs: info.mtimeMs };
    if (isTempFile(name)) leftovers.push(file);
    else if (isPlainImageName(name)) stored.push(file);
  }
  const storedNames = new Set(stored.map((f) => f.name));
  const missing = [...references]
    .filter(([name]) => !storedNames.has(name))
    .map(([name, problems]) => ({ name, problems, invalidName: !isPlainImageName(name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const orphans = stored.filter((f) => !references.has(f.name)).sort((a, b) => a.name.localeCompare(b.name));
  return { stored, referenced: references.size, missing, orphans, leftovers };
}

/**
 * Deletes the orphans and leftovers last modified before `cutoffMs`. Each file is
 * looked at again just before it goes: one uploaded again since the report is
 * young again, and kept.
 */
export async function deleteOldOrphans(imagesDir: string, report: DoctorReport, cutoffMs: number): Promise<StoredFile[]> {
  const deleted: StoredFile[] = [];
  for (const file of [...report.orphans, ...report.leftovers]) {
    if (file.modifiedMs >= cutoffMs) continue;
    const full = path.join(imagesDir, file.name);
    const now = await stat(full).catch(() => undefined);
    if (!now?.isFile() || now.mtimeMs >= cutoffMs) continue;
    await rm(full, { force: true });
    deleted.push(file);
  }
  return deleted;
}

async function listFolder(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
