// The return path through sign-in, at 360 px as on an old phone: a signed-out resident presses
// この時間で予約する, is told why sign-in is needed, signs up, confirms the address from the
// mail, signs in and lands on the booking form of the time they chose, not on /account.
// The Rust harness passes the administrator's sign-in in ADMIN_EMAIL and ADMIN_PASSWORD.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  PASSWORD,
  expectNoAxeViolations,
  fillSignIn,
  launchBrowser,
  submitAndWaitFor,
  uniqueEmail,
  url,
  visit,
  waitForVerificationLink,
  withPage,
} from './support.mjs';

const ADMIN_EMAIL = process.env.ADMIN_EMAIL;
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD;
const PHONE = { width: 360, height: 740 };

let browser;
before(async () => {
  assert.ok(ADMIN_EMAIL && ADMIN_PASSWORD, 'ADMIN_EMAIL and ADMIN_PASSWORD must be set by the harness');
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

async function api(method, path, { token, body, expected = 200 } = {}) {
  const response = await fetch(url(path), {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== expected) {
    throw new Error(`${method} ${path} answered ${response.status} (expected ${expected}): ${text}`);
  }
  return text ? JSON.parse(text) : null;
}

/** A one-seat consultation on OPEN_DATE; its code and the Tokyo date. */
async function createConsultation() {
  const { token } = await api('POST', '/api/v1/tokens', {
    body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, kind: 'staff' },
  });
  const code = `soudan-${Date.now() % 1_000_000}`;
  const service = await api('POST', '/api/v1/services', {
    token,
    expected: 201,
    body: {
      code,
      kind: 'consultation',
      name_ja: `暮らしの相談 ${code.slice(-4)}`,
      name_en: `Living consultation ${code.slice(-4)}`,
      rules: {
        window: { opens_days_before: 60, opens_at_local: '09:00', closes_hours_before: 24 },
        cancellation: { deadline_hours_before: 24 },
      },
    },
  });
  const offices = await api('GET', '/api/v1/offices', { token });
  assert.match(process.env.OPEN_DATE ?? '', /^\d{4}-\d{2}-\d{2}$/, 'OPEN_DATE is given');
  const start = new Date(`${process.env.OPEN_DATE}T13:00:00+09:00`);
  const end = new Date(start.getTime() + 30 * 60 * 1000);
  const added = await api('POST', `/api/v1/services/${service.id}/slots`, {
    token,
    body: { slots: [{ office_id: offices[0].id, starts_at: start.toISOString(), ends_at: end.toISOString(), capacity: 1 }] },
  });
  assert.equal(added.added, 1, 'one slot added');
  return { code, date: process.env.OPEN_DATE };
}

test('a signed-out resident who presses the booking button signs up, confirms, signs in and lands on the form', async (t) => {
  const consultation = await createConsultation();
  await withPage(
    browser,
    t,
    async (page) => {
      // Signed out, the day's slot and its button.
      await visit(page, `/reservations/${consultation.code}/${consultation.date}`);
      const book = page.locator('main a[href^="/reservations/book/"]').first();
      const formPath = await book.getAttribute('href');
      await Promise.all([page.waitForURL((u) => u.pathname === '/signin'), book.click()]);
      assert.equal(new URL(page.url()).searchParams.get('next'), formPath, 'the sign-in page knows the way back');
      const why = page.locator('main [role="status"]').first();
      assert.match(await why.innerText(), /予約するにはログインが必要です/, 'the page says why');
      await t.test('axe: sign-in page with its reason', () => expectNoAxeViolations(page, 'sign-in with next'));

      // No account yet: sign up from here; the way back goes along.
      const signUpLink = page.locator('main a[href^="/signup?next="]');
      await Promise.all([page.waitForURL((u) => u.pathname === '/signup'), signUpLink.click()]);
      const email = uniqueEmail('return');
      const form = page.locator('main form').filter({ has: page.locator('input[name="email"]') });
      await form.locator('input[name="display_name"]').fill('戻り 花子');
      await form.locator('input[name="email"]').fill(email);
      await form.locator('input[name="password"]').fill(PASSWORD);
      await submitAndWaitFor(page, form.locator('button[type="submit"]'), '/signup/sent');

      // The mail's link carries the way back; confirming offers to continue the booking.
      const link = await waitForVerificationLink(email);
      assert.equal(new URL(link).searchParams.get('next'), formPath, 'the verification link leads back');
      await visit(page, link);
      await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === '/verify-email' && r.request().method() === 'POST'),
        page.locator('main form[action="/verify-email"] button[type="submit"]').click(),
      ]);
      await page.waitForLoadState('load');
      const carryOn = page.locator('main a.button[href^="/signin?next="]');
      assert.match(await carryOn.innerText(), /ログインして予約を続ける/);
      await t.test('axe: verified page', () => expectNoAxeViolations(page, 'verified with next'));
      await Promise.all([page.waitForURL((u) => u.pathname === '/signin'), carryOn.click()]);

      // Signing in lands on the booking form of that very slot.
      const submit = await fillSignIn(page, { email, password: PASSWORD });
      await submitAndWaitFor(page, submit, formPath);
      assert.equal(await page.locator(`main form[action="${formPath}"]`).count(), 1, 'the booking form is shown');
      await t.test('axe: booking form after the return', () => expectNoAxeViolations(page, 'form after return'));
    },
    { viewport: PHONE },
  );
});

test('a sign-in link with a return path to another site stays on this site', async (t) => {
  await withPage(browser, t, async (page) => {
    const response = await visit(page, '/signin?next=//evil.example');
    assert.equal(response.status(), 200);
    assert.equal(await page.locator('input[name="next"]').count(), 0, 'the path is not carried on');
    assert.equal(await page.locator('main [role="status"]').count(), 0, 'no reason is claimed');
  });
});
