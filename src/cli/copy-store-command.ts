import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, postgresLabel, type Config } from '../config.js';
import { CommandError } from './command-error.js';
import { CliError } from './exit-codes.js';
import { openStore } from '../store/open-store.js';
import { PgStore } from '../store/pg-store.js';
import { DATABASE_FILE } from '../store/sqlite-store.js';
import { TargetNotEmptyError, type CopyBatch } from '../store/store-copy.js';
import type { Store } from '../store/store.js';
import { counted } from './progress.js';

const USAGE = 'usage: ascently-sync copy-store --from sqlite:DIR|postgres://… --to sqlite:DIR|postgres://…';

export interface Location {
  /** For messages: the folder, or the URL without its password. */
  readonly label: string;
  readonly dataDir?: string;
  /** A SQLite install's images, when not in `dataDir/images` (IMAGES_DIR). */
  readonly imagesDir?: string;
  readonly databaseUrl?: string;
}

/**
 * `ascently-sync copy-store --from … --to …`: moves an install between SQLite and
 * PostgreSQL (either way): every account with its quotas, item, tombstone (with
 * its stamp), history snapshot, device (tokens keep working), web session and
 * image.
 */
export async function copyStoreCommand(config: Config, from: string | undefined, to: string | undefined): Promise<number> {
  if (from === undefined || to === undefined) throw new ConfigError(USAGE);
  const [source, target] = withImagesDir(config, parseLocation(from), parseLocation(to));
  if (source.label === target.label) throw new ConfigError('--from and --to name the same store');
  const started = Date.now();
  const { counts, images } = await copyStore(source, target, config.maxImageBytes, { progress: true });
  process.stdout.write(
    `Copied ${counted(counts.datasets, 'account')}: ${counted(counts.items, 'item')}, ${counted(counts.tombstones, 'deletion')}, ${counted(counts.history, 'history snapshot')}, ` +
      `${counted(counts.devices, 'device')}, ${counted(counts.webSessions, 'web session')} and ` +
      `${counted(images.count, 'image')} (${(images.bytes / 1e6).toFixed(1)} MB) from ${source.label} to ${target.label} in ${((Date.now() - started) / 1000).toFixed(1)} s.\n`,
  );
  if (images.skipped.length > 0) process.stdout.write(`Not copied (not a JPEG, PNG, GIF or WebP image): ${images.skipped.join(', ')}\n`);
  return 0;
}

/**
 * IMAGES_DIR, when set, is where the SQLite side keeps its images, as `serve` would
 * find them (its default follows DATA_DIR, not the folder given here).
 */
function withImagesDir(config: Config, source: Location, target: Location): [Location, Location] {
  if (config.imagesDir === path.join(config.dataDir, 'images')) return [source, target];
  if (source.dataDir !== undefined && target.dataDir !== undefined) throw new ConfigError('IMAGES_DIR names one folder: copy between two SQLite folders without it');
  const withImages = (location: Location): Location => (location.dataDir === undefined ? location : { ...location, imagesDir: config.imagesDir });
  return [withImages(source), withImages(target)];
}

/**
 * Every row of `source` into `target` in one transaction, then the images account
 * by account. A target that holds data is refused before anything is written,
 * unless `replace` (PostgreSQL only, for restore --force): then what it held goes
 * in the same transaction as the rows come in.
 */
export async function copyStore(source: Location, target: Location, maxImageBytes: number, options: { replace?: boolean; progress?: boolean } = {}) {
  // Opening a folder would make an empty database in it, and copy that.
  if (source.dataDir !== undefined && !existsSync(path.join(source.dataDir, DATABASE_FILE))) {
    throw new CliError('file', `${source.label} holds no database (${DATABASE_FILE}); check the folder given to --from`);
  }
  const sourceStore = await open(source);
  try {
    const targetStore = await open(target);
    try {
      const counts = { datasets: 0, items: 0, tombstones: 0, history: 0, devices: 0, webSessions: 0 };
      const report = options.progress ? progress : () => undefined;
      const batches = countedBatches(sourceStore.readAll(), counts, report);
      if (options.replace) {
        if (!(targetStore instanceof PgStore)) throw new Error('only a PostgreSQL store is replaced whole');
        await targetStore.replaceAll(batches);
      } else {
        // Images too: a folder's files are not rows, and one left there would mix with the copied ones.
        if ((await targetStore.holdsData()) || (await targetStore.images(imagesDirOf(target)).totals()).files > 0) throw new TargetNotEmptyError();
        await targetStore.writeAll(batches);
      }
      const images = await copyImages(sourceStore, targetStore, source, target, maxImageBytes, report);
      return { counts, images };
    } catch (err) {
      if (err instanceof TargetNotEmptyError) throw new CommandError(`${target.label} already holds data: copy-store only fills an empty store`);
      throw err;
    } finally {
      await targetStore.close();
    }
  } finally {
    await sourceStore.close();
  }
}

export function parseLocation(raw: string): Location {
  if (raw.startsWith('sqlite:')) {
    const dir = raw.slice('sqlite:'.length);
    if (dir === '') throw new ConfigError(`"${raw}": give the data folder, as sqlite:DIR`);
    return { label: `sqlite:${path.resolve(dir)}`, dataDir: path.resolve(dir) };
  }
  if (/^postgres(ql)?:\/\//.test(raw)) {
    if (!URL.canParse(raw)) throw new ConfigError('not a PostgreSQL URL; use postgres://user:password@host:5432/database');
    return { label: postgresLabel(raw), databaseUrl: raw };
  }
  throw new ConfigError(`"${raw.slice(0, 40)}" is neither sqlite:DIR nor postgres://…; ${USAGE}`);
}

function open(location: Location): Promise<Store> {
  return openStore({ dataDir: location.dataDir ?? '.', databaseUrl: location.databaseUrl });
}

function imagesDirOf(location: Location): string {
  return location.imagesDir ?? path.join(location.dataDir ?? '.', 'images');
}

/** Progress on stderr, and only on a terminal, as the other commands do. */
function progress(message: string): void {
  if (process.stderr.isTTY) process.stderr.write(`${message}\n`);
}

type Counts = Record<'datasets' | Exclude<CopyBatch['kind'], 'dataset'>, number>;

async function* countedBatches(batches: AsyncIterable<CopyBatch>, counts: Counts, report: (message: string) => void): AsyncGenerator<CopyBatch> {
  for await (const batch of batches) {
    if (batch.kind === 'dataset') {
      counts.datasets++;
      report(`account ${batch.dataset.name}`);
    } else {
      counts[batch.kind] += batch.rows.length;
      if (batch.kind === 'items') report(`  ${counted(counts.items, 'item')}`);
    }
    yield batch;
  }
}

/** Account by account, image by image, streamed: memory stays flat whatever their sizes. */
async function copyImages(from: Store, to: Store, source: Location, target: Location, maxBytes: number, report: (message: string) => void) {
  const sourceImages = from.images(imagesDirOf(source));
  const targetImages = to.images(imagesDirOf(target));
  let count = 0;
  let bytes = 0;
  const skipped: string[] = [];
  for (const account of await from.accounts.list()) {
    const reader = await sourceImages.account(account, { maxBytes, removeLeftovers: false });
    const { stored } = await reader.list();
    // The copy's own limit is the largest image there is: the source accepted each once.
    const largest = stored.reduce((max, image) => Math.max(max, image.size), 1);
    const targetAccount = await to.accounts.find(account.name);
    if (!targetAccount) throw new Error(`account ${account.name} is missing from the copy`);
    const writer = await targetImages.account(targetAccount, { maxBytes: largest, removeLeftovers: false });
    for (const image of stored) {
      const opened = await reader.open(image.name);
      if (!opened) continue; // deleted meanwhile
      if (opened.type === null || opened.size === 0) {
        await opened.close();
        skipped.push(`${account.name}/${image.name}`);
        continue;
      }
      await writer.save(image.name, opened.stream(0, opened.size - 1), null, { modified: opened.modified });
      count++;
      bytes += opened.size;
      report(`image ${account.name}/${image.name}`);
    }
  }
  return { count, bytes, skipped };
}
