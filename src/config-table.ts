import { SETTINGS } from './config.js';

/** The README's configuration table, generated from the schema (a test keeps the README in step). */
export function configTable(): string {
  const rows = SETTINGS.map((s) => `| \`${s.env}\` | \`--${s.flag}\` | ${s.defaultText} | ${s.doc} |`);
  return ['| Variable | Flag | Default | What it does |', '|---|---|---|---|', ...rows].join('\n');
}
