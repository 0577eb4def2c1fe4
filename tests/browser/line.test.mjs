// (8) LINE and the calendar feed: the administrator sets the city's LINE official account (the
// form with errors, then saved, secrets masked), and a resident opens the LINE section of the
// account page, gets a link code and sees the calendar-feed section of "my reservations".
// Every page is checked with axe-core. Nothing reaches LINE: no resident is linked.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  PASSWORD,
  createVerifiedResident,
  expectNoAxeViolations,
  fillSignIn,
  launchBrowser,
  submitAndWaitFor,
  uniqueEmail,
  visit,
  withPage,
} from './support.mjs';

const ADMIN_EMAIL = process.env.ADMIN_EMAIL;
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD;
const SECRET = '0123456789abcdef0123456789abcdef';
const TOKEN = 'browser-test-channel-access-token-0123456789';

let browser;
before(async () => {
  assert.ok(ADMIN_EMAIL && ADMIN_PASSWORD, 'ADMIN_EMAIL and ADMIN_PASSWORD must be set by the harness');
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('an administrator sets up LINE and a resident gets a link code, each page free of axe violations', async (t) => {
  await withPage(browser, t, async (page) => {
    await visit(page, '/staff/signin');
    await submitAndWaitFor(page, await fillSignIn(page, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }), '/staff');
    await visit(page, '/admin/line');
    await t.test('axe: /admin/line', () => expectNoAxeViolations(page, '/admin/line'));

    const form = page.locator('main form[action="/admin/line"]');
    await form.locator('input[name="channel_id"]').fill('not digits');
    await form.locator('input[name="channel_secret"]').fill(SECRET);
    await form.locator('input[name="channel_access_token"]').fill(TOKEN);
    await submitAndWaitFor(page, form.locator('button[type="submit"]'), '/admin/line');
    assert.equal(await page.locator('#f-channel_id').getAttribute('aria-invalid'), 'true');
    await t.test('axe: /admin/line with errors', () => expectNoAxeViolations(page, '/admin/line with errors'));

    await form.locator('input[name="channel_id"]').fill('1657000001');
    await form.locator('input[name="channel_secret"]').fill(SECRET);
    await form.locator('input[name="channel_access_token"]').fill(TOKEN);
    await form.locator('input[name="basic_id"]').fill('@madoguchi');
    await form.locator('input[name="enabled"]').check();
    await submitAndWaitFor(page, form.locator('button[type="submit"]'), '/admin/line');
    const saved = await page.content();
    assert.ok(saved.includes('••••••••cdef'), 'the secret is shown masked');
    assert.ok(!saved.includes(SECRET), 'never in full');
    await t.test('axe: /admin/line saved', () => expectNoAxeViolations(page, '/admin/line saved'));
  });

  await withPage(browser, t, async (page) => {
    const email = uniqueEmail('line');
    await createVerifiedResident(page, { displayName: 'LINE 花子', email });
    await visit(page, '/signin');
    await submitAndWaitFor(page, await fillSignIn(page, { email, password: PASSWORD }), '/account');
    await t.test('axe: /account with LINE', () => expectNoAxeViolations(page, '/account with LINE'));

    await submitAndWaitFor(page, page.locator('main form[action="/account/line/code"] button[type="submit"]'), '/account/line/code');
    const code = await page.locator('main code').first().textContent();
    assert.match(code ?? '', /^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    await t.test('axe: link code page', () => expectNoAxeViolations(page, 'link code page'));

    await visit(page, '/my/reservations');
    const feedUrl = await page.locator('#feed-url').inputValue();
    assert.match(feedUrl, /\/calendar\/[A-Za-z0-9_-]{43}\.ics$/);
    await t.test('axe: /my/reservations with the feed', () => expectNoAxeViolations(page, '/my/reservations with the feed'));
  });
});
