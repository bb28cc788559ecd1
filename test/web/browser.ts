import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { chromium, type Browser } from 'playwright-core';

const INSTALL = "Debian's chromium is not installed: apt-get update && apt-get install -y chromium";

/** The Chromium to drive: CHROMIUM_PATH, else Debian's. Never a browser download. */
export function chromiumPath(): string | undefined {
  for (const candidate of [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * A headless Chromium for the test, closed after it; undefined (and the test
 * skipped with a line saying how to install it) when there is none, except in
 * CI, where a missing browser fails the test instead.
 */
export async function launchBrowser(t: TestContext): Promise<Browser | undefined> {
  const executablePath = chromiumPath();
  if (!executablePath) {
    if (process.env['CI']) throw new Error(`${INSTALL} (CI must run the browser tests)`);
    t.skip(INSTALL);
    return undefined;
  }
  // As root (CI, containers) Chromium refuses to start with its sandbox.
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  t.after(() => browser.close());
  return browser;
}
