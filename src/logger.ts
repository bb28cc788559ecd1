import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat, LogLevel } from './config.js';

/**
 * JSON lines on stdout, or with LOG_FORMAT=pretty the same events made readable by
 * pino-pretty, for people running the server by hand. Authorization headers are
 * redacted should anything ever log one.
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream, format: LogFormat = 'json'): Logger {
  const options = {
    level,
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token'], censor: '[redacted]' },
  };
  if (format === 'pretty') {
    // In the same thread (no transport worker): a log line is written before the
    // process can exit, and nothing is lost on a crash.
    return pino(options, pretty({ sync: true, colorize: destination === undefined && process.stdout.isTTY, destination: destination ?? 1 }));
  }
  return pino(options, destination);
}
