import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { ApiError, type ErrorCode } from '../errors.js';

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Fastify's own errors that are the client's fault, by their code. */
const FRAMEWORK_ERRORS: Record<string, { status: number; code: ErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large', message: 'request body is larger than the server accepts' },
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
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | ApiError | Error, request, reply) => {
    if (error instanceof ApiError) {
      if (error.status >= 500) request.log.error({ code: error.code }, error.message);
      return sendError(reply, error);
    }
    const known = 'code' in error && typeof error.code === 'string' ? FRAMEWORK_ERRORS[error.code] : undefined;
    if (known) return sendError(reply, new ApiError(known.status, known.code, known.message));
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
}

export function sendError(reply: FastifyReply, error: ApiError): FastifyReply {
  return reply
    .code(error.status)
    .headers(error.headers)
    .type('application/json; charset=utf-8')
    .send({ error: error.message, code: error.code });
}
