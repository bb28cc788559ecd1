import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { resolveConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { importLegacyFileOnFirstStart } from '../../src/sync/legacy-import.js';
import { SyncService } from '../../src/sync/sync-service.js';
import { openTestStore, tempDir } from '../helpers/server.js';
import { databaseUrlFor, ON_POSTGRES } from '../helpers/test-store.js';

const document = (gym: string): string =>
  JSON.stringify({ exportedAt: '2024-01-01T00:00:00.000Z', version: '2.0', formatVersion: '2.0', gyms: [{ id: gym, updatedAt: '2024-01-01T00:00:00.000Z', name: gym }], problems: [], sessions: [], attempts: [], deletedItems: [] });

/*
 * The import of a reference server's ascently.json at start, while another
 * process (a server on the same PostgreSQL database, the CLI on the same SQLite
 * file) writes the account. The import looked once, found it never written, read
 * the file and replaced what the other process had written meanwhile. The file
 * is a FIFO here, which the test writes once the import has opened it and the
 * other write is in: the import always finds the data written by then.
 */
test("the reference server's file is not imported over data another process wrote while it was read", async (t) => {
  const dataDir = tempDir(t);
  const dataFile = path.join(dataDir, 'ascently.json');
  execFileSync('mkfifo', [dataFile]);
  const config = resolveConfig({ dataDir, databaseUrl: ON_POSTGRES ? databaseUrlFor(dataDir) : undefined, dataFile });
  const starting = await openTestStore(dataDir);
  const other = await openTestStore(dataDir);
  t.after(() => Promise.all([starting.close(), other.close()]));
  const datasetId = await starting.datasetId('default');
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger('info', sink);

  const importing = importLegacyFileOnFirstStart(starting, datasetId, config, logger);
  // A writer's open that does not wait succeeds only once a reader has the FIFO open: the import is reading the file.
  let fifo: number | undefined;
  for (let waited = 0; fifo === undefined; waited += 10) {
    try {
      fifo = openSync(dataFile, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err;
      assert.ok(waited < 20_000, 'the import never opened the file');
      await sleep(10);
    }
  }
  await new SyncService(other, { historyKeep: 5 }).fullUpload(datasetId, Buffer.from(document('written-meanwhile')));
  writeSync(fifo, document('from-the-old-file'));
  closeSync(fifo);
  await importing;

  const stats = await starting.stats(datasetId);
  assert.equal(stats.items.gyms, 1);
  const exported = await starting.openExport(datasetId);
  const gyms: string[] = [];
  for await (const page of exported!.items('gyms')) gyms.push(...page.map((json) => (JSON.parse(json) as { id: string }).id));
  exported!.close();
  assert.deepEqual(gyms, ['written-meanwhile'], 'what the other process wrote stays');
  assert.deepEqual(await starting.listHistory(datasetId), [], 'no snapshot: nothing was replaced');
  assert.doesNotMatch(logs.join(''), /imported the reference server data file/);
});
