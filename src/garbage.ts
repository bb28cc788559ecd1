import v8 from 'node:v8';
import vm from 'node:vm';

/*
 * Garbage collection asked for by the few places that know they have just made a
 * lot of it: a large body received, a large snapshot compressed, a full upload
 * done. V8 collects when its own limits say so, and for Buffers (memory outside
 * its heap, counted only loosely) that is after tens of MiB. A 25 MiB upload came
 * from the socket in 64 KiB chunks that all stayed resident until the upload was
 * written, and five uploads in a row stacked up each other's garbage: peak memory
 * 2.6 and 3.8 times the body above idle, where one body's worth is the aim.
 *
 * V8 offers collection on request only through --expose-gc, which Node sets from
 * its command line; set here instead, it gives a new context the function, and
 * nothing else changes. Where it is not available the calls do nothing.
 */

type Collect = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let collect: Collect | undefined | null = null;

function collector(): Collect | undefined {
  if (collect === null) {
    try {
      v8.setFlagsFromString('--expose-gc');
      collect = vm.runInNewContext('gc') as Collect;
    } catch {
      collect = undefined;
    }
  }
  return collect;
}

/**
 * Frees what short-lived objects hold (young Buffers: socket chunks, pages read):
 * a scavenge, a millisecond or so, so the next ones reuse the same memory.
 */
export function releaseYoungGarbage(): void {
  collector()?.({ type: 'minor' });
}

/** A full collection in a task of its own, after the work that made the garbage (and its answer) is done. */
export function releaseAllGarbageSoon(): void {
  collector()?.({ type: 'major', execution: 'async' });
}

/** How many bytes of a stream may pass between two releases of young garbage, unless told otherwise. */
const RELEASE_EVERY_BYTES = 4 * 1024 * 1024;

/** Counts the bytes of a long stream passing through, and frees its young garbage every few MiB. */
export class GarbageMeter {
  private sinceRelease = 0;

  constructor(private readonly everyBytes = RELEASE_EVERY_BYTES) {}

  add(bytes: number): void {
    this.sinceRelease += bytes;
    if (this.sinceRelease < this.everyBytes) return;
    this.sinceRelease = 0;
    releaseYoungGarbage();
  }
}
