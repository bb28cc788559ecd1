import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { AccountImageStores, ImageAccount } from '../images/account-image-stores.js';
import { requireImageName } from '../images/filename.js';
import { etagMatches, notModifiedSince, parseRange, sameVersionAs } from '../images/http-conditions.js';
import { tooLarge, type OpenedImage } from '../images/image-storage.js';
import { DEFAULT_ACCOUNT } from '../store/account-store.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Store } from '../store/store.js';
import { accountOf } from './auth.js';
import { refuseCompressedBodies } from './compressed-bodies.js';

export interface ImageRouteOptions {
  images: AccountImageStores;
  maxImageBytes: number;
  store: Store;
  /** Counts uploads and downloads when metrics are on. */
  metrics?: Pick<Metrics, 'imageUploaded' | 'imageDownloaded'>;
}

interface ImageQuery {
  Querystring: { filename?: string | string[] };
}

// Images are already compressed, and a byte Range is only meaningful on the
// bytes as stored: @fastify/compress stays off these routes.
const ROUTE_CONFIG = { compress: false } as const;

/**
 * POST /images/upload and GET/HEAD /images/download. An encapsulated plugin, so
 * that its catch-all body parser, which hands the body over unread as a stream,
 * applies to these routes only.
 */
export async function imageRoutes(app: FastifyInstance, options: ImageRouteOptions): Promise<void> {
  const imagesOf = (account: ImageAccount) => options.images.of(account);
  // The default account's folder at once, as before accounts: made, and cleared of a crash's partial uploads.
  const defaultId = await options.store.datasetId(DEFAULT_ACCOUNT);
  await imagesOf({ accountId: defaultId, accountName: DEFAULT_ACCOUNT });

  // Any Content-Type (image/jpeg, application/octet-stream, none): the type is
  // decided by the bytes. The body stays a stream; the image storage counts and stops it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  refuseCompressedBodies(app);

  app.post<ImageQuery>('/images/upload', { config: { ...ROUTE_CONFIG, bodyLimitBytes: options.maxImageBytes } }, async (request, reply) => {
    const name = requireImageName(request.query.filename);
    const declared = Number(request.headers['content-length']);
    // Refused before a byte is read; the lingering close reads and drops the rest.
    if (declared > options.maxImageBytes) throw tooLarge(options.maxImageBytes);
    const body = request.body instanceof Readable ? request.body : request.raw;
    const account = accountOf(request);
    const saved = await (await imagesOf(account)).save(name, body, account.maxImageBytes).catch(async (err: unknown) => {
      // The account removed (by the CLI, perhaps in another process) while the bytes
      // arrived fails the write in the store's own way: refused as its token now is.
      if (!(err instanceof ApiError) && (await options.store.accounts.find(account.accountName))?.id !== account.accountId) throw ApiError.accountRemoved();
      throw err;
    });
    options.metrics?.imageUploaded(saved.size);
    return reply
      .header('etag', saved.etag)
      .type('application/json; charset=utf-8')
      .send({ filename: name, size: saved.size, contentType: saved.type });
  });

  app.route<ImageQuery>({
    method: ['GET', 'HEAD'],
    url: '/images/download',
    config: ROUTE_CONFIG,
    handler: async (request, reply) => {
      const name = requireImageName(request.query.filename);
      const image = await (await imagesOf(accountOf(request))).open(name);
      if (!image) throw ApiError.notFound(`no image named ${name}`);
      return sendImage(request, reply, image, (bytes) => options.metrics?.imageDownloaded(bytes));
    },
  });
}

/**
 * Answers an opened image (/images/download and the dashboard's /web/images alike);
 * it is released whatever happens. `onBody` hears the byte count of a body sent.
 */
export async function sendImage(request: FastifyRequest, reply: FastifyReply, image: OpenedImage, onBody?: (bytes: number) => void): Promise<FastifyReply> {
  let streaming = false;
  try {
    const response = download(request, reply, image);
    streaming = response !== undefined;
    if (streaming) onBody?.(Number(reply.getHeader('content-length')));
    return reply.send(response);
  } finally {
    if (!streaming) await image.close();
  }
}

/** Sets status and headers; returns the body stream, or undefined when there is none to send. */
function download(request: FastifyRequest, reply: FastifyReply, image: OpenedImage): Readable | undefined {
  reply.headers({
    etag: image.etag,
    'cache-control': 'private',
    'x-content-type-options': 'nosniff',
    'accept-ranges': 'bytes',
    'last-modified': image.modified.toUTCString(),
  });
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined ? etagMatches(ifNoneMatch, image.etag, 'weak') : notModifiedSince(request.headers['if-modified-since'], image.modified)) {
    reply.code(304);
    return undefined;
  }
  // If-Range: resume only while the client's copy is this same version.
  const ifRange = request.headers['if-range'];
  const sameVersion = ifRange === undefined || (typeof ifRange === 'string' && sameVersionAs(ifRange, image.etag, image.modified));
  const rangeHeader = sameVersion ? request.headers.range : undefined;
  const range = rangeHeader === undefined ? undefined : parseRange(rangeHeader, image.size);
  if (range === 'unsatisfiable') {
    throw new ApiError(416, 'range_not_satisfiable', `the range is outside the image (${image.size} bytes)`, { 'content-range': `bytes */${image.size}` });
  }
  const { start, end } = range ?? { start: 0, end: image.size - 1 };
  reply
    .code(range ? 206 : 200)
    .header('content-type', image.type ?? 'application/octet-stream')
    .header('content-length', String(end - start + 1));
  if (range) reply.header('content-range', `bytes ${start}-${end}/${image.size}`);
  if (request.method === 'HEAD' || image.size === 0) return undefined;
  return image.stream(start, end);
}
