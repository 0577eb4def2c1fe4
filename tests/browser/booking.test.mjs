// (6) Booking without JavaScript: an administrator defines a service with slots through the JSON
// API; a resident browses the services, a month, a day, books through the form (first with a
// mistake), sees the confirmation and the list, and cancels. axe-core checks every page.
// The Rust harness passes the administrator's sign-in in ADMIN_EMAIL and ADMIN_PASSWORD.

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

/** A Tokyo date `YYYY-MM-DD` of an instant. */
function tokyoDate(instant) {
  return new Date(instant.getTime() + 9 * 3600 * 1000).toISOString().slice(0, 10);
}

/**
 * A screening (women 40+ at the fiscal-year end, one required question) with one session of
 * two seats a week ahead. Returns its code, name and the session's Tokyo date.
 */
async function createScreening() {
  const { token } = await api('POST', '/api/v1/tokens', {
    body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, kind: 'staff' },
  });
  const code = `kenshin-${Date.now() % 1_000_000}`;
  const name = `子宮がん検診 ${code.slice(-4)}`;
  const service = await api('POST', '/api/v1/services', {
    token,
    expected: 201,
    body: {
      code,
      kind: 'checkup',
      name_ja: name,
      name_en: `Cervical cancer screening ${code.slice(-4)}`,
      rules: {
        window: { opens_days_before: 60, opens_at_local: '09:00', closes_hours_before: 24 },
        cancellation: { deadline_hours_before: 48 },
        eligibility: { age_min: 40, age_reference: 'fiscal_year_end', sex: 'female' },
        questions: [{ id: 'symptoms', label_ja: '気になる症状', label_en: 'Symptoms', required: true }],
      },
    },
  });
  const offices = await api('GET', '/api/v1/offices', { token });
  assert.ok(offices.length > 0, 'the demo city has offices');
  // A day the city keeps open (the harness computes it with the municipal calendar).
  assert.match(process.env.OPEN_DATE ?? '', /^\d{4}-\d{2}-\d{2}$/, 'OPEN_DATE is given');
  const start = new Date(`${process.env.OPEN_DATE}T10:00:00+09:00`);
  const end = new Date(start.getTime() + 2 * 3600 * 1000);
  const added = await api('POST', `/api/v1/services/${service.id}/slots`, {
    token,
    body: { slots: [{ office_id: offices[0].id, starts_at: start.toISOString(), ends_at: end.toISOString(), capacity: 2 }] },
  });
  assert.equal(added.added, 1, 'one slot added');
  return { code, name, date: tokyoDate(start) };
}

/** Signs up, confirms the address and signs in. */
async function signInVerifiedResident(page) {
  const email = uniqueEmail('booking');
  // createVerifiedResident opens the mailed link and presses its confirmation button.
  await createVerifiedResident(page, { displayName: '予約 花子', email });
  await visit(page, '/signin');
  const submit = await fillSignIn(page, { email, password: PASSWORD });
  await submitAndWaitFor(page, submit, '/account');
  return email;
}

test('a resident books a screening and cancels it through plain forms, each page free of axe violations', async (t) => {
  const screening = await createScreening();

  await withPage(browser, t, async (page) => {
    await signInVerifiedResident(page);

    // The services, grouped by kind.
    await visit(page, '/reservations');
    await t.test('axe: /reservations', () => expectNoAxeViolations(page, '/reservations'));
    const serviceLink = page.locator(`main a[href="/reservations/${screening.code}"]`);
    assert.equal(await serviceLink.innerText(), screening.name);
    await Promise.all([page.waitForURL((u) => u.pathname === `/reservations/${screening.code}`), serviceLink.click()]);

    // The month: a calendar table with weekday column headers; step to the slot's month.
    const month = screening.date.slice(0, 7);
    if (!(await page.locator(`main a[href="/reservations/${screening.code}/${screening.date}"]`).count())) {
      const next = page.locator(`main a[href="/reservations/${screening.code}?month=${month}"]`);
      await Promise.all([page.waitForURL((u) => u.searchParams.get('month') === month), next.click()]);
    }
    const headers = await page.locator('main table thead th[scope="col"] span[aria-hidden="true"]').allInnerTexts();
    assert.deepEqual(
      headers.map((h) => h.trim()),
      ['日', '月', '火', '水', '木', '金', '土'],
      'weekday headers in Japanese',
    );
    await t.test('axe: month view', () => expectNoAxeViolations(page, 'month view'));
    const dayLink = page.locator(`main a[href="/reservations/${screening.code}/${screening.date}"]`);
    assert.match(await dayLink.textContent(), /空きあり（残り2席）/, 'the day spells out its status and seats');
    await Promise.all([page.waitForURL((u) => u.pathname.endsWith(`/${screening.date}`)), dayLink.click()]);

    // The day: the session with its seats and a button to book.
    await t.test('axe: day view', () => expectNoAxeViolations(page, 'day view'));
    assert.match(await page.locator('main table').innerText(), /残り2席/);
    const bookLink = page.locator('main a[href^="/reservations/book/"]').first();
    await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/reservations/book/')), bookLink.click()]);
    const formPath = new URL(page.url()).pathname;

    // The form: date of birth as three selects in a fieldset, sex as radios, the question.
    await t.test('axe: booking form', () => expectNoAxeViolations(page, 'booking form'));
    assert.equal(await page.locator('main fieldset legend').count(), 2, 'birth date and sex are grouped with legends');
    assert.ok((await page.locator('input[name="idempotency_key"]').inputValue()).length >= 16, 'the form carries its key');

    // A mistake first: the question left empty. 422, an alert, the field marked, input kept.
    await page.selectOption('select[name="birth_year"]', '1975');
    await page.selectOption('select[name="birth_month"]', '4');
    await page.selectOption('select[name="birth_day"]', '2');
    await page.check('input[name="sex"][value="female"]');
    const submit = page.locator(`main form[action="${formPath}"] button[type="submit"]`);
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === formPath),
      submit.click(),
    ]);
    assert.equal(refused.status(), 422, 'a missing answer answers 422');
    await page.waitForLoadState('load');
    await page.locator('[role="alert"]').first().waitFor({ state: 'visible' });
    assert.equal(await page.locator('input[name="q_symptoms"]').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('select[name="birth_year"]').inputValue(), '1975', 'the birth year is kept');
    assert.ok(await page.locator('input[name="sex"][value="female"]').isChecked(), 'the choice is kept');
    await t.test('axe: booking form with an error', () => expectNoAxeViolations(page, 'booking form with an error'));

    // Book.
    await page.fill('input[name="q_symptoms"]', '特になし');
    await Promise.all([
      page.waitForURL((u) => u.pathname.startsWith('/my/reservations/') && u.searchParams.get('booked') === '1', {
        waitUntil: 'load',
      }),
      page.locator(`main form[action="${formPath}"] button[type="submit"]`).click(),
    ]);
    await page.locator('[role="status"]').first().waitFor({ state: 'visible' });
    const confirmation = new URL(page.url()).pathname;
    const summary = await page.locator('main dl').innerText();
    assert.ok(summary.includes(screening.name) && summary.includes('予約済み') && summary.includes('特になし'), summary);
    await t.test('axe: confirmation', () => expectNoAxeViolations(page, 'confirmation'));
    const number = (await page.locator('main dd.reference').first().innerText()).trim();
    assert.match(number, /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/, `a number to read aloud: ${number}`);

    // Changing starts from the service's month calendar, with the booked day chosen.
    await visit(page, `${confirmation}/change`);
    assert.equal(await page.locator('main table.calendar').count(), 1, 'a month calendar to choose the day');
    assert.equal(await page.locator('main table.calendar td.selected').count(), 1, 'the booked day is marked');
    await t.test('axe: change page', () => expectNoAxeViolations(page, 'change page'));

    // My reservations: upcoming, with a cancel form.
    await visit(page, '/my/reservations');
    await t.test('axe: /my/reservations', () => expectNoAxeViolations(page, '/my/reservations'));
    const row = page.locator('main li.card').filter({ hasText: screening.name });
    assert.equal(await row.count(), 1, 'the reservation is listed once');
    // The number people read aloud, the same on the list as on the confirmation; no id shown.
    assert.ok((await row.innerText()).includes(number), 'the list shows the number');
    assert.ok(!(await page.locator('main').innerText()).includes(confirmation.split('/').pop()), 'no id in the text');

    // Cancelling asks once, on a page that says what will be cancelled.
    await Promise.all([
      page.waitForURL((u) => u.pathname === `${confirmation}/cancel`),
      row.locator(`a[href="${confirmation}/cancel?back=list"]`).click(),
    ]);
    const asked = await page.locator('main dl').innerText();
    assert.ok(asked.includes(number) && asked.includes(screening.name), asked);
    await t.test('axe: cancel confirmation', () => expectNoAxeViolations(page, 'cancel confirmation'));
    const cancel = page.locator(`main form[action="${confirmation}/cancel"] button[type="submit"]`);
    await submitAndWaitFor(page, cancel, '/my/reservations');
    await page.locator('[role="status"]').first().waitFor({ state: 'visible' });
    assert.match(await page.locator('[role="status"]').first().innerText(), /キャンセルしました/);
    await t.test('axe: /my/reservations after cancelling', () =>
      expectNoAxeViolations(page, '/my/reservations after cancelling'),
    );

    // The reservation now reads as cancelled, and the seats are back.
    await visit(page, confirmation);
    assert.match(await page.locator('main dl').innerText(), /キャンセル済み/);
    await visit(page, `/reservations/${screening.code}/${screening.date}`);
    assert.match(await page.locator('main table').innerText(), /残り2席/);
  });
});
