import type { Dataset } from '../stats/dataset.js';
import type { AttemptIndex } from '../stats/lists.js';

/**
 * CSV by RFC 4180, one row per session or attempt with names joined in. A cell
 * that a spreadsheet would run as a formula (=, +, -, @, tab, CR) is prefixed with
 * an apostrophe: the names come from the apps and are not ours to trust.
 */
export function csvCell(value: string | number | undefined): string {
  let text = value === undefined ? '' : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function row(cells: (string | number | undefined)[]): string {
  return cells.map(csvCell).join(',') + '\r\n';
}

export function* sessionsCsv(ds: Dataset, index: AttemptIndex): Generator<string> {
  yield row(['session_id', 'date', 'start_time', 'duration_minutes', 'gym_id', 'gym', 'attempts', 'sends', 'notes']);
  for (const s of ds.sessions.values()) {
    const attempts = index.bySession.rows(s.id);
    const sends = attempts.filter((r) => ds.attempts.isSend(r)).length;
    yield row([s.id, s.day, s.startTime, s.durationMinutes, s.gymId, ds.gyms.get(s.gymId)?.name, attempts.length, sends, s.notes]);
  }
}

export function* attemptsCsv(ds: Dataset): Generator<string> {
  yield row(['timestamp', 'session_id', 'session_date', 'gym', 'problem_id', 'problem', 'climb_type', 'grade_system', 'grade', 'result', 'highest_hold']);
  const t = ds.attempts;
  for (let r = 0; r < t.rows; r++) {
    if (!t.has(r)) continue;
    const a = t.attempt(r);
    const p = ds.problems.get(a.problemId);
    const s = ds.sessions.get(a.sessionId);
    const gymId = s?.gymId || p?.gymId || '';
    yield row([a.timestamp, a.sessionId, s?.day, ds.gyms.get(gymId)?.name, a.problemId, p?.name, p?.climbType, p?.system, p?.grade, a.resultText, a.highestHold]);
  }
}
