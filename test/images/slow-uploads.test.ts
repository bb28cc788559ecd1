import assert from 'node:assert/strict';
import { existsSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { addAccount } from '../helpers/cli.js';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.js';
import { ON_POSTGRES } from '../helpers/test-store.js';
import { download, patternedJpeg, storedImages, upload } from './fixtures.js';

/*
 * Image uploads whose bytes trickle in (a phone on a bad network, or a hostile
 * client): on PostgreSQL each held a connection of the image pool, inside its
 * transaction, while its bytes arrived, so more of them than the pool's ten
 * connections held every other image upload, of every account, for up to the
 * request timeout. The bytes now go to a private file first (unlinked as soon as
 * it is made), and into the database in one short transaction once they are all in.
 */

interface SlowUpload {
  readonly name: string;
  readonly request: ClientRequest;
  readonly answer: Promise<{ status: number; body: string }>;
  answered: boolean;
}

/** Starts a chunked upload that sends `first` and then waits for the test to write more. */
function slowUpload(server: TestServer, name: string, first: Buffer): SlowUpload {
  const { port } = new URL(server.url);
  const req = request({
    host: '127.0.0.1',
    port: Number(port),
    method: 'POST',
    path: `/images/upload?filename=${name}`,
    headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'image/jpeg' },
    agent: false,
  });
  const upload: SlowUpload = {
    name,
    request: req,
    answered: false,
    answer: new Promise((resolve, reject) => {
      req.on('response', (response) => {
        upload.answered = true;
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      });
      req.on('error', reject);
    }),
  };
  // A client that gives up gets no answer: the test awaits only those it expects one for.
  upload.answer.catch(() => undefined);
  req.write(first);
  return upload;
}

/** The files this process holds open whose names are the PostgreSQL image storage's received uploads. */
function openUploadFiles(): { target: string; mode: number }[] {
  const fds = '/proc/self/fd';
  const found: { target: string; mode: number }[] = [];
  for (const fd of readdirSync(fds)) {
    let target: string;
    try {
      target = readlinkSync(path.join(fds, fd));
    } catch {
      continue; // closed meanwhile (the readdir's own descriptor among them)
    }
    if (path.basename(target).startsWith('ascently-sync-image-')) found.push({ target, mode: statSync(path.join(fds, fd)).mode & 0o777 });
  }
  return found;
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 50) {
    if (waited > 10_000) assert.fail(`still waiting for ${what}`);
    await sleep(50);
  }
}

test('more trickling uploads than the database has image connections hold up no other account, and each ends as its client ends it', async (t) => {
  const server = await startTestServer(t, { maxImageBytes: '400000' });
  const sockets: Socket[] = [];
  server.app.server.on('connection', (socket: Socket) => sockets.push(socket));
  const images = Array.from({ length: 12 }, (_, i) => patternedJpeg(300_000, i + 1));
  // More than the sniffed first bytes: each is known to be an image, and was being stored as it came.
  const slow = images.map((bytes, i) => slowUpload(server, `slow-${i}.jpg`, bytes.subarray(0, 20_000)));
  // Released here, not in an after hook: the server's own hook, made first, would wait for them to end.
  try {
    await waitFor(() => sockets.filter((socket) => socket.bytesRead > 20_000).length === slow.length, 'the server to read the first bytes of every upload');
    // Time for their handlers to take what they take (ten connections, before).
    await sleep(300);

    const bob = await addAccount(server.store, 'bob');
    const asBob = {
      fetch: (p: string, init: RequestInit = {}) =>
        fetch(server.url + p, { ...init, headers: { ...init.headers, authorization: `Bearer ${bob.token}` }, signal: AbortSignal.timeout(15_000) }),
    };
    const small = patternedJpeg(50_000, 99);
    const uploaded = await upload(asBob, 'small.jpg', small);
    assert.equal(uploaded.status, 200, 'another account\'s upload is not held up');
    assert.ok(Buffer.from(await (await download(asBob, 'small.jpg')).arrayBuffer()).equals(small), 'nor its download');
    assert.deepEqual(
      slow.filter((s) => s.answered || s.request.destroyed),
      [],
      'while every trickling upload is still under way',
    );

    if (ON_POSTGRES && existsSync('/proc/self/fd')) {
      // Their bytes wait in files of their own, private and already unlinked, not in memory.
      const files = openUploadFiles();
      assert.equal(files.length, slow.length, JSON.stringify(files));
      for (const file of files) {
        assert.equal(path.dirname(file.target), tmpdir(), file.target);
        assert.ok(file.target.endsWith(' (deleted)'), `${file.target} is unlinked`);
        assert.equal(file.mode, 0o600, file.target);
      }
    }

    // Ten end well, one client gives up, one goes past the size limit.
    const [gaveUp, tooLarge, ...finishing] = slow;
    gaveUp!.request.destroy();
    tooLarge!.request.write(Buffer.alloc(500_000, 7));
    finishing.forEach((s, i) => s.request.end(images[i + 2]!.subarray(20_000)));
    const refused = await tooLarge!.answer;
    assert.equal(refused.status, 413, refused.body);
    tooLarge!.request.destroy();
    for (const [i, s] of finishing.entries()) {
      const answer = await s.answer;
      assert.equal(answer.status, 200, answer.body);
      assert.equal((JSON.parse(answer.body) as { size: number }).size, 300_000);
      assert.ok(Buffer.from(await (await download(server, s.name)).arrayBuffer()).equals(images[i + 2]!), `${s.name} is whole`);
    }
    assert.equal((await download(server, gaveUp!.name)).status, 404);
    assert.equal((await download(server, tooLarge!.name)).status, 404);
    const expected = finishing.map((s) => s.name).sort();
    // Bob's image aside (on SQLite, other accounts' folders are under .accounts).
    const stored = async (): Promise<string[]> => (await storedImages(server)).filter((name) => name !== 'small.jpg' && name !== '.accounts').sort();
    // The given-up upload ends in its own time (on SQLite its temporary file goes then).
    for (let waited = 0; JSON.stringify(await stored()) !== JSON.stringify(expected) && waited < 10_000; waited += 50) await sleep(50);
    assert.deepEqual(await stored(), expected, 'the whole images, nothing of the others');
    // Every received file closed, whatever ended its upload.
    if (ON_POSTGRES && existsSync('/proc/self/fd')) await waitFor(() => openUploadFiles().length === 0, 'every received file to be closed');
  } finally {
    for (const s of slow) s.request.destroy();
  }
});
