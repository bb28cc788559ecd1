/**
 * The next change stamp: the server's clock in milliseconds, but always past the
 * previous stamp, so stamps rise strictly even when the clock steps back. Devices
 * compare stamps, never their own `updatedAt`, to know what they have not seen.
 */
export function nextStamp(previous: number, now: number): number {
  return Math.max(Math.floor(now), previous + 1);
}

/** What a delta answers from: "from the beginning". */
export const FROM_SCRATCH = -1;

/**
 * The stamp after which a delta answers everything: the device's `lastSyncTime`,
 * or from the beginning when it sent none or one later than any stamp issued
 * (a device clock, a restored backup: not one of the server's own answers). A
 * stamp is a whole millisecond, so it is after 10.5 exactly when it is after 10
 * (and PostgreSQL's bigint stamps take no fraction).
 */
export function deltaSince(lastSyncMs: number | null, lastStamp: number): number {
  return lastSyncMs === null || lastSyncMs > lastStamp ? FROM_SCRATCH : Math.floor(lastSyncMs);
}
