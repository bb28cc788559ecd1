import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { AxeBuilder } from '@axe-core/playwright';
import type { BrowserContext, Page } from 'playwright-core';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.js';
import { launchBrowser } from './browser.js';
import { HOSTILE_TEXTS, PAGES, hostileDocument, uploadDocument } from './helpers.js';

/** Everything a page must never do: a dialog, a script error, a console error, a CSP refusal. */
function watch(context: BrowserContext): string[] {
  const problems: string[] = [];
  context.on('page', (page) => observe(page, problems));
  return problems;
}

function observe(page: Page, problems: string[]): void {
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' || /Refused to/.test(message.text())) problems.push(`console ${message.type()}: ${message.text()} (${page.url()})`);
  });
}

async function loginThroughForm(page: Page, server: TestServer): Promise<void> {
  await page.goto(`${server.url}/web/`);
  assert.equal(new URL(page.url()).pathname, '/web/login');
  await page.getByLabel('Device token').fill(TEST_TOKEN);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${server.url}/web/`);
}

/** The hostile dataset, and a climber who sent every V grade: tables of grades wider than a phone, which must scroll and be reachable by keyboard. */
function withEveryGrade(document: Record<string, unknown>): Record<string, unknown> {
  const grades = Array.from({ length: 18 }, (_, i) => `V${i}`);
  const t = '2026-10-01T10:00:00.000Z';
  const problems = grades.map((grade) => ({ id: `every-${grade}`, gymId: 'g1', name: `Problem ${grade}`, climbType: 'BOULDER', difficulty: { system: 'V_SCALE', grade }, createdAt: t, updatedAt: t }));
  const attempts = grades.map((grade) => ({ id: `every-a-${grade}`, sessionId: 's1', problemId: `every-${grade}`, result: 'SUCCESS', timestamp: '2026-10-01T09:40:00.000Z', createdAt: t, updatedAt: t }));
  return { ...document, problems: [...(document['problems'] as unknown[]), ...problems], attempts: [...(document['attempts'] as unknown[]), ...attempts] };
}

test('in Chromium: login through the form, every page safe and accessible, light and dark, desktop and phone', async (t) => {
  const browser = await launchBrowser(t);
  if (!browser) return;
  const server = await startTestServer(t);
  await uploadDocument(server, withEveryGrade(hostileDocument()));
  const context = await browser.newContext();
  const problems = watch(context);
  const page = await context.newPage();
  await loginThroughForm(page, server);

  const [cookie] = await context.cookies();
  assert.equal(cookie?.name, 'ascently_session');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/web');

  const sizes = [
    { name: 'desktop', width: 1280, height: 800 },
    { name: 'phone', width: 360, height: 740 },
  ];
  const failures: string[] = [];
  for (const size of sizes) {
    await page.setViewportSize({ width: size.width, height: size.height });
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      for (const path of PAGES) {
        const response = await page.goto(server.url + path);
        assert.equal(response?.status(), 200, path);
        const results = await new AxeBuilder({ page }).analyze();
        for (const v of results.violations) {
          if (v.impact === 'serious' || v.impact === 'critical') failures.push(`${path} ${size.name} ${colorScheme}: ${v.id} (${v.nodes.length}): ${v.nodes[0]?.target.join(' ')}`);
        }
        if (size.width === 360) {
          const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
          if (overflow > 0) failures.push(`${path} is ${overflow} px wider than a 360 px screen`);
        }
        if (colorScheme === 'light' && size.name === 'desktop') {
          // The hostile names are on the page as text.
          const text = await page.evaluate<string>('document.body.innerText');
          if (path === '/web/problems/p1') for (const hostile of HOSTILE_TEXTS.slice(0, 3)) assert.ok(text.includes(hostile), `${path} shows ${hostile} as text`);
          const injected = await page.evaluate<number>(`document.querySelectorAll('script, [onerror], [onload], [onmouseover], img[src="x"]').length`);
          assert.equal(injected, 0, `${path} holds no injected element or handler`);
        }
      }
    }
  }
  assert.deepEqual(failures, []);
  assert.deepEqual(problems, []);
});

test('in Chromium: every control is reachable by keyboard, with a visible focus', async (t) => {
  const browser = await launchBrowser(t);
  if (!browser) return;
  const server = await startTestServer(t);
  await uploadDocument(server, hostileDocument());
  const page = await (await browser.newContext()).newPage();
  await loginThroughForm(page, server);
  for (const path of ['/web/problems', '/web/devices', '/web/sessions/s1']) {
    await page.goto(server.url + path);
    // Browser-side code as text: the test build has no DOM types.
    const controls = await page.evaluate<number>(`(() => {
      const all = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, summary')];
      all.forEach((el, i) => (el.dataset.k = String(i)));
      return all.length;
    })()`);
    const reached = new Set<string>();
    let unfocusedOutline = 0;
    for (let i = 0; i < controls + 3; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate<{ key: string; outline: boolean } | undefined>(`(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return undefined;
        const style = getComputedStyle(el);
        return { key: el.dataset.k ?? '', outline: style.outlineStyle !== 'none' && style.outlineWidth !== '0px' };
      })()`);
      if (!focused) continue;
      reached.add(focused.key);
      if (!focused.outline) unfocusedOutline++;
    }
    assert.equal(reached.size >= controls, true, `${path}: ${reached.size} of ${controls} controls reached by Tab`);
    assert.equal(unfocusedOutline, 0, `${path}: every focused control shows a focus outline`);
  }
});

test('in Chromium: no page or API without a session; a cross-site form post is refused', async (t) => {
  const browser = await launchBrowser(t);
  if (!browser) return;
  const server = await startTestServer(t);
  await uploadDocument(server, hostileDocument());

  const anonymous = await (await browser.newContext()).newPage();
  for (const path of PAGES) {
    await anonymous.goto(server.url + path);
    assert.equal(new URL(anonymous.url()).pathname, '/web/login', path);
  }
  const api = await anonymous.goto(`${server.url}/web/api/summary`);
  assert.equal(api?.status(), 401);

  // Another origin on the same host (a different port is the same *site*, so
  // SameSite alone would let the cookie through): the Origin check refuses it.
  const evil = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<form method="post" action="${server.url}/web/logout"><input name="csrf" value="guess"><button id="go">go</button></form>
<form method="post" action="${server.url}/web/devices/revoke"><input name="id" value="AUTH_TOKEN"><button id="revoke">revoke</button></form>`);
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  t.after(() => evil.close());
  const context = await browser.newContext();
  const page = await context.newPage();
  await loginThroughForm(page, server);
  for (const button of ['#go', '#revoke']) {
    await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
    const [response] = await Promise.all([page.waitForNavigation(), page.click(button)]);
    assert.equal(response?.status(), 403, button);
  }
  const still = await page.goto(`${server.url}/web/`);
  assert.equal(still?.status(), 200, 'the session survived the refused posts');
  assert.equal(new URL(page.url()).pathname, '/web/');

  // The real logout form works.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(`${server.url}/web/login`);
  await page.goto(`${server.url}/web/`);
  assert.equal(new URL(page.url()).pathname, '/web/login');
});
