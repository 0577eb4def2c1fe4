// (3) English: ?lang=en switches (and sticks via a cookie); Accept-Language en also works.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { expectNoAxeViolations, htmlLang, launchBrowser, visit, withPage } from './support.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const KANA = /[\u3040-\u30ff]/; // hiragana or katakana: Japanese UI text

async function labelText(page, name) {
  const id = await page.locator(`form input[name="${name}"]`).getAttribute('id');
  return (await page.locator(`label[for="${id}"]`).innerText()).trim();
}

test('?lang=en switches to English and the choice sticks', async (t) => {
  await withPage(browser, t, async (page, context) => {
    await visit(page, '/');
    assert.equal(await htmlLang(page), 'ja', 'Japanese by default');

    const res = await visit(page, '/?lang=en');
    assert.equal(res.status(), 200);
    assert.equal(await htmlLang(page), 'en', '/?lang=en gives <html lang="en">');
    const cookies = await context.cookies();
    assert.ok(cookies.length > 0, '?lang=en sets a cookie');
    assert.ok(await page.locator('a[hreflang="ja"]').count(), 'a switch back to Japanese (hreflang="ja")');
    await t.test('axe: English home', () => expectNoAxeViolations(page, 'English home'));

    // The next pages, without the query parameter, are English.
    await visit(page, '/signin');
    assert.equal(await htmlLang(page), 'en', '/signin is English after switching');
    assert.match(await labelText(page, 'email'), /e-?mail/i, 'English e-mail label');
    assert.match(await labelText(page, 'password'), /password/i, 'English password label');
    const submitText = (await page.locator('form button[type="submit"]').innerText()).trim();
    assert.ok(submitText && !KANA.test(submitText), `English submit button (got ${JSON.stringify(submitText)})`);
    await t.test('axe: English /signin', () => expectNoAxeViolations(page, 'English /signin'));

    await visit(page, '/signup');
    assert.equal(await htmlLang(page), 'en', '/signup is English after switching');
    assert.match(await labelText(page, 'password'), /password/i, 'English password label on /signup');

    const notFound = await visit(page, '/no-such-page');
    assert.equal(notFound.status(), 404);
    assert.equal(await htmlLang(page), 'en', 'the 404 page is English after switching');
    await t.test('axe: English 404 page', () => expectNoAxeViolations(page, 'English 404 page'));

    // And back.
    await visit(page, '/?lang=ja');
    assert.equal(await htmlLang(page), 'ja', '/?lang=ja switches back');
    await visit(page, '/signin');
    assert.equal(await htmlLang(page), 'ja', 'Japanese sticks too');
  });
});

test('Accept-Language preferring English gives English pages', async (t) => {
  await withPage(
    browser,
    t,
    async (page) => {
      await visit(page, '/');
      assert.equal(await htmlLang(page), 'en', 'Accept-Language: en-US gives <html lang="en">');
      await visit(page, '/signin');
      assert.match(await labelText(page, 'email'), /e-?mail/i, 'English e-mail label');
    },
    { locale: 'en-US' },
  );
});
