// (7) What a resident is told by mail, with JavaScript switched off in the browser: an
// administrator defines a consultation with questions through the JSON API; a resident signs up
// (verified through the mailed link), browses the services, a month, a day, books a session by
// answering the questions, and reads the confirmation mail in OUTBOX_DIR: its subject names the
// service, its text shows the date and time of the confirmation page and links to that page,
// and a text/calendar part (METHOD:REQUEST) is attached. The resident then cancels from "my
// reservations" and reads the cancellation mail (METHOD:CANCEL). axe-core checks every page.
// The Rust harness passes the administrator's sign-in in ADMIN_EMAIL and ADMIN_PASSWORD.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { simpleParser } from 'mailparser';

import {
  BASE_URL,
  PASSWORD,
  createVerifiedResident,
  expectNoAxeViolations,
  fillSignIn,
  launchBrowser,
  outboxDir,
  saveArtifacts,
  submitAndWaitFor,
  uniqueEmail,
  url,
  visit,
  waitForMail,
} from './support.mjs';

const ADMIN_EMAIL = process.env.ADMIN_EMAIL;
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD;

let browser;
/** Where axe runs (scripts on); see expectNoAxeViolationsWithoutScripts. */
let axeContext;
before(async () => {
  assert.ok(ADMIN_EMAIL && ADMIN_PASSWORD, 'ADMIN_EMAIL and ADMIN_PASSWORD must be set by the harness');
  browser = await launchBrowser();
  axeContext = await browser.newContext({ baseURL: BASE_URL, locale: 'ja-JP', viewport: { width: 1280, height: 900 } });
});
after(async () => {
  await axeContext?.close();
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

/** The Tokyo date `YYYY-MM-DD` of an instant. */
function tokyoDate(instant) {
  return new Date(instant.getTime() + 9 * 3600 * 1000).toISOString().slice(0, 10);
}

/** `20260710T003000Z`, as in DTSTART. */
function icsStamp(instant) {
  return instant.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * A consultation with a required and an optional question, and one session of three seats a
 * week ahead from 9:30 to 10:00 in Tokyo (an hour before 10, where a clock may or may not be
 * written with a leading zero). Returns its code, name, the session's Tokyo date and start.
 */
async function createConsultation() {
  const { token } = await api('POST', '/api/v1/tokens', {
    body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, kind: 'staff' },
  });
  const suffix = String(Date.now() % 1_000_000).padStart(6, '0');
  const code = `kosodate-${suffix}`;
  const name = `子育て相談 ${suffix.slice(-4)}`;
  const service = await api('POST', '/api/v1/services', {
    token,
    expected: 201,
    body: {
      code,
      kind: 'consultation',
      name_ja: name,
      name_en: `Parenting consultation ${suffix.slice(-4)}`,
      rules: {
        window: { opens_days_before: 60, opens_at_local: '09:00', closes_hours_before: 24 },
        cancellation: { deadline_hours_before: 48 },
        questions: [
          { id: 'topic', label_ja: 'ご相談の内容', label_en: 'What you would like to talk about', required: true },
          { id: 'child_age', label_ja: 'お子さんの年齢', label_en: "Your child's age", required: false },
        ],
      },
    },
  });
  const offices = await api('GET', '/api/v1/offices', { token });
  assert.ok(offices.length > 0, 'the demo city has offices');
  // A day the city keeps open (the harness computes it with the municipal calendar).
  const date = process.env.OPEN_DATE;
  assert.match(date ?? '', /^\d{4}-\d{2}-\d{2}$/, 'OPEN_DATE is given');
  const start = new Date(`${date}T09:30:00+09:00`);
  const end = new Date(`${date}T10:00:00+09:00`);
  const added = await api('POST', `/api/v1/services/${service.id}/slots`, {
    token,
    body: { slots: [{ office_id: offices[0].id, starts_at: start.toISOString(), ends_at: end.toISOString(), capacity: 3 }] },
  });
  assert.equal(added.added, 1, 'one slot added');
  return { code, name, date, start };
}

/** The page's `main dl.summary` as a map from each term to its description. */
async function summaryOf(page) {
  const list = page.locator('main dl.summary').first();
  const terms = await list.locator('dt').allInnerTexts();
  const descriptions = await list.locator('dd').allInnerTexts();
  assert.equal(terms.length, descriptions.length, 'every term has its description');
  return new Map(terms.map((term, i) => [term.trim(), descriptions[i].trim()]));
}

/**
 * A date and time as a reader compares them: the page writes `2026年7月10日（金） 9:30〜10:00`,
 * the mail `2026年7月10日（金）09:30〜10:00`; spaces and a clock's leading zero are dropped.
 */
function sameWhen(text) {
  return text.replace(/\s+/g, '').replace(/(^|[^\d])0(\d:\d\d)/g, '$1$2');
}

/** The `日時：…` line of a reservation mail. */
function whenInMail(text) {
  const line = /日時：(.+)/.exec(text);
  assert.ok(line, `the mail has a 日時 line:\n${text}`);
  return line[1].trim();
}

/** The text/calendar parts of a parsed mail, unfolded. */
function calendarsOf(mail) {
  return (mail.attachments || [])
    .filter((a) => (a.contentType || '').toLowerCase() === 'text/calendar')
    .map((a) => ({
      headerType: String(a.headers?.get('content-type')?.value ?? a.contentType),
      method: a.headers?.get('content-type')?.params?.method,
      filename: a.filename,
      text: a.content.toString('utf8').replace(/\r\n[ \t]/g, ''),
    }));
}

/** Every mail in the outbox addressed to `to`, oldest first. */
async function mailsTo(to) {
  const dir = outboxDir();
  const names = readdirSync(dir)
    .filter((n) => n.endsWith('.eml'))
    .sort();
  const found = [];
  for (const name of names) {
    const mail = await simpleParser(readFileSync(join(dir, name)));
    const rcpt = [mail.to]
      .flat()
      .filter(Boolean)
      .flatMap((group) => group.value.map((a) => (a.address || '').toLowerCase()));
    if (rcpt.includes(to.toLowerCase())) found.push(mail);
  }
  return found;
}

/**
 * Runs axe-core on what `page` shows. axe is a script, and scripts are off in the resident's
 * browser, so the page's HTML is shown again, unchanged, in a page with scripts on (its
 * stylesheets still come from the server) and checked there. No request reaches the server
 * for the page itself, so nothing of the resident's session changes.
 */
async function expectNoAxeViolationsWithoutScripts(page, label) {
  const target = page.url();
  const html = await page.content();
  const checked = await axeContext.newPage();
  try {
    await checked.route(
      (u) => u.href === target,
      (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }),
    );
    await checked.goto(target, { waitUntil: 'load' });
    await expectNoAxeViolations(checked, label);
  } finally {
    await checked.close().catch(() => {});
  }
}

// The timeout turns a hang into a failure instead of a run that never ends.
test('a resident books with JavaScript off, reads the confirmation mail with its calendar file, cancels and reads the cancellation mail', { timeout: 180_000 }, async (t) => {
  const consultation = await createConsultation();
  // The product's pages have no script: the browser only follows links and submits forms.
  const context = await browser.newContext({
    baseURL: BASE_URL,
    locale: 'ja-JP',
    viewport: { width: 1280, height: 900 },
    javaScriptEnabled: false,
    serviceWorkers: 'block',
  });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(20_000);
  const page = await context.newPage();
  try {
    const email = uniqueEmail('mail');
    await createVerifiedResident(page, { displayName: '通知 花子', email });
    await visit(page, '/signin');
    await submitAndWaitFor(page, await fillSignIn(page, { email, password: PASSWORD }), '/account');

    // Browse: the services, the month of the session, its day.
    await visit(page, '/reservations');
    await t.test('axe: /reservations', () => expectNoAxeViolationsWithoutScripts(page, '/reservations'));
    const serviceLink = page.locator(`main a[href="/reservations/${consultation.code}"]`);
    assert.equal((await serviceLink.innerText()).trim(), consultation.name);
    await Promise.all([page.waitForURL((u) => u.pathname === `/reservations/${consultation.code}`), serviceLink.click()]);
    const dayHref = `/reservations/${consultation.code}/${consultation.date}`;
    const month = consultation.date.slice(0, 7);
    if (!(await page.locator(`main a[href="${dayHref}"]`).count())) {
      const next = page.locator(`main a[href="/reservations/${consultation.code}?month=${month}"]`);
      await Promise.all([page.waitForURL((u) => u.searchParams.get('month') === month), next.click()]);
    }
    await t.test('axe: month view', () => expectNoAxeViolationsWithoutScripts(page, 'month view'));
    const dayLink = page.locator(`main a[href="${dayHref}"]`);
    assert.match(await dayLink.textContent(), /空きあり（残り3席）/);
    await Promise.all([page.waitForURL((u) => u.pathname === dayHref), dayLink.click()]);

    // The day: one session, 9:30 to 10:00.
    await t.test('axe: day view', () => expectNoAxeViolationsWithoutScripts(page, 'day view'));
    assert.match(await page.locator('main table').innerText(), /9:30/);
    const bookLink = page.locator('main a[href^="/reservations/book/"]').first();
    await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/reservations/book/')), bookLink.click()]);
    const formPath = new URL(page.url()).pathname;

    // The form: no birth date or sex for a consultation, only the questions.
    await t.test('axe: booking form', () => expectNoAxeViolationsWithoutScripts(page, 'booking form'));
    assert.equal(await page.locator('select[name="birth_year"]').count(), 0, 'no birth date asked');
    const formWhen = (await summaryOf(page)).get('日時');
    await page.fill('input[name="q_topic"]', '離乳食について');
    await page.fill('input[name="q_child_age"]', '8か月');
    await Promise.all([
      page.waitForURL((u) => u.pathname.startsWith('/my/reservations/') && u.searchParams.get('booked') === '1', {
        waitUntil: 'load',
      }),
      page.locator(`main form[action="${formPath}"] button[type="submit"]`).click(),
    ]);

    // The confirmation page.
    await page.locator('[role="status"]').first().waitFor({ state: 'visible' });
    await t.test('axe: confirmation', () => expectNoAxeViolationsWithoutScripts(page, 'confirmation'));
    const confirmationPath = new URL(page.url()).pathname;
    const summary = await summaryOf(page);
    const when = summary.get('日時');
    const number = summary.get('予約番号');
    assert.match(number, /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/, `a number to read aloud: ${number}`);
    assert.equal(summary.get('サービス'), consultation.name);
    assert.equal(summary.get('状態'), '予約済み');
    assert.equal(summary.get('ご相談の内容'), '離乳食について');
    assert.equal(summary.get('お子さんの年齢'), '8か月');
    assert.equal(when, formWhen, 'the form and the confirmation show the same time');
    const [dateOnPage] = when.split(/\s+/);
    assert.match(dateOnPage, /^\d{4}年\d{1,2}月\d{1,2}日（[日月火水木金土]）$/, `a Japanese date: ${when}`);

    // The confirmation mail.
    const confirmed = await waitForMail({
      to: email,
      accept: (mail) => (mail.subject || '').includes('ご予約を受け付けました'),
    });
    await t.test('confirmation mail', () => {
      assert.equal(confirmed.mail.subject, `[まどぐち市] ご予約を受け付けました：${consultation.name}`);
      const mailWhen = whenInMail(confirmed.text);
      assert.ok(mailWhen.startsWith(dateOnPage), `the mail's date ${mailWhen} is the page's ${dateOnPage}`);
      assert.equal(sameWhen(mailWhen), sameWhen(when), `the mail's time ${mailWhen} is the page's ${when}`);
      assert.ok(confirmed.text.includes(`内容：${consultation.name}`), confirmed.text);
      assert.ok(confirmed.text.includes(`予約番号：${number}`), `the mail gives the number:\n${confirmed.text}`);
      const id = confirmationPath.split('/').pop();
      for (const line of confirmed.text.split('\n').filter((l) => l.includes(id))) {
        assert.ok(line.includes(`/my/reservations/${id}`), `the id appears only in the link: ${line}`);
      }
      assert.ok(
        confirmed.text.includes(`${BASE_URL}${confirmationPath}`),
        `the mail links to the confirmation page ${confirmationPath}:\n${confirmed.text}`,
      );
      const calendars = calendarsOf(confirmed.mail);
      assert.equal(calendars.length, 1, 'one text/calendar part');
      const [ics] = calendars;
      assert.equal(ics.filename, 'reservation.ics');
      assert.equal(ics.method, 'REQUEST', `content type ${ics.headerType}`);
      assert.match(ics.text, /^METHOD:REQUEST\r?$/m);
      assert.match(ics.text, /^BEGIN:VEVENT\r?$/m);
      assert.ok(ics.text.includes(`DTSTART:${icsStamp(consultation.start)}`), ics.text);
      assert.ok(ics.text.includes(`SUMMARY:${consultation.name}`), ics.text);
      assert.ok(ics.text.replace(/\r\n[ \t]/g, '').includes(number), `the calendar file gives the number:\n${ics.text}`);
    });

    // My reservations: cancel the booking there.
    await visit(page, '/my/reservations');
    await t.test('axe: /my/reservations', () => expectNoAxeViolationsWithoutScripts(page, '/my/reservations'));
    const row = page.locator('main li.card').filter({ hasText: consultation.name });
    assert.equal(await row.count(), 1, 'the reservation is listed once');
    assert.ok((await row.innerText()).includes(when), 'the list shows the same time');
    // Cancelling asks once, without JavaScript: a page, then a form that posts.
    await Promise.all([
      page.waitForURL((u) => u.pathname === `${confirmationPath}/cancel`),
      row.locator(`a[href="${confirmationPath}/cancel?back=list"]`).click(),
    ]);
    await t.test('axe: cancel confirmation', () => expectNoAxeViolationsWithoutScripts(page, 'cancel confirmation'));
    const cancel = page.locator(`main form[action="${confirmationPath}/cancel"] button[type="submit"]`);
    await submitAndWaitFor(page, cancel, '/my/reservations');
    await page.locator('[role="status"]').first().waitFor({ state: 'visible' });
    assert.match(await page.locator('[role="status"]').first().innerText(), /キャンセルしました/);
    await t.test('axe: /my/reservations after cancelling', () =>
      expectNoAxeViolationsWithoutScripts(page, '/my/reservations after cancelling'),
    );
    // Listed with the past and cancelled ones now, without a cancel button.
    const cancelledRow = page.locator('main li.card').filter({ hasText: consultation.name });
    assert.equal(await cancelledRow.count(), 1, 'listed once');
    assert.match(await cancelledRow.innerText(), /キャンセル済み/);
    assert.equal(await cancelledRow.locator('form').count(), 0, 'nothing left to cancel');

    // The cancellation mail.
    const cancelled = await waitForMail({
      to: email,
      accept: (mail) => (mail.subject || '').includes('ご予約を取り消しました'),
    });
    await t.test('cancellation mail', () => {
      assert.equal(cancelled.mail.subject, `[まどぐち市] ご予約を取り消しました：${consultation.name}`);
      assert.equal(sameWhen(whenInMail(cancelled.text)), sameWhen(when));
      const calendars = calendarsOf(cancelled.mail);
      assert.equal(calendars.length, 1, 'one text/calendar part');
      const [ics] = calendars;
      assert.equal(ics.method, 'CANCEL', `content type ${ics.headerType}`);
      assert.match(ics.text, /^METHOD:CANCEL\r?$/m);
      assert.match(ics.text, /^STATUS:CANCELLED\r?$/m);
      const [request] = calendarsOf(confirmed.mail);
      const uid = (text) => /^UID:(.+?)\r?$/m.exec(text)?.[1];
      const sequence = (text) => Number(/^SEQUENCE:(\d+)\r?$/m.exec(text)?.[1]);
      assert.equal(uid(ics.text), uid(request.text), 'the same calendar event');
      assert.ok(sequence(ics.text) > sequence(request.text), 'a newer version of the event');
    });

    // One mail each: the verification, the confirmation and the cancellation.
    const subjects = (await mailsTo(email)).map((m) => m.subject);
    assert.equal(subjects.length, 3, `mails to the resident: ${JSON.stringify(subjects)}`);

    // The reservation reads as cancelled.
    await visit(page, confirmationPath);
    assert.equal((await summaryOf(page)).get('状態'), 'キャンセル済み');
    await t.test('axe: cancelled reservation', () => expectNoAxeViolationsWithoutScripts(page, 'cancelled reservation'));
  } catch (err) {
    await saveArtifacts(page, t.name);
    throw err;
  } finally {
    await context.close().catch(() => {});
  }
});
