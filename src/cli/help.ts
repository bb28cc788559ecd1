import { SETTINGS } from '../config.js';
import type { Command } from './commands.js';
import { EXIT_CODES } from './exit-codes.js';

const WIDTH = 100;
const LEFT = 30;

/** `ascently-sync help`: commands, their flags, the settings and the exit codes, in aligned columns. */
export function renderHelp(commands: Readonly<Record<string, Command>>): string {
  const flags = flagRows(commands);
  return [
    'Usage: ascently-sync [command] [options]',
    '',
    'Commands:',
    columns(commandRows(commands, '')),
    '',
    'Options of commands:',
    columns(flags),
    '',
    'Settings (each also an environment variable; the flag wins):',
    columns(SETTINGS.map((s) => [`--${s.flag} <value>`, `${s.env}: ${s.doc.replace(/`/g, '')}`])),
    '',
    'Exit codes:',
    columns(exitCodeRows()),
    '',
  ].join('\n');
}

export function commandRows(commands: Readonly<Record<string, Command>>, prefix = 'ascently-sync '): (readonly [string, string])[] {
  return Object.values(commands).flatMap((c) => c.help.map(([usage, summary]) => [`${prefix}${usage}`, summary] as const));
}

/** One row per flag; a flag several commands share (--account) names them all. */
function flagRows(commands: Readonly<Record<string, Command>>): (readonly [string, string])[] {
  const rows = new Map<string, { doc: string; users: string[] }>();
  for (const [name, c] of Object.entries(commands)) {
    for (const [flag, { doc, value }] of Object.entries(c.flags ?? {})) {
      const left = `--${flag}${value === undefined ? '' : ` ${value}`}`;
      const row = rows.get(left) ?? { doc, users: [] };
      row.users.push(name);
      rows.set(left, row);
    }
  }
  return [...rows].map(([left, { doc, users }]) => [left, `${users.join(', ')}: ${doc}`] as const);
}

/** The README's Command line reference: the same rows as `help`, kept equal by a test. */
export function readmeCommandLine(commands: Readonly<Record<string, Command>>): string {
  return [
    '```text',
    columns(commandRows(commands), 0, 44),
    '',
    columns(flagRows(commands), 0),
    '```',
    '',
    '| Exit code | Meaning |',
    '|---|---|',
    ...Object.values(EXIT_CODES).map(({ code, doc }) => `| ${code} | ${doc} |`),
  ].join('\n');
}

export function exitCodeRows(): (readonly [string, string])[] {
  return Object.values(EXIT_CODES).map(({ code, doc }) => [String(code), doc.replace(/`/g, '')] as const);
}

/**
 * Two columns: the left padded to the widest entry (at most LEFT wide, a longer
 * one puts its text on the next line), the right wrapped at WIDTH characters.
 */
export function columns(rows: readonly (readonly [string, string])[], indent = 2, maxLeft = LEFT): string {
  const left = Math.min(maxLeft, Math.max(0, ...rows.map(([l]) => l.length))) + 2;
  const margin = ' '.repeat(indent);
  const lines: string[] = [];
  for (const [l, r] of rows) {
    const [first = '', ...rest] = wrap(r, WIDTH - indent - left);
    if (l.length + 2 > left) lines.push(`${margin}${l}`, `${margin}${' '.repeat(left)}${first}`);
    else lines.push(`${margin}${l.padEnd(left)}${first}`);
    for (const text of rest) lines.push(`${margin}${' '.repeat(left)}${text}`);
  }
  return lines.join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines;
}
