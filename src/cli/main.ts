#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, rawFromEnv, resolveConfig, SETTINGS, type RawSettings } from '../config.js';
import { createLogger } from '../logger.js';
import { closeOnSignals, startServer } from '../server.js';
import { exportCommand, historyCommand, importCommand } from './data-commands.js';
import { imagesCommand } from './images-command.js';
import { healthcheck } from './healthcheck.js';
import { newToken, resolveToken } from './token.js';

const USAGE = `Usage: ascently-sync [command] [options]

Commands:
  serve                     run the server (the default)
  token                     print a new random 256-bit token
  history list              list the snapshots kept before full uploads
  history restore <id>      put a snapshot back (itself a new write)
  import <file>             replace the data with an ascently.json document
  export [file]             write the GET /sync document (stdout by default)
  images check              list images problems reference but that are missing, and
                            stored images no problem references (orphans)
  healthcheck               exit 0 if the local server answers /health (Docker)

Options (each also an environment variable):
${SETTINGS.map((s) => `  --${s.flag.padEnd(22)}${s.env}: ${s.doc.replace(/`/g, '')}`).join('\n')}
  --generate-token          serve: make a token in DATA_DIR if none is set
  --delete-orphans          images check: delete orphans older than a day
  -h, --help                this text`;

async function main(argv: string[]): Promise<number> {
  const options = Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: 'string' as const }]));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...options, 'generate-token': { type: 'boolean' }, 'delete-orphans': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const raw: RawSettings = rawFromEnv(process.env);
  for (const s of SETTINGS) {
    const value = (values as Record<string, unknown>)[s.flag];
    if (typeof value === 'string') raw[s.key] = value;
  }
  const config = resolveConfig(raw);
  const [command = 'serve', ...rest] = positionals;

  switch (command) {
    case 'serve': {
      const token = resolveToken(config, values['generate-token'] === true, (message) => process.stderr.write(`${message}\n`));
      const logger = createLogger(config.logLevel);
      const server = await startServer(config, token, logger);
      closeOnSignals(server, logger);
      return -1; // keep running
    }
    case 'token':
      process.stdout.write(`${newToken()}\n`);
      return 0;
    case 'healthcheck':
      return healthcheck(config);
    case 'history':
      return historyCommand(config, rest);
    case 'import':
      return importCommand(config, rest);
    case 'export':
      return exportCommand(config, rest);
    case 'images':
      return imagesCommand(config, rest, { deleteOrphans: values['delete-orphans'] === true });
    default:
      throw new ConfigError(`unknown command "${command}"; see --help`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    const known = err instanceof ConfigError || (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'));
    process.stderr.write(`ascently-sync: ${known ? (err as Error).message : String((err as Error)?.stack ?? err)}\n`);
    process.exitCode = known ? 2 : 1;
  },
);
