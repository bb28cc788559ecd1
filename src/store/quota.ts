import { ApiError } from '../errors.js';

/** The dataset's stored JSON size and its limit, as both stores keep them. */
export interface StoredBytes {
  readonly json_bytes: number;
  readonly max_bytes: number | null;
}

/** Refuses, and so rolls back, a write that grows the account's JSON past its limit; one that shrinks it passes. */
export function checkQuota(dataset: StoredBytes, bytesAfter: number): void {
  if (dataset.max_bytes === null || bytesAfter <= dataset.max_bytes || bytesAfter <= dataset.json_bytes) return;
  throw ApiError.quotaExceeded(
    `this write would take the account's stored data to ${bytesAfter} bytes, past its limit of ${dataset.max_bytes} bytes (accounts set --max-bytes); nothing was stored`,
  );
}
