import { GarbageMeter, releaseAllGarbageSoon } from '../garbage.js';
import type { ExportSnapshot, Store } from '../store/store.js';
import { COLLECTIONS, type Collection } from '../sync/model.js';
import { DatasetBuilder, emptyDataset, type Dataset, type MutableDataset } from '../stats/dataset.js';
import { indexAttempts, type AttemptIndex } from '../stats/lists.js';

/**
 * A dataset parsed for the dashboard, and the figures computed from it so far.
 * Parsing a year of climbing takes longer than a page may, so each account's
 * parse is kept, and brought up to date on the next request after a write: the
 * store's change stamp, read on every request, says whether it is still current,
 * so an upload shows on the next load.
 */
export class DatasetView {
  private readonly memo = new Map<string, unknown>();
  constructor(
    readonly stamp: number,
    readonly ds: Dataset,
  ) {}

  /**
   * A figure computed once per version of the data. Computing one makes garbage
   * that outlives the young generation (sets and maps over every attempt), which
   * V8 let pile up in the old one until it had grown by tens of MiB: it is
   * collected in a task of its own once the page is done.
   */
  derived<T>(key: string, compute: (ds: Dataset) => T): T {
    if (!this.memo.has(key)) {
      this.memo.set(key, compute(this.ds));
      releaseAllGarbageSoon();
    }
    return this.memo.get(key) as T;
  }
}

const NEVER_WRITTEN = -1;

export class DashboardData {
  private readonly views = new Map<number, Promise<DatasetView>>();

  constructor(
    private readonly store: Store,
    /** How many accounts' parses to keep; the least recently used goes first. */
    private readonly keep = 4,
  ) {}

  async view(datasetId: number): Promise<DatasetView> {
    const stamp = (await this.store.lastStamp(datasetId)) ?? NEVER_WRITTEN;
    for (;;) {
      const cached = this.views.get(datasetId);
      const view = cached ? await cached.catch(() => undefined) : undefined;
      // Another request may have replaced the entry while this one waited.
      if (this.views.get(datasetId) !== cached) continue;
      this.views.delete(datasetId);
      // Stamps only grow: a view newer than the stamp read above is as good.
      if (cached && view && view.stamp >= stamp) {
        this.views.set(datasetId, cached);
        return view;
      }
      const loading = this.refresh(datasetId, view, stamp);
      // The parse's garbage too, once the read is done.
      void loading.then(releaseAllGarbageSoon, releaseAllGarbageSoon);
      this.views.set(datasetId, loading);
      while (this.views.size > this.keep) this.views.delete(this.views.keys().next().value!);
      loading.catch(() => {
        if (this.views.get(datasetId) === loading) this.views.delete(datasetId);
      });
      return loading;
    }
  }

  /**
   * The view patched with what changed since it was read (a phone's delta: a few
   * items), or read whole when there is none to patch or a full upload removed
   * items without a trace. The old view is patched in place: it has left the
   * cache, and pages use a view without waiting, so no one reads it meanwhile.
   */
  private async refresh(datasetId: number, old: DatasetView | undefined, stamp: number): Promise<DatasetView> {
    if (stamp === NEVER_WRITTEN) return new DatasetView(NEVER_WRITTEN, emptyDataset());
    if (old && old.stamp !== NEVER_WRITTEN) {
      const patched = await this.patch(datasetId, old);
      if (patched) return patched;
    }
    // Returned, not awaited: this frame, and the old view with it, ends before the whole is read again.
    return this.load(datasetId, stamp);
  }

  private async patch(datasetId: number, old: DatasetView): Promise<DatasetView | undefined> {
    const changes = await this.store.openChanges(datasetId, old.stamp);
    if (!changes) return undefined;
    try {
      const ds = await readInto(new DatasetBuilder(old.ds as MutableDataset), changes);
      return sameCounts(ds, changes.counts) ? new DatasetView(changes.stamp, ds) : undefined;
    } finally {
      changes.close();
    }
  }

  private async load(datasetId: number, stamp: number): Promise<DatasetView> {
    // Sized at once, the attempt columns are not copied as they grow.
    const { items } = await this.store.stats(datasetId);
    // The stamp was read before the snapshot opened, so the snapshot is at least
    // that new: a write in between costs one more patch, never stale figures.
    const snapshot = await this.store.openExport(datasetId);
    if (!snapshot) return new DatasetView(NEVER_WRITTEN, emptyDataset());
    try {
      return new DatasetView(stamp, await readInto(new DatasetBuilder(emptyDataset(items.attempts)), snapshot));
    } finally {
      snapshot.close();
    }
  }
}

/**
 * Every item and tombstone of a read, parsed into the builder. Each item's parse
 * is garbage as soon as its fields are taken, and V8 let it pile up: a year of
 * climbing read whole peaked at 31 MiB above idle, for a result of 6 MiB. A
 * scavenge every MiB read keeps the peak near what is kept (13 MiB).
 */
async function readInto(builder: DatasetBuilder, read: Pick<ExportSnapshot, 'items' | 'tombstones'>): Promise<Dataset> {
  const meter = new GarbageMeter(MiB);
  for (const collection of COLLECTIONS) {
    for await (const page of read.items(collection)) {
      for (const json of page) {
        builder.addItem(collection, json);
        meter.add(json.length);
      }
    }
  }
  for await (const page of read.tombstones()) for (const json of page) builder.addTombstone(json);
  return builder.build();
}

const MiB = 1024 * 1024;

/** Whether the patched copy holds as many items as the store: a full upload's traceless removals would leave it more. */
function sameCounts(ds: Dataset, counts: Readonly<Record<Collection, number>>): boolean {
  return ds.gyms.size === counts.gyms && ds.problems.size === counts.problems && ds.sessions.size === counts.sessions && ds.attempts.size === counts.attempts;
}

/** The attempts of each session and problem, in time order, once per version of the data. */
export function attemptIndex(view: DatasetView): AttemptIndex {
  return view.derived('attemptIndex', indexAttempts);
}
