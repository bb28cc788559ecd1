/**
 * A command that cannot do what it was asked (an unknown account or device, a bad
 * or taken name): one line on stderr and exit status 1. Bad usage is a
 * ConfigError (exit 2).
 */
export class CommandError extends Error {
  override name = 'CommandError';
}
