#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, rawFromEnv, resolveConfig, SETTINGS, type Config, type RawSettings } from '../config.js';
import { COMMANDS, RUNNING } from './commands.js';
import { describeFailure } from './exit-codes.js';

async function main(argv: string[]): Promise<number | typeof RUNNING> {
  const commandFlags = Object.entries(COMMANDS).flatMap(([name, c]) => Object.entries(c.flags ?? {}).map(([flag, spec]) => [flag, name, spec] as const));
  const parsed = parseArgs({
    args: joinNegativeValues(argv),
    allowPositionals: true,
    options: {
      ...Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: 'string' as const }])),
      ...Object.fromEntries(commandFlags.map(([flag, , spec]) => [flag, { type: spec.value === undefined ? ('boolean' as const) : ('string' as const) }])),
      help: { type: 'boolean', short: 'h' },
    },
  });
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const positionals = parsed.positionals;
  const [name = 'serve', ...args] = values.help ? ['help'] : positionals;
  const command = COMMANDS[name];
  if (command === undefined) throw new ConfigError(`unknown command "${name}"; \`ascently-sync help\` lists the commands`);
  // A command's own flag may share a setting's name (accounts --max-image-bytes):
  // for that command it is the command's, for the others the setting.
  const own = (flag: string): boolean => command.flags?.[flag] !== undefined;
  const settingFlags = new Set(SETTINGS.map((s) => s.flag));
  const flags: Record<string, string | boolean | undefined> = {};
  for (const [flag] of commandFlags) {
    if (values[flag] === undefined || (settingFlags.has(flag) && !own(flag))) continue;
    if (!own(flag)) {
      const owners = commandFlags.filter(([f]) => f === flag).map(([, owner]) => `\`${owner}\``);
      throw new ConfigError(`--${flag} is an option of ${owners.join(' and ')}, not of \`${name}\``);
    }
    flags[flag] = values[flag];
  }

  const raw: RawSettings = rawFromEnv(process.env);
  for (const s of SETTINGS) {
    const value = values[s.flag];
    if (typeof value === 'string' && !own(s.flag)) raw[s.key] = value;
  }
  // Read when a command asks for them: `help` and `token` run whatever the environment holds, so help can explain a bad setting.
  let config: Config | undefined;
  return command.run({
    args,
    flags,
    get config(): Config {
      config ??= resolveConfig(raw);
      logLevel = config.logLevel;
      return config;
    },
  });
}

/**
 * `--max-bytes -5` would be a parseArgs error about an "ambiguous" argument;
 * joined as `--max-bytes=-5`, it reaches the size parser, whose one line says
 * what a size is.
 */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (/^--[a-z-]+$/.test(arg) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** Until the settings are read, LOG_LEVEL from the environment decides whether a failure shows its stack. */
let logLevel = process.env.LOG_LEVEL?.toLowerCase();

function fail(err: unknown): void {
  const { code, message } = describeFailure(err);
  process.stderr.write(`ascently-sync: ${message}\n`);
  if (logLevel === 'debug' || logLevel === 'trace') process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = code;
}

// A reader that stops early (`| head`) makes a later write to stdout fail with
// EPIPE as an event, not a throw: the same one line and exit code, and no stack.
process.stdout.on('error', (err) => {
  fail(err);
  process.exit();
});

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== RUNNING) process.exitCode = code;
  },
  fail,
);
