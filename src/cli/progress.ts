/**
 * Progress for commands that can take more than a second or two: one line on
 * stderr, rewritten in place, and only when stderr is a terminal, so that pipes,
 * logs and scripts get nothing but the summary line.
 */
export class Progress {
  private readonly tty: boolean;
  private shown = false;
  private lastDrawn = 0;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = stream.isTTY === true;
  }

  /** Shows the message; updates closer together than 100 ms are skipped unless forced. */
  update(message: string, force = false): void {
    if (!this.tty) return;
    const now = Date.now();
    if (!force && now - this.lastDrawn < 100) return;
    this.lastDrawn = now;
    this.stream.write(`\r\x1b[K${message}`);
    this.shown = true;
  }

  /** Clears the line, so the summary that follows stands alone. */
  done(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}

/** Sizes as people read them: 512 B, 3.4 kB, 102.1 MB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

/** `1 item`, `66,500 items`: a count with its noun. */
export function counted(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
