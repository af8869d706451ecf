// Screenshots of the four pages at a desktop and a phone size, for docs/screenshots/
// and the README, taken from a running actor (and trainer) in Debian's Chromium:
//
//   BASE_URL=http://127.0.0.1:8080 npm run screenshots
//
// Env: BASE_URL (default http://127.0.0.1:8080), OUT_DIR (default docs/screenshots at the
// repository root), CHROMIUM_PATH (default /usr/bin/chromium). A live training run makes
// the best pictures (charts with history, replays, a trained bot); the Play shots play a
// few moves against the bot of the game being trained.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE_URL = (process.env.BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const OUT_DIR = path.resolve(process.env.OUT_DIR || path.join(here, '..', '..', '..', 'docs', 'screenshots'));
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const SIZES = [
  { name: 'desktop', viewport: { width: 1400, height: 1000 }, touch: false },
  { name: 'phone', viewport: { width: 390, height: 844 }, touch: true },
];

/** Plays `n` moves of the human's side (the first legal one each time) against the bot. */
async function playSome(page, n) {
  for (let i = 0; i < n; i++) {
    const ready = await page
      .waitForFunction(() => document.querySelector('[data-testid=result]') || document.querySelector('[data-testid=board] button:enabled'), null, { timeout: 60_000 })
      .catch(() => null);
    if (!ready || (await page.getByTestId('result').count())) return;
    const enabled = page.locator('[data-testid=board] button:enabled');
    await enabled.nth(Math.floor((await enabled.count()) / 2)).click();
    await page.waitForFunction((k) => JSON.parse(document.querySelector('[data-testid=game]').dataset.moves).length >= 2 * k, i + 1, { timeout: 60_000 }).catch(() => {});
  }
}

const PAGES = [
  {
    name: 'play',
    async show(page) {
      await page.goto(`${BASE_URL}/#/play`);
      await page.getByTestId('board').waitFor({ timeout: 30_000 });
      await playSome(page, 3);
      await page.getByTestId('analysis').waitFor({ timeout: 30_000 }).catch(() => {});
    },
  },
  {
    name: 'dashboard',
    async show(page) {
      await page.goto(`${BASE_URL}/#/dashboard`);
      await page.getByTestId('cards').waitFor({ timeout: 30_000 });
      // Two polls, so every chart has its lines.
      await page.waitForTimeout(4500);
    },
  },
  {
    name: 'replays',
    async show(page) {
      await page.goto(`${BASE_URL}/#/replays`);
      await page.getByTestId('replay-list').waitFor({ timeout: 60_000 });
      await page.getByTestId('replay-list').locator('tbody a').first().click();
      await page.getByTestId('value-graph').waitFor({ timeout: 30_000 });
      const last = await page.getByTestId('value-graph').locator('rect.hit').count();
      await page.getByTestId('value-graph').locator(`rect.hit[data-ply="${Math.floor(last / 2)}"]`).click();
      // A phone shows the game (it scrolled there); a desktop shows the list beside it.
      if (page.viewportSize().width > 800) await page.evaluate(() => window.scrollTo(0, 0));
      else await page.getByTestId('replay-viewer').scrollIntoViewIfNeeded();
    },
  },
  {
    name: 'settings',
    async show(page) {
      await page.goto(`${BASE_URL}/#/settings`);
      await page.locator('[data-testid=trainer-state], [data-testid=trainer-unreachable]').first().waitFor({ timeout: 30_000 });
    },
  },
];

async function main() {
  if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH} (apt install chromium, or set CHROMIUM_PATH)`);
  const health = await fetch(`${BASE_URL}/api/health`).catch((e) => {
    throw new Error(`no actor answers at ${BASE_URL}/api/health (${e.cause?.code || e.message}); start one or set BASE_URL`);
  });
  if (!health.ok) throw new Error(`${BASE_URL}/api/health answered ${health.status}`);
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    for (const size of SIZES) {
      const context = await browser.newContext({ viewport: size.viewport, hasTouch: size.touch, isMobile: size.touch, colorScheme: 'light' });
      for (const p of PAGES) {
        const page = await context.newPage();
        await p.show(page);
        const file = path.join(OUT_DIR, `${p.name}-${size.name}.png`);
        // The phone shots are of the first screen, as a phone shows it.
        await page.screenshot({ path: file, fullPage: size.name === 'desktop' && p.name !== 'dashboard' });
        console.log(`wrote ${path.relative(process.cwd(), file)}`);
        await page.close();
      }
      await context.close();
    }
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e?.stack || e);
  process.exit(1);
});
