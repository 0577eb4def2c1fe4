// (8) Typed questions on a phone: an administrator defines a checkup asking yes/no, a choice, a
// number, a date and free text through the JSON API; a resident on a 360 px screen opens the
// booking form, sends it with every answer wrong or missing (each problem shown at once, at its
// field and in the summary at the top, whose links lead to the fields), then fills each control
// as a person would (a radio, a number, a date picker's value, a box of text) and books. The
// confirmation reads the answers back as words. axe-core checks the form, with and without
// errors, and no page scrolls sideways.
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
const PHONE = { width: 360, height: 740 };

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

/** A checkup asking one question of every kind, with one session on OPEN_DATE; its slot id. */
async function createCheckup() {
  const { token } = await api('POST', '/api/v1/tokens', {
    body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, kind: 'staff' },
  });
  const suffix = String(Date.now() % 1_000_000).padStart(6, '0');
  const service = await api('POST', '/api/v1/services', {
    token,
    expected: 201,
    body: {
      code: `tokutei-${suffix}`,
      kind: 'checkup',
      name_ja: `特定健診 ${suffix.slice(-4)}`,
      name_en: `Health checkup ${suffix.slice(-4)}`,
      rules: {
        window: { opens_days_before: 60, opens_at_local: '00:00', closes_hours_before: 1 },
        cancellation: { deadline_hours_before: 24 },
        questions: [
          { id: 'previous_year', label_ja: '昨年度の受診の有無', label_en: 'Screened last fiscal year?', required: true, kind: { type: 'yes_no' } },
          {
            id: 'course',
            label_ja: '受診するコース',
            label_en: 'Course',
            required: true,
            kind: {
              type: 'choice',
              options: [
                { id: 'full', label_ja: '胃・肺・大腸がん検診', label_en: 'Stomach, lung and colon' },
                { id: 'colon', label_ja: '大腸がん検診のみ', label_en: 'Colon only' },
              ],
            },
          },
          { id: 'children', label_ja: '同伴するお子さんの人数', label_en: 'Children coming with you', required: true, kind: { type: 'number', min: 0, max: 3 } },
          { id: 'last_visit', label_ja: '前回の受診日', label_en: 'Last screening', kind: { type: 'date', min: '2000-01-01' } },
          { id: 'story', label_ja: '伝えておきたいこと', label_en: 'Anything we should know', kind: { type: 'text', max_chars: 400 } },
        ],
      },
    },
  });
  const offices = await api('GET', '/api/v1/offices', { token });
  const date = process.env.OPEN_DATE;
  assert.match(date ?? '', /^\d{4}-\d{2}-\d{2}$/, 'OPEN_DATE is given');
  const start = new Date(`${date}T13:00:00+09:00`);
  const end = new Date(`${date}T14:00:00+09:00`);
  await api('POST', `/api/v1/services/${service.id}/slots`, {
    token,
    body: { slots: [{ office_id: offices[0].id, starts_at: start.toISOString(), ends_at: end.toISOString(), capacity: 5 }] },
  });
  const slots = await api('GET', `/api/v1/services/${service.id}/slots?date=${date}`);
  assert.equal(slots.length, 1, 'one session');
  return { slot: slots[0].id, name: service.name_ja };
}

async function noSidewaysScroll(page, label) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  assert.ok(scrollWidth <= innerWidth, `${label}: scrollWidth ${scrollWidth} > innerWidth ${innerWidth}`);
}

test('a resident on a phone answers questions of every kind, told of every mistake at once', async (t) => {
  const checkup = await createCheckup();
  await withPage(
    browser,
    t,
    async (page) => {
      const email = uniqueEmail('questions');
      await createVerifiedResident(page, { displayName: '質問 花子', email });
      await visit(page, '/signin');
      await submitAndWaitFor(page, await fillSignIn(page, { email, password: PASSWORD }), '/account');

      const formPath = `/reservations/book/${checkup.slot}`;
      await visit(page, formPath);
      await noSidewaysScroll(page, 'booking form');
      await t.test('axe: typed booking form', () => expectNoAxeViolations(page, 'typed booking form'));

      // Each kind has its control, labelled.
      const radios = (name) => page.locator(`input[type="radio"][name="${name}"]`);
      assert.equal(await radios('q_previous_year').count(), 2, 'yes/no is two radios');
      assert.equal(await radios('q_course').count(), 2, 'a choice is a radio per option');
      for (const legend of ['昨年度の受診の有無', '受診するコース']) {
        assert.equal(await page.locator('main fieldset legend', { hasText: legend }).count(), 1, `${legend} has a legend`);
      }
      const children = page.getByLabel('同伴するお子さんの人数');
      assert.equal(await children.getAttribute('type'), 'number');
      assert.equal(await children.getAttribute('max'), '3');
      const lastVisit = page.getByLabel('前回の受診日');
      assert.equal(await lastVisit.getAttribute('type'), 'date');
      const story = page.getByLabel('伝えておきたいこと');
      assert.equal(await story.evaluate((e) => e.tagName), 'TEXTAREA');

      // Everything wrong at once: the required ones left out, a number out of range.
      await children.fill('5');
      const submit = page.locator(`main form[action="${formPath}"] button[type="submit"]`);
      const [refused] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === formPath),
        submit.click(),
      ]);
      assert.equal(refused.status(), 422);
      await page.waitForLoadState('load');
      const summary = page.locator('[role="alert"]').first();
      await summary.waitFor({ state: 'visible' });
      const links = await summary.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      assert.deepEqual(
        links,
        ['#f-q_previous_year-yes', '#f-q_course-full', '#f-q_children'],
        'every problem is listed, in the order of the form',
      );
      assert.equal(await radios('q_previous_year').first().getAttribute('aria-invalid'), 'true');
      assert.equal(await radios('q_course').first().getAttribute('aria-invalid'), 'true');
      assert.equal(await children.getAttribute('aria-invalid'), 'true');
      assert.equal(await children.inputValue(), '5', 'what was typed is kept');
      assert.match(await page.locator('#f-q_children-error').innerText(), /0〜3の整数で入力してください/);
      await noSidewaysScroll(page, 'booking form with errors');
      await t.test('axe: typed booking form with errors', () => expectNoAxeViolations(page, 'typed booking form with errors'));

      // A summary link leads to its field.
      await summary.locator('a[href="#f-q_children"]').click();
      assert.equal(new URL(page.url()).hash, '#f-q_children');

      // Fill each control as a person would.
      await page.getByLabel('はい').check();
      await page.getByLabel('大腸がん検診のみ').check();
      await children.fill('2');
      await lastVisit.fill('2024-05-01');
      await story.fill('車いすで伺います');
      await Promise.all([
        page.waitForURL((u) => u.pathname.startsWith('/my/reservations/') && u.searchParams.get('booked') === '1', {
          waitUntil: 'load',
        }),
        submit.click(),
      ]);
      const answers = await page.locator('main').innerText();
      for (const shown of ['はい', '大腸がん検診のみ', '2', '2024年5月1日（水）', '車いすで伺います']) {
        assert.ok(answers.includes(shown), `${shown} in ${answers}`);
      }
      await noSidewaysScroll(page, 'confirmation');
    },
    { viewport: PHONE },
  );
});
