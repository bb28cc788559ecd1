import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, rawFromEnv, resolveConfig, SETTINGS } from '../src/config.js';

test('defaults: port 8080 on all interfaces, data in ./data, 200 MiB JSON, 25 MiB images', () => {
  const config = resolveConfig({});
  assert.equal(config.port, 8080);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.dataDir, path.resolve('data'));
  assert.equal(config.dataFile, path.resolve('data', 'ascently.json'));
  assert.equal(config.imagesDir, path.resolve('data', 'images'));
  assert.equal(config.maxJsonBytes, 200 * 1024 * 1024);
  assert.equal(config.maxImageBytes, 25 * 1024 * 1024);
  assert.equal(config.logLevel, 'info');
  assert.equal(config.trustProxy, false);
  assert.equal(config.historyKeep, 20);
  assert.ok(Object.isFrozen(config));
});

test('environment variables are read by their documented names', () => {
  const config = resolveConfig(
    rawFromEnv({ PORT: '9000', HOST: '127.0.0.1', DATA_DIR: '/srv/a', MAX_JSON_BYTES: '10MB', MAX_IMAGE_BYTES: '1KiB', TRUST_PROXY: 'on', LOG_LEVEL: 'WARN', HISTORY_KEEP: '3' }),
  );
  assert.equal(config.port, 9000);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.dataDir, '/srv/a');
  assert.equal(config.dataFile, '/srv/a/ascently.json', 'DATA_FILE follows DATA_DIR');
  assert.equal(config.imagesDir, '/srv/a/images', 'IMAGES_DIR follows DATA_DIR');
  assert.equal(config.maxJsonBytes, 10_000_000);
  assert.equal(config.maxImageBytes, 1024);
  assert.equal(config.trustProxy, true);
  assert.equal(config.logLevel, 'warn');
  assert.equal(config.historyKeep, 3);
});

test('empty environment variables count as unset', () => {
  assert.equal(resolveConfig(rawFromEnv({ PORT: '' })).port, 8080);
});

const badValues: [string, Record<string, string>, RegExp][] = [
  ['port not a number', { PORT: 'eighty' }, /^PORT \(--port\): "eighty" is not a port/],
  ['port out of range', { PORT: '70000' }, /^PORT/],
  ['size without a number', { MAX_JSON_BYTES: 'lots' }, /^MAX_JSON_BYTES .*not a size/],
  ['zero size', { MAX_IMAGE_BYTES: '0' }, /^MAX_IMAGE_BYTES/],
  ['a fraction of a byte', { MAX_IMAGE_BYTES: '1.5' }, /^MAX_IMAGE_BYTES .*"1\.5" is not a size/],
  ['unknown log level', { LOG_LEVEL: 'loud' }, /^LOG_LEVEL .*use one of fatal, error/],
  ['boolean', { TRUST_PROXY: 'maybe' }, /^TRUST_PROXY .*use true or false/],
  ['both token settings', { AUTH_TOKEN: 'a', AUTH_TOKEN_FILE: '/x' }, /AUTH_TOKEN and AUTH_TOKEN_FILE are both set/],
];
for (const [name, env, message] of badValues) {
  test(`a bad value stops with a message naming the variable: ${name}`, () => {
    assert.throws(() => resolveConfig(rawFromEnv(env)), (err: unknown) => err instanceof ConfigError && message.test(err.message));
  });
}

test('every setting has an env name, a flag and a doc, each unique', () => {
  const envs = new Set(SETTINGS.map((s) => s.env));
  const flags = new Set(SETTINGS.map((s) => s.flag));
  assert.equal(envs.size, SETTINGS.length);
  assert.equal(flags.size, SETTINGS.length);
  for (const s of SETTINGS) assert.ok(s.doc.length > 10, `${s.env} has a doc`);
});

test('account settings: new accounts unlimited by default, web sessions 30 days; none or 0 is no limit', () => {
  const defaults = resolveConfig({});
  assert.deepEqual([defaults.defaultMaxBytes, defaults.defaultMaxImageBytes, defaults.webSessionDays], [null, null, 30]);
  const set = resolveConfig(rawFromEnv({ DEFAULT_MAX_BYTES: '50MB', DEFAULT_MAX_IMAGE_BYTES: 'none', WEB_SESSION_DAYS: '7' }));
  assert.deepEqual([set.defaultMaxBytes, set.defaultMaxImageBytes, set.webSessionDays], [50_000_000, null, 7]);
  // Fractions of a unit are sizes, whatever the floating point makes of them on the way (1.1 × 1000 is 1100.0000000000002).
  const fractions = resolveConfig(rawFromEnv({ DEFAULT_MAX_BYTES: '1.1KB', DEFAULT_MAX_IMAGE_BYTES: '1.5KiB' }));
  assert.deepEqual([fractions.defaultMaxBytes, fractions.defaultMaxImageBytes], [1100, 1536]);
  assert.equal(resolveConfig(rawFromEnv({ DEFAULT_MAX_BYTES: '0' })).defaultMaxBytes, null);
  assert.throws(() => resolveConfig(rawFromEnv({ DEFAULT_MAX_BYTES: '12XB' })), /DEFAULT_MAX_BYTES \(--default-max-bytes\): "12XB" is not a size/);
  assert.throws(() => resolveConfig(rawFromEnv({ WEB_SESSION_DAYS: '0' })), /WEB_SESSION_DAYS \(--web-session-days\): "0" is not a whole number from 1 to 100,000/);
  // Past what a count can mean, and past what a day count in milliseconds holds exactly: refused, not broken later.
  for (const env of ['HISTORY_KEEP', 'TOMBSTONE_RETENTION_DAYS', 'WEB_SESSION_DAYS']) {
    assert.throws(() => resolveConfig(rawFromEnv({ [env]: '99999999999999999999' })), new RegExp(`${env} .*is not a whole number from [01] to 100,000`));
  }
  assert.equal(resolveConfig(rawFromEnv({ HISTORY_KEEP: '100000' })).historyKeep, 100_000);
});
