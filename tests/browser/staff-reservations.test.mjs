// (7) The staff pages for reservations, without JavaScript: the day sheet, booking for a caller
// (代理予約) through service → date → time → the caller's form (first with a mistake), the
// reservation with its change and cancel forms, the printable confirmation, and the no-show
// suspensions with their lifting. axe-core checks every page, also with errors shown.
// The Rust harness passes the administrator's sign-in in ADMIN_EMAIL and ADMIN_PASSWORD.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import {
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
const DAY_MS = 24 * 3600 * 1000;

let browser;
before(async () => {
  assert.ok(ADMIN_EMAIL && ADMIN_PASSWORD, 'ADMIN_EMAIL and ADMIN_PASSWORD must be set by the harness');
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Calls the JSON API; returns the status and the parsed body. */
async function call(method, path, { token, body } = {}) {
  const response = await fetch(url(path), {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Calls the JSON API; throws with the body when the status is not `expected`. */
async function api(method, path, { token, body, expected = 200 } = {}) {
  const { status, body: answer } = await call(method, path, { token, body });
  if (status !== expected) {
    throw new Error(`${method} ${path} answered ${status} (expected ${expected}): ${JSON.stringify(answer)}`);
  }
  return answer;
}

/** A Tokyo date `YYYY-MM-DD` of an instant. */
function tokyoDate(instant) {
  return new Date(instant.getTime() + 9 * 3600 * 1000).toISOString().slice(0, 10);
}

/** Adds one 30-minute session at `start` and returns its id. */
async function addSlot(token, serviceId, officeId, start) {
  const end = new Date(start.getTime() + 30 * 60 * 1000);
  await api('POST', `/api/v1/services/${serviceId}/slots`, {
    token,
    body: { slots: [{ office_id: officeId, starts_at: start.toISOString(), ends_at: end.toISOString(), capacity: 3 }] },
  });
  const slots = await api('GET', `/api/v1/services/${serviceId}/slots?date=${tokyoDate(start)}`);
  const slot = slots.find((s) => new Date(s.starts_at).getTime() === start.getTime());
  assert.ok(slot, `the session at ${start.toISOString()} is listed`);
  return slot.id;
}

/** Books for a caller through the API; the status tells whether the day is open. */
function proxyBook(token, slotId, { name, kana, email, topic = '' }) {
  return call('POST', '/api/v1/proxy-reservations', {
    token,
    body: {
      slot_id: slotId,
      caller: { name_kanji: name, name_kana: kana, birth_date: '1955-06-07', phone: '03-5555-1234', email },
      answers: { topic },
    },
  });
}

/**
 * A consultation bookable until its start, and a caller already booked on the first open day
 * (a national holiday closes the day, so the next days are tried).
 */
async function setUp() {
  const { token } = await api('POST', '/api/v1/tokens', {
    body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, kind: 'staff' },
  });
  const code = `soudan-${Date.now() % 1_000_000}`;
  const service = await api('POST', '/api/v1/services', {
    token,
    expected: 201,
    body: {
      code,
      kind: 'consultation',
      name_ja: `暮らしの相談 ${code.slice(-4)}`,
      name_en: `Living consultation ${code.slice(-4)}`,
      rules: {
        window: { opens_days_before: 60, opens_at_local: '00:00', closes_hours_before: 0 },
        cancellation: { deadline_hours_before: 24 },
        questions: [{ id: 'topic', label_ja: 'ご相談内容', label_en: 'Topic', required: false }],
      },
    },
  });
  const offices = await api('GET', '/api/v1/offices', { token });
  const office = offices[0];
  for (let days = 2; days < 14; days += 1) {
    const date = tokyoDate(new Date(Date.now() + days * DAY_MS));
    const slotId = await addSlot(token, service.id, office.id, new Date(`${date}T10:00:00+09:00`));
    const booked = await proxyBook(token, slotId, { name: '窓口 一郎', kana: 'マドグチ イチロウ', topic: '年金, 介護' });
    if (booked.status === 201) return { token, service, office, date, slotId };
    assert.equal(booked.body?.error?.code, 'booking_day_closed', JSON.stringify(booked.body));
  }
  throw new Error('no open day within two weeks');
}

/**
 * Suspends a resident's online booking: with a policy of one no-show, a no-show on a session
 * later today. Returns false when today cannot have one (a holiday, or too close to midnight).
 */
async function suspend({ token, service, office }, email) {
  const start = new Date(Date.now() + 30 * 60 * 1000);
  start.setUTCSeconds(0, 0);
  if (tokyoDate(start) !== tokyoDate(new Date())) return false;
  const slotId = await addSlot(token, service.id, office.id, start);
  const booked = await proxyBook(token, slotId, { name: '予約 停子', kana: 'ヨヤク テイコ', email });
  if (booked.status !== 201) return false;
  assert.equal(booked.body.account_matched, true, 'the booking is the resident’s');
  const policy = { no_show: { count: 1, within_days: 365, suspend_days: 30 } };
  await api('PUT', '/api/v1/booking-policy', { token, body: policy });
  try {
    const marked = await api('POST', `/api/v1/reservations/${booked.body.reservation.id}/attendance`, {
      token,
      body: { attendance: 'no_show' },
    });
    assert.ok(marked.suspension, 'one no-show suspends under this policy');
  } finally {
    const usual = { no_show: { count: 3, within_days: 365, suspend_days: 90 } };
    await api('PUT', '/api/v1/booking-policy', { token, body: usual });
  }
  return true;
}

test('staff work through the reservation pages, each free of axe violations', async (t) => {
  const fixture = await setUp();
  const residentEmail = uniqueEmail('suspended');
  await withPage(browser, t, async (page) => {
    await createVerifiedResident(page, { displayName: '予約 停子', email: residentEmail });
  });
  const suspended = await suspend(fixture, residentEmail);

  await withPage(browser, t, async (page) => {
    await visit(page, '/staff/signin');
    const submit = await fillSignIn(page, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    await submitAndWaitFor(page, submit, '/staff');
    assert.equal(await page.locator('main a[href="/staff/day-sheet"]').count(), 1, 'the staff home links the day sheet');

    // The day sheet of the booked day: the caller, the answer, the CSV link.
    await visit(page, `/staff/day-sheet?date=${fixture.date}`);
    const sheet = await page.locator('main table').innerText();
    assert.ok(sheet.includes('窓口 一郎') && sheet.includes('年金, 介護'), sheet);
    assert.equal(await page.locator(`main a[href="/staff/day-sheet.csv?date=${fixture.date}"]`).count(), 1);
    await t.test('axe: /staff/day-sheet', () => expectNoAxeViolations(page, '/staff/day-sheet'));

    // Book for a caller: service, date, time, then the form.
    await visit(page, '/staff/proxy-booking');
    await t.test('axe: /staff/proxy-booking', () => expectNoAxeViolations(page, '/staff/proxy-booking'));
    await page.selectOption('main select[name="service"]', fixture.service.id);
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('service') === fixture.service.id),
      page.locator('main form[action="/staff/proxy-booking"] button[type="submit"]').first().click(),
    ]);
    await t.test('axe: proxy booking, dates', () => expectNoAxeViolations(page, 'proxy booking, dates'));
    const day = page.locator(`main a[href="/staff/proxy-booking?service=${fixture.service.id}&date=${fixture.date}"]`);
    await Promise.all([page.waitForURL((u) => u.searchParams.get('date') === fixture.date), day.click()]);
    await t.test('axe: proxy booking, times', () => expectNoAxeViolations(page, 'proxy booking, times'));
    const slotLink = page.locator(`main a[href="/staff/proxy-booking?slot=${fixture.slotId}"]`);
    await Promise.all([page.waitForURL((u) => u.searchParams.get('slot') === fixture.slotId), slotLink.click()]);
    await t.test('axe: proxy booking form', () => expectNoAxeViolations(page, 'proxy booking form'));

    // A mistake first: the reading in Latin letters. 422, the field marked, the input kept.
    await page.fill('input[name="name_kanji"]', '代理 花子');
    await page.fill('input[name="name_kana"]', 'Dairi');
    await page.selectOption('select[name="birth_year"]', '1950');
    await page.selectOption('select[name="birth_month"]', '3');
    await page.selectOption('select[name="birth_day"]', '4');
    await page.fill('input[name="phone"]', '0312345678');
    await page.fill('input[name="q_topic"]', '住まいのこと');
    const send = page.locator('main form[action="/staff/proxy-booking"] button[type="submit"]');
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/staff/proxy-booking'),
      send.click(),
    ]);
    assert.equal(refused.status(), 422);
    await page.waitForLoadState('load');
    await page.locator('[role="alert"]').first().waitFor({ state: 'visible' });
    assert.equal(await page.locator('input[name="name_kana"]').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('input[name="name_kanji"]').inputValue(), '代理 花子', 'the name is kept');
    await t.test('axe: proxy booking form with an error', () =>
      expectNoAxeViolations(page, 'proxy booking form with an error'),
    );

    // Book: the reservation, with the way to its printable confirmation.
    await page.fill('input[name="name_kana"]', 'ダイリ ハナコ');
    await Promise.all([
      page.waitForURL((u) => u.pathname.startsWith('/staff/reservations/') && u.searchParams.get('booked') === '1', {
        waitUntil: 'load',
      }),
      page.locator('main form[action="/staff/proxy-booking"] button[type="submit"]').click(),
    ]);
    const reservation = new URL(page.url()).pathname;
    assert.ok((await page.locator('main dl').innerText()).includes('代理 花子'));
    await t.test('axe: reservation', () => expectNoAxeViolations(page, 'reservation'));

    // The reservation number is shown, and the month calendar to choose a new day from.
    const number = (await page.locator('main dd.reference').first().innerText()).trim();
    assert.match(number, /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/, number);
    assert.equal(await page.locator('main table.calendar').count(), 1, 'the change starts from a calendar');

    // Cancelling asks once: a page that names what will be cancelled, and needs a reason.
    await Promise.all([
      page.waitForURL((u) => u.pathname === `${reservation}/cancel`),
      page.locator(`main a[href="${reservation}/cancel"]`).click(),
    ]);
    assert.ok((await page.locator('main dl').innerText()).includes(number), 'the number is on the confirmation');
    await t.test('axe: cancel confirmation', () => expectNoAxeViolations(page, 'cancel confirmation'));
    const cancel = page.locator(`main form[action="${reservation}/cancel"]`);
    const [noReason] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `${reservation}/cancel`),
      cancel.locator('button[type="submit"]').click(),
    ]);
    assert.equal(noReason.status(), 422);
    await page.waitForLoadState('load');
    assert.equal(await page.locator('#f-cancel-reason').getAttribute('aria-invalid'), 'true');
    await t.test('axe: cancel confirmation with an error', () =>
      expectNoAxeViolations(page, 'cancel confirmation with an error'),
    );

    // Found again by the number, typed as a caller might read it out.
    await visit(page, '/staff/day-sheet');
    await page.fill('#f-find', number.replace('-', '').toLowerCase());
    await Promise.all([
      page.waitForURL((u) => u.pathname === reservation),
      page.locator('main form[action="/staff/reservations/find"] button[type="submit"]').click(),
    ]);

    await visit(page, `${reservation}/confirmation`);
    assert.ok((await page.locator('main').innerText()).includes('代理 花子'));
    await t.test('axe: confirmation to print', () => expectNoAxeViolations(page, 'confirmation to print'));

    // The suspensions: lift one with a reason (a missing reason is refused first).
    await visit(page, '/staff/suspensions');
    await t.test('axe: /staff/suspensions', () => expectNoAxeViolations(page, '/staff/suspensions'));
    if (suspended) {
      const row = page.locator('main tr').filter({ hasText: residentEmail });
      assert.equal(await row.count(), 1, 'the suspended resident is listed');
      const [refusedLift] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/lift')),
        row.locator('button[type="submit"]').click(),
      ]);
      assert.equal(refusedLift.status(), 422);
      await page.waitForLoadState('load');
      await t.test('axe: /staff/suspensions with an error', () =>
        expectNoAxeViolations(page, '/staff/suspensions with an error'),
      );
      const again = page.locator('main tr').filter({ hasText: residentEmail });
      await again.locator('textarea[name="reason"]').fill('電話で事情を確認した');
      await submitAndWaitFor(page, again.locator('button[type="submit"]'), '/staff/suspensions');
      await page.locator('[role="status"]').first().waitFor({ state: 'visible' });
      assert.equal(await page.locator('main tr').filter({ hasText: residentEmail }).count(), 0, 'no longer listed');
      await t.test('axe: /staff/suspensions after lifting', () =>
        expectNoAxeViolations(page, '/staff/suspensions after lifting'),
      );
    }
  });
});
