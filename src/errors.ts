/**
 * The one error type the server throws on purpose. The error handler turns it into
 * `{"error": message, "code": code}` with its status; anything else becomes a 500
 * whose details stay in the log.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'uri_too_long'
  | 'quota_exceeded'
  | 'unsupported_media_type'
  | 'range_not_satisfiable'
  | 'expectation_failed'
  | 'too_many_requests'
  | 'insufficient_storage'
  | 'not_implemented'
  | 'internal';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    /** Extra response headers, such as Retry-After. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  static badRequest(message: string): ApiError {
    return new ApiError(400, 'bad_request', message);
  }

  static notFound(message: string): ApiError {
    return new ApiError(404, 'not_found', message);
  }

  static payloadTooLarge(message: string): ApiError {
    return new ApiError(413, 'payload_too_large', message);
  }

  /** An account's quota (accounts set --max-bytes / --max-image-bytes) would be passed. */
  static quotaExceeded(message: string): ApiError {
    return new ApiError(413, 'quota_exceeded', message);
  }

  static unsupportedMediaType(message: string): ApiError {
    return new ApiError(415, 'unsupported_media_type', message);
  }

  /** A request whose account was removed while it was under way: its token is refused from now on. */
  static accountRemoved(): ApiError {
    return new ApiError(401, 'unauthorized', "this token's account was removed", { 'www-authenticate': 'Bearer' });
  }

  static insufficientStorage(message: string): ApiError {
    return new ApiError(507, 'insufficient_storage', message);
  }
}
