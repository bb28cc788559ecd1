import type { ImageBackend, ImageStorage } from './image-storage.js';

export interface ImageAccount {
  readonly accountId: number;
  readonly accountName: string;
}

/**
 * One image storage per account, opened on its first image request (so an
 * account's folder is created only when it has images), shared by the API's
 * image routes and the dashboard's photos. Bounded by the number of accounts.
 * Files under IMAGES_DIR with SQLite, the database with PostgreSQL (the store's
 * ImageBackend decides).
 */
export class AccountImageStores {
  private readonly stores = new Map<number, Promise<ImageStorage>>();

  constructor(
    private readonly backend: ImageBackend,
    private readonly maxImageBytes: number,
  ) {}

  of(account: ImageAccount): Promise<ImageStorage> {
    let opened = this.stores.get(account.accountId);
    if (!opened) {
      opened = this.backend.account({ id: account.accountId, name: account.accountName }, { maxBytes: this.maxImageBytes, removeLeftovers: true });
      opened.catch(() => this.stores.delete(account.accountId));
      this.stores.set(account.accountId, opened);
    }
    return opened;
  }
}
