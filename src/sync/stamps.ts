/**
 * The next change stamp: the server's clock in milliseconds, but always past the
 * previous stamp, so stamps rise strictly even when the clock steps back. Devices
 * compare stamps, never their own `updatedAt`, to know what they have not seen.
 */
export function nextStamp(previous: number, now: number): number {
  return Math.max(Math.floor(now), previous + 1);
}
