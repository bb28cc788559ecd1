/**
 * Counts failed authentications per client address in a fixed window. Once an
 * address reaches the limit it is refused until its window ends; other addresses
 * are never affected. The map is bounded so that a flood of spoofed addresses
 * cannot grow it without end.
 */
export interface ThrottleOptions {
  maxFailures: number;
  windowMs: number;
  maxAddresses: number;
  now?: () => number;
}

interface Window {
  startedAt: number;
  failures: number;
}

export class FailureThrottle {
  private readonly windows = new Map<string, Window>();
  private readonly now: () => number;

  constructor(private readonly options: ThrottleOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Seconds until the address may try again, or 0 when it is not throttled. */
  retryAfterSeconds(address: string): number {
    const window = this.current(address);
    if (!window || window.failures < this.options.maxFailures) return 0;
    return Math.max(1, Math.ceil((window.startedAt + this.options.windowMs - this.now()) / 1000));
  }

  recordFailure(address: string): void {
    const window = this.current(address);
    if (window) {
      window.failures += 1;
      return;
    }
    if (this.windows.size >= this.options.maxAddresses) this.evictExpired();
    if (this.windows.size >= this.options.maxAddresses) {
      // Still full: drop the oldest entry (Map keeps insertion order).
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
    this.windows.set(address, { startedAt: this.now(), failures: 1 });
  }

  private current(address: string): Window | undefined {
    const window = this.windows.get(address);
    if (window && this.now() - window.startedAt >= this.options.windowMs) {
      this.windows.delete(address);
      return undefined;
    }
    return window;
  }

  private evictExpired(): void {
    const now = this.now();
    for (const [address, window] of this.windows) {
      if (now - window.startedAt >= this.options.windowMs) this.windows.delete(address);
    }
  }
}
