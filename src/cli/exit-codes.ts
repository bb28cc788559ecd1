import { ConfigError } from '../config.js';
import { ApiError } from '../errors.js';
import { CommandError } from './command-error.js';
import { NewerSchemaError } from '../store/migrations.js';

/**
 * The CLI's exit codes, one per kind of failure, so that a script or a
 * supervisor can tell "fix the settings" from "fix the file" from "a bug".
 * The README's Command line section lists them (a test keeps the two equal).
 */
export const EXIT_CODES = {
  ok: { code: 0, doc: 'done' },
  failed: { code: 1, doc: 'not done: no such account or device, a name taken; or `healthcheck` or `images check` found a problem' },
  usage: { code: 2, doc: 'wrong command, flag or setting, or nothing to authenticate with (no token, no device)' },
  file: { code: 3, doc: 'a file or folder cannot be read or written (missing, a folder, no permission, disk full)' },
  data: { code: 4, doc: 'a file to import is not a document the server accepts' },
  listen: { code: 5, doc: 'the server cannot listen (port in use, or not allowed)' },
  database: { code: 6, doc: 'PostgreSQL (`DATABASE_URL`) cannot be reached, or refused the connection' },
  newer: { code: 7, doc: 'the database (SQLite or PostgreSQL) was migrated by a newer ascently-sync: run that release or a later one' },
  internal: { code: 70, doc: 'an unexpected error: a bug; `LOG_LEVEL=debug` shows its stack' },
} as const;

export type ExitKind = keyof typeof EXIT_CODES;

/** A failure the CLI explains in one line and exits with the code of its kind. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    readonly kind: ExitKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface Failure {
  code: number;
  /** One line: what was wrong and what to do. */
  message: string;
}

/** Turns anything a command threw into its one line and exit code. */
export function describeFailure(err: unknown): Failure {
  const failure = (kind: ExitKind, message: string): Failure => ({ code: EXIT_CODES[kind].code, message: oneLine(message) });
  if (err instanceof CliError) return failure(err.kind, err.message);
  if (err instanceof ConfigError) return failure('usage', err.message);
  if (err instanceof CommandError) return failure('failed', err.message);
  // One code for both stores, as every behaviour of the CLI is the same on both.
  if (err instanceof NewerSchemaError) return failure('newer', err.message);
  const code = errorCode(err);
  if (code?.startsWith('ERR_PARSE_ARGS')) return failure('usage', `${firstSentence((err as Error).message)}; \`ascently-sync help\` lists the options`);
  if (err instanceof Error && err.cause instanceof ApiError) return failure(err.cause.code === 'quota_exceeded' ? 'failed' : 'data', err.message);
  const system = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (code !== undefined && system.syscall === 'listen') return failure('listen', listenMessage(system));
  if (code === 'EPIPE') return failure('file', 'the program reading the output closed it before the end (EPIPE): what it got is incomplete');
  if (err instanceof Error && POSTGRES_CONNECTION_LOST.test(err.message)) return failure('database', `PostgreSQL: ${err.message.split('\n')[0]}; check DATABASE_URL (its host, and sslmode if you set one)`);
  if (isPostgresRefusal(err)) return failure('database', `PostgreSQL refused: ${(err as Error).message} (${code}); check DATABASE_URL`);
  if (isPostgres(err) && (code === INSUFFICIENT_PRIVILEGE || code === NO_SCHEMA_TO_CREATE_IN)) {
    return failure('database', `PostgreSQL refused: ${(err as Error).message} (${code}); the DATABASE_URL user must own its database, or may create tables in it`);
  }
  if (code !== undefined && POSTGRES_UNREACHABLE.has(code) && (system.syscall === 'connect' || system.syscall === 'getaddrinfo')) {
    return failure('database', `cannot reach PostgreSQL (${code}${system.address ? ` at ${system.address}:${system.port ?? ''}` : ''}); is it running? check DATABASE_URL`);
  }
  if (code !== undefined && code in FILE_ERRORS) return failure('file', `${system.path ?? 'a file'}: ${FILE_ERRORS[code]}`);
  if (code === 'SQLITE_FULL') return failure('file', 'the disk or the database is full (SQLITE_FULL); nothing was written; free some space and try again');
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') return failure('file', `the database in DATA_DIR is not a readable SQLite file (${code}); restore it from a backup`);
  if (code === 'SQLITE_CANTOPEN' || code?.startsWith('SQLITE_READONLY')) return failure('file', `the database in DATA_DIR cannot be opened for writing (${code}); check the folder's owner and permissions`);
  const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return failure('internal', `unexpected error: ${reason} (run with LOG_LEVEL=debug for the stack, and please report it)`);
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or folder; check the path',
  EISDIR: 'is a folder; give the path of a file',
  ENOTDIR: 'a part of this path is a file, not a folder; check the path',
  EACCES: 'permission denied; check its owner and mode, or run as the user that owns DATA_DIR',
  EPERM: 'operation not permitted; check its owner and mode',
  EROFS: 'the file system is read-only; choose a writable place',
  ENOSPC: 'no space left on the disk; free some space and try again',
  EDQUOT: 'disk quota exceeded; free some space and try again',
  EEXIST: 'already exists; remove it or choose another name',
  EMFILE: 'too many open files; raise the limit (ulimit -n) and try again',
  EIO: 'an input/output error: the disk, or the file on it, is damaged',
};

function listenMessage(err: NodeJS.ErrnoException & { address?: string; port?: number }): string {
  const where = `${err.address ?? 'HOST'}:${err.port ?? 'PORT'}`;
  if (err.code === 'EADDRINUSE') return `cannot listen on ${where}: the port is in use by another program; stop it or set PORT to a free port`;
  if (err.code === 'EACCES') return `cannot listen on ${where}: not allowed (ports below 1024 need privileges); set PORT to 1024 or above`;
  if (err.code === 'EADDRNOTAVAIL') return `cannot listen on ${where}: that address is not one of this machine's; set HOST to one of its addresses or 0.0.0.0`;
  return `cannot listen on ${where} (${err.code}); check HOST and PORT`;
}

/** Node's argument errors go on to explain `--` at length; the first sentence is the point. */
function firstSentence(message: string): string {
  return message.split(/\.\s|\n/)[0]!.replace(/\.$/, '');
}

/** node-postgres's words for a connection that never got going: no SSL where sslmode asks for it, a host that stopped answering. */
const POSTGRES_CONNECTION_LOST = /^(?:The server does not support SSL connections|Connection terminated unexpectedly|Connection terminated due to connection timeout)/;

const POSTGRES_UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET']);

/** SQLSTATE 42501: the DATABASE_URL user may not do what the server needs (make its tables, write them). */
const INSUFFICIENT_PRIVILEGE = '42501';
/** SQLSTATE 3F000: no schema on the user's search_path it may use (no USAGE on public, say). */
const NO_SCHEMA_TO_CREATE_IN = '3F000';

function isPostgres(err: unknown): boolean {
  return err instanceof Error && err.constructor.name === 'DatabaseError';
}

/**
 * PostgreSQL refusing the connection, as node-postgres reports it: no such
 * database, wrong password or role, too many connections, shutting down. Other
 * SQL errors stay unexpected ones.
 */
function isPostgresRefusal(err: unknown): boolean {
  if (!isPostgres(err)) return false;
  const code = errorCode(err) ?? '';
  return /^(?:08|28)/.test(code) || ['3D000', '53300', '57P01', '57P03'].includes(code);
}

/** Names, paths and messages may hold control characters (a name with a line break, a terminal escape): written escaped, the line stays one line. */
function oneLine(message: string): string {
  // eslint-disable-next-line no-control-regex
  return message.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c < '\u007f' ? JSON.stringify(c).slice(1, -1) : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

function errorCode(err: unknown): string | undefined {
  const code = err instanceof Error && 'code' in err ? err.code : undefined;
  return typeof code === 'string' ? code : undefined;
}
