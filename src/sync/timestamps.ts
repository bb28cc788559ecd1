/**
 * ISO 8601 instants as the apps write them, read strictly: `Date.parse` accepts
 * far more than ISO and reads a time without an offset in the machine's local
 * zone, which would make merges depend on where the server runs. A time without
 * an offset is read as UTC. Fractions beyond milliseconds are kept as a fraction
 * of a millisecond so that microsecond-precise times still order correctly; a
 * fraction of any length is read (ISO 8601 sets no limit), to what a double holds
 * of it at today's dates (about 0.2 µs); a merge settles ties of doubles by the
 * digits themselves (compareTiedItemTimes).
 */
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

/** The form the apps write; for it alone Date.parse is exact, and much faster than the general path. */
const CANONICAL = /^\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-5]\d\.\d{3}Z$/;

/** Milliseconds since the epoch (possibly fractional), or undefined when unreadable. */
export function parseInstant(text: string): number | undefined {
  if (CANONICAL.test(text)) {
    const fast = canonicalInstant(text);
    if (fast !== undefined) return fast;
    // Date.parse rolls 2024-02-30 over into March: only a round trip proves the date real.
    const ms = Date.parse(text);
    if (!Number.isNaN(ms) && new Date(ms).toISOString() === text) return ms;
  }
  const iso = readIso(text);
  if (iso === undefined) return undefined;
  const fractionMs = iso.fraction === '' ? 0 : Number(`0.${iso.fraction}`) * 1000;
  const ms = iso.wholeMs + fractionMs - iso.offsetMs;
  return Number.isFinite(ms) ? ms : undefined;
}

interface IsoParts {
  /** The date and whole seconds as written, read as UTC, in milliseconds. */
  readonly wholeMs: number;
  /** The fraction of a second's digits, as written. */
  readonly fraction: string;
  /** What the offset adds to UTC, in milliseconds. */
  readonly offsetMs: number;
}

/** Any ISO 8601 form of an instant, in parts; undefined when it is not one or not a real date and time. */
function readIso(text: string): IsoParts | undefined {
  const m = ISO_8601.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', , sign, oh = '0', om = '0'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 24 || minute > 59 || second > 60 || Number(oh) > 23 || Number(om) > 59) return undefined;
  if (hour === 24 && (minute !== 0 || second !== 0 || /[1-9]/.test(fraction))) return undefined;
  const wholeMs = utcMs(year, month - 1, day, hour, minute, Math.min(second, 59));
  const offsetMs = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  return { wholeMs, fraction, offsetMs };
}

/** 400 Gregorian years, a whole number of days (146,097). */
const FOUR_CENTURIES_MS = 146_097 * 86_400_000;

/** Date.UTC for every year: Date.UTC reads a year from 0 to 99 as 1900 to 1999, so such a year is read 400 years on and moved back. */
function utcMs(year: number, monthIndex: number, day: number, hour: number, minute: number, second: number): number {
  if (year >= 100) return Date.UTC(year, monthIndex, day, hour, minute, second);
  return Date.UTC(year + 400, monthIndex, day, hour, minute, second) - FOUR_CENTURIES_MS;
}

/**
 * The canonical form read digit by digit: every item of a full upload has one or
 * two of these, and this is several times faster than Date.parse plus the round
 * trip. Undefined for what it does not settle (years before 100, which Date.UTC
 * would read as 19xx, and hour 24): the general path decides those.
 */
function canonicalInstant(text: string): number | undefined {
  const digit = (i: number): number => text.charCodeAt(i) - 48;
  const two = (i: number): number => digit(i) * 10 + digit(i + 1);
  const year = two(0) * 100 + two(2);
  const month = two(5);
  const day = two(8);
  const hour = two(11);
  if (year < 100 || hour > 23 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return Date.UTC(year, month - 1, day, hour, two(14), two(17), digit(20) * 100 + two(21));
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The server's own timestamps: UTC, exactly three fraction digits and `Z`. */
export function formatInstant(ms: number): string {
  return new Date(Math.floor(ms)).toISOString();
}

/** Days in a month (1-12) of the proleptic Gregorian calendar. */
export function daysInMonth(year: number, month: number): number {
  if (month !== 2) return MONTH_DAYS[month - 1]!;
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}

const TIME_FIELDS = ['updatedAt', 'createdAt', 'timestamp'];

/**
 * The time that decides last-write-wins for an item: `updatedAt`, else
 * `createdAt`, else `timestamp` (older app versions omit updatedAt on attempts),
 * else the epoch.
 */
export function itemTime(item: Readonly<Record<string, unknown>>): number {
  for (const field of TIME_FIELDS) {
    const value = item[field];
    if (typeof value === 'string') {
      const ms = parseInstant(value);
      if (ms !== undefined) return ms;
    }
  }
  return 0;
}

/**
 * Two items whose times are the same double compared to the last digit written
 * (`.0000001Z` is after `.0000000Z`, which a double of milliseconds cannot tell):
 * -1, 0 or 1. Only for such ties; the epoch of an item with no readable time sorts first.
 */
export function compareTiedItemTimes(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): number {
  const x = exactTimeOf(a);
  const y = exactTimeOf(b);
  if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? -1 : 1;
  if (x.seconds !== y.seconds) return x.seconds < y.seconds ? -1 : 1;
  return x.fraction === y.fraction ? 0 : x.fraction < y.fraction ? -1 : 1;
}

/** An instant as whole UTC seconds and the fraction's digits without trailing zeros (so that they compare as text). */
function exactTimeOf(item: Readonly<Record<string, unknown>>): { seconds: number; fraction: string } | undefined {
  for (const field of TIME_FIELDS) {
    const value = item[field];
    const iso = typeof value === 'string' ? readIso(value) : undefined;
    if (iso === undefined) continue;
    return { seconds: (iso.wholeMs - iso.offsetMs) / 1000, fraction: iso.fraction.replace(/0+$/, '') };
  }
  return undefined;
}
