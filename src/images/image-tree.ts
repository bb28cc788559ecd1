import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { isTempFile } from './image-store.js';

export interface TreeFile {
  /** Relative to the images folder, with `/` between folders. */
  readonly relative: string;
  readonly full: string;
  readonly size: number;
}

/**
 * Every whole file under the images folder, sub-folders and dot-folders included
 * (accounts keep theirs under `.accounts/<id>/`), in a stable order. Partial
 * uploads and symbolic links are left out; a file deleted while the walk runs is
 * simply not listed.
 */
/** Every file of the tree and their bytes. */
export async function imageTreeTotals(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for await (const file of walkImageTree(dir)) {
    files += 1;
    bytes += file.size;
  }
  return { files, bytes };
}

export async function* walkImageTree(dir: string, relative = ''): AsyncGenerator<TreeFile> {
  let names: string[];
  try {
    names = (await readdir(path.join(dir, relative))).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const name of names) {
    const rel = relative === '' ? name : `${relative}/${name}`;
    const full = path.join(dir, rel);
    const stat = await lstat(full).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (stat?.isDirectory()) yield* walkImageTree(dir, rel);
    else if (stat?.isFile() && !isTempFile(name)) yield { relative: rel, full, size: stat.size };
  }
}
