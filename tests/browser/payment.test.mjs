// Paying a fee on a phone (360 px): the demo resident signs in, opens "my payments" from their
// account page, pays the 住民票の写し fee (300 円) by card, passes a 3-D Secure challenge on the
// sandbox gateway's page and lands on the result page, which reloads itself until the
// sandbox's webhook has marked the payment paid. The receipt's download link is there and the
// receipt is a PDF. axe-core checks every page on the way, the form's error state included.
//
// The Rust harness seeds the demo payments and passes the demo resident's sign-in in
// DEMO_RESIDENT_EMAIL and DEMO_RESIDENT_PASSWORD.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { expectNoAxeViolations, fillSignIn, launchBrowser, submitAndWaitFor, visit, withPage } from './support.mjs';

const EMAIL = process.env.DEMO_RESIDENT_EMAIL;
const PASSWORD = process.env.DEMO_RESIDENT_PASSWORD;
const PHONE = { width: 360, height: 740 };
/** The sandbox's webhook is a job: it normally lands within a second or two. */
const PAID_WITHIN_MS = 30_000;

let browser;
before(async () => {
  assert.ok(EMAIL && PASSWORD, 'DEMO_RESIDENT_EMAIL and DEMO_RESIDENT_PASSWORD must be set by the harness');
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** How far the page scrolls sideways, in px (0 when it fits). */
function sidewaysScroll(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

/** Clicks a link and waits until the page at `path` has loaded. */
async function follow(page, link, path) {
  await Promise.all([page.waitForURL((u) => u.pathname === path, { waitUntil: 'load' }), link.click()]);
}

/** Clicks a submit button whose form posts back to the same page, and waits for the new page. */
async function submitInPlace(page, submit) {
  await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.request().isNavigationRequest()),
    submit.click(),
  ]);
  await page.waitForLoadState('load');
}

/** The text of <main>, or '' while the page is being replaced (it reloads itself). */
async function mainText(page) {
  try {
    return (await page.locator('main').textContent({ timeout: 2_000 })) ?? '';
  } catch {
    return '';
  }
}

test('a resident pays a fee by card with 3-D Secure on a phone and gets the receipt', async (t) => {
  await withPage(
    browser,
    t,
    async (page) => {
      await visit(page, '/signin');
      await submitAndWaitFor(page, await fillSignIn(page, { email: EMAIL, password: PASSWORD }), '/account');

      // マイページ → わたしのお支払い
      await follow(page, page.getByRole('link', { name: 'ご請求・お支払いの状況と領収書はこちら' }), '/account/payments');
      assert.equal(await sidewaysScroll(page), 0, 'the list fits 360 px');
      await t.test('axe: /account/payments', () => expectNoAxeViolations(page, 'my payments'));
      const row = page.locator('main table tbody tr').filter({ hasText: '住民票の写し（1通）' });
      await expect1(row, 'the 住民票 fee is listed once');
      const pay = row.getByRole('link', { name: /支払う/ });
      const payHref = await pay.getAttribute('href');
      assert.match(payHref ?? '', /^\/receivables\/[0-9a-f-]{36}\/pay$/);
      await follow(page, pay, payHref);

      // The pay page: what is owed, and the methods.
      const main = await mainText(page);
      for (const expected of ['住民票の写し（1通）', '証明手数料', '300円']) {
        assert.ok(main.includes(expected), `${expected} on the pay page`);
      }
      await t.test('axe: pay page', () => expectNoAxeViolations(page, 'pay'));

      // No method chosen: the form comes back with the problem named.
      const submit = page.getByRole('button', { name: 'お支払いへ進む' });
      await submitInPlace(page, submit);
      assert.equal(await page.locator('[role=alert] a[href="#f-method"]').count(), 1, 'the summary links the field');
      assert.equal(await page.locator('#f-method-error').count(), 1);
      await t.test('axe: pay page with an error', () => expectNoAxeViolations(page, 'pay with an error'));

      // Card → the sandbox gateway's page.
      await page.getByLabel('クレジットカード（Apple Pay / Google Pay も可）').check();
      await Promise.all([
        page.waitForURL((u) => u.pathname.startsWith('/sandbox/pay/'), { waitUntil: 'load' }),
        page.getByRole('button', { name: 'お支払いへ進む' }).click(),
      ]);
      assert.equal(await sidewaysScroll(page), 0, 'the sandbox page fits 360 px');
      await t.test('axe: sandbox page', () => expectNoAxeViolations(page, 'sandbox'));

      // A 3-D Secure challenge, passed.
      await submitInPlace(page, page.getByRole('button', { name: '本人認証（3Dセキュア）へ進む' }));
      await page.getByRole('heading', { name: '本人認証（3Dセキュア）' }).waitFor();
      await t.test('axe: 3-D Secure challenge', () => expectNoAxeViolations(page, 'challenge'));
      await Promise.all([
        page.waitForURL((u) => /^\/payments\/[0-9a-f-]{36}$/.test(u.pathname), { waitUntil: 'load' }),
        page.getByRole('button', { name: '認証する（成功）' }).click(),
      ]);
      const resultPath = new URL(page.url()).pathname;

      // The result page reloads itself (no script) until the webhook has marked it paid.
      const deadline = Date.now() + PAID_WITHIN_MS;
      let sawInFlight = false;
      for (;;) {
        const text = await mainText(page);
        if (text.includes('お支払いが完了しました')) break;
        if (text.includes('処理中')) {
          sawInFlight = true;
          assert.ok(text.includes('秒ごとに自動で更新されます'), 'the page says it reloads itself');
          assert.equal(await page.locator(`a[href="${resultPath}?norefresh=1"]`).count(), 1, 'a link stops it');
        }
        assert.ok(Date.now() < deadline, `still not paid after ${PAID_WITHIN_MS} ms: ${text}`);
        await page.waitForTimeout(500);
      }
      await page.waitForLoadState('load');
      assert.equal(new URL(page.url()).pathname, resultPath, 'still the result page');
      assert.equal(await page.locator('meta[http-equiv="refresh"]').count(), 0, 'a paid payment no longer reloads');
      const summary = await mainText(page);
      for (const expected of ['お支払い済み', '300円', 'クレジットカード（Visa）']) {
        assert.ok(summary.includes(expected), `${expected} on the result page (in flight seen: ${sawInFlight})`);
      }

      // The receipt's download link, and the receipt itself.
      const receipt = page.getByRole('link', { name: '領収書（PDF）をダウンロード' });
      assert.equal(await receipt.count(), 1, 'the receipt link');
      const href = await receipt.getAttribute('href');
      assert.equal(href, `${resultPath}/receipt.pdf`);
      const pdf = await page.request.get(href);
      assert.equal(pdf.status(), 200);
      assert.equal(pdf.headers()['content-type'], 'application/pdf');
      assert.match(pdf.headers()['content-disposition'] ?? '', /^attachment; filename="receipt-R-[0-9A-F]{12}\.pdf"$/);
      assert.equal((await pdf.body()).subarray(0, 4).toString('latin1'), '%PDF');

      assert.equal(await sidewaysScroll(page), 0, 'the result page fits 360 px');
      await t.test('axe: result page, paid', () => expectNoAxeViolations(page, 'result paid'));
    },
    { viewport: PHONE },
  );
});

/** Asserts that `locator` matches exactly one element. */
async function expect1(locator, message) {
  assert.equal(await locator.count(), 1, message);
}
