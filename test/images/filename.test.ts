import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { imagePath, isPlainImageName } from '../../src/images/filename.js';
import { startTestServer } from '../helpers/server.js';
import { listTree, storedImages, TINY_IMAGES } from './fixtures.js';

/** Query strings as sent on the wire: some raw (percent tricks), some encoded. */
const CORPUS: [label: string, query: string][] = [
  ['../x.jpg', `filename=${encodeURIComponent('../x.jpg')}`],
  ['..%2Fx.jpg', 'filename=..%2Fx.jpg'],
  ['..%252Fx.jpg (double-encoded)', 'filename=..%252Fx.jpg'],
  ['%2e%2e/x', 'filename=%2e%2e/x'],
  ['%2e%2e%2fx.jpg', 'filename=%2e%2e%2fx.jpg'],
  ['..', 'filename=..'],
  ['a..b.jpg', 'filename=a..b.jpg'],
  ['/etc/passwd', `filename=${encodeURIComponent('/etc/passwd')}`],
  ['a/b.jpg', 'filename=a/b.jpg'],
  ['a\\b.jpg', `filename=${encodeURIComponent('a\\b.jpg')}`],
  ['..\\x.jpg', `filename=${encodeURIComponent('..\\x.jpg')}`],
  ['C:x.jpg', `filename=${encodeURIComponent('C:x.jpg')}`],
  ['.hidden', 'filename=.hidden'],
  ['.upload-1.tmp', 'filename=.upload-1.tmp'],
  ['empty', 'filename='],
  ['missing', ''],
  ['given twice', 'filename=a.jpg&filename=b.jpg'],
  ['256 characters', `filename=${'a'.repeat(252)}.jpg`],
  ['NUL', 'filename=%00'],
  ['x NUL .jpg', 'filename=x%00.jpg'],
  ['space', 'filename=a%20b.jpg'],
  ['unicode', `filename=${encodeURIComponent('é.jpg')}`],
  ['malformed escape', 'filename=%zz.jpg'],
];

test('every traversal and odd name is a JSON 400 on both routes, with nothing written anywhere', async (t) => {
  const server = await startTestServer(t);
  const parent = server.dataDir; // IMAGES_DIR is DATA_DIR/images
  assert.equal(path.dirname(server.config.imagesDir), parent);
  const before = listTree(parent);

  for (const [label, query] of CORPUS) {
    const up = await server.fetch(`/images/upload?${query}`, { method: 'POST', body: TINY_IMAGES['image/png'] });
    assert.equal(up.status, 400, `upload ${label}`);
    assert.equal(((await up.json()) as { code: string }).code, 'bad_request', `upload ${label}`);
    const down = await server.fetch(`/images/download?${query}`);
    assert.equal(down.status, 400, `download ${label}`);
    assert.equal(((await down.json()) as { code: string }).code, 'bad_request', `download ${label}`);
  }
  assert.deepEqual(listTree(parent).filter((f) => !f.startsWith('ascently.db')), before.filter((f) => !f.startsWith('ascently.db')));
  assert.deepEqual(await storedImages(server), []);
});

test('the longest allowed name, 255 characters, is accepted', async (t) => {
  const server = await startTestServer(t);
  const name = `${'a'.repeat(251)}.jpg`;
  const response = await server.fetch(`/images/upload?filename=${name}`, { method: 'POST', body: TINY_IMAGES['image/jpeg'] });
  assert.equal(response.status, 200);
  assert.deepEqual(await storedImages(server), [name]);
});

test('a plain name always resolves to a file directly inside the folder', () => {
  const alphabet = [...'abcXYZ019._-/\\:\0%é '];
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...alphabet), { minLength: 0, maxLength: 300 }), (chars) => {
      const name = chars.join('');
      if (!isPlainImageName(name)) return;
      assert.ok(name.length >= 1 && name.length <= 255 && !name.startsWith('.') && !name.includes('..'));
      assert.equal(path.dirname(imagePath('/srv/images', name)), '/srv/images');
    }),
  );
  for (const ok of ['problem_abc123_0.jpg', 'a', 'A-1_b.c.webp', '0.png']) assert.ok(isPlainImageName(ok), ok);
});
