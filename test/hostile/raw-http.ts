import assert from 'node:assert/strict';
import net from 'node:net';
import { TEST_TOKEN } from '../helpers/server.js';

export interface RawAnswer {
  /** 0 when the server closed the connection without answering. */
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface RawOptions {
  /** Half-close after writing: the request is cut short on purpose. */
  endAfterWrite?: boolean;
  localAddress?: string;
  /** Give up (and fail) after this long; a hung request is a bug too. */
  timeoutMs?: number;
}

/**
 * Sends bytes exactly as given over a fresh socket and reads until the server
 * closes it: fetch and node:http refuse to send most of what a hostile client
 * can (bad framing, invalid header bytes, lying lengths).
 */
export function rawRequest(url: string, bytes: Buffer | string, options: RawOptions = {}): Promise<RawAnswer> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ port: Number(port), host: hostname, localAddress: options.localAddress });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer and no close within ${options.timeoutMs ?? 10_000} ms`));
    }, options.timeoutMs ?? 10_000);
    socket.on('connect', () => {
      socket.write(bytes);
      if (options.endAfterWrite) socket.end();
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A reset after a refusal (the server closes with our body unread) is an answer too.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseAnswer(Buffer.concat(chunks)));
    });
  });
}

function parseAnswer(raw: Buffer): RawAnswer {
  // An interim "100 Continue" comes before the real answer.
  while (/^HTTP\/1\.[01] 1\d\d /.test(raw.subarray(0, 16).toString('latin1')) && raw.indexOf('\r\n\r\n') >= 0) raw = raw.subarray(raw.indexOf('\r\n\r\n') + 4);
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: Buffer.alloc(0) };
  const [statusLine = '', ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  return { status, headers, body };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** A well-formed HTTP/1.1 request with our token unless the headers carry their own. */
export function requestBytes(method: string, target: string, headers: [string, string][], body: Buffer | string = ''): Buffer {
  const all: [string, string][] = [['Host', 'localhost'], ...headers, ['Connection', 'close']];
  if (!headers.some(([name]) => name.toLowerCase() === 'authorization')) all.push(['Authorization', `Bearer ${TEST_TOKEN}`]);
  const head = `${method} ${target} HTTP/1.1\r\n${all.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8')]);
}

/** The stored state as GET /sync shows it, without the exportedAt that changes each call. */
export async function syncState(url: string): Promise<string> {
  const response = await fetch(`${url}/sync`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  const text = await response.text();
  if (response.status === 404) return '(never written)';
  assert.equal(response.status, 200, `GET /sync: ${text.slice(0, 300)}`);
  const withoutStamp = text.replace(/^\{"exportedAt":"[^"]*",/, '{');
  assert.notEqual(withoutStamp, text, 'GET /sync starts with exportedAt');
  return withoutStamp;
}

export async function assertHealthy(url: string): Promise<void> {
  const response = await fetch(`${url}/health`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  assert.equal(response.status, 200, 'the server still answers /health');
  assert.deepEqual(await response.json(), { status: 'ok', version: '2.0.0' });
}

/** An error answer's body must be our JSON error, whatever went wrong. */
export function assertJsonError(answer: RawAnswer, context: string): void {
  if (answer.body.length === 0) return; // HEAD, or closed early
  const text = answer.body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    assert.fail(`${context}: ${answer.status} body is not JSON: ${text.slice(0, 200)}`);
  }
  assert.equal(typeof (parsed as { error?: unknown }).error, 'string', `${context}: ${answer.status} body has an "error" string`);
}
