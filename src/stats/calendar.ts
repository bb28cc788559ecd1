import { daysInMonth } from '../sync/timestamps.js';

/**
 * Calendar dates as the dashboard reads and shows them: the date an app wrote,
 * taken as written (no time-zone conversion), and today as the server's clock
 * and time zone have it.
 */
const DATE_PREFIX = /^(\d{4})-(\d{2})-(\d{2})/;

/** The first ten characters of a text when they are a date of the calendar ('2026-02-30' is not), else ''. */
export function dayOf(value: unknown): string {
  const match = typeof value === 'string' ? DATE_PREFIX.exec(value) : null;
  if (!match) return '';
  const month = Number(match[2]);
  const day = Number(match[3]);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(Number(match[1]), month) ? match[0] : '';
}

/** The UTC calendar date of an instant, as YYYY-MM-DD: for counting days back from a date. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The server's date at an instant, in its own time zone (`TZ`), as YYYY-MM-DD. */
export function serverDay(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1, 2)}-${pad(d.getDate(), 2)}`;
}
