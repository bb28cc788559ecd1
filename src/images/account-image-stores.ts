import type { ImageIndex } from './image-index.js';
import { accountImagesDir } from './account-images.js';
import { ImageStore } from './image-store.js';

export interface ImageAccount {
  readonly accountId: number;
  readonly accountName: string;
}

/**
 * One image store per account, opened on its first image request (so an
 * account's folder is created only when it has images), shared by the API's
 * image routes and the dashboard's photos. Bounded by the number of accounts.
 */
export class AccountImageStores {
  private readonly stores = new Map<number, Promise<ImageStore>>();

  constructor(
    private readonly imagesDir: string,
    private readonly maxImageBytes: number,
    private readonly index: ImageIndex,
  ) {}

  of(account: ImageAccount): Promise<ImageStore> {
    let opened = this.stores.get(account.accountId);
    if (!opened) {
      const dir = accountImagesDir(this.imagesDir, { id: account.accountId, name: account.accountName });
      opened = ImageStore.open(dir, this.maxImageBytes, this.index, account.accountId);
      opened.catch(() => this.stores.delete(account.accountId));
      this.stores.set(account.accountId, opened);
    }
    return opened;
  }
}
