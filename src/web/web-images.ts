import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import { sendImage } from '../http/image-routes.js';
import type { AccountImageStores } from '../images/account-image-stores.js';
import { isPlainImageName } from '../images/filename.js';
import { etagMatches } from '../images/http-conditions.js';
import { PRIVATE_DIR_MODE } from '../private-files.js';
import { ASSETS } from './assets.js';
import { removeOtherVersions, thumbnailFile, type ThumbnailFile } from '../images/thumbnail-files.js';

export const THUMBNAIL_PX = 320;

/**
 * Photos for the dashboard: the original at /web/images/NAME (the same answer as
 * /images/download) and a thumbnail at /web/thumbnails/NAME, at most 320 px on
 * the long side, made once per version of the image and kept on disk. A missing
 * or unreadable image, or a name that is not a plain upload name, answers the
 * placeholder: a list page never breaks on one bad photo.
 */
export async function webImageRoutes(app: FastifyInstance, options: { images: AccountImageStores; thumbnailsDir: string }): Promise<void> {
  const { images, thumbnailsDir } = options;
  await mkdir(thumbnailsDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const making = new Map<string, Promise<string | undefined>>();
  const imagesOf = (request: FastifyRequest) => {
    const principal = request.principal;
    if (!principal) throw new ApiError(401, 'unauthorized', 'log in at /web/login');
    return images.of({ accountId: principal.datasetId, accountName: principal.account });
  };

  app.route<{ Params: { name: string } }>({
    method: ['GET', 'HEAD'],
    url: '/images/:name',
    config: { compress: false },
    handler: async (request, reply) => {
      const name = request.params.name;
      const image = isPlainImageName(name) ? await (await imagesOf(request)).open(name) : undefined;
      return image ? sendImage(request, reply, image) : placeholder(reply);
    },
  });

  app.get<{ Params: { name: string } }>('/thumbnails/:name', { config: { compress: false } }, async (request, reply) => {
    const name = request.params.name;
    const store = await imagesOf(request);
    const image = isPlainImageName(name) ? await store.open(name) : undefined;
    if (!image) return placeholder(reply);
    // The image's own ETag names the version: a replaced photo gets a new thumbnail.
    const target = thumbnailFile(thumbnailsDir, request.principal!.datasetId, store.location, name, image.etag);
    const key = target.key;
    const etag = `"t-${createHash('sha256').update(key).digest('hex').slice(0, 32)}"`;
    if (etagMatches(request.headers['if-none-match'], etag, 'weak')) {
      // Nothing is read: the image goes back now (on PostgreSQL it holds a connection).
      await image.close();
      return reply.code(304).header('etag', etag).header('cache-control', 'private').send();
    }
    let pending = making.get(key);
    if (!pending && image.size > 0) {
      // The bytes come from the image storage (a file, or PostgreSQL), streamed into sharp.
      pending = thumbnail(image.stream(0, image.size - 1), target).finally(() => making.delete(key));
      making.set(key, pending);
    } else {
      // Another request is making it, or there is nothing to read: the image goes back now.
      await image.close();
    }
    const file = pending ? await pending : undefined;
    if (!file) return placeholder(reply);
    const handle = await open(file, 'r');
    const { size } = await handle.stat();
    return reply
      .header('content-type', 'image/webp')
      .header('content-length', String(size))
      .header('etag', etag)
      .header('cache-control', 'private')
      .send(handle.createReadStream({ autoClose: true }));
  });
}

function placeholder(reply: FastifyReply): FastifyReply {
  return reply.header('content-type', ASSETS.placeholder.type).header('cache-control', 'no-store').send(ASSETS.placeholder.body);
}

/** The thumbnail's file, made now if it is not on disk yet; undefined when the image cannot be read. */
async function thumbnail(source: Readable, thumbnail: ThumbnailFile): Promise<string | undefined> {
  const target = thumbnail.file;
  try {
    await (await open(target, 'r')).close();
    source.destroy();
    return target;
  } catch {
    // Not made yet.
  }
  await mkdir(thumbnail.dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const temp = path.join(thumbnail.dir, `.${path.basename(target)}.${process.pid}.tmp`);
  try {
    // Loaded on the first thumbnail, not at start: the native module costs a server start a third of a second.
    const { default: sharp } = await import('sharp');
    const resize = sharp({ failOn: 'error', limitInputPixels: 100_000_000 })
      .rotate()
      .resize(THUMBNAIL_PX, THUMBNAIL_PX, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 75 });
    const written = resize.toFile(temp);
    source.pipe(resize);
    await written;
    await rename(temp, target);
    // Best effort: a version left behind is only disk, and goes with the next one.
    await removeOtherVersions(thumbnail).catch(() => undefined);
    return target;
  } catch {
    source.destroy();
    await rm(temp, { force: true });
    return undefined;
  }
}
