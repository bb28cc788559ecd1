import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../src/logger.js';

function capture(): { lines: { level: number; msg: string }[]; sink: Writable } {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as { level: number; msg: string });
      done();
    },
  });
  return { lines, sink };
}

function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

test('a client hanging up is no server error, as the error itself or as the { err } of the error handler', () => {
  const { lines, sink } = capture();
  const log = createLogger('debug', sink);
  log.error(prematureClose(), 'stream closed prematurely');
  log.error({ err: prematureClose() }, 'request failed');
  log.error({ err: new Error('the database is gone') }, 'request failed');
  assert.deepEqual(
    lines.map((line) => [line.level, line.msg]),
    [
      [20, 'stream closed prematurely'],
      [20, 'request failed'],
      [50, 'request failed'],
    ],
  );
});
