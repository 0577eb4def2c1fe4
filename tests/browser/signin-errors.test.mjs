// (2) A wrong password re-renders the sign-in form with an alert (HTTP 401).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  PASSWORD,
  createVerifiedResident,
  expectNoAxeViolations,
  fillSignIn,
  launchBrowser,
  uniqueEmail,
  visit,
  withPage,
} from './support.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Submits the sign-in form and expects the 401 re-render with an alert. */
async function expectRejected(page, credentials) {
  await visit(page, '/signin');
  const submit = await fillSignIn(page, credentials);
  const [response] = await Promise.all([
    page.waitForResponse(
      (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/signin' && r.request().isNavigationRequest(),
    ),
    submit.click(),
  ]);
  assert.equal(response.status(), 401, `POST /signin with bad credentials answers 401 (got ${response.status()})`);
  const alert = page.locator('[role="alert"]').first();
  await alert.waitFor({ state: 'visible' });
  await page.waitForLoadState('load');
  assert.equal(new URL(page.url()).pathname, '/signin', 'stays on /signin');
  assert.ok((await alert.innerText()).trim().length > 0, 'the alert has text');
  assert.equal(await page.locator('input[name="password"]').count(), 1, 'the form is shown again');
  assert.equal(await page.locator('input[name="password"]').inputValue(), '', 'the password is not echoed back');
}

test('a wrong password shows an alert and does not sign in', async (t) => {
  await withPage(browser, t, async (page) => {
    const email = uniqueEmail('resident');
    await createVerifiedResident(page, { displayName: '誤入力 太郎', email });
    await expectRejected(page, { email, password: 'Wrong-Password-0000!' });
    await t.test('axe: /signin with error', () => expectNoAxeViolations(page, '/signin with error'));

    // Still signed out.
    await visit(page, '/');
    assert.ok(await page.locator('header a[href="/signin"]').count(), 'still signed out');
  });
});

test('an unknown e-mail address gets the same alert', async (t) => {
  await withPage(browser, t, async (page) => {
    await expectRejected(page, { email: uniqueEmail('nobody'), password: PASSWORD });
  });
});
