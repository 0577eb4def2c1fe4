// The administrator's capability switches and the decoded outbox, in a real browser with
// axe-core: turning reservations off takes them off the home page at once (and back on);
// a message in /admin/outbox reads as the resident reads it, subject and text decoded.
// The Rust harness passes the administrator's sign-in in ADMIN_EMAIL and ADMIN_PASSWORD.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  expectNoAxeViolations,
  fillSignIn,
  launchBrowser,
  newPage,
  signUp,
  submitAndWaitFor,
  uniqueEmail,
  visit,
  waitForVerificationLink,
  withPage,
} from './support.mjs';

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

async function signInAdmin(page) {
  await visit(page, '/staff/signin');
  const submit = await fillSignIn(page, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
  await submitAndWaitFor(page, submit, '/staff');
}

/** Presses the switch button of `capability` on /admin/capabilities. */
async function pressSwitch(page, capability) {
  const form = page.locator('main form[action="/admin/capabilities"]').filter({
    has: page.locator(`input[name="capability"][value="${capability}"]`),
  });
  await submitAndWaitFor(page, form.locator('button[type="submit"]'), '/admin/capabilities');
}

test('an administrator turns reservations off and on; the home page follows at once', async (t) => {
  await withPage(browser, t, async (page) => {
    await signInAdmin(page);
    await visit(page, '/admin/capabilities');
    await t.test('axe: /admin/capabilities', () => expectNoAxeViolations(page, '/admin/capabilities'));
    assert.match(await page.locator('main').innerText(), /このバージョンにはまだありません/, 'unbuilt capabilities say so');
    assert.equal(
      await page.locator('main input[name="capability"][value="facilities"]').count(),
      0,
      'no button for a capability this build lacks',
    );

    // A signed-out visitor in a context of their own.
    const visitor = await newPage(browser);
    const home = visitor.page;
    try {
      await pressSwitch(page, 'reservations');
      await page.locator('[role="status"]').first().waitFor({ state: 'visible' });
      await t.test('axe: /admin/capabilities after a switch', () =>
        expectNoAxeViolations(page, '/admin/capabilities after a switch'),
      );
      await home.goto('/');
      assert.equal(await home.locator('main a.button[href="/reservations"]').count(), 0, 'no booking button when off');
      assert.doesNotMatch(await home.locator('main').innerText(), /相談の予約/, 'no reservation cards when off');
    } finally {
      await visit(page, '/admin/capabilities');
      const state = page.locator('main form[action="/admin/capabilities"] input[name="state"]');
      if ((await state.first().getAttribute('value')) === 'on') await pressSwitch(page, 'reservations');
    }
    await home.goto('/');
    assert.equal(await home.locator('main a.button[href="/reservations"]').count(), 1, 'offered again');
    await visitor.context.close();
  });
});

test('a verification mail in the outbox reads decoded', async (t) => {
  await withPage(browser, t, async (page) => {
    const email = uniqueEmail('outbox');
    const resident = await newPage(browser);
    await signUp(resident.page, { displayName: '受信 花子', email });
    const link = await waitForVerificationLink(email);
    await resident.context.close();

    await signInAdmin(page);
    // The newest messages first; other tests' mail may have arrived since, so find ours.
    await visit(page, '/admin/outbox');
    const names = await page.locator('main a[href^="/admin/outbox/"]').evaluateAll((links) =>
      links.slice(0, 10).map((a) => a.getAttribute('href')),
    );
    let found = false;
    for (const name of names) {
      await visit(page, name);
      if ((await page.locator('main dl').innerText()).includes(email)) {
        found = true;
        break;
      }
    }
    assert.ok(found, `the mail to ${email} is among the newest in the outbox`);
    await t.test('axe: an outbox message', () => expectNoAxeViolations(page, 'outbox message'));
    assert.match(await page.locator('main h1').innerText(), /メールアドレスの確認/, 'the subject, decoded');
    const text = await page.locator('main pre').innerText();
    assert.ok(text.includes('受信 花子 様'), 'the text, decoded');
    assert.ok(text.includes(link), 'the link to follow');
    assert.ok((await page.locator('main dl').innerText()).includes(email), 'the recipient');
  });
});
