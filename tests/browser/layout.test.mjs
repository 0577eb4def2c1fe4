// Layout on phones and desks: every resident page at 360 px and every staff page at 1280 px and
// 360 px, in Japanese and English, as the signed-out visitor, a resident with a reservation and
// each staff role. On each page: no sideways scroll, no table cell narrower than three characters
// (3em of its own type: a CJK character is 1em wide, so 本庁舎 and 残り1席 need at least that),
// and axe-core clean. Full-page screenshots of the main pages are saved under
// ARTIFACTS_DIR/screenshots/<lang>-<width>-<page>.png for a reviewer.
//
// The Rust harness passes the demo sign-ins: ADMIN_EMAIL/ADMIN_PASSWORD, STAFF_LOGINS (a JSON
// list of {role, email, password}, one per role) and DEMO_RESIDENT_EMAIL/DEMO_RESIDENT_PASSWORD
// (the demo resident, who owes the demo fees). Adding a page is one line in PAGES.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import {
  ARTIFACTS_DIR,
  PASSWORD,
  createVerifiedResident,
  expectNoAxeViolations,
  fillSignIn,
  launchBrowser,
  newPage,
  saveScreenshot,
  outboxDir,
  submitAndWaitFor,
  uniqueEmail,
  url,
  visit,
} from './support.mjs';

const ADMIN_EMAIL = process.env.ADMIN_EMAIL;
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD;
const STAFF_LOGINS = JSON.parse(process.env.STAFF_LOGINS || '[]');
const DEMO_RESIDENT_EMAIL = process.env.DEMO_RESIDENT_EMAIL;
const DEMO_RESIDENT_PASSWORD = process.env.DEMO_RESIDENT_PASSWORD;
/** The demo water cycle's batch of convenience-store slips. */
const DEMO_SLIP_BATCH = process.env.DEMO_SLIP_BATCH;
/** A receivable of that batch, for its slips' page. */
const DEMO_SLIP_RECEIVABLE = process.env.DEMO_SLIP_RECEIVABLE;
const DEMO_SLIP_UPLOAD = process.env.DEMO_SLIP_UPLOAD;

const PHONE = { width: 360, height: 740 };
const DESK = { width: 1280, height: 900 };
const LANGS = [
  { lang: 'ja', locale: 'ja-JP' },
  { lang: 'en', locale: 'en-US' },
];
const SCREENSHOTS = join(ARTIFACTS_DIR, 'screenshots');

const ALL_ROLES = ['admin', 'hq_staff', 'branch_staff', 'facility_staff', 'finance'];
const HANDLERS = ['admin', 'hq_staff', 'branch_staff', 'facility_staff'];
/** Who takes payments at a counter (finance does not). */
const COUNTER = HANDLERS;

/**
 * Every page, by who sees it. `who`: `public` (signed out), `resident` (signed in, with a
 * reservation), `payer` (the demo resident, with fees to pay) or `staff` (`roles` lists the
 * staff roles that may open it). `path(fx)` builds
 * the address from the fixture. `shot`: save a screenshot. `status`: the expected status
 * (200 unless said). `html: false`: not a page (plain text), only the sideways scroll is checked.
 */
const ALL_PAGES = [
  { who: 'public', name: 'home', path: () => '/', shot: true },
  { who: 'public', name: 'services', path: () => '/reservations', shot: true },
  { who: 'public', name: 'month', path: (fx) => `/reservations/${fx.code}`, shot: true },
  { who: 'public', name: 'month-ahead', path: (fx) => `/reservations/${fx.code}?month=${fx.month}` },
  { who: 'public', name: 'day', path: (fx) => `/reservations/${fx.code}/${fx.date}`, shot: true },
  { who: 'public', name: 'signin', path: () => '/signin', shot: true },
  { who: 'public', name: 'signin-to-book', path: (fx) => `/signin?next=/reservations/book/${fx.slotId}` },
  { who: 'public', name: 'signup', path: () => '/signup' },
  { who: 'public', name: 'signup-sent', path: () => '/signup/sent' },
  { who: 'public', name: 'verify-email', path: () => '/verify-email?token=not-a-real-token' },
  { who: 'public', name: 'password-reset', path: () => '/password-reset' },
  { who: 'public', name: 'password-reset-sent', path: () => '/password-reset/sent' },
  { who: 'public', name: 'password-reset-confirm', path: () => '/password-reset/confirm?token=not-a-real-token' },
  { who: 'public', name: 'staff-signin', path: () => '/staff/signin' },
  { who: 'public', name: 'not-found', path: () => '/no-such-page', status: 404 },

  { who: 'resident', name: 'r-home', path: () => '/' },
  { who: 'resident', name: 'r-services', path: () => '/reservations' },
  { who: 'resident', name: 'r-month', path: (fx) => `/reservations/${fx.code}?month=${fx.month}` },
  { who: 'resident', name: 'r-day', path: (fx) => `/reservations/${fx.code}/${fx.date}` },
  { who: 'resident', name: 'form', path: (fx) => `/reservations/book/${fx.slotId}`, shot: true },
  { who: 'resident', name: 'account', path: () => '/account', shot: true },
  { who: 'resident', name: 'my-reservations', path: () => '/my/reservations', shot: true },
  { who: 'resident', name: 'my-reservation', path: (fx) => `/my/reservations/${fx.residentReservation}`, shot: true },
  { who: 'resident', name: 'my-reservation-change', path: (fx) => `/my/reservations/${fx.residentReservation}/change` },
  {
    who: 'resident',
    name: 'my-reservation-change-day',
    path: (fx) => `/my/reservations/${fx.residentReservation}/change?date=${fx.date}`,
  },
  { who: 'resident', name: 'my-reservation-cancel', path: (fx) => `/my/reservations/${fx.residentReservation}/cancel`, shot: true },

  // The demo resident, who has fees to pay: the 犬登録手数料 with a konbini payment under way.
  // The remote counter: the queues, the resident's number (its self-refresh stopped, as a
  // resident may, so axe's meta-refresh rule looks at a page that does not reload).
  { who: 'public', name: 'counter-queues', path: () => '/counter' },
  { who: 'resident', name: 'r-counter-queues', path: () => '/counter', shot: true },
  { who: 'resident', name: 'counter-ticket', path: (fx) => `/counter/tickets/${fx.counterTicket}?norefresh=1`, shot: true },

  { who: 'payer', name: 'my-payments', path: () => '/account/payments', shot: true },
  { who: 'payer', name: 'pay', path: (fx) => `/receivables/${fx.certificateFee}/pay`, shot: true },
  { who: 'payer', name: 'pay-under-way', path: (fx) => `/receivables/${fx.dogFee}/pay` },
  { who: 'payer', name: 'payment-result', path: (fx) => `/payments/${fx.konbiniPayment}`, shot: true },

  { who: 'staff', roles: ALL_ROLES, name: 'staff-home', path: () => '/staff', shot: true },
  { who: 'staff', roles: ['admin'], name: 'staff-office', path: (fx) => `/staff/offices/${fx.officeId}` },
  { who: 'staff', roles: HANDLERS, name: 'day-sheet', path: () => '/staff/day-sheet', shot: true },
  { who: 'staff', roles: ['admin'], name: 'day-sheet-booked', path: (fx) => `/staff/day-sheet?date=${fx.date}`, shot: true },
  { who: 'staff', roles: HANDLERS, name: 'proxy-services', path: () => '/staff/proxy-booking' },
  { who: 'staff', roles: ['admin'], name: 'proxy-days', path: (fx) => `/staff/proxy-booking?service=${fx.serviceId}` },
  {
    who: 'staff',
    roles: ['admin'],
    name: 'proxy-slots',
    path: (fx) => `/staff/proxy-booking?service=${fx.serviceId}&date=${fx.date}`,
    shot: true,
  },
  { who: 'staff', roles: ['admin'], name: 'proxy-form', path: (fx) => `/staff/proxy-booking?slot=${fx.slotId}`, shot: true },
  { who: 'staff', roles: ['admin'], name: 'staff-reservation', path: (fx) => `/staff/reservations/${fx.proxyReservation}`, shot: true },
  {
    who: 'staff',
    roles: ['admin'],
    name: 'confirmation',
    path: (fx) => `/staff/reservations/${fx.proxyReservation}/confirmation`,
  },
  { who: 'staff', roles: ['admin'], name: 'staff-cancel', path: (fx) => `/staff/reservations/${fx.proxyReservation}/cancel` },
  { who: 'staff', roles: HANDLERS, name: 'suspensions', path: () => '/staff/suspensions' },
  { who: 'staff', roles: ['admin'], name: 'admin-home', path: () => '/admin', shot: true },
  { who: 'staff', roles: ['admin', 'finance'], name: 'finance', path: () => '/finance', shot: true },
  { who: 'staff', roles: ['admin', 'finance'], name: 'finance-search', path: () => '/finance?q=%E4%BD%8F%E6%B0%91%E7%A5%A8&status=paid' },
  { who: 'staff', roles: ['admin', 'finance'], name: 'finance-receivable', path: (fx) => `/finance/receivables/${fx.paidReceivable}`, shot: true },
  { who: 'staff', roles: ['admin', 'finance'], name: 'finance-refunds', path: () => '/finance/refunds', shot: true },
  { who: 'staff', roles: ['admin', 'finance'], name: 'finance-ledger', path: () => '/finance/ledger', shot: true },
  { who: 'staff', roles: ['admin', 'finance'], name: 'finance-slips', path: () => '/finance/slips', shot: true },
  { who: 'staff', roles: ['admin', 'finance'], name: 'finance-slip-batch', path: () => `/finance/slips/batches/${DEMO_SLIP_BATCH}`, shot: true },
  { who: 'staff', roles: ['admin', 'finance'], name: 'finance-slip-receivable', path: () => `/finance/slips/receivables/${DEMO_SLIP_RECEIVABLE}`, shot: true },
  { who: 'staff', roles: ['admin', 'finance'], name: 'finance-slip-imports', path: () => '/finance/slips/imports', shot: true },
  { who: 'staff', roles: ['admin', 'finance'], name: 'finance-slip-upload', path: () => `/finance/slips/imports/${DEMO_SLIP_UPLOAD}`, shot: true },
  { who: 'staff', roles: COUNTER, name: 'counter', path: () => '/staff/payments/counter', shot: true },
  { who: 'staff', roles: ['admin', 'hq_staff'], name: 'counter-checkout', path: (fx) => `/staff/payments/counter/${fx.openReceivable}`, shot: true },
  { who: 'staff', roles: ['admin', 'hq_staff'], name: 'counter-taken', path: (fx) => `/staff/payments/${fx.counterPayment}`, shot: true },
  { who: 'staff', roles: ALL_ROLES, name: 'counter-console', path: () => '/staff/counter', shot: true },
  { who: 'staff', roles: ['admin', 'hq_staff'], name: 'counter-wall', path: () => '/staff/counter/wall', shot: true },
  { who: 'staff', roles: ['admin'], name: 'admin-capabilities', path: () => '/admin/capabilities' },
  { who: 'staff', roles: ['admin'], name: 'booking-policy', path: () => '/admin/booking-policy' },
  { who: 'staff', roles: ['admin'], name: 'admin-offices', path: () => '/admin/offices', shot: true },
  { who: 'staff', roles: ['admin'], name: 'admin-departments', path: () => '/admin/departments' },
  { who: 'staff', roles: ['admin'], name: 'admin-staff', path: () => '/admin/staff', shot: true },
  { who: 'staff', roles: ['admin'], name: 'admin-audit', path: () => '/admin/audit', shot: true },
  { who: 'staff', roles: ['admin'], name: 'admin-outbox', path: () => '/admin/outbox' },
  { who: 'staff', roles: ['admin'], name: 'admin-outbox-message', path: (fx) => `/admin/outbox/${fx.outboxName}`, html: 'maybe' },
  { who: 'staff', roles: ['admin'], name: 'admin-jobs', path: () => '/admin/jobs', shot: true },
  { who: 'staff', roles: ['admin'], name: 'admin-line', path: () => '/admin/line' },
  { who: 'staff', roles: ['admin'], name: 'admin-calendar', path: () => '/admin/calendar', shot: true },
  { who: 'staff', roles: ['admin'], name: 'admin-calendar-import', path: () => '/admin/calendar/import' },
  { who: 'staff', roles: ['admin'], name: 'admin-calendar-office', path: (fx) => `/admin/calendar/offices/${fx.officeId}` },
];

/** LAYOUT_PAGES="day,day-sheet" narrows a run to those pages while working on them. */
const ONLY = (process.env.LAYOUT_PAGES || '').split(',').map((n) => n.trim()).filter(Boolean);
const PAGES = ONLY.length ? ALL_PAGES.filter((p) => ONLY.includes(p.name)) : ALL_PAGES;

// ---------------------------------------------------------------------------------------------
// The fixture: a consultation with a session on OPEN_DATE at 本庁舎, a resident who booked it,
// a caller booked by staff and one whose booking was cancelled (so the day sheet has both).

let browser;
let fx;

/** Calls the JSON API; throws with the body when the status is not `expected`. */
async function api(method, path, { token, body, expected = 200 } = {}) {
  const response = await fetch(url(path), {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== expected) {
    throw new Error(`${method} ${path} answered ${response.status} (expected ${expected}): ${text}`);
  }
  return text ? JSON.parse(text) : null;
}

async function proxyBook(token, slotId, name, kana) {
  const booked = await api('POST', '/api/v1/proxy-reservations', {
    token,
    expected: 201,
    body: {
      slot_id: slotId,
      caller: { name_kanji: name, name_kana: kana, birth_date: '1952-03-04', phone: '0312345678' },
      answers: { topic: '介護保険の申請について' },
    },
  });
  return booked.reservation.id;
}

async function setUp() {
  assert.match(process.env.OPEN_DATE ?? '', /^\d{4}-\d{2}-\d{2}$/, 'OPEN_DATE is given');
  const date = process.env.OPEN_DATE;
  const { token } = await api('POST', '/api/v1/tokens', {
    body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, kind: 'staff' },
  });
  const code = `layout-${Date.now() % 1_000_000}`;
  const service = await api('POST', '/api/v1/services', {
    token,
    expected: 201,
    body: {
      code,
      kind: 'consultation',
      name_ja: `高齢者の暮らしと介護の相談 ${code.slice(-4)}`,
      name_en: `Consultation on later life and long-term care ${code.slice(-4)}`,
      rules: {
        window: { opens_days_before: 60, opens_at_local: '00:00', closes_hours_before: 1 },
        cancellation: { deadline_hours_before: 24 },
        questions: [{ id: 'topic', label_ja: 'ご相談内容', label_en: 'Topic', required: false }],
      },
    },
  });
  const offices = await api('GET', '/api/v1/offices', { token });
  const office = offices.find((o) => o.code === 'honcho') ?? offices[0];
  const start = new Date(`${date}T10:00:00+09:00`);
  const end = new Date(start.getTime() + 30 * 60 * 1000);
  await api('POST', `/api/v1/services/${service.id}/slots`, {
    token,
    body: { slots: [{ office_id: office.id, starts_at: start.toISOString(), ends_at: end.toISOString(), capacity: 4 }] },
  });
  const slots = await api('GET', `/api/v1/services/${service.id}/slots?date=${date}`);
  const slotId = slots[0].id;

  // A resident, signed up through the pages, books through the API.
  const residentEmail = uniqueEmail('layout');
  const { context, page } = await newPage(browser);
  try {
    await createVerifiedResident(page, { displayName: '窓口 花子', email: residentEmail });
  } finally {
    await context.close();
  }
  const resident = await api('POST', '/api/v1/tokens', {
    body: { email: residentEmail, password: PASSWORD, kind: 'resident' },
  });
  const booked = await api('POST', '/api/v1/reservations', {
    token: resident.token,
    expected: 201,
    body: { slot_id: slotId, answers: { topic: '' } },
  });

  const proxyReservation = await proxyBook(token, slotId, '山田 太郎', 'ヤマダ タロウ');
  const cancelled = await proxyBook(token, slotId, '佐藤 次郎', 'サトウ ジロウ');
  await api('DELETE', `/api/v1/reservations/${cancelled}?reason=${encodeURIComponent('ご本人から電話')}`, { token });

  // The demo resident's fees; the 犬登録手数料 gets a konbini payment under way (a retry of the
  // same key answers the same payment, so a second run on one server finds it again).
  const payer = await api('POST', '/api/v1/tokens', {
    body: { email: DEMO_RESIDENT_EMAIL, password: DEMO_RESIDENT_PASSWORD, kind: 'resident' },
  });
  const fees = await api('GET', '/api/v1/receivables', { token: payer.token });
  const certificateFee = fees.find((r) => r.category === 'certificate_fee')?.id;
  const dogFee = fees.find((r) => r.category === 'dog_registration_fee')?.id;
  assert.ok(certificateFee && dogFee, 'the demo resident owes the two demo fees');
  const started = await fetch(url(`/api/v1/receivables/${dogFee}/payments`), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${payer.token}`, 'idempotency-key': 'layout-konbini' },
    body: JSON.stringify({ method: 'konbini' }),
  });
  assert.ok([200, 201].includes(started.status), `konbini payment started: ${started.status}`);
  const konbiniPayment = (await started.json()).id;
  const payments = await paymentsFixture(token);
  const counterTicket = await counterFixture(token, resident.token);

  const outboxName = readdirSync(outboxDir())
    .filter((n) => n.endsWith('.eml'))
    .sort()
    .at(-1);
  assert.ok(outboxName, 'the outbox holds a message');
  return {
    code,
    date,
    month: date.slice(0, 7),
    serviceId: service.id,
    slotId,
    officeId: office.id,
    residentEmail,
    residentReservation: booked.id,
    proxyReservation,
    outboxName,
    certificateFee,
    dogFee,
    konbiniPayment,
    counterTicket,
    ...payments,
  };
}

/**
 * The remote counter: the 総合窓口's queue (made once per server) and the fixture resident's
 * number in it (taking it again answers the same ticket).
 */
async function counterFixture(adminToken, residentToken) {
  const departments = await api('GET', '/api/v1/departments', { token: adminToken });
  const sogo = departments.find((d) => d.code === 'sogo-madoguchi');
  assert.ok(sogo, 'the demo has the 総合窓口');
  let queue = (await api('GET', '/api/v1/counter/queues', { token: adminToken })).find((q) => q.prefix === 'A');
  if (!queue) {
    queue = await api('POST', '/api/v1/counter/queues', {
      token: adminToken,
      expected: 201,
      body: { department_id: sogo.id, prefix: 'A', name_ja: '総合窓口 リモート相談', name_en: 'General counter (remote)' },
    });
  }
  const taken = await fetch(url(`/api/v1/counter/queues/${queue.id}/tickets`), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${residentToken}` },
    body: '{}',
  });
  assert.ok([200, 201].includes(taken.status), `a number taken: ${taken.status}`);
  return (await taken.json()).id;
}

/**
 * The counter's and finance's pages: a certificate fee paid in cash at 本庁舎 with a refund the
 * headquarters clerk requested (so the queue has one the administrator and finance did not ask
 * for), and a copy fee still owed (its checkout form).
 */
async function paymentsFixture(adminToken) {
  const hqLogin = STAFF_LOGINS.find((l) => l.role === 'hq_staff');
  const { token: hq } = await api('POST', '/api/v1/tokens', {
    body: { email: hqLogin.email, password: hqLogin.password, kind: 'staff' },
  });
  const offices = await api('GET', '/api/v1/offices', { token: adminToken });
  const honcho = (offices.find((o) => o.code === 'honcho') ?? offices[0]).id;
  const assess = (category, description, amount) =>
    api('POST', '/api/v1/receivables', {
      token: hq,
      expected: 201,
      body: { category, description, payer_name: '窓口 花子', amount_yen: amount, office_id: honcho },
    });
  const paid = await assess('certificate_fee', '住民票の写し 2通', 600);
  const payment = await api('POST', `/api/v1/receivables/${paid.id}/counter-payments`, {
    token: hq,
    expected: 201,
    body: { method: 'visa', slip_number: 'A1234567', amount_yen: 600 },
  });
  await api('POST', `/api/v1/payments/${payment.id}/refunds`, {
    token: hq,
    expected: 201,
    body: { amount_yen: 300, reason: '同じ証明書を二重に申請されたため（1通分を返金）' },
  });
  const open = await assess('copy_fee', '道路台帳の写し（コピー 10枚）', 100);
  return { paidReceivable: paid.id, counterPayment: payment.id, openReceivable: open.id };
}

before(async () => {
  assert.ok(ADMIN_EMAIL && ADMIN_PASSWORD, 'ADMIN_EMAIL and ADMIN_PASSWORD must be set by the harness');
  assert.ok(DEMO_RESIDENT_EMAIL && DEMO_RESIDENT_PASSWORD, 'DEMO_RESIDENT_EMAIL and DEMO_RESIDENT_PASSWORD must be set by the harness');
  assert.deepEqual(
    STAFF_LOGINS.map((l) => l.role).sort(),
    [...ALL_ROLES].sort(),
    'STAFF_LOGINS names a sign-in for every role',
  );
  browser = await launchBrowser();
  fx = await setUp();
  mkdirSync(SCREENSHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
});

// ---------------------------------------------------------------------------------------------
// The checks

/** Table cells (and list values) narrower than three characters of their own type. */
function narrowCells(page) {
  return page.evaluate(() => {
    const found = [];
    // Values of a description list (dl.summary: term beside value) are squeezed the same way.
    for (const cell of document.querySelectorAll('main td, main th, main dd')) {
      if (!cell.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
      // A part only hidden visually (a header row on phones, a screen-reader label) is not seen.
      let clipped = false;
      for (let e = cell; e && e !== document.body; e = e.parentElement) {
        const box = e.getBoundingClientRect();
        if (box.width <= 1 || box.height <= 1) {
          clipped = true;
          break;
        }
      }
      if (clipped) continue;
      // An empty cell (a calendar's days outside the month) has nothing to squeeze.
      if (!cell.innerText.trim() && !cell.querySelector('a, button, input, select, textarea')) continue;
      const style = getComputedStyle(cell);
      const em = parseFloat(style.fontSize);
      const content = cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      // A description's value sized to its text ("1", "はい") on one line is short, not squeezed.
      const lineHeight = parseFloat(style.lineHeight) || 1.5 * em;
      if (cell.tagName === 'DD' && cell.getBoundingClientRect().height < 1.6 * lineHeight) continue;
      if (content + 0.5 < 3 * em) {
        found.push(
          `${cell.tagName.toLowerCase()} "${cell.innerText.trim().replace(/\s+/g, ' ').slice(0, 40)}": ` +
            `${content.toFixed(1)}px of text width < 3 × ${em}px`,
        );
      }
    }
    return found;
  });
}

/** How far the page scrolls sideways, in px (0 when it fits). */
function sidewaysScroll(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

/** What sticks out on the right, to say why a page scrolls sideways. */
function overflowing(page) {
  return page.evaluate(() => {
    const limit = window.innerWidth;
    const out = [];
    for (const e of document.querySelectorAll('body *')) {
      const box = e.getBoundingClientRect();
      if (box.right > limit + 0.5 && box.width > 1) {
        const id = e.id ? `#${e.id}` : '';
        const cls = typeof e.className === 'string' && e.className ? `.${e.className.split(/\s+/).join('.')}` : '';
        out.push(`${e.tagName.toLowerCase()}${id}${cls} (right ${box.right.toFixed(0)}px)`);
      }
    }
    return out.slice(0, 8);
  });
}

/**
 * Tables drawn as stacked cards must still be tables to a screen reader: Chromium's own
 * accessibility tree (not the DOM) has a table with column headers and cells for each of them.
 */
async function tableSemanticsKept(page) {
  const tables = await page.locator('main table').count();
  if (!tables) return [];
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    const count = (role) => nodes.filter((n) => !n.ignored && n.role?.value === role).length;
    const problems = [];
    if (count('table') + count('grid') < tables) {
      problems.push(`${tables} table(s) in the page, ${count('table')} in the accessibility tree`);
    }
    if (count('columnheader') === 0) problems.push('no column headers in the accessibility tree');
    if (count('cell') + count('gridcell') + count('rowheader') === 0) problems.push('no cells in the accessibility tree');
    return problems;
  } finally {
    await cdp.detach().catch(() => {});
  }
}

async function checkPage(t, page, entry, { lang, viewport, label }) {
  await page.setViewportSize(viewport);
  const path = entry.path(fx);
  const response = await visit(page, path);
  assert.equal(response.status(), entry.status ?? 200, `GET ${path} as ${label}`);
  const isHtml = (response.headers()['content-type'] || '').startsWith('text/html');
  if (entry.html !== 'maybe') assert.ok(isHtml, `${path} is an HTML page`);
  if (isHtml) {
    assert.equal(await page.evaluate(() => document.documentElement.lang), lang, `${path} is in ${lang}`);
  }
  const problems = [];
  const scroll = await sidewaysScroll(page);
  if (scroll > 0) {
    problems.push(`scrolls sideways by ${scroll}px; wider than the screen: ${(await overflowing(page)).join(', ')}`);
  }
  if (isHtml) {
    for (const cell of await narrowCells(page)) problems.push(`narrow cell: ${cell}`);
    for (const lost of await tableSemanticsKept(page)) problems.push(`table semantics: ${lost}`);
  }
  if (entry.shot) await saveScreenshot(page, join(SCREENSHOTS, `${lang}-${viewport.width}-${entry.name}.png`));
  assert.deepEqual(problems, [], `${path} at ${viewport.width}px (${lang}, ${label})`);
  if (isHtml) await expectNoAxeViolations(page, `${entry.name} ${lang} ${viewport.width}px`);
}

/** Visits `entries` at each width in a fresh context of `locale`, signed in by `signIn`. */
async function visitAll(t, { lang, locale }, label, entries, widths, signIn) {
  const { context, page } = await newPage(browser, { locale, viewport: widths[0] });
  try {
    if (signIn) await signIn(page);
    for (const viewport of widths) {
      for (const entry of entries) {
        await t.test(`${entry.name} at ${viewport.width}px`, () => checkPage(t, page, entry, { lang, viewport, label }));
      }
    }
  } finally {
    await context.close().catch(() => {});
  }
}

async function signInResident(page) {
  await visit(page, '/signin');
  const submit = await fillSignIn(page, { email: fx.residentEmail, password: PASSWORD });
  await submitAndWaitFor(page, submit, '/account');
}

async function signInPayer(page) {
  await visit(page, '/signin');
  const submit = await fillSignIn(page, { email: DEMO_RESIDENT_EMAIL, password: DEMO_RESIDENT_PASSWORD });
  await submitAndWaitFor(page, submit, '/account');
}

function signInStaff(login) {
  return async (page) => {
    await visit(page, '/staff/signin');
    const submit = await fillSignIn(page, login);
    await submitAndWaitFor(page, submit, '/staff');
  };
}

for (const language of LANGS) {
  test(`signed out, ${language.lang}: every page fits 360 px`, async (t) => {
    const entries = PAGES.filter((p) => p.who === 'public');
    if (!entries.length) return;
    await visitAll(t, language, 'signed out', entries, [PHONE]);
  });

  test(`a resident with a reservation, ${language.lang}: every page fits 360 px`, async (t) => {
    const entries = PAGES.filter((p) => p.who === 'resident');
    if (!entries.length) return;
    await visitAll(t, language, 'resident', entries, [PHONE], signInResident);
  });

  test(`the demo resident with fees to pay, ${language.lang}: every page fits 360 px`, async (t) => {
    const entries = PAGES.filter((p) => p.who === 'payer');
    if (!entries.length) return;
    await visitAll(t, language, 'payer', entries, [PHONE], signInPayer);
  });

  for (const role of ALL_ROLES) {
    test(`staff (${role}), ${language.lang}: every page fits 1280 px and 360 px`, async (t) => {
      const login = STAFF_LOGINS.find((l) => l.role === role);
      const entries = PAGES.filter((p) => p.who === 'staff' && p.roles.includes(role));
      if (!entries.length) return;
      await visitAll(t, language, role, entries, [DESK, PHONE], signInStaff(login));
    });
  }
}

test('the page list covers every kind of visitor', () => {
  for (const who of ['public', 'resident', 'payer', 'staff']) {
    assert.ok(ALL_PAGES.some((p) => p.who === who), `pages for ${who}`);
  }
  assert.equal(new Set(ALL_PAGES.map((p) => p.name)).size, ALL_PAGES.length, 'page names are unique (screenshot files)');
});
