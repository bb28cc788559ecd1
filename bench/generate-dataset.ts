/**
 * A seeded generator of realistic app data (the sync document of docs/sync-protocol.md): one
 * climber logging for years. Scale 1 is about 20 gyms, 5,000 problems, 1,500
 * sessions, 60,000 attempts and 25 MB of JSON. The same seed and scale always give
 * the same bytes, so the bench is repeatable and tests can use it.
 */

export interface Dataset {
  exportedAt: string;
  version: string;
  formatVersion: string;
  gyms: Item[];
  problems: Item[];
  sessions: Item[];
  attempts: Item[];
  deletedItems: Item[];
}

export type Item = { id: string } & Record<string, unknown>;

export interface DatasetCounts {
  gyms: number;
  problems: number;
  sessions: number;
  attempts: number;
  deletedItems: number;
}

export interface GenerateOptions {
  /** 1 is one heavy user (about 25 MB); counts scale linearly. */
  scale?: number;
  seed?: number;
}

export const DEFAULT_SEED = 20240115;

const SCALE_1: DatasetCounts = { gyms: 20, problems: 5_000, sessions: 1_500, attempts: 60_000, deletedItems: 30 };

export function datasetCounts(scale: number): DatasetCounts {
  const n = (base: number): number => Math.max(1, Math.round(base * scale));
  return { gyms: n(SCALE_1.gyms), problems: n(SCALE_1.problems), sessions: n(SCALE_1.sessions), attempts: n(SCALE_1.attempts), deletedItems: n(SCALE_1.deletedItems) };
}

/** sfc32 seeded through splitmix32: fast, small state, and identical on every platform. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** [0, 1) */
  next(): number {
    return this.uint32() / 4294967296;
  }

  int(min: number, maxInclusive: number): number {
    return min + Math.floor(this.next() * (maxInclusive - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.next() * values.length)]!;
  }

  uuid(): string {
    const hex: string[] = [];
    for (let i = 0; i < 4; i++) hex.push(this.uint32().toString(16).padStart(8, '0'));
    const h = hex.join('');
    // Version 4 and RFC 4122 variant bits, as the apps' UUID() / UUID.randomUUID() make them.
    const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

const WORDS = (
  'crimp sloper pinch jug undercut gaston heel hook toe hook drop knee flag smear dyno deadpoint ' +
  'compression mantle arete roof slab overhang volume start finish sit start tricky beta pumped ' +
  'fingers skin tape chalk warm up project send redpoint onsight fell at the top left hand right foot ' +
  'high step match move crux felt strong today tired after work busy gym new set soft hard for the grade'
).split(' ');

const HOLDS = ['jug', 'crimp', 'sloper', 'pinch', 'pocket', 'undercut', 'volume', 'top', 'start', 'crux'];
const TAGS = ['crimpy', 'slopey', 'dynamic', 'technical', 'powerful', 'endurance', 'overhang', 'slab', 'vertical', 'roof', 'comp-style', 'reachy'];
const COLORS = ['Red', 'Blue', 'Green', 'Yellow', 'Black', 'White', 'Purple', 'Orange', 'Pink', 'Grey'];
const CITIES = ['Berlin', 'Munich', 'Leeds', 'Sheffield', 'Boulder', 'Salt Lake City', 'Lyon', 'Vienna', 'Zurich', 'Oslo'];
const FONT = ['4', '5', '5+', '6A', '6A+', '6B', '6B+', '6C', '6C+', '7A', '7A+', '7B', '7B+', '7C'];
const YDS = ['5.8', '5.9', '5.10a', '5.10b', '5.10c', '5.10d', '5.11a', '5.11b', '5.11c', '5.11d', '5.12a', '5.12b'];
const RESULTS = ['FALL', 'FALL', 'FALL', 'SUCCESS', 'SUCCESS', 'NO_PROGRESS', 'FLASH'];

/** Logging spans three and a half years. */
const START_MS = Date.UTC(2021, 2, 1);
const SPAN_MS = Date.UTC(2024, 8, 1) - START_MS;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function words(r: Random, min: number, max: number): string {
  const n = r.int(min, max);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(r.pick(WORDS));
  const text = out.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1) + '.';
}

/** Most items have no notes, many a line, a few a paragraph. */
function notes(r: Random, pNone: number): string | null {
  const x = r.next();
  if (x < pNone) return null;
  if (x < pNone + (1 - pNone) * 0.75) return words(r, 3, 14);
  return words(r, 25, 100);
}

function difficulty(r: Random, climbType: string): Record<string, unknown> {
  if (climbType === 'ROPE') {
    const i = r.int(0, YDS.length - 1);
    return { system: 'YDS', grade: YDS[i], numericValue: i };
  }
  if (r.chance(0.7)) {
    const v = r.int(0, 12);
    return { system: 'V_SCALE', grade: `V${v}`, numericValue: v };
  }
  const i = r.int(0, FONT.length - 1);
  return { system: 'FONT', grade: FONT[i], numericValue: i };
}

function gym(r: Random, index: number): Item {
  const created = START_MS + Math.floor(r.next() * SPAN_MS * 0.3);
  const rope = r.chance(0.4);
  return {
    id: r.uuid(),
    name: `${r.pick(CITIES)} ${r.pick(['Boulders', 'Climbing', 'Bloc', 'Wall', 'Crag Club'])} ${index + 1}`,
    location: r.chance(0.8) ? `${r.int(1, 200)} ${r.pick(WORDS)} street, ${r.pick(CITIES)}` : null,
    supportedClimbTypes: rope ? ['BOULDER', 'ROPE'] : ['BOULDER'],
    difficultySystems: rope ? ['V_SCALE', 'YDS'] : r.chance(0.2) ? ['V_SCALE', 'FONT'] : ['V_SCALE'],
    customDifficultyGrades: [],
    notes: notes(r, 0.6),
    createdAt: iso(created),
    updatedAt: iso(created + (r.chance(0.5) ? r.int(1, 300) * DAY : 0)),
  };
}

function problem(r: Random, gymItem: Item, gymIndex: number, index: number): Item {
  const id = r.uuid();
  const created = START_MS + Math.floor(r.next() * SPAN_MS);
  const climbType = (gymItem.supportedClimbTypes as string[]).includes('ROPE') && r.chance(0.3) ? 'ROPE' : 'BOULDER';
  const images = r.chance(0.6) ? r.int(1, 3) : 0;
  const tags: string[] = [];
  for (let t = r.int(0, 3); t > 0; t--) tags.push(r.pick(TAGS));
  return {
    id,
    gymId: gymItem.id,
    name: r.chance(0.7) ? `${r.pick(COLORS)} ${r.pick(WORDS)} ${index}` : null,
    description: r.chance(0.4) ? words(r, 5, 25) : null,
    climbType,
    difficulty: difficulty(r, climbType),
    tags,
    location: r.chance(0.5) ? `Wall ${r.int(1, 12)}, sector ${String.fromCharCode(65 + (gymIndex % 6))}` : null,
    imagePaths: images ? Array.from({ length: images }, (_, k) => `problem_${id}_${k}.jpg`) : [],
    isActive: r.chance(0.35),
    dateSet: r.chance(0.6) ? iso(created - r.int(0, 20) * DAY) : null,
    notes: notes(r, 0.7),
    createdAt: iso(created),
    updatedAt: iso(created + (r.chance(0.4) ? r.int(1, 90) * DAY + r.int(0, DAY) : 0)),
  };
}

/** The dataset for a scale and seed; same arguments, same bytes once serialised. */
export function generateDataset(options: GenerateOptions = {}): Dataset {
  const scale = options.scale ?? 1;
  const r = new Random(options.seed ?? DEFAULT_SEED);
  const counts = datasetCounts(scale);

  const gyms = Array.from({ length: counts.gyms }, (_, i) => gym(r, i));
  const problems: Item[] = [];
  const problemsByGym: Item[][] = gyms.map(() => []);
  for (let i = 0; i < counts.problems; i++) {
    const g = i % gyms.length;
    const p = problem(r, gyms[g]!, g, i);
    problems.push(p);
    problemsByGym[g]!.push(p);
  }

  // Sessions in date order, attempts spread over them (about 40 each at any scale).
  const sessions: Item[] = [];
  const attempts: Item[] = [];
  const attemptsPerSession = counts.attempts / counts.sessions;
  for (let s = 0; s < counts.sessions; s++) {
    const g = r.chance(0.7) ? s % Math.min(3, gyms.length) : r.int(0, gyms.length - 1);
    const start = START_MS + Math.floor((SPAN_MS * s) / counts.sessions) + r.int(8, 20) * 60 * MINUTE;
    const minutes = r.int(45, 180);
    const end = start + minutes * MINUTE;
    const session: Item = {
      id: r.uuid(),
      gymId: gyms[g]!.id,
      date: iso(start - (start % DAY)),
      startTime: iso(start),
      endTime: iso(end),
      duration: minutes,
      status: r.chance(0.97) ? 'COMPLETED' : 'PAUSED',
      notes: notes(r, 0.5),
      createdAt: iso(start),
      updatedAt: iso(end + r.int(0, 3_600_000)),
    };
    sessions.push(session);

    const first = Math.round(s * attemptsPerSession);
    const last = s === counts.sessions - 1 ? counts.attempts : Math.round((s + 1) * attemptsPerSession);
    const pool = problemsByGym[g]!.length > 0 ? problemsByGym[g]! : problems;
    for (let a = first; a < last; a++) {
      const at = start + Math.floor(((a - first + r.next()) / Math.max(1, last - first)) * minutes * MINUTE);
      const created = at + r.int(0, 59_999);
      const attempt: Item = {
        id: r.uuid(),
        sessionId: session.id,
        problemId: r.pick(pool).id,
        result: r.pick(RESULTS),
        highestHold: r.chance(0.4) ? r.pick(HOLDS) : null,
        notes: notes(r, 0.65),
        duration: r.chance(0.6) ? r.int(5, 240) : null,
        restTime: r.chance(0.5) ? r.int(30, 600) : null,
        timestamp: iso(at),
        createdAt: iso(created),
      };
      // Older app versions wrote attempts without updatedAt; the server must cope.
      if (r.chance(0.98)) attempt.updatedAt = iso(created + (r.chance(0.1) ? r.int(1, 48) * 3_600_000 : 0));
      attempts.push(attempt);
    }
  }

  // Tombstones of items deleted long ago (their ids are gone from the live data).
  const types = ['attempt', 'attempt', 'attempt', 'problem', 'session', 'gym'];
  const deletedItems: Item[] = Array.from({ length: counts.deletedItems }, () => ({
    id: r.uuid(),
    type: r.pick(types),
    deletedAt: iso(START_MS + Math.floor(r.next() * SPAN_MS)),
  }));

  return { exportedAt: iso(START_MS + SPAN_MS), version: '2.0', formatVersion: '2.0', gyms, problems, sessions, attempts, deletedItems };
}

/** The dataset as the app uploads it: compact JSON, UTF-8. */
export function datasetBytes(options: GenerateOptions = {}): Buffer {
  return Buffer.from(JSON.stringify(generateDataset(options)), 'utf8');
}
