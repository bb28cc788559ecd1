import { ConfigError, type Config } from '../config.js';
import { removeImagesOfRemovedAccounts } from '../images/account-images.js';
import { thumbnailsDirOf } from '../images/thumbnail-files.js';
import { collectReferences, deleteOldOrphans, examineImages, ORPHAN_AGE_MS, type StoredFile } from '../images/image-doctor.js';
import { withAccount } from './data-commands.js';
import { EXIT_CODES } from './exit-codes.js';
import { counted, formatBytes } from './progress.js';

export interface ImagesOptions {
  deleteOrphans: boolean;
  /** List every name, not the first few of each kind. */
  all: boolean;
  json: boolean;
  account: string;
  now?: number;
}

/** A library of tens of thousands of photos must not print tens of thousands of lines by default. */
const LISTED = 10;

/**
 * `ascently-sync images check [--delete-orphans] [--all | --json] [--account NAME]`:
 * report, and optionally delete old orphans. Exits 1 while something needs a
 * person: missing images, or orphans old enough to delete that are still there.
 */
export async function imagesCommand(config: Config, args: string[], options: ImagesOptions): Promise<number> {
  const [action = 'check'] = args;
  if (action !== 'check' || args.length > 1) throw new ConfigError('usage: ascently-sync images check [--delete-orphans] [--all | --json] [--account NAME]');
  return withAccount(config, options.account, async (store, datasetId) => {
    const removedAccounts = await removeImagesOfRemovedAccounts(store, config.imagesDir, thumbnailsDirOf(config.dataDir));
    const images = await store.images(config.imagesDir).account({ id: datasetId, name: options.account }, { maxBytes: config.maxImageBytes, removeLeftovers: false });
    // The folder, or PostgreSQL: where the account's images are.
    const imagesDir = images.location;
    const snapshot = await store.openExport(datasetId);
    let references: Map<string, string[]>;
    try {
      references = await collectReferences(snapshot?.items('problems') ?? []);
    } finally {
      snapshot?.close();
    }
    const report = await examineImages(images, references);
    const cutoff = (options.now ?? Date.now()) - ORPHAN_AGE_MS;
    const old = [...report.orphans, ...report.leftovers].filter((f) => f.modifiedMs < cutoff);
    let deleted: StoredFile[] = [];
    if (options.deleteOrphans) {
      deleted = await deleteOldOrphans(images, report, cutoff);
    }
    const exitCode = report.missing.length > 0 || old.length > deleted.length ? EXIT_CODES.failed.code : EXIT_CODES.ok.code;

    if (options.json) {
      const file = (f: StoredFile) => ({ name: f.name, size: f.size, modified: new Date(f.modifiedMs).toISOString(), olderThanADay: f.modifiedMs < cutoff });
      const json = {
        imagesDir,
        stored: { images: report.stored.length, bytes: report.stored.reduce((sum, f) => sum + f.size, 0) },
        referenced: report.referenced,
        missing: report.missing,
        orphans: report.orphans.map(file),
        partialUploads: report.leftovers.map(file),
        deleted: options.deleteOrphans ? deleted.map(file) : undefined,
        removedAccountsImagesDeleted: removedAccounts.length,
      };
      process.stdout.write(`${JSON.stringify(json)}\n`);
      return exitCode;
    }

    const out: string[] = [];
    const list = <T>(items: readonly T[], line: (item: T) => string): void => {
      const shown = options.all ? items : items.slice(0, LISTED);
      for (const item of shown) out.push(`  ${line(item)}`);
      if (shown.length < items.length) out.push(`  … and ${items.length - shown.length} more (--all lists every one, --json gives the whole report)`);
    };
    const storedBytes = report.stored.reduce((sum, f) => sum + f.size, 0);
    out.push(`${imagesDir}: ${report.stored.length} images (${formatBytes(storedBytes)}); problems reference ${report.referenced}.`);
    out.push(`Missing (referenced by a problem, not on disk): ${report.missing.length}`);
    list(report.missing, (m) => `${m.name}  problem ${m.problems.join(', ')}${m.invalidName ? '  (not a valid image name: no upload can provide it)' : ''}`);
    out.push(`Orphans (on disk, referenced by no problem): ${report.orphans.length}`);
    list(report.orphans, (f) => describe(f, cutoff));
    if (report.leftovers.length > 0) {
      out.push(`Partial uploads (removed at the next server start): ${report.leftovers.length}`);
      list(report.leftovers, (f) => describe(f, cutoff));
    }
    if (options.deleteOrphans) {
      out.push(
        `Deleted ${deleted.length} file(s) older than a day (${formatBytes(deleted.reduce((sum, f) => sum + f.size, 0))}); younger orphans are kept, as their delta may not have arrived yet.`,
      );
    } else if (old.length > 0) {
      out.push(`Run with --delete-orphans to delete the ${old.length} older than a day.`);
    }
    if (report.missing.length > 0) out.push(`${counted(report.missing.length, 'image')} missing: their problems show no photo until a device uploads them.`);
    if (removedAccounts.length > 0) out.push(`Deleted the images of ${counted(removedAccounts.length, 'removed account')}, left by a removal that was cut short.`);
    process.stdout.write(`${out.join('\n')}\n`);
    return exitCode;
  });
}

function describe(file: StoredFile, cutoff: number): string {
  const age = file.modifiedMs < cutoff ? 'older than a day' : 'recent';
  return `${file.name}  ${formatBytes(file.size)}  modified ${new Date(file.modifiedMs).toISOString()} (${age})`;
}
