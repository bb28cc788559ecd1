import type { Dataset, Problem } from './dataset.js';

/**
 * Grade order within one grade system; grades are never converted between systems.
 * A grade's rank is its `difficulty.numericValue` where the app wrote one, else its
 * place on the system's own scale, else (CUSTOM) its place in the gym's
 * `customDifficultyGrades`. Grades with no rank come last, and the name breaks ties.
 */
const V_SCALE = ['VB', ...Array.from({ length: 18 }, (_, i) => `V${i}`)];
const FONT = ['3', '3+', '4', '4+', '5', '5+', ...['6', '7', '8'].flatMap((n) => ['A', 'A+', 'B', 'B+', 'C', 'C+'].map((l) => n + l)), '9A'];
const YDS = [
  ...Array.from({ length: 10 }, (_, i) => `5.${i}`),
  // "5.10" alone sits just below "5.10a".
  ...[10, 11, 12, 13, 14, 15].flatMap((n) => [`5.${n}`, ...['a', 'b', 'c', 'd'].map((l) => `5.${n}${l}`)]),
];

const SCALES: Record<string, ReadonlyMap<string, number>> = {
  V_SCALE: positions(V_SCALE, -1),
  FONT: positions(FONT, 0),
  YDS: positions(YDS, 0),
};

function positions(scale: string[], first: number): Map<string, number> {
  return new Map(scale.map((grade, i) => [grade.toUpperCase(), first + i]));
}

/** The rank of a grade on its system's scale, read case-insensitively; undefined off the scale. */
export function scaleRank(system: string, grade: string): number | undefined {
  return SCALES[system]?.get(grade.trim().toUpperCase());
}

export type GradeComparator = (a: string, b: string) => number;

/**
 * The order of one climb type × system's grades, as the problems of a figure
 * (by default all) define it: a grade's numericValue is the smallest any of them
 * wrote, and a CUSTOM grade's position the smallest in their gyms' lists. A gym's
 * page thus orders by that gym's list alone, and a gym whose problems are not in
 * the figure does not reorder it.
 */
export function gradeOrder(dataset: Dataset, climbType: string, system: string, figureProblems: Iterable<Problem> = dataset.problems.values()): GradeComparator {
  const problems = [...figureProblems];
  const ranks = new Map<string, number>();
  const lower = (grade: string, rank: number | undefined): void => {
    if (rank === undefined) return;
    const known = ranks.get(grade);
    if (known === undefined || rank < known) ranks.set(grade, rank);
  };
  const numeric = new Map<string, number>();
  for (const p of problems) {
    if (p.climbType !== climbType || p.system !== system || p.numericValue === undefined) continue;
    const known = numeric.get(p.grade);
    if (known === undefined || p.numericValue < known) numeric.set(p.grade, p.numericValue);
  }
  for (const p of problems) {
    if (p.climbType !== climbType || p.system !== system || numeric.has(p.grade)) continue;
    if (system === 'CUSTOM') {
      const at = dataset.gyms.get(p.gymId)?.customGrades.indexOf(p.grade) ?? -1;
      lower(p.grade, at >= 0 ? at : undefined);
    } else lower(p.grade, scaleRank(system, p.grade));
  }
  for (const [grade, value] of numeric) ranks.set(grade, value);
  return (a, b) => {
    const ra = ranks.get(a);
    const rb = ranks.get(b);
    if (ra !== undefined && rb !== undefined && ra !== rb) return ra - rb;
    if (ra !== undefined && rb === undefined) return -1;
    if (ra === undefined && rb !== undefined) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  };
}
