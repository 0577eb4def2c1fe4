// (1) Sign up -> verification mail -> verify -> sign in -> /account -> sign out,
// with an axe-core check on every page on the way.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  PASSWORD,
  expectNoAxeViolations,
  fillSignIn,
  htmlLang,
  launchBrowser,
  signUp,
  submitAndWaitFor,
  uniqueEmail,
  visit,
  waitForVerificationLink,
  withPage,
} from './support.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('a resident signs up, verifies the e-mail address, signs in and signs out', async (t) => {
  const email = uniqueEmail('resident');
  const displayName = '窓口 花子';

  await withPage(browser, t, async (page) => {
    // Home, signed out.
    await visit(page, '/');
    assert.equal(await htmlLang(page), 'ja', 'Japanese is the default language');
    assert.ok(await page.locator('header a[href="/signin"]').count(), 'signed-out header links to /signin');

    // Sign up.
    await visit(page, '/signup');
    await t.test('axe: /signup', () => expectNoAxeViolations(page, '/signup'));
    const post = await signUp(page, { displayName, email, password: PASSWORD });
    if (post) assert.equal(post.status(), 303, 'POST /signup answers 303 See Other');
    assert.equal(new URL(page.url()).pathname, '/signup/sent');
    await t.test('axe: /signup/sent', () => expectNoAxeViolations(page, '/signup/sent'));

    // The verification mail.
    const link = await waitForVerificationLink(email);
    t.diagnostic(`verification link: ${link.replace(/token=.*/, 'token=…')}`);

    // Verify: the link opens a confirmation page (mail scanners that open links must not
    // spend the token); the button confirms.
    const opened = await visit(page, link);
    assert.equal(opened.status(), 200, `GET /verify-email answers 200 (got ${opened.status()})`);
    await t.test('axe: /verify-email confirmation', () => expectNoAxeViolations(page, '/verify-email confirmation'));
    const confirm = page.locator('main form[action="/verify-email"] button[type="submit"]');
    const [verified] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/verify-email' && r.request().method() === 'POST'),
      confirm.click(),
    ]);
    assert.equal(verified.status(), 200, `POST /verify-email answers 200 (got ${verified.status()})`);
    await page.waitForLoadState('load');
    const toSignin = page.locator('main a[href="/signin"], main a[href^="/signin?"]').first();
    await toSignin.waitFor({ state: 'visible' });
    await t.test('axe: /verify-email result', () => expectNoAxeViolations(page, '/verify-email result'));

    // Sign in through the link on the verification page.
    await Promise.all([page.waitForURL((u) => u.pathname === '/signin'), toSignin.click()]);
    await t.test('axe: /signin', () => expectNoAxeViolations(page, '/signin'));
    const submit = await fillSignIn(page, { email, password: PASSWORD });
    const signinPost = await submitAndWaitFor(page, submit, '/account');
    if (signinPost) assert.equal(signinPost.status(), 303, 'POST /signin answers 303 on success');

    // Account page.
    await page.getByText(email).first().waitFor({ state: 'visible' });
    assert.ok((await page.locator('main').innerText()).includes(email), '/account shows the e-mail address');
    const signout = page.locator('form[action="/signout"]');
    assert.equal(await signout.count(), 1, '/account has a sign-out form');
    assert.ok(await signout.locator('[type="submit"]').count(), 'the sign-out form has a submit button');
    assert.equal(await page.locator('header a[href="/signin"]').count(), 0, 'no sign-in link while signed in');
    await t.test('axe: /account', () => expectNoAxeViolations(page, '/account'));

    // Sign out.
    await submitAndWaitFor(page, signout.locator('[type="submit"]').first(), '/');
    await page.locator('header a[href="/signin"]').first().waitFor({ state: 'visible' });
    assert.ok(!(await page.locator('body').innerText()).includes(email), 'the home page no longer shows the e-mail');

    // The account page is no longer reachable.
    await visit(page, '/account');
    assert.ok(
      !(await page.locator('body').innerText()).includes(email),
      `after sign-out /account must not show the resident (ended at ${page.url()})`,
    );
  });
});
