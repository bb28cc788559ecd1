import type { Store } from '../store/store.js';
import { COLLECTIONS } from '../sync/model.js';
import { DatasetBuilder, type Dataset } from '../stats/dataset.js';
import { indexAttempts, type AttemptIndex } from '../stats/lists.js';

/**
 * A dataset parsed for the dashboard, and the figures computed from it so far.
 * Parsing a year of climbing takes longer than a page may, so each account's
 * parse is kept until its next write: the store's change stamp, read on every
 * request, says whether it is still current, so an upload shows on the next load.
 */
export class DatasetView {
  private readonly memo = new Map<string, unknown>();
  constructor(
    readonly stamp: number,
    readonly ds: Dataset,
  ) {}

  /** A figure computed once per version of the data. */
  derived<T>(key: string, compute: (ds: Dataset) => T): T {
    if (!this.memo.has(key)) this.memo.set(key, compute(this.ds));
    return this.memo.get(key) as T;
  }
}

const EMPTY: Dataset = { gyms: new Map(), problems: new Map(), sessions: new Map(), attempts: [] };

export class DashboardData {
  private readonly views = new Map<number, Promise<DatasetView>>();

  constructor(
    private readonly store: Store,
    /** How many accounts' parses to keep; the least recently used goes first. */
    private readonly keep = 4,
  ) {}

  async view(datasetId: number): Promise<DatasetView> {
    const stats = await this.store.stats(datasetId);
    const stamp = stats.written ? stats.lastStamp : -1;
    const cached = this.views.get(datasetId);
    if (cached) {
      const view = await cached.catch(() => undefined);
      if (view && view.stamp === stamp) {
        this.views.delete(datasetId);
        this.views.set(datasetId, cached);
        return view;
      }
    }
    const loading = stamp === -1 ? Promise.resolve(new DatasetView(stamp, EMPTY)) : this.load(datasetId, stamp);
    this.views.delete(datasetId);
    this.views.set(datasetId, loading);
    while (this.views.size > this.keep) this.views.delete(this.views.keys().next().value!);
    loading.catch(() => this.views.delete(datasetId));
    return loading;
  }

  private async load(datasetId: number, stamp: number): Promise<DatasetView> {
    // The stamp was read before the snapshot opened, so the snapshot is at least
    // that new: a write in between costs one more parse, never stale figures.
    const snapshot = await this.store.openExport(datasetId);
    if (!snapshot) return new DatasetView(-1, EMPTY);
    try {
      const builder = new DatasetBuilder();
      for (const collection of COLLECTIONS) {
        for await (const page of snapshot.items(collection)) for (const json of page) builder.addItem(collection, json);
      }
      for await (const page of snapshot.tombstones()) for (const json of page) builder.addTombstone(json);
      return new DatasetView(stamp, builder.build());
    } finally {
      snapshot.close();
    }
  }
}

/** The attempts of each session and problem, in time order, once per version of the data. */
export function attemptIndex(view: DatasetView): AttemptIndex {
  return view.derived('attemptIndex', indexAttempts);
}
