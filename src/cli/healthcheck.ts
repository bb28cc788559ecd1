import type { Config } from '../config.js';
import { readConfiguredToken } from '../config.js';
import { EXIT_CODES } from './exit-codes.js';
import { readKeptToken } from './token.js';

/**
 * For Docker's HEALTHCHECK and for people: asks the server on this machine for
 * /health with the same token it serves with (configured or generated), says what
 * it found in one line, and exits 0 only on 200. A server that only has device
 * tokens (kept as hashes, so there is none to send) is healthy when it answers
 * /health with its JSON 401: it is up and checking tokens.
 */
export async function healthcheck(config: Config): Promise<number> {
  const token = readConfiguredToken(config) ?? readKeptToken(config);
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${config.port}/health`;
  const unhealthy = (reason: string): number => {
    process.stderr.write(`unhealthy: ${reason}\n`);
    return EXIT_CODES.failed.code;
  };
  const started = Date.now();
  let status: number;
  let challenge: string | null;
  try {
    const response = await fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(4000) });
    status = response.status;
    challenge = response.headers.get('www-authenticate');
    await response.body?.cancel();
  } catch (err) {
    const cause = (err as Error).cause as NodeJS.ErrnoException | undefined;
    if (cause?.code === 'ECONNREFUSED') return unhealthy(`nothing answers at ${url} (connection refused); is the server running, with this HOST and PORT?`);
    if ((err as Error).name === 'TimeoutError') return unhealthy(`${url} did not answer within 4 s`);
    return unhealthy(`${url} could not be reached (${cause?.code ?? (err as Error).message})`);
  }
  if (token === undefined) {
    if (status === 401 && challenge === 'Bearer') {
      process.stdout.write(`healthy: ${url} is up and asks for a device token (answered in ${Date.now() - started} ms)\n`);
      return EXIT_CODES.ok.code;
    }
    return unhealthy(`${url} answered ${status}, not the 401 of a server that checks tokens`);
  }
  if (status === 401) return unhealthy(`${url} refused the token (401); this command sends AUTH_TOKEN, AUTH_TOKEN_FILE or DATA_DIR/auth-token: make it the server's`);
  if (status !== 200) return unhealthy(`${url} answered ${status}`);
  process.stdout.write(`healthy: ${url} answered 200 in ${Date.now() - started} ms\n`);
  return EXIT_CODES.ok.code;
}
