#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, rawFromEnv, resolveConfig, SETTINGS, type RawSettings } from '../config.js';
import { createLogger } from '../logger.js';
import { DEFAULT_ACCOUNT } from '../store/account-store.js';
import { closeOnSignals, startServer } from '../server.js';
import { accountsCommand, devicesCommand } from './accounts-command.js';
import { CommandError } from './command-error.js';
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
  accounts add NAME [--device DEVICE_NAME]
                            make an account and its first device; prints its token once
  accounts list             every account with its usage and quotas
  accounts set NAME [--max-bytes SIZE] [--max-image-bytes SIZE]
                            set an account's quotas (0 or none: no limit)
  accounts remove NAME --yes
                            remove an account and all it holds
  devices add ACCOUNT DEVICE_NAME
                            a new device; prints its token once
  devices list ACCOUNT      the account's devices and web sessions
  devices revoke ACCOUNT ID revoke a device or web session, from its next request on
  healthcheck               exit 0 if the local server answers /health (Docker)

Options (each also an environment variable):
${SETTINGS.map((s) => `  --${s.flag.padEnd(22)}${s.env}: ${s.doc.replace(/`/g, '')}`).join('\n')}
  --generate-token          serve: make a token in DATA_DIR if none is set
  --delete-orphans          images check: delete orphans older than a day
  --account NAME            history, import, export, images check: the account (default: default)
  --json                    accounts, devices: print JSON on one line
  -h, --help                this text`;

async function main(argv: string[]): Promise<number> {
  const options = Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: 'string' as const }]));
  const { values, positionals } = parseArgs({
    args: joinNegativeValues(argv),
    allowPositionals: true,
    options: {
      ...options,
      'generate-token': { type: 'boolean' },
      'delete-orphans': { type: 'boolean' },
      account: { type: 'string' },
      json: { type: 'boolean' },
      yes: { type: 'boolean' },
      device: { type: 'string' },
      'max-bytes': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [command = 'serve', ...rest] = positionals;
  // For `accounts set`, --max-image-bytes is the account's quota, not the server's MAX_IMAGE_BYTES.
  const accountFlags = command === 'accounts' ? new Set(['max-image-bytes']) : new Set<string>();
  const raw: RawSettings = rawFromEnv(process.env);
  for (const s of SETTINGS) {
    const value = (values as Record<string, unknown>)[s.flag];
    if (typeof value === 'string' && !accountFlags.has(s.flag)) raw[s.key] = value;
  }
  const config = resolveConfig(raw);
  const account = values.account ?? DEFAULT_ACCOUNT;
  const accountOptions = {
    json: values.json === true,
    yes: values.yes === true,
    device: values.device,
    maxBytes: values['max-bytes'],
    maxImageBytes: (values as Record<string, unknown>)['max-image-bytes'] as string | undefined,
  };

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
      return historyCommand(config, rest, account);
    case 'import':
      return importCommand(config, rest, account);
    case 'export':
      return exportCommand(config, rest, account);
    case 'images':
      return imagesCommand(config, rest, { deleteOrphans: values['delete-orphans'] === true, account });
    case 'accounts':
      return accountsCommand(config, rest, accountOptions);
    case 'devices':
      return devicesCommand(config, rest, accountOptions);
    default:
      throw new ConfigError(`unknown command "${command}"; see --help`);
  }
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

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    const usage = err instanceof ConfigError || (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'));
    const known = usage || err instanceof CommandError;
    // One line: parseArgs adds a second line of advice to some of its messages.
    process.stderr.write(`ascently-sync: ${known ? (err as Error).message.split('\n')[0] : String((err as Error)?.stack ?? err)}\n`);
    process.exitCode = usage ? 2 : 1;
  },
);
