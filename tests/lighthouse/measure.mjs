// The resident pages as a resident meets them, measured: Lighthouse's accessibility score (on
// Debian's Chromium, a phone profile) and each page's weight in bytes of HTML, CSS and JS.
//
// Run by `madoguchi bench pages`, which starts `madoguchi serve` on a new data directory and
// passes BASE_URL and OUTBOX_ROOT (the data directory's outbox). The walk reuses the browser tests' helpers: a resident signs
// up, confirms the mail, signs in, opens a service, a month, a day and the form, books, and
// opens "my reservations". Prints one JSON object on its last line; everything else goes to
// stderr.

import { existsSync, readdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';

import lighthouse from 'lighthouse';
import * as chromeLauncher from 'chrome-launcher';

import {
  CHROMIUM_PATH,
  PASSWORD,
  fillSignIn,
  launchBrowser,
  newPage,
  signUp,
  uniqueEmail,
  url,
  visit,
  waitForVerificationLink,
} from '../browser/support.mjs';

const log = (...args) => console.error(...args);

/** Bytes of one GET's body as sent: compressed when `compressed` and the server compresses. */
function bodyBytes(address, { cookies, lang, compressed }) {
  const headers = { cookie: cookies, 'accept-language': lang };
  if (compressed) headers['accept-encoding'] = 'br, gzip';
  return new Promise((resolve, reject) => {
    const request = http.get(address, { headers }, (response) => {
      let bytes = 0;
      response.on('data', (chunk) => {
        bytes += chunk.length;
      });
      response.on('end', () => resolve(bytes));
    });
    request.on('error', reject);
  });
}

/**
 * A page's weight in one language: bytes of its HTML and of the stylesheets and scripts it
 * loads, as stored (uncompressed) and as sent to a browser that accepts compression (`wire`),
 * fetched uncached.
 */
async function weigh(address, sources, cookies, lang) {
  const sum = async (urls, compressed) => {
    let total = 0;
    for (const u of urls) total += await bodyBytes(u, { cookies, lang, compressed });
    return total;
  };
  const options = { cookies, lang };
  return {
    html: await bodyBytes(address, { ...options, compressed: false }),
    css: await sum(sources.css, false),
    js: await sum(sources.js, false),
    wire:
      (await bodyBytes(address, { ...options, compressed: true })) +
      (await sum(sources.css, true)) +
      (await sum(sources.js, true)),
  };
}

/** Fills whatever the booking form asks with plausible answers. */
async function fillBookingForm(page) {
  const form = page.locator('main form').filter({ has: page.locator('button[type="submit"]') }).last();
  for (const [name, value] of [
    ['birth_year', '1975'],
    ['birth_month', '4'],
    ['birth_day', '2'],
  ]) {
    const select = form.locator(`select[name="${name}"]`);
    if (await select.count()) await select.selectOption(value);
  }
  const birth = form.locator('input[name="birth_date"]');
  if (await birth.count()) await birth.fill('1975-04-02');
  const radios = await form.locator('input[type="radio"]').evaluateAll((els) => [...new Set(els.map((e) => e.name))]);
  for (const name of radios) {
    const female = form.locator(`input[type="radio"][name="${name}"][value="female"]`);
    await ((await female.count()) ? female : form.locator(`input[type="radio"][name="${name}"]`).first()).check();
  }
  for (const input of await form.locator('input[type="number"]').all()) {
    if (!(await input.inputValue())) await input.fill((await input.getAttribute('min')) || '1');
  }
  for (const input of await form.locator('input[type="date"]:not([name="birth_date"])').all()) {
    if (!(await input.inputValue())) await input.fill(new Date().toISOString().slice(0, 10));
  }
  for (const input of await form.locator('input[type="text"], textarea').all()) {
    if ((await input.isVisible()) && !(await input.inputValue())) await input.fill('なし');
  }
  return form.locator('button[type="submit"]').last();
}

/** Walks the resident's pages; returns [{ name, path }] in the order a resident meets them. */
async function residentWalk(page) {
  const pages = [{ name: 'home', path: '/' }];
  const email = uniqueEmail('measure');
  await signUp(page, { displayName: '計測 花子', email });
  // `serve` writes each city's mail to its own folder under the outbox: find the demo city's.
  process.env.OUTBOX_DIR = await cityOutbox(process.env.OUTBOX_ROOT);
  await visit(page, await waitForVerificationLink(email));
  await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === '/verify-email' && r.request().method() === 'POST'),
    page.locator('main form[action="/verify-email"] button[type="submit"]').click(),
  ]);
  await page.waitForLoadState('load');
  await visit(page, '/signin');
  const submit = await fillSignIn(page, { email, password: PASSWORD });
  await Promise.all([page.waitForURL((u) => u.pathname !== '/signin', { waitUntil: 'load' }), submit.click()]);
  pages.push({ name: 'services', path: '/reservations' });
  await visit(page, '/reservations');
  const services = await page
    .locator('main a[href^="/reservations/"]')
    .evaluateAll((as) => as.map((a) => new URL(a.href).pathname).filter((p) => p.split('/').length === 3));
  for (const service of services) {
    await visit(page, service);
    // This month or the next: the first day that can still be booked.
    let days = await dayLinks(page, service);
    if (!days.length) {
      const next = page.locator(`main a[href^="${service}?month="]`).last();
      if (await next.count()) {
        const href = new URL(await next.evaluate((a) => a.href));
        await visit(page, href.pathname + href.search);
        days = await dayLinks(page, service);
      }
    }
    for (const day of days) {
      await visit(page, day);
      const book = page.locator('main a[href^="/reservations/book/"]').first();
      if (!(await book.count())) continue;
      const form = new URL(await book.evaluate((a) => a.href)).pathname;
      pages.push({ name: 'month', path: service });
      pages.push({ name: 'day', path: day });
      pages.push({ name: 'form', path: form });
      await visit(page, form);
      const submit = await fillBookingForm(page);
      await Promise.all([page.waitForLoadState('load'), submit.click()]);
      await page.waitForLoadState('load');
      const landed = new URL(page.url()).pathname;
      if (landed.startsWith('/my/reservations/')) pages.push({ name: 'confirmation', path: landed });
      else log(`booking did not complete (landed on ${landed}); measuring the pages anyway`);
      pages.push({ name: 'my reservations', path: '/my/reservations' });
      return pages;
    }
  }
  throw new Error('no service of the demo city has a day that can be booked');
}

/** The one city folder under the outbox root, once the first mail has made it. */
async function cityOutbox(root) {
  for (let i = 0; i < 100; i += 1) {
    const dirs = existsSync(root) ? readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()) : [];
    if (dirs.length === 1) return join(root, dirs[0].name);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no city folder appeared under the outbox ${root}`);
}

async function dayLinks(page, service) {
  return page
    .locator(`main a[href^="${service}/"]`)
    .evaluateAll((as) => as.map((a) => new URL(a.href).pathname));
}

async function main() {
  const browser = await launchBrowser();
  const { context, page } = await newPage(browser, { viewport: { width: 360, height: 780 } });
  let walk;
  try {
    walk = await residentWalk(page);
  } catch (err) {
    await browser.close();
    throw err;
  }
  // The session only: the language is chosen per run by Accept-Language.
  const cookies = (await context.cookies())
    .filter((c) => c.name !== 'lang')
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');

  const chrome = await chromeLauncher.launch({
    chromePath: CHROMIUM_PATH,
    chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const results = [];
  try {
    for (const lang of ['ja', 'en']) {
      for (const { name, path } of walk) {
        await visit(page, path);
        const sources = await page.evaluate(() => ({
          css: [...document.querySelectorAll('link[rel="stylesheet"][href]')].map((l) => l.href),
          js: [...document.querySelectorAll('script[src]')].map((s) => s.src),
        }));
        const weight = await weigh(url(path), sources, cookies, lang);
        const run = await lighthouse(url(path), {
          port: chrome.port,
          output: 'json',
          logLevel: 'error',
          onlyCategories: ['accessibility'],
          // Keep the resident's session: Lighthouse would clear cookies between pages.
          disableStorageReset: true,
          extraHeaders: { Cookie: cookies, 'Accept-Language': lang },
        });
        if (new URL(run.lhr.finalDisplayedUrl).pathname !== path) {
          throw new Error(`Lighthouse measured ${run.lhr.finalDisplayedUrl}, not ${path}: was the session lost?`);
        }
        const category = run.lhr.categories.accessibility;
        const failed = Object.values(run.lhr.audits)
          .filter((a) => a.score !== null && a.score < 1 && category.auditRefs.some((r) => r.id === a.id && r.weight > 0))
          .map((a) => a.id);
        const accessibility = Math.round(category.score * 100);
        results.push({ name, path, lang, accessibility, failed, ...weight });
        log(
          `${lang} ${name.padEnd(18)} "${await page.title()}" a11y ${String(accessibility).padStart(3)}  html ${weight.html}  css ${weight.css}  ` +
            `js ${weight.js}  wire ${weight.wire}${failed.length ? `  failed: ${failed.join(', ')}` : ''}`,
        );
      }
    }
  } finally {
    await chrome.kill();
    await context.close();
    await browser.close();
  }
  console.log(JSON.stringify({ lighthouse: (await import('lighthouse/package.json', { with: { type: 'json' } })).default.version, pages: results }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
