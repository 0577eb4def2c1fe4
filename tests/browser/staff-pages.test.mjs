// (5) Staff and administrator pages: sign in as the demo administrator, visit every staff page,
// use the forms (add an office, invite a colleague, filter the audit log, read the outbox), and
// check each page with axe-core. The Rust harness passes the administrator's sign-in in
// ADMIN_EMAIL and ADMIN_PASSWORD.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { expectNoAxeViolations, fillSignIn, launchBrowser, submitAndWaitFor, uniqueEmail, visit, withPage } from './support.mjs';

const ADMIN_EMAIL = process.env.ADMIN_EMAIL;
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD;

let browser;
before(async () => {
  assert.ok(ADMIN_EMAIL && ADMIN_PASSWORD, 'ADMIN_EMAIL and ADMIN_PASSWORD must be set by the harness');
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('an administrator works through the staff pages, each free of axe violations', async (t) => {
  await withPage(browser, t, async (page) => {
    await visit(page, '/staff/signin');
    const submit = await fillSignIn(page, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    await submitAndWaitFor(page, submit, '/staff');
    await t.test('axe: /staff', () => expectNoAxeViolations(page, '/staff'));

    // An office page, reached from the staff home.
    const firstOffice = page.locator('main a[href^="/staff/offices/"]').first();
    await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/staff/offices/')), firstOffice.click()]);
    await t.test('axe: office page', () => expectNoAxeViolations(page, 'office page'));

    // Offices: add one through the form.
    await visit(page, '/admin/offices');
    await t.test('axe: /admin/offices', () => expectNoAxeViolations(page, '/admin/offices'));
    await page.fill('input[name="code"]', `test-${Date.now() % 100000}`);
    await page.selectOption('select[name="kind"]', 'facility');
    await page.fill('input[name="name_ja"]', '市民体育館');
    await page.fill('input[name="name_en"]', 'City Gym');
    await submitAndWaitFor(page, page.locator('main form[action="/admin/offices"] button[type="submit"]'), '/admin/offices');
    assert.ok((await page.locator('main table').innerText()).includes('市民体育館'), 'the new office is listed');

    // The same form with a bad code shows field errors, and they pass axe too.
    await page.fill('input[name="code"]', 'Bad Code!');
    await page.fill('input[name="name_ja"]', '');
    await page.locator('main form[action="/admin/offices"] button[type="submit"]').click();
    await page.locator('[role="alert"]').first().waitFor({ state: 'visible' });
    assert.ok((await page.locator('input[name="code"]').getAttribute('aria-invalid')) === 'true', 'the code field is marked invalid');
    await t.test('axe: /admin/offices with errors', () => expectNoAxeViolations(page, '/admin/offices with errors'));

    await visit(page, '/admin/departments');
    await t.test('axe: /admin/departments', () => expectNoAxeViolations(page, '/admin/departments'));

    // Staff: invite a colleague.
    await visit(page, '/admin/staff');
    await t.test('axe: /admin/staff', () => expectNoAxeViolations(page, '/admin/staff'));
    const colleague = uniqueEmail('clerk');
    await page.fill('main form[action="/admin/staff"] input[name="display_name"]', '新人 職員');
    await page.fill('main form[action="/admin/staff"] input[name="email"]', colleague);
    await page.selectOption('main form[action="/admin/staff"] select[name="role"]', 'finance');
    await submitAndWaitFor(page, page.locator('main form[action="/admin/staff"] button[type="submit"]'), '/admin/staff');
    assert.ok((await page.locator('main table').innerText()).includes(colleague), 'the colleague is listed');

    await visit(page, '/admin/audit?action=staff.');
    await t.test('axe: /admin/audit', () => expectNoAxeViolations(page, '/admin/audit'));
    assert.ok((await page.locator('main table').innerText()).includes('職員の登録'), 'the invitation is audited, in words');

    await visit(page, '/admin/outbox');
    await t.test('axe: /admin/outbox', () => expectNoAxeViolations(page, '/admin/outbox'));
    await visit(page, '/admin/jobs');
    await t.test('axe: /admin/jobs', () => expectNoAxeViolations(page, '/admin/jobs'));

    // The calendar: the overview, a holiday file with a mistake, then a good one previewed and
    // imported, and an office's closing days.
    await visit(page, '/admin/calendar');
    await t.test('axe: /admin/calendar', () => expectNoAxeViolations(page, '/admin/calendar'));
    await visit(page, '/admin/calendar/import');
    await t.test('axe: /admin/calendar/import', () => expectNoAxeViolations(page, '/admin/calendar/import'));
    const holidayFile = (rows) => ({
      name: 'syukujitsu.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(`国民の祝日・休日月日,国民の祝日・休日名称\n${rows.join('\n')}\n`),
    });
    await page.setInputFiles('input[name="file"]', holidayFile(['2031/1/1,元日', '2031/2/30,架空の日']));
    await page.locator('main form[action="/admin/calendar/import"] button[type="submit"]').click();
    await page.locator('[role="alert"]').first().waitFor({ state: 'visible' });
    assert.ok((await page.locator('[role="alert"]').first().innerText()).includes('3行目'), 'the line of the mistake is named');
    await t.test('axe: /admin/calendar/import with an error', () => expectNoAxeViolations(page, '/admin/calendar/import with an error'));
    await page.setInputFiles('input[name="file"]', holidayFile(['2031/1/1,元日', '2031/6/1,市制記念日']));
    await page.locator('main form[action="/admin/calendar/import"] button[type="submit"]').click();
    await page.locator('main form[action="/admin/calendar/import/confirm"]').waitFor({ state: 'visible' });
    assert.ok((await page.locator('main table').innerText()).includes('市制記念日'), 'the preview shows the city day');
    await t.test('axe: calendar import preview', () => expectNoAxeViolations(page, 'calendar import preview'));
    await submitAndWaitFor(page, page.locator('main form[action="/admin/calendar/import/confirm"] button[type="submit"]'), '/admin/calendar');
    assert.ok((await page.locator('main table').first().innerText()).includes('市制記念日'), 'the imported day is listed');
    const officeCalendar = page.locator('main a[href^="/admin/calendar/offices/"]').first();
    await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/admin/calendar/offices/')), officeCalendar.click()]);
    await t.test('axe: office closing days', () => expectNoAxeViolations(page, 'office closing days'));
  });
});

test('the password-reset pages are free of axe violations', async (t) => {
  await withPage(browser, t, async (page) => {
    await visit(page, '/password-reset');
    await t.test('axe: /password-reset', () => expectNoAxeViolations(page, '/password-reset'));
    await page.fill('input[name="email"]', uniqueEmail('nobody'));
    await submitAndWaitFor(page, page.locator('main button[type="submit"]'), '/password-reset/sent');
    await t.test('axe: /password-reset/sent', () => expectNoAxeViolations(page, '/password-reset/sent'));
    await visit(page, '/password-reset/confirm?token=not-a-real-token');
    await t.test('axe: /password-reset/confirm', () => expectNoAxeViolations(page, '/password-reset/confirm'));
  });
});
