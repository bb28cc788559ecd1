import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { download, TINY_IMAGES, upload } from '../images/fixtures.js';
import { addAccount } from '../helpers/cli.js';
import { postJson, startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.js';

const METRICS_TOKEN = 'metrics-token-9f8e7d6c5b4a';

function scrape(server: TestServer, token = METRICS_TOKEN): Promise<Response> {
  return server.fetch('/metrics', { headers: { authorization: `Bearer ${token}` } });
}

async function scrapeText(server: TestServer): Promise<string> {
  const response = await scrape(server);
  assert.equal(response.status, 200);
  return response.text();
}

/** The value of one sample, by its exact name and labels as printed. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Every series (name with its labels) of the given metric names. */
function seriesOf(text: string, prefix: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(prefix)).map((l) => l.slice(0, l.lastIndexOf(' ')));
}

test('without METRICS_TOKEN, /metrics is a 404 like any unknown route', async (t) => {
  const server = await startTestServer(t);
  const metrics = await server.fetch('/metrics');
  const unknown = await server.fetch('/no-such-route');
  assert.equal(metrics.status, 404);
  assert.equal(unknown.status, 404);
  assert.deepEqual(Object.keys((await metrics.json()) as object), ['error', 'code']);
  assert.equal((await server.fetch('/metrics', { headers: { authorization: 'Bearer x' } })).status, (await server.fetch('/nothing', { headers: { authorization: 'Bearer x' } })).status);
});

test('only the metrics token opens /metrics, and it opens nothing else', async (t) => {
  const server = await startTestServer(t, { metricsToken: METRICS_TOKEN });
  assert.equal((await server.fetch('/metrics', { headers: { authorization: '' } })).status, 401);
  assert.equal((await scrape(server, TEST_TOKEN)).status, 401, 'a device token does not open /metrics');
  assert.equal((await scrape(server, 'wrong')).status, 401);
  const ok = await scrape(server);
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  for (const path of ['/health', '/sync', '/images/download?filename=a.png']) {
    assert.equal((await server.fetch(path, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status, 401, path);
  }
  await assert.rejects(() => startTestServer(t, { metricsToken: TEST_TOKEN }), /METRICS_TOKEN is also a device token/);
});

test('every series the spec lists is there, with the counts of what happened', async (t) => {
  const server = await startTestServer(t, { metricsToken: METRICS_TOKEN });
  const gym = { id: 'gym-secret-id-1', name: 'Boulderhalle', updatedAt: '2024-01-15T10:30:00.000Z' };
  const other = { id: 'gym-secret-id-2', name: 'Kletterhalle', updatedAt: '2024-01-15T10:30:00.000Z' };
  assert.equal((await postJson(server, '/sync', { gyms: [gym, other], problems: [], sessions: [], attempts: [], deletedItems: [] })).status, 200);
  // From scratch: the answer carries the other gym, not the one the device sent.
  const delta = await postJson(server, '/sync/delta', { lastSyncTime: null, gyms: [{ ...gym, name: 'B2', updatedAt: '2024-01-16T10:30:00.000Z' }], deletedItems: [] });
  assert.equal(delta.status, 200);
  assert.deepEqual(delta.body.gyms, [other]);
  assert.equal((await server.fetch('/sync')).status, 200);
  await (await server.fetch('/sync')).text();
  assert.equal((await upload(server, 'secret-image-name.png', TINY_IMAGES['image/png'])).status, 200);
  const down = await download(server, 'secret-image-name.png');
  assert.equal(down.status, 200);
  await down.arrayBuffer();
  for (let i = 0; i < 11; i++) await server.fetch('/health', { headers: { authorization: 'Bearer guess' } });

  const text = await scrapeText(server);
  const expected: [string, number | ((v: number) => boolean)][] = [
    ['ascently_http_requests_total{route="/sync/delta",method="POST",status_class="2xx"}', 1],
    ['ascently_http_request_duration_seconds_count{route="/sync/delta",method="POST",status_class="2xx"}', 1],
    ['ascently_http_requests_total{route="/health",method="GET",status_class="4xx"}', 11],
    ['ascently_syncs_total{account="default",kind="delta"}', 1],
    ['ascently_syncs_total{account="default",kind="full_upload"}', 1],
    ['ascently_syncs_total{account="default",kind="full_download"}', 2],
    ['ascently_sync_items_total{account="default",kind="full_upload",direction="received"}', 2],
    ['ascently_sync_items_total{account="default",kind="delta",direction="received"}', 1],
    ['ascently_sync_items_total{account="default",kind="delta",direction="sent"}', 1],
    ['ascently_sync_items_total{account="default",kind="full_download",direction="sent"}', 4],
    ['ascently_images_uploaded_total', 1],
    ['ascently_image_upload_bytes_total', TINY_IMAGES['image/png'].length],
    ['ascently_images_downloaded_total', 1],
    ['ascently_image_download_bytes_total', TINY_IMAGES['image/png'].length],
    ['ascently_auth_failures_total', 10],
    ['ascently_throttled_requests_total', 1],
    ['ascently_database_bytes{file="main"}', (v) => v > 0],
    ['ascently_database_bytes{file="wal"}', (v) => v >= 0],
    ['ascently_image_storage_bytes', TINY_IMAGES['image/png'].length],
    ['ascently_images_stored', 1],
    ['ascently_accounts', 1],
    ['ascently_devices', (v) => v >= 0],
    ['ascently_account_last_sync_timestamp_seconds{account="default"}', (v) => Math.abs(v - Date.now() / 1000) < 60],
    ['ascently_sqlite_write_transaction_duration_seconds_count{operation="delta"}', 1],
    ['ascently_sqlite_write_transaction_duration_seconds_count{operation="full_upload"}', 1],
    ['process_resident_memory_bytes', (v) => v > 0],
    ['nodejs_eventloop_lag_seconds', (v) => v >= 0],
  ];
  for (const [series, want] of expected) {
    const value = sample(text, series);
    assert.ok(value !== undefined, `${series} is exported`);
    if (typeof want === 'number') assert.equal(value, want, series);
    else assert.ok(want(value), `${series} = ${value}`);
  }
  assert.match(text, /^# TYPE nodejs_gc_duration_seconds histogram$/m);
  assert.match(text, /^# TYPE ascently_http_request_duration_seconds histogram$/m);

  // Labels never carry a token, an address, an item id or an image name.
  for (const secret of [TEST_TOKEN, METRICS_TOKEN, 'guess', '127.0.0.1', 'gym-secret-id-1', 'secret-image-name']) {
    assert.ok(!text.includes(secret), `${secret} is not in the metrics`);
  }
});

test('1,000 random paths do not add series: routes are counted by their pattern', async (t) => {
  const server = await startTestServer(t, { metricsToken: METRICS_TOKEN });
  const methods = ['GET', 'POST', 'DELETE', 'PUT'];
  const paths: string[] = [];
  const burst = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const path = `/${randomBytes(6).toString('hex')}/${randomBytes(3).toString('base64url')}?filename=${randomBytes(4).toString('hex')}`;
      paths.push(path);
      const method = methods[i % methods.length]!;
      const auth = i % 3 === 0 ? 'Bearer nope' : `Bearer ${TEST_TOKEN}`;
      const response = await server.fetch(path, { method, headers: { authorization: auth } });
      await response.arrayBuffer();
    }
  };
  await burst(100);
  await scrapeText(server); // the scrape itself is counted from the next one on
  const before = seriesOf(await scrapeText(server), 'ascently_http_');
  await burst(900);
  const text = await scrapeText(server);
  const after = seriesOf(text, 'ascently_http_');
  assert.deepEqual(after, before, 'the same series, only their values grew');
  assert.equal(sample(text, 'ascently_http_requests_total{route="unmatched",method="GET",status_class="4xx"}'), 250);
  for (const path of paths.slice(0, 50)) assert.ok(!text.includes(path.slice(1, 13)), 'no raw path in any label');
});

test('syncs, last syncs and devices are told apart by account', async (t) => {
  const server = await startTestServer(t, { metricsToken: METRICS_TOKEN });
  const alice = await addAccount(server.store, 'alice');
  const asAlice = { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' };
  for (let i = 0; i < 3; i++) assert.equal((await server.fetch('/sync/delta', { method: 'POST', headers: asAlice, body: '{"lastSyncTime":null}' })).status, 200);
  assert.equal((await postJson(server, '/sync/delta', { lastSyncTime: null })).status, 200);
  const text = await scrapeText(server);
  assert.equal(sample(text, 'ascently_syncs_total{account="alice",kind="delta"}'), 3);
  assert.equal(sample(text, 'ascently_syncs_total{account="default",kind="delta"}'), 1);
  assert.equal(sample(text, 'ascently_accounts'), 2);
  assert.equal(sample(text, 'ascently_devices'), 2, 'the AUTH_TOKEN device and alice\'s phone');
  assert.ok(sample(text, 'ascently_account_last_sync_timestamp_seconds{account="alice"}')! > 0);
  assert.ok(!text.includes(alice.token) && !text.includes(alice.deviceId), 'no token or device id in the metrics');
});
