import type { Config } from '../config.js';
import { readConfiguredToken } from '../config.js';
import { readKeptToken } from './token.js';

/**
 * For Docker's HEALTHCHECK: asks the server on this machine for /health with the
 * same token it serves with (configured or generated), and exits 0 only on 200.
 */
export async function healthcheck(config: Config): Promise<number> {
  const token = readConfiguredToken(config) ?? readKeptToken(config);
  if (token === undefined) return 1;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  try {
    const response = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${config.port}/health`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(4000),
    });
    return response.status === 200 ? 0 : 1;
  } catch {
    return 1;
  }
}
