import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { SQLITE_DRIVER } from '../../src/store/sqlite-driver.js';

const nodeMajor = Number(process.versions.node.split('.')[0]);

test('the SQLite driver is better-sqlite3 13 from Node 22 on, and 12 before', () => {
  const { version } = createRequire(import.meta.url)(`${SQLITE_DRIVER}/package.json`) as { version: string };
  assert.equal(Number(version.split('.')[0]), nodeMajor >= 22 ? 13 : 12, `${SQLITE_DRIVER} ${version} on Node ${process.version}`);
});

// better-sqlite3 12 on Node 24.19+ aborted the process ("Assertion failed: (env) !=
// nullptr" in Statement::~Statement) as soon as V8 collected statements on its own,
// which a realistic upload was enough to cause. A child process, since an abort
// cannot be caught.
test('statements the garbage collector frees do not abort the process', async () => {
  const driver = new URL('../../src/store/sqlite-driver.js', import.meta.url).href;
  const script = `
    import { Database } from ${JSON.stringify(driver)};
    const db = new Database(':memory:');
    let garbage = [];
    for (let i = 0; i < 20000; i++) {
      db.prepare('SELECT ' + i + ' AS n').get();
      garbage.push('x'.repeat(1000) + i);
      if (garbage.length > 5000) garbage = [];
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    db.close();
    process.stdout.write('ok');`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 });
  assert.equal(stdout, 'ok');
});
