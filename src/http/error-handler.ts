import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { ApiError, type ErrorCode } from '../errors.js';

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Fastify's own errors that are the client's fault, by their code. */
const FRAMEWORK_ERRORS: Record<string, { status: number; code: ErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large', message: 'request body is too large' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'bad_request', message: 'Content-Length does not match the body' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', message: 'unsupported Content-Type' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'bad_request', message: 'request body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'bad_request', message: 'request body is not valid JSON' },
  FST_ERR_BAD_URL: { status: 400, code: 'bad_request', message: 'malformed URL' },
  FST_ERR_VALIDATION: { status: 400, code: 'bad_request', message: 'invalid request' },
};

/**
 * One place where errors become answers: `{"error": "...", "code": "..."}`.
 * A 5xx never shows its cause to the client; it is logged once with the request id.
 */
export function installErrorHandling(app: FastifyInstance, limits: { maxJsonBytes: number }): void {
  const storage = new StorageFullLog();
  app.setErrorHandler((error: FastifyError | ApiError | Error, request, reply) => {
    // Whether the store reported it (SQLITE_FULL) or a module already turned ENOSPC into a 507.
    if (error instanceof ApiError && error.code === 'insufficient_storage') {
      storage.full(request.log, 'ENOSPC');
      return sendError(reply, error);
    }
    if (isStorageFull(error)) {
      storage.full(request.log, errorCode(error) ?? 'unknown');
      return sendError(reply, ApiError.insufficientStorage('the server is out of storage space; nothing was written'));
    }
    if (error instanceof ApiError) {
      if (error.status >= 500) request.log.error({ code: error.code }, error.message);
      return sendError(reply, error);
    }
    const known = 'code' in error && typeof error.code === 'string' ? FRAMEWORK_ERRORS[error.code] : undefined;
    if (known) {
      // Like an image's 413, the answer names the limit and the setting that raises it.
      const message = known.status === 413 ? `request body is larger than the ${limits.maxJsonBytes} bytes this server accepts (MAX_JSON_BYTES)` : known.message;
      return sendError(reply, new ApiError(known.status, known.code, message));
    }
    const status = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status >= 400 && status < 500) {
      return sendError(reply, new ApiError(status, 'bad_request', error.message));
    }
    request.log.error({ err: error }, 'request failed');
    return sendError(reply, new ApiError(500, 'internal', `internal server error (request ${request.id})`));
  });

  app.setNotFoundHandler((request, reply) => {
    const url = request.url.split('?')[0] ?? request.url;
    const allowed = ALL_METHODS.filter((method) => app.hasRoute({ url, method }));
    if (allowed.length > 0) {
      return sendError(reply, new ApiError(405, 'method_not_allowed', `${request.method} is not allowed on ${url}`, { allow: allowed.join(', ') }));
    }
    return sendError(reply, ApiError.notFound(`no such endpoint: ${request.method} ${url}`));
  });

  // A write that succeeds after a 507 means space is back: say so, and warn again next time.
  app.addHook('onResponse', (request, reply, done) => {
    if (storage.isFull && request.method !== 'GET' && request.method !== 'HEAD' && reply.statusCode < 300) storage.writable(request.log);
    done();
  });

  replaceClientErrorHandler(app);
  refuseTunnels(app);
}

/**
 * Disk or database full: SQLite's SQLITE_FULL (also what a low max_page_count
 * gives), or ENOSPC/EDQUOT from a file write, possibly wrapped as a cause.
 */
const STORAGE_FULL_CODES = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT']);

function isStorageFull(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = errorCode(e);
    if (code !== undefined && STORAGE_FULL_CODES.has(code)) return true;
  }
  return false;
}

function errorCode(error: unknown): string | undefined {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A full disk fails every write until someone frees space; one warning line when
 * it starts (no stack: it is not a bug) and one when it ends keep the log readable.
 */
class StorageFullLog {
  isFull = false;

  full(log: FastifyBaseLoggerLike, code: string): void {
    if (this.isFull) {
      log.debug({ code }, 'storage still full: write refused with 507');
      return;
    }
    this.isFull = true;
    log.warn({ code }, 'storage full: writes are refused with 507 until space is freed');
  }

  writable(log: FastifyBaseLoggerLike): void {
    this.isFull = false;
    log.info('storage writable again');
  }
}

type FastifyBaseLoggerLike = Pick<FastifyInstance['log'], 'warn' | 'info' | 'debug'>;

/** What Node keeps on a connection's socket: the answer it is writing, if any. */
type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };

/**
 * Fastify's default handler for requests Node cannot parse logs the error at
 * trace level with its `rawPacket`: the raw request bytes, Authorization header
 * included. This one answers the same way and logs only the parser's code.
 */
function replaceClientErrorHandler(app: FastifyInstance): void {
  const server = app.server;
  server.removeAllListeners('clientError');
  server.on('clientError', (err: NodeJS.ErrnoException, socket: HttpSocket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed || refusingAfterAnswer.has(socket)) return;
    const [status, code]: [number, ErrorCode] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'bad_request'] : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'bad_request'] : [400, 'bad_request'];
    app.log.debug({ code: err.code, status }, 'unparsable request dropped');
    const body = JSON.stringify({ error: status === 408 ? 'request timed out' : status === 431 ? 'request headers are too large' : 'malformed HTTP request', code });
    const refusal = rawAnswer(status, body);
    const inFlight = socket._httpMessage;
    // An earlier request on this connection, received whole, is still being
    // answered (the bad bytes came after its body, or pipelined behind it). Its
    // answer goes out first, then this refusal, in the order of the requests.
    // Written at once, the 400 was read as the earlier request's answer: a delta
    // stored, and answered "malformed HTTP request".
    if (inFlight?.req?.complete) {
      refusingAfterAnswer.add(socket);
      refuseOnceAnswered(socket, refusal);
      return;
    }
    // The bad bytes are the answered request's own (its body): as Node's own
    // handler, no answer of ours once that answer has begun, or it would land in
    // the middle of its body.
    if (socket.writable && !inFlight?.headersSent) socket.write(refusal);
    socket.destroy();
  });
}

/** Connections whose unparsable request is refused once the answers before it are out; what else they send is not read. */
const refusingAfterAnswer = new WeakSet<Socket>();

function refuseOnceAnswered(socket: HttpSocket, refusal: string): void {
  if (socket.destroyed) return;
  // Node hands the socket to the next pipelined answer, if any, as one finishes.
  const inFlight = socket._httpMessage;
  if (inFlight) {
    inFlight.once('finish', () => refuseOnceAnswered(socket, refusal));
    return;
  }
  if (socket.writable) socket.write(refusal);
  socket.destroySoon();
}

/**
 * CONNECT asks for a tunnel, and this server is no proxy. Node hands such a
 * request to a 'connect' listener and, with none, closes the connection without
 * a word: a client given the server's address as its proxy saw only an empty
 * reply. It is told so, the way a request Node cannot parse is (Fastify never
 * sees either).
 */
function refuseTunnels(app: FastifyInstance): void {
  app.server.on('connect', (_request: unknown, socket: Socket) => {
    app.log.debug({ method: 'CONNECT', status: 501 }, 'tunnel request refused');
    const body = JSON.stringify({ error: 'CONNECT is not supported: this server is not a proxy', code: 'not_implemented' satisfies ErrorCode });
    socket.on('error', () => undefined);
    socket.write(rawAnswer(501, body));
    socket.destroySoon();
  });
}

/** A whole JSON answer written on the socket itself, for what Fastify never sees; the connection closes after it. */
function rawAnswer(status: number, body: string): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

export function sendError(reply: FastifyReply, error: ApiError): FastifyReply {
  return reply
    .code(error.status)
    .headers(error.headers)
    .type('application/json; charset=utf-8')
    .send({ error: error.message, code: error.code });
}
