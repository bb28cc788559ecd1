import { checkFolders, type Config } from '../config.js';
import { DEFAULT_ACCOUNT } from '../store/account-store.js';
import type { AccountOptions } from './accounts-command.js';
import { EXIT_CODES } from './exit-codes.js';
import { renderHelp } from './help.js';
import { newToken, resolveToken } from './token.js';

// Each command's module is loaded when that command runs: loading them all (the
// server's Fastify, pino and prom-client among them) took about 0.3 s of every
// run, the Docker HEALTHCHECK's every 30 s too, for code a command never calls.

/** What a command resolves to when it keeps the process alive (the server). */
export const RUNNING = 'running';

export interface CommandContext {
  config: Config;
  args: string[];
  /** The command's own flags that were given: true for a switch, the text for a flag with a value. */
  flags: Readonly<Record<string, string | boolean | undefined>>;
}

export interface Flag {
  doc: string;
  /** The value it takes, as help shows it (`<name>`); without one the flag is a switch. */
  value?: string;
}

export interface Command {
  /** `help` rows: usage and what it does. */
  help: readonly (readonly [usage: string, summary: string])[];
  /** Flags of this command besides the settings. A name two commands share must mean the same kind. */
  flags?: Readonly<Record<string, Flag>>;
  run(context: CommandContext): Promise<number | typeof RUNNING>;
}

const JSON_OUTPUT: Flag = { doc: 'print the result as JSON' };
const ACCOUNT: Flag = { doc: `the account whose data to use (default: ${DEFAULT_ACCOUNT})`, value: '<name>' };

/** Every command; a new one is a new row, and `help` and the README show it. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  serve: {
    help: [['[serve]', 'run the server (the default)']],
    flags: { 'generate-token': { doc: 'make a token and keep it in DATA_DIR when none is set or kept' } },
    async run({ config, flags }) {
      checkFolders(config);
      const token = resolveToken(config, flags['generate-token'] === true, (message) => process.stderr.write(`${message}\n`));
      const [{ createLogger }, { closeOnSignals, startServer }] = await Promise.all([import('../logger.js'), import('../server.js')]);
      const logger = createLogger(config.logLevel, undefined, config.logFormat);
      const starting = startServer(config, token, logger);
      closeOnSignals(starting, logger);
      await starting;
      return RUNNING;
    },
  },
  token: {
    help: [['token', 'print a new random 256-bit token']],
    async run() {
      process.stdout.write(`${newToken()}\n`);
      return EXIT_CODES.ok.code;
    },
  },
  history: {
    help: [
      ['history list', 'snapshots kept before full uploads'],
      ['history restore <id>', 'put a snapshot back (itself a new write)'],
    ],
    flags: { account: ACCOUNT },
    run: async ({ config, args, flags }) => (await import('./data-commands.js')).historyCommand(config, args, account(flags)),
  },
  import: {
    help: [['import <file>', 'replace the data with an ascently.json']],
    flags: { account: ACCOUNT },
    run: async ({ config, args, flags }) => (await import('./data-commands.js')).importCommand(config, args, account(flags)),
  },
  export: {
    help: [['export [file]', 'write the GET /sync document (stdout by default)']],
    flags: { account: ACCOUNT },
    run: async ({ config, args, flags }) => (await import('./data-commands.js')).exportCommand(config, args, account(flags)),
  },
  images: {
    help: [['images check', 'missing and orphan images; exit 1 if any need action']],
    flags: {
      'delete-orphans': { doc: 'also delete orphans older than a day' },
      all: { doc: 'list every name, not the first 10 of each kind' },
      json: JSON_OUTPUT,
      account: ACCOUNT,
    },
    run: async ({ config, args, flags }) =>
      (await import('./images-command.js')).imagesCommand(config, args, {
        deleteOrphans: flags['delete-orphans'] === true,
        all: flags['all'] === true,
        json: flags['json'] === true,
        account: account(flags),
      }),
  },
  accounts: {
    help: [
      ['accounts add <name>', 'make an account and its first device; prints its token once'],
      ['accounts list', 'every account with its usage and quotas'],
      ['accounts set <name>', "set an account's quotas (0 or none: no limit)"],
      ['accounts remove <name> --yes', 'remove an account and all it holds'],
    ],
    flags: {
      device: { doc: "the first device's name", value: '<name>' },
      'max-bytes': { doc: "the account's limit for its JSON data", value: '<size>' },
      // Also a setting (MAX_IMAGE_BYTES); for `accounts set` it is the account's quota.
      'max-image-bytes': { doc: "the account's limit for its images", value: '<size>' },
      yes: { doc: 'confirm a removal' },
      json: JSON_OUTPUT,
    },
    run: async ({ config, args, flags }) => (await import('./accounts-command.js')).accountsCommand(config, args, accountOptions(flags)),
  },
  devices: {
    help: [
      ['devices add <account> <name>', 'a new device; prints its token once'],
      ['devices list <account>', "the account's devices and web sessions"],
      ['devices revoke <account> <id>', 'revoke a device or web session, from its next request on'],
    ],
    flags: { json: JSON_OUTPUT },
    run: async ({ config, args, flags }) => (await import('./accounts-command.js')).devicesCommand(config, args, accountOptions(flags)),
  },
  backup: {
    help: [['backup <file>', 'write a .tar.gz of the database and images (SQLite or PostgreSQL), while the server runs']],
    run: async ({ config, args }) => (await import('./backup-command.js')).backupCommand(config, args),
  },
  restore: {
    help: [['restore <file>', 'check a backup, then restore it into DATA_DIR, or DATABASE_URL when set (stop the server first)']],
    flags: { force: { doc: 'keep the data already there aside first (a folder in DATA_DIR; with DATABASE_URL, an archive beside the file)' } },
    run: async ({ config, args, flags }) => (await import('./backup-command.js')).restoreCommand(config, args, { force: flags['force'] === true }),
  },
  'copy-store': {
    help: [['copy-store --from <a> --to <b>', 'copy everything between SQLite (sqlite:DIR) and PostgreSQL (postgres://…), into an empty store']],
    flags: {
      from: { doc: 'the store to copy from, sqlite:DIR or postgres://…', value: '<store>' },
      to: { doc: 'the empty store to copy into', value: '<store>' },
    },
    run: async ({ config, flags }) => (await import('./copy-store-command.js')).copyStoreCommand(config, text(flags, 'from'), text(flags, 'to')),
  },
  healthcheck: {
    help: [['healthcheck', 'ask the local server for /health; exit 0 if healthy']],
    run: async ({ config }) => (await import('./healthcheck.js')).healthcheck(config),
  },
  help: {
    help: [['help', 'this text (also -h, --help)']],
    async run() {
      process.stdout.write(renderHelp(COMMANDS));
      return EXIT_CODES.ok.code;
    },
  },
};

function text(flags: CommandContext['flags'], name: string): string | undefined {
  return typeof flags[name] === 'string' ? flags[name] : undefined;
}

function account(flags: CommandContext['flags']): string {
  return typeof flags['account'] === 'string' ? flags['account'] : DEFAULT_ACCOUNT;
}

function accountOptions(flags: CommandContext['flags']): AccountOptions {
  const text = (name: string): string | undefined => (typeof flags[name] === 'string' ? (flags[name] as string) : undefined);
  return { json: flags['json'] === true, yes: flags['yes'] === true, device: text('device'), maxBytes: text('max-bytes'), maxImageBytes: text('max-image-bytes') };
}
