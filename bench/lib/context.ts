import type { Item } from '../generate-dataset.js';
import type { Summary } from './stats.js';

export interface BenchContext {
  quick: boolean;
  /** Runs per figure; each figure is the median over them. */
  runs: number;
  /** A random token made for this run; never printed. */
  token: string;
  /** Temporary folder for data folders and baseline files; removed at the end. */
  workDir: string;
  progress(message: string): void;
  rows: Row[];
  memory: MemoryRow[];
}

/** One line of the table: a figure, the limit it is compared with, and a target if the issue sets one. */
export interface Row {
  scenario: string;
  figure: string;
  unit: string;
  value: Summary;
  limit?: { name: string; value: Summary };
  /** value / limit, or as stated in the figure; smaller is better unless higherIsBetter. */
  ratio?: number;
  target?: { text: string; met: boolean };
  note?: string;
}

export interface MemoryRow {
  scenario: string;
  peakRss: number;
  idleRss: number;
  datasetBytes: number;
  target?: { text: string; met: boolean };
}

/** One scale's seeded data folder and what a device needs to keep syncing it. */
export interface ScaleState {
  scale: number;
  dir: string;
  jsonBytes: number;
  /** Attempts of the dataset that devices edit, one change per delta. */
  sample: Item[];
  /** The newest serverTime a bench device got, so the next delta asks only for what is new. */
  serverTime: string;
}

let lastUpdatedAt = 0;

/** updatedAt for an edit: now, but strictly rising so that every edit wins over the one before. */
export function nextUpdatedAt(): string {
  lastUpdatedAt = Math.max(Date.now(), lastUpdatedAt + 1);
  return new Date(lastUpdatedAt).toISOString();
}

/** A device's delta: its last serverTime and one edited attempt, as the app sends it. */
export function deltaBody(lastSyncTime: string, attempt: Item, note: string): string {
  const edited = { ...attempt, notes: note, updatedAt: nextUpdatedAt() };
  return JSON.stringify({ lastSyncTime, gyms: [], problems: [], sessions: [], attempts: [edited], deletedItems: [] });
}

export function authHeaders(ctx: BenchContext, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${ctx.token}`, ...extra };
}

/** serverTime from the head of a delta answer, without parsing a possibly large document. */
export function serverTimeOf(answer: Buffer): string {
  const match = /"serverTime"\s*:\s*"([^"]+)"/.exec(answer.subarray(0, 256).toString('utf8'));
  if (!match) throw new Error('delta answer has no serverTime');
  return match[1]!;
}
