// Paying when booking, on a 360 px phone: an administrator defines a 500 yen screening through
// the JSON API; a resident books it choosing to pay online by card, lands on the sandbox's
// payment page, passes the 3-D Secure challenge, and comes back. The payment's webhook (sent by
// the job runner) confirms the hold: the reservation's page shows it booked and paid. axe-core
// checks every page on the way, and none scrolls sideways.
//
// The provider sends the payer back to /payments/{id}, the payment's result page (built on
// another branch; it may answer 404 here), so the end is asserted on the reservation's page.

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
  url,
  visit,
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

/** Calls the JSON API; throws with the body when the status is not `expected`. */
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

/** A 500 yen screening (online, at the counter, or exempt) with one session on OPEN_DATE. */
async function createPaidScreening() {
  const { token } = await api('POST', '/api/v1/tokens', {
    body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, kind: 'staff' },
  });
  const code = `paid-${Date.now() % 1_000_000}`;
  const name = `がん検診（集団） ${code.slice(-4)}`;
  const service = await api('POST', '/api/v1/services', {
    token,
    expected: 201,
    body: {
      code,
      kind: 'checkup',
      name_ja: name,
      name_en: `Cancer screening ${code.slice(-4)}`,
      rules: {
        window: { opens_days_before: 60, opens_at_local: '09:00', closes_hours_before: 24 },
        cancellation: { deadline_hours_before: 48 },
        hold_minutes: 15,
        fee: {
          amount_yen: 500,
          revenue_category: 'checkup_fee',
          counter_allowed: true,
          exemptions: [
            {
              code: 'age70',
              label_ja: '70歳以上の方',
              label_en: 'Aged 70 or over',
              rule: { type: 'age_at_least', years: 70, reference: 'fiscal_year_end' },
            },
            { code: 'welfare', label_ja: '生活保護を受けている方', label_en: 'On public assistance', rule: { type: 'self_declared' } },
          ],
        },
      },
    },
  });
  const offices = await api('GET', '/api/v1/offices', { token });
  assert.match(process.env.OPEN_DATE ?? '', /^\d{4}-\d{2}-\d{2}$/, 'OPEN_DATE is given');
  const start = new Date(`${process.env.OPEN_DATE}T10:00:00+09:00`);
  const end = new Date(start.getTime() + 2 * 3600 * 1000);
  const added = await api('POST', `/api/v1/services/${service.id}/slots`, {
    token,
    body: { slots: [{ office_id: offices[0].id, starts_at: start.toISOString(), ends_at: end.toISOString(), capacity: 2 }] },
  });
  assert.equal(added.added, 1, 'one slot added');
  const slots = await api('GET', `/api/v1/services/${service.id}/slots?date=${process.env.OPEN_DATE}`);
  assert.ok(slots.length > 0, 'the session is listed');
  return { name, slotId: slots[0].id };
}

/** How far the page scrolls sideways (0 when it fits the screen). */
function sidewaysScroll(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

async function checkPage(t, page, label) {
  assert.equal(await sidewaysScroll(page), 0, `${label} fits a 360 px screen`);
  await t.test(`axe: ${label}`, () => expectNoAxeViolations(page, label));
}

test('a resident books a paid screening on a phone, passes 3-D Secure on the sandbox and comes back booked', async (t) => {
  const screening = await createPaidScreening();

  await withPage(
    browser,
    t,
    async (page) => {
      const email = uniqueEmail('paid');
      await createVerifiedResident(page, { displayName: '決済 花子', email });
      await visit(page, '/signin');
      const submit = await fillSignIn(page, { email, password: PASSWORD });
      await submitAndWaitFor(page, submit, '/account');

      // The form shows the fee and asks how to pay, each way a radio with its label.
      const formPath = `/reservations/book/${screening.slotId}`;
      await visit(page, formPath);
      assert.match(await page.locator('main dl.summary').first().innerText(), /¥500/, 'the fee is shown before booking');
      assert.equal(await page.locator('input[name="payment"]').count(), 5, 'card, PayPay, counter and two exemptions');
      await checkPage(t, page, 'paid booking form');

      // Leaving the choice out is a problem at its field.
      await Promise.all([
        page.waitForURL((u) => u.pathname === formPath, { waitUntil: 'load' }),
        page.locator(`main form[action="${formPath}"] button[type="submit"]`).click(),
      ]);
      await page.locator('[role="alert"]').first().waitFor({ state: 'visible' });
      assert.equal(await page.locator('input[name="payment"][value="card"]').getAttribute('aria-invalid'), 'true');
      await checkPage(t, page, 'paid booking form with an error');

      // Pay online by card: on to the sandbox's payment page.
      await page.locator('label[for="f-payment-card"]').click();
      await Promise.all([
        page.waitForURL((u) => u.pathname.startsWith('/sandbox/pay/'), { waitUntil: 'load' }),
        page.locator(`main form[action="${formPath}"] button[type="submit"]`).click(),
      ]);
      const payPath = new URL(page.url()).pathname;
      assert.match(await page.locator('main').innerText(), /¥500/, 'the amount to pay');
      await checkPage(t, page, 'sandbox payment page');

      // 3-D Secure: the challenge, then passing it.
      await Promise.all([
        page.waitForURL((u) => u.pathname === payPath, { waitUntil: 'load' }),
        page.locator('button[name="outcome"][value="challenge"]').click(),
      ]);
      await checkPage(t, page, 'sandbox 3-D Secure challenge');
      await Promise.all([
        page.waitForURL((u) => u.pathname.startsWith('/payments/'), { waitUntil: 'load' }),
        page.locator('button[name="outcome"][value="pass_challenge"]').click(),
      ]);

      // Back on our side: the reservation, confirmed once the webhook arrived.
      await visit(page, '/my/reservations');
      const card = page.locator('main li.card').filter({ hasText: screening.name });
      assert.equal(await card.count(), 1, 'the reservation is listed');
      const detailPath = await card.locator('a').first().getAttribute('href');
      let summary = '';
      for (let attempt = 0; attempt < 40; attempt += 1) {
        await visit(page, detailPath);
        summary = await page.locator('main').innerText();
        if (summary.includes('予約済み') && summary.includes('お支払いを受け付けました')) break;
        await page.waitForTimeout(500);
      }
      assert.ok(summary.includes('予約済み'), `confirmed: ${summary}`);
      assert.ok(summary.includes('¥500のお支払いを受け付けました'), `paid: ${summary}`);
      await checkPage(t, page, 'paid reservation');
    },
    { viewport: PHONE },
  );
});
