// The remote counter's call in real Chromium with fake cameras and microphones: a resident who
// was called joins from the ticket page, the specialist from the room's page, the specialist
// brings a second department in, and its specialist joins as a guest. Every one of the three
// must decode video frames from both others (through the app's signalling and its SFU). Then
// the specialist ends the consultation and the resident's page says so. The resident's call
// page must pass axe.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { chromium } from 'playwright-core';

import {
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  expectNoAxeViolations,
  fillSignIn,
  newPage,
  saveArtifacts,
  submitAndWaitFor,
  url,
  visit,
} from './support.mjs';

const ADMIN_EMAIL = process.env.ADMIN_EMAIL;
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD;
const STAFF_LOGINS = JSON.parse(process.env.STAFF_LOGINS || '[]');
const RESIDENT = { email: process.env.DEMO_RESIDENT_EMAIL, password: process.env.DEMO_RESIDENT_PASSWORD };

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      ...CHROMIUM_ARGS,
      // A synthetic camera (a moving test pattern) and microphone, granted without a prompt.
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      // Loopback candidates, as the SFU on 127.0.0.1 offers them.
      '--allow-loopback-in-peer-connection',
    ],
    timeout: 60_000,
  });
});

after(async () => {
  await browser?.close();
});

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

async function token(email, password, kind) {
  return (await api('POST', '/api/v1/tokens', { body: { email, password, kind } })).token;
}

async function signIn(page, path, login, landing) {
  await visit(page, path);
  const submit = await fillSignIn(page, login);
  await submitAndWaitFor(page, submit, landing);
}

/** A red pixel, as a resident's photo of a document (the page enlarges it for the video). */
const ONE_PIXEL_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

/**
 * Waits until the page decodes video frames from `others` distinct participants, reading the
 * page's own `getStats()` summary every half second.
 */
async function receivesVideoFrom(page, others, who) {
  const deadline = Date.now() + 45_000;
  let inbound = null;
  while (Date.now() < deadline) {
    inbound = await page.evaluate(async () => (window.madoguchiCall ? window.madoguchiCall.inbound() : null));
    if (inbound) {
      const senders = new Set(inbound.filter((s) => s.kind === 'video' && s.frames > 5 && s.publisher).map((s) => s.publisher.publisher));
      if (senders.size >= others) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const status = await page.locator('#call-status').textContent().catch(() => '');
  throw new Error(`${who} did not decode video from ${others} others: ${JSON.stringify(inbound)}; status: ${status}`);
}

test('three participants see each other through the SFU, and the end reaches everyone', { timeout: 180_000 }, async (t) => {
  const admin = await token(ADMIN_EMAIL, ADMIN_PASSWORD, 'staff');
  const hqLogin = STAFF_LOGINS.find((l) => l.role === 'hq_staff');
  const resident = await token(RESIDENT.email, RESIDENT.password, 'resident');

  // 子育て支援課's queue, served here by the administrator; 総合窓口 (the hq@ specialist's
  // department) will be brought in.
  const departments = await api('GET', '/api/v1/departments', { token: admin });
  const kosodate = departments.find((d) => d.code === 'kosodate');
  const sogo = departments.find((d) => d.code === 'sogo-madoguchi');
  assert.ok(kosodate && sogo, 'the demo has both departments');
  let queue = (await api('GET', '/api/v1/counter/queues', { token: admin })).find((q) => q.department_id === kosodate.id);
  if (!queue) {
    queue = await api('POST', '/api/v1/counter/queues', {
      token: admin,
      expected: 201,
      body: { department_id: kosodate.id, prefix: 'K', name_ja: '子育て支援課 リモート相談', name_en: 'Child-rearing support (remote)' },
    });
  }
  const taken = await fetch(url(`/api/v1/counter/queues/${queue.id}/tickets`), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${resident}` },
    body: '{}',
  });
  assert.ok([200, 201].includes(taken.status), `a number taken: ${taken.status}`);
  const ticket = await taken.json();
  const called = await api('POST', `/api/v1/counter/queues/${queue.id}/call-next`, { token: admin });
  assert.equal(called.id, ticket.id, 'the resident is called');

  const pages = [];
  try {
    // The resident answers from the ticket page and lands on the call.
    const residentSide = await newPage(browser);
    pages.push(residentSide);
    await signIn(residentSide.page, '/signin', RESIDENT, '/account');
    await visit(residentSide.page, `/counter/tickets/${ticket.id}`);
    await Promise.all([
      residentSide.page.waitForURL(/\/counter\/rooms\//),
      residentSide.page.getByRole('button', { name: '通話に参加する' }).click(),
    ]);
    const roomPath = new URL(residentSide.page.url()).pathname;

    const specialistSide = await newPage(browser);
    pages.push(specialistSide);
    await signIn(specialistSide.page, '/staff/signin', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }, '/staff');
    await visit(specialistSide.page, roomPath);
    await receivesVideoFrom(residentSide.page, 1, 'the resident');
    await receivesVideoFrom(specialistSide.page, 1, 'the specialist');

    // The specialist brings 総合窓口 in; its specialist joins as a guest.
    await specialistSide.page.locator('#call-add-department').selectOption(sogo.id);
    await specialistSide.page.getByRole('button', { name: '同席を依頼' }).click();
    // The change is acknowledged, and the room's new shape announced to everyone.
    await specialistSide.page.locator('#call-status', { hasText: /受け付けました|相談の内容が変わりました/ }).waitFor();
    const guestSide = await newPage(browser);
    pages.push(guestSide);
    await signIn(guestSide.page, '/staff/signin', hqLogin, '/staff');
    await visit(guestSide.page, roomPath);
    await guestSide.page.getByText('同席する課の担当者として参加します。').waitFor();

    await receivesVideoFrom(residentSide.page, 2, 'the resident');
    await receivesVideoFrom(specialistSide.page, 2, 'the specialist');
    await receivesVideoFrom(guestSide.page, 2, 'the guest specialist');

    await expectNoAxeViolations(residentSide.page, 'the resident\'s call page');

    // The resident shows a photo of a document: the specialist decodes a second video from
    // them, captioned as the document camera.
    const residentId = await residentSide.page.locator('#call').getAttribute('data-participant');
    await residentSide.page.locator('#call-photo').setInputFiles({
      name: 'juminhyo.png',
      mimeType: 'image/png',
      buffer: Buffer.from(ONE_PIXEL_PNG, 'base64'),
    });
    await residentSide.page.getByRole('button', { name: '書類を映すのをやめる' }).waitFor();
    const deadline = Date.now() + 45_000;
    let fromResident = 0;
    let inbound = [];
    while (Date.now() < deadline && fromResident < 2) {
      inbound = await specialistSide.page.evaluate(async () => window.madoguchiCall.inbound());
      fromResident = inbound.filter((s) => s.kind === 'video' && s.publisher && s.publisher.publisher === residentId && s.frames > 2).length;
      if (fromResident < 2) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const residentStatus = await residentSide.page.locator('#call-status').textContent();
    assert.equal(fromResident, 2, `the specialist decodes the resident's camera and document: ${JSON.stringify(inbound)}; the resident's page says ${residentStatus}`);
    await specialistSide.page.locator('#call-videos figcaption', { hasText: '書画カメラ' }).first().waitFor();

    // The specialist ends the consultation; the resident's page says so.
    specialistSide.page.once('dialog', (dialog) => dialog.accept());
    await specialistSide.page.getByRole('button', { name: '相談を終了する' }).click();
    await residentSide.page.locator('#call-status', { hasText: '相談は終了しました' }).waitFor({ timeout: 20_000 });
    const after = await api('GET', `/api/v1/counter/tickets/${ticket.id}`, { token: resident });
    assert.equal(after.status, 'finished');
  } catch (error) {
    for (const [i, side] of pages.entries()) {
      await saveArtifacts(side.page, `${t.name}-${i}`);
    }
    throw error;
  } finally {
    for (const side of pages) {
      await side.context.close().catch(() => {});
    }
  }
});

test('the device check shows the camera and says what to do when the devices are blocked', { timeout: 60_000 }, async (t) => {
  const { context, page } = await newPage(browser);
  try {
    await visit(page, '/counter/device-check?next=/counter');
    await page.getByRole('button', { name: '確認を始める' }).click();
    await page.locator('#dc-result-text', { hasText: '準備ができました' }).waitFor();
    await page.waitForFunction(() => window.madoguchiDeviceCheck.camera === 'ok');
    assert.equal(await page.getByRole('link', { name: '相談に進む' }).getAttribute('href'), '/counter');
    await page.getByRole('button', { name: 'テスト音を鳴らす' }).click();
    await page.locator('#dc-speaker-status', { hasText: 'テスト音を鳴らしました' }).waitFor();
    await expectNoAxeViolations(page, 'the device check');
  } catch (error) {
    await saveArtifacts(page, t.name);
    throw error;
  } finally {
    await context.close();
  }

  // A resident who blocked the camera is told how to allow it.
  const blocked = await newPage(browser);
  try {
    await blocked.context.addInitScript(() => {
      navigator.mediaDevices.getUserMedia = () =>
        Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
    });
    await visit(blocked.page, '/counter/device-check?next=https://evil.example/');
    assert.equal(await blocked.page.getByRole('link', { name: '相談に進む' }).count(), 0, 'no link off the site');
    await blocked.page.getByRole('button', { name: '確認を始める' }).click();
    await blocked.page.locator('#dc-result-text', { hasText: '鍵のマーク' }).waitFor();
    await expectNoAxeViolations(blocked.page, 'the device check, blocked');
  } catch (error) {
    await saveArtifacts(blocked.page, `${t.name}-blocked`);
    throw error;
  } finally {
    await blocked.context.close();
  }
});

test('the branch kiosk: large topic buttons, the number and the wait, all axe clean', { timeout: 60_000 }, async (t) => {
  const kioskLogin = STAFF_LOGINS.find((l) => l.role === 'branch_staff');
  const { context, page } = await newPage(browser, { viewport: { width: 800, height: 1280 } });
  try {
    await signIn(page, '/staff/signin', kioskLogin, '/staff');
    await visit(page, '/kiosk');
    await expectNoAxeViolations(page, 'the kiosk start');
    const topic = page.getByRole('button', { name: '子育て支援課 リモート相談' });
    const box = await topic.boundingBox();
    assert.ok(box && box.height >= 64, `a touch target at least 64 px high: ${JSON.stringify(box)}`);
    await Promise.all([page.waitForURL(/\/kiosk\/tickets\//), topic.click()]);
    await page.getByText('あなたの順番は').waitFor();
    await expectNoAxeViolations(page, 'the kiosk waiting page');
  } catch (error) {
    await saveArtifacts(page, t.name);
    throw error;
  } finally {
    await context.close();
  }
});
