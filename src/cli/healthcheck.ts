import type { Config } from '../config.js';
import { readConfiguredToken } from '../config.js';
import { readKeptToken } from './token.js';

/**
 * For Docker's HEALTHCHECK: asks the server on this machine for /health with the
 * same token it serves with (configured or generated), and exits 0 only on 200.
 * A server that only has device tokens (kept as hashes, so none to send) is
 * healthy when it answers /health with its JSON 401: it is up and checking tokens.
 */
export async function healthcheck(config: Config): Promise<number> {
  const token = readConfiguredToken(config) ?? readKeptToken(config);
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  try {
    const response = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${config.port}/health`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(4000),
    });
    if (token === undefined) return response.status === 401 && response.headers.get('www-authenticate') === 'Bearer' ? 0 : 1;
    return response.status === 200 ? 0 : 1;
  } catch {
    return 1;
  }
}
