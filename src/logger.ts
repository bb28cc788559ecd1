import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat, LogLevel } from './config.js';

/**
 * JSON lines on stdout, or with LOG_FORMAT=pretty the same events made readable by
 * pino-pretty, for people running the server by hand. Authorization headers are
 * redacted should anything ever log one.
 */
const ERROR_LEVEL = 50;

function isHangUp(value: unknown): boolean {
  return value instanceof Error && (value.message === 'premature close' || (value as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE');
}

export function createLogger(level: LogLevel, destination?: pino.DestinationStream, format: LogFormat = 'json'): Logger {
  const options: pino.LoggerOptions = {
    level,
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token'], censor: '[redacted]' },
    hooks: {
      logMethod(args, write, levelValue) {
        // A phone that leaves Wi-Fi in the middle of a compressed answer is no server
        // error, but @fastify/compress reports its stream's early end as one, with a
        // stack; the route logs the hang-up itself (sync-routes.ts).
        // The same end reaches the error handler as `{ err }` when it comes before the
        // answer's headers went out: an answer queued behind another on a pipelining
        // connection that the client closed.
        if (levelValue >= ERROR_LEVEL && (isHangUp(args[0]) || isHangUp((args[0] as { err?: unknown } | undefined)?.err))) {
          return void this.debug(...(args as [object, string]));
        }
        write.apply(this, args);
      },
    },
  };
  if (format === 'pretty') {
    // In the same thread (no transport worker): a log line is written before the
    // process can exit, and nothing is lost on a crash.
    return pino(options, pretty({ sync: true, colorize: destination === undefined && process.stdout.isTTY, destination: destination ?? 1 }));
  }
  return pino(options, destination);
}
