import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ON_POSTGRES } from '../helpers/test-store.js';
import { download, FILES_ONLY, patternedJpeg, storedImages, upload } from './fixtures.js';

/**
 * A full disk, for real: IMAGES_DIR on a 64 KiB tmpfs. Mounting needs root with
 * CAP_SYS_ADMIN (a privileged container); elsewhere the test is skipped.
 */
test('a full disk is a 507 with the temporary file removed, and the next upload that fits succeeds', { skip: ON_POSTGRES && FILES_ONLY }, async (t) => {
  const imagesDir = smallTmpfs(t);
  if (imagesDir === undefined) return;
  let server: TestServer;
  try {
    server = await startTestServer(t, { imagesDir });
  } finally {
    // After hooks run in the order they were added: the server closes first.
    t.after(() => unmount(imagesDir));
  }
  const tooBig = await upload(server, 'big.jpg', patternedJpeg(200_000, 1));
  assert.equal(tooBig.status, 507);
  assert.equal(((await tooBig.json()) as { code: string }).code, 'insufficient_storage');
  assert.deepEqual(readdirSync(imagesDir), []);
  assert.equal((await upload(server, 'small.jpg', patternedJpeg(1000, 2))).status, 200);
  assert.deepEqual(readdirSync(imagesDir), ['small.jpg']);
});

/*
 * On PostgreSQL an upload's bytes are received into a file in the temporary folder
 * first (pg-image-storage.ts): that folder full is a 507 too, nothing is stored,
 * and the unlinked file's space comes back for the next upload.
 */
test("on PostgreSQL, a full temporary folder is a 507 and stores nothing; the next upload that fits succeeds", { skip: !ON_POSTGRES && 'about the temporary folder of the PostgreSQL image storage' }, async (t) => {
  const server = await startTestServer(t);
  const folder = smallTmpfs(t);
  if (folder === undefined) return;
  const before = process.env['TMPDIR'];
  process.env['TMPDIR'] = folder;
  t.after(() => {
    if (before === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = before;
    unmount(folder);
  });
  const tooBig = await upload(server, 'big.jpg', patternedJpeg(200_000, 1));
  assert.equal(tooBig.status, 507);
  assert.equal(((await tooBig.json()) as { code: string }).code, 'insufficient_storage');
  assert.deepEqual(await storedImages(server), []);
  const small = patternedJpeg(40_000, 2);
  assert.equal((await upload(server, 'small.jpg', small)).status, 200);
  assert.ok(Buffer.from(await (await download(server, 'small.jpg')).arrayBuffer()).equals(small));
  assert.deepEqual(readdirSync(folder), [], 'nothing left in the temporary folder');
});

/** A 64 KiB tmpfs mounted on a new folder, or undefined (the test skipped) where mounting is not allowed. */
function smallTmpfs(t: TestContext): string | undefined {
  const root = mkdtempSync(path.join(tmpdir(), 'ascently-tmpfs-'));
  const folder = path.join(root, 'small');
  mkdirSync(folder);
  const mounted = process.platform === 'linux' && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', folder]).status === 0;
  if (!mounted) {
    rmSync(root, { recursive: true, force: true });
    t.skip('cannot mount a tmpfs here (needs root in a privileged container)');
    return undefined;
  }
  return folder;
}

function unmount(folder: string): void {
  spawnSync('umount', [folder]);
  rmSync(path.dirname(folder), { recursive: true, force: true });
}
