import client from 'prom-client';
import type { AccountUsage } from '../store/account-store.js';
import type { Store } from '../store/store.js';
import type { SyncEvent } from '../sync/sync-service.js';
import { RequestSeries } from './request-series.js';

export interface MetricsSources {
  store: Store;
  imagesDir: string;
}

/** What an HTTP request is counted under: never the raw URL, so the label sets stay few. */
export interface RequestLabels {
  /** The route's pattern, or `unmatched` for a path no route answers. */
  route: string;
  method: string;
  status: number;
}

/** Walking a large images folder on every scrape would cost more than it tells. */
const IMAGE_TREE_TTL_MS = 60_000;
/** One store read serves all the account series of one scrape. */
const ACCOUNTS_TTL_MS = 1_000;

/**
 * The Prometheus series of one server, in a registry of its own (tests build
 * several apps in one process). Labels carry only route patterns, methods, status
 * classes, operations and account names: never a token, an address, an item id or
 * an image name.
 */
export class Metrics {
  readonly registry = new client.Registry();
  private readonly requests: RequestSeries;
  private readonly syncs;
  private readonly syncItems;
  private readonly writeSeconds;
  private readonly imagesUploaded;
  private readonly imageUploadBytes;
  private readonly imagesDownloaded;
  private readonly imageDownloadBytes;
  private readonly authFailures;
  private readonly throttled;
  private readonly accountNames = new Map<number, string>();
  private readonly readAccounts: () => Promise<AccountUsage[]>;

  constructor(private readonly sources: MetricsSources) {
    const registers = [this.registry];
    this.requests = new RequestSeries(this.registry);
    this.syncs = new client.Counter({ name: 'ascently_syncs_total', help: 'Syncs done: delta, full_upload (POST /sync) and full_download (GET /sync), by account.', labelNames: ['account', 'kind'], registers });
    this.syncItems = new client.Counter({
      name: 'ascently_sync_items_total',
      help: 'Items and deletions carried by syncs, received from devices or sent to them, by account.',
      labelNames: ['account', 'kind', 'direction'],
      registers,
    });
    this.writeSeconds = new client.Histogram({
      name: 'ascently_sqlite_write_transaction_duration_seconds',
      help: 'Write transactions of syncs, commit and fsync included, by operation (named for SQLite; PostgreSQL transactions with DATABASE_URL).',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.imagesUploaded = new client.Counter({ name: 'ascently_images_uploaded_total', help: 'Images stored by POST /images/upload.', registers });
    this.imageUploadBytes = new client.Counter({ name: 'ascently_image_upload_bytes_total', help: 'Bytes of images stored by POST /images/upload.', registers });
    this.imagesDownloaded = new client.Counter({ name: 'ascently_images_downloaded_total', help: 'Image downloads answered with content (200 or 206).', registers });
    this.imageDownloadBytes = new client.Counter({ name: 'ascently_image_download_bytes_total', help: 'Bytes of image content answered by GET /images/download.', registers });
    this.authFailures = new client.Counter({ name: 'ascently_auth_failures_total', help: 'Requests refused for a missing or wrong token (401).', registers });
    this.throttled = new client.Counter({ name: 'ascently_throttled_requests_total', help: 'Requests refused by the failure throttle (429).', registers });

    this.readAccounts = cachedFor(ACCOUNTS_TTL_MS, () => sources.store.accounts.list());
    const readImages = cachedFor(IMAGE_TREE_TTL_MS, () => sources.store.images(sources.imagesDir).totals());
    const readDatabase = cachedFor(ACCOUNTS_TTL_MS, () => sources.store.sizeOnDisk());
    const accounts = this.readAccounts;
    new client.Gauge({
      name: 'ascently_accounts',
      help: 'Accounts on this server.',
      registers,
      async collect() {
        this.set((await accounts()).length);
      },
    });
    new client.Gauge({
      name: 'ascently_devices',
      help: 'Devices with a token of their own, over all accounts.',
      registers,
      async collect() {
        this.set((await accounts()).reduce((sum, a) => sum + a.devices, 0));
      },
    });
    new client.Gauge({
      name: 'ascently_account_last_sync_timestamp_seconds',
      help: "Time of each account's last delta or full upload (server clock), in seconds since the epoch.",
      labelNames: ['account'],
      registers,
      async collect() {
        this.reset();
        for (const a of await accounts()) if (a.lastSyncAt !== null) this.set({ account: a.name }, a.lastSyncAt / 1000);
      },
    });
    new client.Gauge({
      name: 'ascently_database_bytes',
      help: 'Size of the database on disk: SQLite\'s main file and write-ahead log, or with DATABASE_URL PostgreSQL\'s database as main.',
      labelNames: ['file'],
      registers,
      async collect() {
        const size = await readDatabase();
        this.set({ file: 'main' }, size.main);
        this.set({ file: 'wal' }, size.wal);
      },
    });
    new client.Gauge({
      name: 'ascently_image_storage_bytes',
      help: 'Bytes of stored images (recounted at most once a minute).',
      registers,
      async collect() {
        this.set((await readImages()).bytes);
      },
    });
    new client.Gauge({
      name: 'ascently_images_stored',
      help: 'Stored images (recounted at most once a minute).',
      registers,
      async collect() {
        this.set((await readImages()).files);
      },
    });
    client.collectDefaultMetrics({ register: this.registry });
  }

  /** Once per answered request: kept cheap (request-series.ts). */
  request(labels: RequestLabels, seconds: number): void {
    this.requests.record(labels.route, labels.method, labels.status, seconds);
    if (labels.status === 401) this.authFailures.inc();
    else if (labels.status === 429) this.throttled.inc();
  }

  readonly synced = (event: SyncEvent): void => {
    void this.accountName(event.datasetId).then((account) => {
      this.syncs.inc({ account, kind: event.kind });
      if (event.received > 0) this.syncItems.inc({ account, kind: event.kind, direction: 'received' }, event.received);
      if (event.sent > 0) this.syncItems.inc({ account, kind: event.kind, direction: 'sent' }, event.sent);
    });
    if (event.writeSeconds !== undefined) this.writeSeconds.observe({ operation: event.kind }, event.writeSeconds);
  };

  imageUploaded(bytes: number): void {
    this.imagesUploaded.inc();
    this.imageUploadBytes.inc(bytes);
  }

  imageDownloaded(bytes: number): void {
    this.imagesDownloaded.inc();
    this.imageDownloadBytes.inc(bytes);
  }

  /** The exposition text, and its content type. */
  async scrape(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }

  private async accountName(datasetId: number): Promise<string> {
    const known = this.accountNames.get(datasetId);
    if (known !== undefined) return known;
    for (const a of await this.sources.store.accounts.list()) this.accountNames.set(a.id, a.name);
    return this.accountNames.get(datasetId) ?? 'unknown';
  }
}

/** The last answer of `read` while younger than `ms`; concurrent callers share one read. */
function cachedFor<T>(ms: number, read: () => Promise<T>): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= ms) {
      const value = read();
      last = { at: now, value };
      value.catch(() => (last = undefined));
    }
    return last.value;
  };
}
