/**
 * `npm run screenshots`: remakes the README's dashboard screenshots from the
 * bench's generated data (scale 0.2), in Debian's Chromium. The server's clock is
 * set to the end of the generated years so that the calendar has days in it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { generateDataset } from '../bench/generate-dataset.js';
import { buildApp } from '../src/app.js';
import { resolveConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { chromiumPath } from '../test/web/browser.js';

const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs');
const TOKEN = 'screenshot-token-0123456789';
const NOW = Date.parse('2024-08-31T18:00:00.000Z');

const SHOTS = [
  { file: 'dashboard-overview.png', path: '/web/', width: 1200, height: 900, colorScheme: 'light' },
  { file: 'dashboard-progress-dark.png', path: '/web/progress', width: 1200, height: 900, colorScheme: 'dark' },
  { file: 'dashboard-problems-phone.png', path: '/web/problems?type=BOULDER&active=yes', width: 360, height: 780, colorScheme: 'light' },
] as const;

async function main(): Promise<void> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error("Debian's chromium is needed: apt-get update && apt-get install -y chromium");
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ascently-shots-'));
  const config = resolveConfig({ dataDir, host: '127.0.0.1', port: '0', logLevel: 'warn' });
  const store = new SqliteStore(dataDir);
  const app = await buildApp(config, { store, token: TOKEN, logger: createLogger('warn'), now: () => NOW });
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const url = `http://127.0.0.1:${port}`;
    const upload = await fetch(`${url}/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(generateDataset({ scale: 0.2 })),
    });
    if (upload.status !== 200) throw new Error(`upload answered ${upload.status}`);
    const context = await browser.newContext({ deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(`${url}/web/login`);
    await page.getByLabel('Device token').fill(TOKEN);
    await Promise.all([page.waitForURL(`${url}/web/`), page.keyboard.press('Enter')]);
    for (const shot of SHOTS) {
      await page.setViewportSize({ width: shot.width, height: shot.height });
      await page.emulateMedia({ colorScheme: shot.colorScheme });
      await page.goto(url + shot.path);
      await page.screenshot({ path: path.join(OUT, shot.file) });
      process.stdout.write(`docs/${shot.file}\n`);
    }
  } finally {
    await browser.close();
    await app.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`screenshots failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
