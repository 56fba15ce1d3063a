// The feed page in headless Debian chromium (playwright-core): a fresh user
// saves cards of one topic, skips one, opens and closes one (a dwell), and
// the next feed shifts toward that topic without the skipped card.
// Screenshots go to test-artifacts/. Skipped (with a message) only when no
// chromium is installed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startForage, userEvents } from './helpers/app.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, '..', 'test-artifacts');
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && fs.existsSync(p));

let f;
let browser;
let baseUrl;

before(async () => {
  if (!CHROMIUM) return;
  f = await startForage();
  baseUrl = await f.app.listen({ port: 0, host: '127.0.0.1' });
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await f?.stop();
});

// The cards on the page, as the page shows them.
function cards(page) {
  return page.$$eval('#feed .card', (els) => els.map((e) => ({
    id: Number(e.dataset.itemId), topic: e.dataset.topic, label: e.dataset.label, title: e.dataset.title,
    why: e.querySelector('.why').textContent,
  })));
}

// Press a card's button with the keyboard, then wait for the feed to be fetched again.
async function press(page, itemId, action) {
  const loaded = await page.$eval('#feed', (e) => e.dataset.loaded);
  const button = page.locator(`#feed .card[data-item-id="${itemId}"] button.${action}`);
  await button.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction((prev) => document.querySelector('#feed').dataset.loaded !== prev, loaded, { timeout: 10_000 });
}

const count = (list, topic) => list.filter((c) => c.topic === topic).length;

test('the feed shifts toward saved cards of one topic, and a skipped card never comes back', { skip: CHROMIUM ? false : 'chromium is not installed (apt-get install -y chromium)' }, async () => {
  const user = 7001;
  const page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${baseUrl}/?user=${user}`);
  await page.waitForSelector('#feed .card');
  await page.waitForFunction(() => document.querySelectorAll('#feed .card').length === 7);
  const first = await cards(page);
  await page.screenshot({ path: path.join(ARTIFACTS, '1-fresh-user.png'), fullPage: true });
  assert.equal(first.length, 7);
  assert.ok(first.every((c) => c.title && c.why), 'every card has a title and says why');
  assert.ok(first.some((c) => c.label === 'exploring'));

  // every button is reachable and named
  const unnamed = await page.$$eval('#feed button.save, #feed button.skip, #feed button.share', (bs) => bs.filter((b) => !b.getAttribute('aria-label')).length);
  assert.equal(unnamed, 0);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.tagName), 'INPUT');

  // No match cards for a new user: save a card of the rarest topic on the page
  // to create an interest; then grow the topic most of the match cards have.
  assert.ok(!first.some((c) => c.label === 'match'), 'a new user has no match cards');
  const rarest = [...first].sort((a, b) => count(first, a.topic) - count(first, b.topic))[0];
  await press(page, rarest.id, 'save');
  const matches = (await cards(page)).filter((c) => c.label === 'match');
  assert.ok(matches.length >= 3, `match cards after the first save: ${JSON.stringify(matches)}`);
  const topic = [...matches].sort((a, b) => count(matches, b.topic) - count(matches, a.topic))[0].topic;
  const before = count(first, topic);

  // save two match cards of that topic
  for (let i = 0; i < 2; i += 1) {
    const now = await cards(page);
    const match = now.find((c) => c.topic === topic && c.label === 'match');
    assert.ok(match, `a match card of ${topic} after saving: ${JSON.stringify(now)}`);
    assert.equal(match.why, `near your interest in ${topic}`);
    await press(page, match.id, 'save');
  }
  await page.screenshot({ path: path.join(ARTIFACTS, '2-after-saves.png'), fullPage: true });

  // open a card and close it: a dwell
  const toOpen = (await cards(page))[0];
  const toggle = page.locator(`#feed .card[data-item-id="${toOpen.id}"] button.toggle`);
  await toggle.focus();
  await page.keyboard.press('Enter');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  await page.waitForTimeout(400);
  await page.keyboard.press('Enter');
  const deadline = Date.now() + 5000;
  let dwell;
  while (!dwell && Date.now() < deadline) {
    dwell = (await userEvents(f.pg, user)).find((e) => e.signal === 'dwell' && e.entity === toOpen.id);
    if (!dwell) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(dwell, 'closing an open card sends a dwell');
  assert.ok(dwell.weight > 0.01 && dwell.weight < 0.5, `dwell weight ${dwell.weight}`);

  // skip a card of another topic
  const now = await cards(page);
  const skipped = now.find((c) => c.topic !== topic) || now[now.length - 1];
  await press(page, skipped.id, 'skip');

  const last = await cards(page);
  await page.screenshot({ path: path.join(ARTIFACTS, '3-after-skip.png'), fullPage: true });
  assert.equal(last.length, 7);
  assert.ok(count(last, topic) > before, `${topic}: ${before} cards before, ${count(last, topic)} after`);
  assert.ok(!last.some((c) => c.id === skipped.id), 'the skipped card is gone');

  // and it stays gone after a reload
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('#feed .card').length === 7);
  assert.ok(!(await cards(page)).some((c) => c.id === skipped.id));

  // the panel shows the interest
  const bars = await page.$$eval('#interests .bar span:first-child', (s) => s.map((x) => x.textContent));
  assert.ok(bars.includes(topic), `panel bars: ${bars}`);
  assert.equal(await page.locator('#hit-rate svg, #hit-rate .empty').count() > 0, true);
  assert.deepEqual(errors, []);
  await page.close();
});
