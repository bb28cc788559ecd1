import fc from 'fast-check';

/**
 * Run counts for the fuzz suites. CI runs a few thousand requests in total;
 * FUZZ_RUNS scales every suite for a long run (FUZZ_RUNS=100000 runs about a
 * hundred thousand documents), FUZZ_SEED replays the seed a failure printed.
 */
const BASE = 1500;
const scale = Number(process.env['FUZZ_RUNS'] ?? BASE) / BASE;

export function runs(ciRuns: number): number {
  return Math.max(1, Math.round(ciRuns * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

export function fuzzParameters<T>(ciRuns: number): fc.Parameters<T> {
  const seed = process.env['FUZZ_SEED'];
  return {
    numRuns: runs(ciRuns),
    ...(seed === undefined ? {} : { seed: Number(seed) }),
  };
}

/** Requests sent by each suite, reported at the end for the README figures. */
export class RequestCounter {
  total = 0;
  readonly byStatus = new Map<number, number>();

  count(status: number): void {
    this.total += 1;
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
  }

  summary(): string {
    const statuses = [...this.byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s === 0 ? 'closed' : s}: ${n}`);
    return `${this.total} requests (${statuses.join(', ')})`;
  }
}

/**
 * fc.assert, with a report a person can read: a counterexample can be a
 * megabyte of nesting, so it is cut, and the seed and path to replay it lead.
 */
export async function assertProperty<T>(property: fc.IAsyncProperty<T>, parameters: fc.Parameters<T>): Promise<void> {
  const details = await fc.check(property, parameters);
  if (!details.failed) return;
  const example = JSON.stringify(details.counterexample);
  const shown = example === undefined ? '(none)' : example.length > 3000 ? `${example.slice(0, 3000)}… (${example.length} characters)` : example;
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `property failed after ${details.numRuns} runs; replay with FUZZ_SEED=${details.seed} (path ${details.counterexamplePath ?? '?'})\n` +
      `cause: ${cause.length > 2000 ? `${cause.slice(0, 2000)}…` : cause}\ncounterexample: ${shown}`,
  );
}
