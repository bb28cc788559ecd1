import { ConfigError, type Config } from '../config.js';
import { accountImagesDir } from '../images/account-images.js';
import { collectReferences, deleteOldOrphans, examineImages, ORPHAN_AGE_MS, type StoredFile } from '../images/image-doctor.js';
import { withAccount } from './data-commands.js';
import { humanSize } from './human-size.js';

/** `ascently-sync images check [--delete-orphans] [--account NAME]`: report, and optionally delete old orphans. */
export async function imagesCommand(config: Config, args: string[], options: { deleteOrphans: boolean; account: string; now?: number }): Promise<number> {
  const [action = 'check'] = args;
  if (action !== 'check' || args.length > 1) throw new ConfigError('usage: ascently-sync images check [--delete-orphans] [--account NAME]');
  return withAccount(config, options.account, async (store, datasetId) => {
    const imagesDir = accountImagesDir(config.imagesDir, { id: datasetId, name: options.account });
    const snapshot = await store.openExport(datasetId);
    let references: Map<string, string[]>;
    try {
      references = await collectReferences(snapshot?.items('problems') ?? []);
    } finally {
      snapshot?.close();
    }
    const report = await examineImages(imagesDir, references);
    const out: string[] = [];
    const storedBytes = report.stored.reduce((sum, f) => sum + f.size, 0);
    out.push(`${imagesDir}: ${report.stored.length} images (${humanSize(storedBytes)}); problems reference ${report.referenced}.`);

    out.push(`Missing (referenced by a problem, not on disk): ${report.missing.length}`);
    for (const m of report.missing) {
      out.push(`  ${m.name}  problem ${m.problems.join(', ')}${m.invalidName ? '  (not a valid image name: no upload can provide it)' : ''}`);
    }
    const now = options.now ?? Date.now();
    const cutoff = now - ORPHAN_AGE_MS;
    out.push(`Orphans (on disk, referenced by no problem): ${report.orphans.length}`);
    for (const f of report.orphans) out.push(`  ${describe(f, cutoff)}`);
    if (report.leftovers.length > 0) {
      out.push(`Partial uploads (removed at the next server start): ${report.leftovers.length}`);
      for (const f of report.leftovers) out.push(`  ${describe(f, cutoff)}`);
    }

    const old = [...report.orphans, ...report.leftovers].filter((f) => f.modifiedMs < cutoff);
    if (options.deleteOrphans) {
      const deleted = await deleteOldOrphans(imagesDir, report, cutoff);
      for (const f of deleted) await store.imageIndex.delete(datasetId, f.name);
      out.push(`Deleted ${deleted.length} file(s) older than a day (${humanSize(deleted.reduce((sum, f) => sum + f.size, 0))}); younger orphans are kept, as their delta may not have arrived yet.`);
    } else if (old.length > 0) {
      out.push(`Run with --delete-orphans to delete the ${old.length} older than a day.`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  });
}

function describe(file: StoredFile, cutoff: number): string {
  const age = file.modifiedMs < cutoff ? 'older than a day' : 'recent';
  return `${file.name}  ${humanSize(file.size)}  modified ${new Date(file.modifiedMs).toISOString()} (${age})`;
}
