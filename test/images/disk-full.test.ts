import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ON_POSTGRES } from '../helpers/test-store.js';
import { FILES_ONLY, patternedJpeg, upload } from './fixtures.js';

/**
 * A full disk, for real: IMAGES_DIR on a 64 KiB tmpfs. Mounting needs root with
 * CAP_SYS_ADMIN (a privileged container); elsewhere the test is skipped.
 */
test('a full disk is a 507 with the temporary file removed, and the next upload that fits succeeds', { skip: ON_POSTGRES && FILES_ONLY }, async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'ascently-tmpfs-'));
  const imagesDir = path.join(root, 'images');
  mkdirSync(imagesDir);
  const mounted = process.platform === 'linux' && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', imagesDir]).status === 0;
  if (!mounted) {
    rmSync(root, { recursive: true, force: true });
    t.skip('cannot mount a tmpfs here (needs root in a privileged container)');
    return;
  }
  let server: TestServer;
  try {
    server = await startTestServer(t, { imagesDir });
  } finally {
    // After hooks run in the order they were added: the server closes first.
    t.after(() => {
      spawnSync('umount', [imagesDir]);
      rmSync(root, { recursive: true, force: true });
    });
  }
  const tooBig = await upload(server, 'big.jpg', patternedJpeg(200_000, 1));
  assert.equal(tooBig.status, 507);
  assert.equal(((await tooBig.json()) as { code: string }).code, 'insufficient_storage');
  assert.deepEqual(readdirSync(imagesDir), []);
  assert.equal((await upload(server, 'small.jpg', patternedJpeg(1000, 2))).status, 200);
  assert.deepEqual(readdirSync(imagesDir), ['small.jpg']);
});
