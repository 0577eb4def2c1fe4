// Shared helpers for the Madoguchi browser tests.
//
// Environment (set by the Rust harness, or by hand — see README.md):
//   BASE_URL       required, e.g. http://127.0.0.1:43123 (no trailing slash needed)
//   OUTBOX_DIR     required by the tests that read mail: one RFC 5322 .eml per message
//   CHROMIUM_PATH  optional, defaults to /usr/bin/chromium (Debian's package "chromium")
//   ARTIFACTS_DIR  optional, where failure screenshots/HTML go (default ./test-results)

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { simpleParser } from 'mailparser';

const here = dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------
// Configuration

/** Base URL of the server under test, without a trailing slash. Throws (fails the file) if unset. */
export const BASE_URL = readBaseUrl();

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = Object.freeze([
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);

export const AXE_TAGS = Object.freeze(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']);

/** Strong password accepted by any sane policy. */
export const PASSWORD = 'Sakura-Koen-2026!';

/** Demo city name shown on the Japanese home page. */
export const CITY_NAME_JA = 'まどぐち市';

export const ARTIFACTS_DIR = process.env.ARTIFACTS_DIR || join(here, 'test-results');

const DEFAULT_TIMEOUT_MS = 15_000;
const NAVIGATION_TIMEOUT_MS = 20_000;

function readBaseUrl() {
  const raw = (process.env.BASE_URL || '').trim();
  if (!raw) {
    throw new Error(
      'BASE_URL is not set. These browser tests need a running Madoguchi server: ' +
        'the Rust harness sets BASE_URL (and OUTBOX_DIR) itself; to run by hand start ' +
        '`madoguchi serve` and run e.g. `BASE_URL=http://127.0.0.1:8080 OUTBOX_DIR=/path/to/outbox ' +
        'node --test --test-reporter=spec --test-concurrency=1 tests/browser/`.',
    );
  }
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`BASE_URL is not a valid absolute URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`BASE_URL must be http(s): ${JSON.stringify(raw)}`);
  }
  return raw.replace(/\/+$/, '');
}

/** Absolute URL for a path on the server under test. */
export function url(path = '/') {
  return new URL(path, `${BASE_URL}/`).toString();
}

// ---------------------------------------------------------------------------
// Browser

/**
 * Launches Debian's Chromium headless. chromium.launch() always starts the
 * browser with a fresh temporary profile (Playwright passes its own
 * --user-data-dir=<tmp>/playwright_chromiumdev_profile-XXXXXX and deletes it
 * on close; it refuses a --user-data-dir in `args`), so no state leaks
 * between runs.
 */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. Install Debian's package: ` +
        '`apt-get update && apt-get install -y chromium` (do not use `npx playwright install`), ' +
        'or point CHROMIUM_PATH at a Chromium binary.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
    timeout: 60_000,
  });
}

/**
 * New isolated context (own cookies) + page. Japanese by default: the
 * context's locale sets Accept-Language, and headless Chromium would
 * otherwise send en-US.
 */
export async function newPage(browser, { locale = 'ja-JP', viewport = { width: 1280, height: 900 } } = {}) {
  const context = await browser.newContext({
    baseURL: BASE_URL,
    locale,
    viewport,
    serviceWorkers: 'block',
  });
  context.setDefaultTimeout(DEFAULT_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
  const page = await context.newPage();
  return { context, page };
}

/**
 * Runs `fn(page, context)` in a fresh context; on failure saves a screenshot
 * and the HTML under ARTIFACTS_DIR, then rethrows. Always closes the context.
 */
export async function withPage(browser, t, fn, options) {
  const { context, page } = await newPage(browser, options);
  try {
    return await fn(page, context);
  } catch (err) {
    await saveArtifacts(page, t?.name || 'failure');
    throw err;
  } finally {
    await context.close().catch(() => {});
  }
}

/**
 * A full-page screenshot for the reviewer. Chromium now and then answers "Unable to capture
 * screenshot" when a capture follows a viewport change too closely: try again after a frame,
 * and fail only if it keeps refusing.
 */
export async function saveScreenshot(page, path) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await page.screenshot({ path, fullPage: true });
      return;
    } catch (err) {
      if (attempt >= 4) throw err;
      await page.waitForTimeout(250 * attempt);
    }
  }
}

export async function saveArtifacts(page, name) {
  try {
    if (page.isClosed()) return;
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    const base = join(ARTIFACTS_DIR, `${Date.now()}-${name.replace(/[^\w.-]+/g, '_').slice(0, 80)}`);
    await page.screenshot({ path: `${base}.png`, fullPage: true, timeout: 5_000 });
    writeFileSync(`${base}.html`, `<!-- ${page.url()} -->\n${await page.content()}`);
    console.error(`# saved ${base}.png and .html (${page.url()})`);
  } catch {
    /* best effort */
  }
}

/** Navigates with page.goto and returns the main response (never null). */
export async function visit(page, path) {
  const response = await page.goto(path, { waitUntil: 'load' });
  if (!response) throw new Error(`no response for GET ${path}`);
  return response;
}

/**
 * Clicks `submit` (a locator for a submit button) and waits until the
 * browser has navigated to a URL whose path is `toPath` and that page has
 * loaded. Returns the response to the form POST (e.g. the 303), if seen.
 */
export async function submitAndWaitFor(page, submit, toPath) {
  const post = page
    .waitForResponse((r) => r.request().method() === 'POST' && r.request().isNavigationRequest(), {
      timeout: NAVIGATION_TIMEOUT_MS,
    })
    .catch(() => null);
  await Promise.all([
    page.waitForURL((u) => u.pathname === toPath, { waitUntil: 'load', timeout: NAVIGATION_TIMEOUT_MS }),
    submit.click(),
  ]);
  return post;
}

/** lang attribute of the document element. */
export function htmlLang(page) {
  return page.evaluate(() => document.documentElement.getAttribute('lang'));
}

// ---------------------------------------------------------------------------
// Accessibility

/**
 * Runs axe-core (WCAG 2.0/2.1 A and AA rules) on the current page and throws
 * a readable list of violations if there are any. Returns the axe results.
 */
export async function expectNoAxeViolations(page, label = page.url()) {
  const results = await new AxeBuilder({ page }).withTags([...AXE_TAGS]).analyze();
  if (results.violations.length > 0) {
    const err = new Error(formatViolations(label, page.url(), results.violations));
    err.violations = results.violations;
    await saveArtifacts(page, `axe-${label}`);
    throw err;
  }
  return results;
}

export function formatViolations(label, pageUrl, violations) {
  const nodeCount = violations.reduce((n, v) => n + v.nodes.length, 0);
  const lines = [
    `axe-core found ${violations.length} accessibility violation(s) on ${nodeCount} element(s) at "${label}" (${pageUrl}):`,
  ];
  for (const v of violations) {
    lines.push('');
    lines.push(`  [${v.impact ?? 'unknown'}] ${v.id}: ${v.help}`);
    lines.push(`      ${v.helpUrl}`);
    const shown = v.nodes.slice(0, 10);
    for (const node of shown) {
      const target = node.target.map((t) => (Array.isArray(t) ? t.join(' >>> ') : t)).join(' | ');
      lines.push(`      - ${target}`);
      const summary = (node.failureSummary || '')
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean)
        .slice(0, 3)
        .join(' / ');
      if (summary) lines.push(`          ${summary}`);
    }
    if (v.nodes.length > shown.length) lines.push(`      … and ${v.nodes.length - shown.length} more element(s)`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
// Test data

let emailCounter = 0;

/** A fresh address per call, e.g. resident-1767225600000-4242-1@example.jp */
export function uniqueEmail(prefix = 'resident') {
  emailCounter += 1;
  return `${prefix}-${Date.now()}-${process.pid}-${emailCounter}@example.jp`;
}

// ---------------------------------------------------------------------------
// Mail (the server writes every outgoing message to OUTBOX_DIR as .eml)

export function outboxDir() {
  const dir = (process.env.OUTBOX_DIR || '').trim();
  if (!dir) {
    throw new Error(
      'OUTBOX_DIR is not set: it must name the directory where the server writes outgoing mail as .eml files.',
    );
  }
  return dir;
}

const parsedCache = new Map(); // path -> { size, mtimeMs, mail }

async function parseEml(path) {
  const st = statSync(path);
  const cached = parsedCache.get(path);
  if (cached && cached.size === st.size && cached.mtimeMs === st.mtimeMs) return cached.mail;
  // mailparser decodes quoted-printable / base64 bodies and RFC 2047 headers.
  const mail = await simpleParser(readFileSync(path), { skipImageLinks: true, skipTextLinks: true });
  parsedCache.set(path, { size: st.size, mtimeMs: st.mtimeMs, mail });
  return mail;
}

function recipients(mail) {
  const out = [];
  for (const field of [mail.to, mail.cc, mail.bcc]) {
    for (const group of [field].flat().filter(Boolean)) {
      for (const addr of group.value || []) {
        if (addr.address) out.push(addr.address.toLowerCase());
        for (const member of addr.group || []) if (member.address) out.push(member.address.toLowerCase());
      }
    }
  }
  return out;
}

/** Plain-text body of a parsed mail (falls back to the HTML part's text). */
export function mailText(mail) {
  if (mail.text && mail.text.trim()) return mail.text;
  if (typeof mail.html === 'string') return mail.html.replace(/<[^>]+>/g, ' ').replace(/&amp;/g, '&');
  return '';
}

/**
 * Polls OUTBOX_DIR (every 200 ms, up to `timeoutMs`) for a message addressed
 * to `to` for which `accept(mail, text)` is true. Files are read in name
 * order (= time order). Returns { file, mail, text }.
 */
export async function waitForMail({ to, accept = () => true, timeoutMs = 10_000 } = {}) {
  const dir = outboxDir();
  const wanted = String(to).toLowerCase();
  const deadline = Date.now() + timeoutMs;
  let seen = [];
  let lastError = null;
  for (;;) {
    seen = [];
    let names = [];
    try {
      names = readdirSync(dir)
        .filter((n) => n.toLowerCase().endsWith('.eml'))
        .sort();
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
    for (const name of names) {
      const file = join(dir, name);
      let mail;
      try {
        mail = await parseEml(file);
      } catch (err) {
        lastError = err; // possibly still being written; retry on the next poll
        continue;
      }
      const rcpt = recipients(mail);
      seen.push(`${name}: to=${rcpt.join(',') || '?'} subject=${JSON.stringify(mail.subject ?? '')}`);
      if (!rcpt.includes(wanted)) continue;
      const text = mailText(mail);
      if (accept(mail, text)) return { file, mail, text };
    }
    if (Date.now() >= deadline) break;
    await sleep(200);
  }
  throw new Error(
    `No matching mail to ${to} appeared in ${dir} within ${timeoutMs} ms.` +
      (existsSync(dir) ? '' : ' (The directory does not exist.)') +
      `\nMessages seen (${seen.length}):\n  ${seen.slice(-20).join('\n  ') || '(none)'}` +
      (lastError ? `\nLast parse error: ${lastError.message}` : ''),
  );
}

const VERIFY_LINK_RE = /https?:\/\/[^\s<>"'()]+\/verify-email\?token=[^\s<>"'()]+/;

/** The absolute verification URL in a mail body, or null. */
export function findVerificationLink(text) {
  const m = VERIFY_LINK_RE.exec(text || '');
  return m ? m[0].replace(/[.,;:!?。、」』）]+$/u, '') : null;
}

/** Waits for the verification mail to `email` and returns the absolute link. */
export async function waitForVerificationLink(email, timeoutMs = 10_000) {
  const { text, file } = await waitForMail({
    to: email,
    timeoutMs,
    accept: (_mail, body) => findVerificationLink(body) !== null,
  });
  const link = findVerificationLink(text);
  const linkUrl = new URL(link);
  const base = new URL(BASE_URL);
  if (linkUrl.origin !== base.origin) {
    throw new Error(
      `The verification link in ${file} points to ${linkUrl.origin}, not to the server under test ` +
        `(${base.origin}); the server's public base URL must be configured to BASE_URL. Link: ${link}`,
    );
  }
  return link;
}

// ---------------------------------------------------------------------------
// Flows shared by several tests

/** Fills and submits /signup; resolves on /signup/sent. Returns the POST response. */
export async function signUp(page, { displayName, email, password = PASSWORD }) {
  await visit(page, '/signup');
  const form = page.locator('form').filter({ has: page.locator('input[name="email"]') });
  await form.locator('input[name="display_name"]').fill(displayName);
  await form.locator('input[name="email"]').fill(email);
  await form.locator('input[name="password"]').fill(password);
  return submitAndWaitFor(page, form.locator('button[type="submit"]'), '/signup/sent');
}

/** Fills the sign-in form on the current page (e.g. /signin) and clicks submit without waiting. */
export async function fillSignIn(page, { email, password }) {
  const form = page.locator('form').filter({ has: page.locator('input[name="password"]') });
  await form.locator('input[name="email"]').fill(email);
  await form.locator('input[name="password"]').fill(password);
  return form.locator('button[type="submit"]');
}

/** Signs up and follows the mailed verification link. Returns the verification URL. */
export async function createVerifiedResident(page, { displayName, email, password = PASSWORD }) {
  await signUp(page, { displayName, email, password });
  const link = await waitForVerificationLink(email);
  const response = await visit(page, link);
  if (!response.ok()) throw new Error(`GET ${link} returned ${response.status()}`);
  // The link only shows a confirmation button (mail scanners open links); press it.
  const confirm = page.locator('main form[action="/verify-email"] button[type="submit"]');
  const [verified] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === '/verify-email' && r.request().method() === 'POST'),
    confirm.click(),
  ]);
  if (verified.status() !== 200) throw new Error(`POST /verify-email returned ${verified.status()}`);
  await page.waitForLoadState('load');
  return link;
}
