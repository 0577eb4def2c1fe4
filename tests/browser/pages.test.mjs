// Page structure for the signed-out pages, and (4) axe-core on each of them.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { CITY_NAME_JA, expectNoAxeViolations, htmlLang, launchBrowser, visit, withPage } from './support.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Every visible form control has a <label for> naming it. */
async function assertLabelled(page, names) {
  for (const name of names) {
    const input = page.locator(`form input[name="${name}"]`);
    assert.equal(await input.count(), 1, `one input[name="${name}"]`);
    const id = await input.getAttribute('id');
    assert.ok(id, `input[name="${name}"] has an id`);
    const label = page.locator(`label[for="${id}"]`);
    assert.equal(await label.count(), 1, `input[name="${name}"] has a <label for="${id}">`);
    assert.ok((await label.innerText()).trim(), `the label of ${name} has text`);
  }
}

async function assertCsrfField(page) {
  const csrf = page.locator('form input[type="hidden"][name="csrf_token"]');
  assert.equal(await csrf.count(), 1, 'the form has a hidden csrf_token');
  assert.ok(((await csrf.getAttribute('value')) || '').length >= 16, 'csrf_token has a value');
}

test('home page (signed out)', async (t) => {
  await withPage(browser, t, async (page) => {
    const res = await visit(page, '/');
    assert.equal(res.status(), 200);
    assert.equal(await htmlLang(page), 'ja');
    assert.ok((await page.title()).trim(), 'the page has a <title>');
    const h1 = page.locator('h1');
    assert.equal(await h1.count(), 1, 'exactly one <h1>');
    assert.ok((await h1.innerText()).includes(CITY_NAME_JA), `<h1> names the city (${CITY_NAME_JA})`);
    assert.ok((await page.locator('main li').count()) > 0, 'the home page lists services');
    assert.equal(await page.locator('header a[href="/signin"]').count(), 1, 'header links to /signin');
    assert.equal(await page.locator('header a[href="/signup"]').count(), 1, 'header links to /signup');
    const langSwitch = page.locator('a[hreflang="en"]');
    assert.ok((await langSwitch.count()) >= 1, 'a language switch link with hreflang="en"');
    await t.test('axe: /', () => expectNoAxeViolations(page, '/'));
  });
});

test('sign-up form', async (t) => {
  await withPage(browser, t, async (page) => {
    const res = await visit(page, '/signup');
    assert.equal(res.status(), 200);
    await assertLabelled(page, ['display_name', 'email', 'password']);
    await assertCsrfField(page);
    assert.equal(await page.locator('form button[type="submit"]').count(), 1, 'one submit button');
    await t.test('axe: /signup', () => expectNoAxeViolations(page, '/signup'));
  });
});

test('sign-in form', async (t) => {
  await withPage(browser, t, async (page) => {
    const res = await visit(page, '/signin');
    assert.equal(res.status(), 200);
    await assertLabelled(page, ['email', 'password']);
    await assertCsrfField(page);
    assert.equal(await page.locator('form button[type="submit"]').count(), 1, 'one submit button');
    await t.test('axe: /signin', () => expectNoAxeViolations(page, '/signin'));
  });
});

test('staff sign-in form', async (t) => {
  await withPage(browser, t, async (page) => {
    const res = await visit(page, '/staff/signin');
    assert.equal(res.status(), 200);
    await assertLabelled(page, ['email', 'password']);
    await assertCsrfField(page);
    assert.equal(await page.locator('form button[type="submit"]').count(), 1, 'one submit button');
    await t.test('axe: /staff/signin', () => expectNoAxeViolations(page, '/staff/signin'));
  });
});

test('unknown path gives a Japanese 404 page', async (t) => {
  await withPage(browser, t, async (page) => {
    const res = await visit(page, '/no-such-page');
    assert.equal(res.status(), 404);
    assert.equal(await htmlLang(page), 'ja');
    assert.ok((await page.title()).trim(), 'the 404 page has a <title>');
    assert.ok(await page.locator('h1').count(), 'the 404 page has an <h1>');
    await t.test('axe: 404 page', () => expectNoAxeViolations(page, '404 page'));
  });
});
