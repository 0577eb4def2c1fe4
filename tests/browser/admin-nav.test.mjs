// (Issue 8, items 10 and 11) The staff header: at 1280 px its groups sit on one line and open as
// disclosure menus from the keyboard; at 360 px one menu button holds them and nothing scrolls
// sideways. The administrator's index, the audit log and the jobs page read in words, in
// Japanese and English, free of axe violations; screenshots of each are saved for review.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { ARTIFACTS_DIR, expectNoAxeViolations, fillSignIn, launchBrowser, saveScreenshot, submitAndWaitFor, visit, withPage } from './support.mjs';

const ADMIN_EMAIL = process.env.ADMIN_EMAIL;
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD;
const SCREENS = join(ARTIFACTS_DIR, 'screens');

let browser;
before(async () => {
  assert.ok(ADMIN_EMAIL && ADMIN_PASSWORD, 'ADMIN_EMAIL and ADMIN_PASSWORD must be set by the harness');
  browser = await launchBrowser();
  mkdirSync(SCREENS, { recursive: true });
});
after(async () => {
  await browser?.close();
});

async function signInAsAdmin(page) {
  await visit(page, '/staff/signin');
  const submit = await fillSignIn(page, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
  await submitAndWaitFor(page, submit, '/staff');
}

async function noSidewaysScroll(page, label) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  assert.ok(scrollWidth <= innerWidth, `${label}: scrollWidth ${scrollWidth} > innerWidth ${innerWidth}`);
}

async function screenshot(page, name) {
  await saveScreenshot(page, join(SCREENS, `${name}.png`));
}

test('at 1280 px the staff header is one line of menus that open from the keyboard', async (t) => {
  await withPage(browser, t, async (page) => {
    await signInAsAdmin(page);
    for (const lang of ['ja', 'en']) {
      await visit(page, `/admin?lang=${lang}`);
      const items = page.locator('.staff-nav-wide .menu-bar > li');
      const count = await items.count();
      assert.ok(count >= 4, `the bar has its groups (${count})`);
      const tops = await items.evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().top)));
      assert.equal(new Set(tops).size, 1, `${lang}: one line, tops ${tops}`);
      const header = await page.locator('.site-header-inner').boundingBox();
      assert.ok(header.height < 90, `${lang}: the header is one row high (${header.height}px)`);
      assert.equal(await page.locator('.staff-nav-phone').isVisible(), false, 'no menu button on a wide screen');
      await noSidewaysScroll(page, `/admin ${lang}`);
      await screenshot(page, `admin-1280-${lang}`);
    }
    await visit(page, '/admin?lang=ja');
    await t.test('axe: /admin', () => expectNoAxeViolations(page, '/admin'));

    // Keyboard: focus the operations group, open it with Enter, follow a link.
    const operations = page.locator('.staff-nav-wide summary', { hasText: '運用' });
    await operations.focus();
    await page.keyboard.press('Enter');
    const audit = page.locator('.staff-nav-wide a[href="/admin/audit"]');
    assert.ok(await audit.isVisible(), 'the group opened');
    await t.test('axe: an open menu', () => expectNoAxeViolations(page, 'open menu'));
    await Promise.all([page.waitForURL((u) => u.pathname === '/admin/audit'), audit.click()]);

    // The audit log, in words, with its filters.
    const table = await page.locator('main table').innerText();
    assert.ok(table.includes('職員のログイン'), 'actions are translated');
    assert.ok(!/[0-9a-f]{8}-[0-9a-f]{4}-/.test(table), 'no UUIDs in the log');
    await t.test('axe: /admin/audit', () => expectNoAxeViolations(page, '/admin/audit'));
    await screenshot(page, 'audit-1280-ja');
    await page.selectOption('select[name="action"]', 'staff.signed_in');
    await submitAndWaitFor(page, page.locator('main form.audit-filters button[type="submit"]'), '/admin/audit');
    assert.ok((await page.locator('main table').innerText()).includes('職員のログイン'));
    await page.fill('input[name="from"]', '2030-01-02');
    await page.fill('input[name="until"]', '2030-01-01');
    await page.locator('main form.audit-filters button[type="submit"]').click();
    await page.locator('[role="alert"]').first().waitFor({ state: 'visible' });
    assert.equal(await page.locator('input[name="until"]').getAttribute('aria-invalid'), 'true');
    await t.test('axe: /admin/audit with errors', () => expectNoAxeViolations(page, '/admin/audit with errors'));
    await noSidewaysScroll(page, '/admin/audit');
    await visit(page, '/admin/audit?lang=en');
    assert.ok((await page.locator('main table').innerText()).includes('Staff signed in'));
    await screenshot(page, 'audit-1280-en');

    for (const lang of ['ja', 'en']) {
      await visit(page, `/admin/jobs?lang=${lang}`);
      const jobs = await page.locator('main table').innerText();
      assert.ok(!/\b(queued|done|mail\.send|notify\.reservation)\b/.test(jobs), `${lang}: jobs in words: ${jobs}`);
      await screenshot(page, `jobs-1280-${lang}`);
      await visit(page, `/finance?lang=${lang}`);
      await screenshot(page, `finance-1280-${lang}`);
      await visit(page, `/staff?lang=${lang}`);
      await screenshot(page, `staff-home-1280-${lang}`);
    }
    await visit(page, '/admin/jobs?lang=ja');
    await t.test('axe: /admin/jobs', () => expectNoAxeViolations(page, '/admin/jobs'));
    await visit(page, '/finance?lang=ja');
    await t.test('axe: /finance', () => expectNoAxeViolations(page, '/finance'));
  });
});

test('at 360 px one menu button holds the staff navigation and nothing scrolls sideways', async (t) => {
  await withPage(
    browser,
    t,
    async (page) => {
      await signInAsAdmin(page);
      for (const path of ['/staff', '/admin', '/admin/audit', '/admin/jobs', '/finance']) {
        await visit(page, path);
        assert.equal(await page.locator('.staff-nav-wide').isVisible(), false, `${path}: the bar is hidden`);
        assert.ok(await page.locator('.staff-nav-phone > summary').isVisible(), `${path}: one menu button`);
        await noSidewaysScroll(page, `${path} at 360`);
      }
      await visit(page, '/admin');
      await screenshot(page, 'admin-360-ja');
      await page.locator('.staff-nav-phone > summary').click();
      const audit = page.locator('.staff-nav-phone a[href="/admin/audit"]');
      assert.ok(await audit.isVisible(), 'the menu opened');
      await noSidewaysScroll(page, 'open menu at 360');
      await screenshot(page, 'menu-360-ja');
      await t.test('axe: menu at 360', () => expectNoAxeViolations(page, 'menu at 360'));
      await Promise.all([page.waitForURL((u) => u.pathname === '/admin/audit'), audit.click()]);
      await screenshot(page, 'audit-360-ja');
    },
    { viewport: { width: 360, height: 740 } },
  );
});
