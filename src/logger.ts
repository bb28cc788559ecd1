import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.js';

/** JSON lines on stdout. Authorization headers are redacted should anything ever log one. */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token'], censor: '[redacted]' },
    },
    destination,
  );
}
