// Browser tests: real Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// against a running actor. Plain Node, no test framework:
//
//   BASE_URL=http://127.0.0.1:8080 npm run test:browser
//
// Env: BASE_URL (default http://127.0.0.1:8080), SCREENSHOT_DIR (default
// test-results/screenshots under web/), CHROMIUM_PATH (default /usr/bin/chromium),
// BROWSER_TESTS (comma-separated test names, name prefixes, or the tags `actor` = tests
// that need only the actor, `trainer` = tests that need the trainer too, `eval` = tests
// that need an actor reporting evaluation results (docs/CONTRACTS.md §8), `all`; by
// default every test but the `eval` ones, which run only when named or tagged),
// WAIT_S (how long to wait for data that takes time to appear, default 180).
// Prints one line per test and finally `N passed, M failed`; exits 1 on any failure.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { tests as playTests } from './play.mjs';
import { tests as dashboardTests } from './dashboard.mjs';
import { tests as replayTests } from './replays.mjs';
import { tests as settingsTests } from './settings.mjs';
import { tests as statusTests } from './status.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE_URL = (process.env.BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const SCREENSHOT_DIR = path.resolve(process.env.SCREENSHOT_DIR || path.join(here, '..', '..', 'test-results', 'screenshots'));
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const WAIT_S = Number(process.env.WAIT_S || 180);

/** Every test: `{ name, needs: ['actor'] | ['actor', 'trainer'] | [..., 'eval'], run(ctx) }`. */
const ALL = [...playTests, ...dashboardTests, ...replayTests, ...settingsTests, ...statusTests];

function selected() {
  const wanted = (process.env.BROWSER_TESTS || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  // Evaluation results need an actor that evaluates (and minutes of training): those
  // tests run only when asked for by tag or full name, never by default or by prefix.
  const isEval = (t) => t.needs.includes('eval');
  if (wanted.length === 0) return ALL.filter((t) => !isEval(t));
  const pick = ALL.filter((t) =>
    wanted.some((w) => {
      if (w === 'all') return true;
      if (w === 'eval') return isEval(t);
      if (t.name === w) return true;
      if (isEval(t)) return false;
      if (w === 'trainer') return t.needs.includes('trainer');
      if (w === 'actor') return !t.needs.includes('trainer');
      return t.name.startsWith(`${w}-`);
    }),
  );
  if (pick.length === 0) {
    console.error(`BROWSER_TESTS=${process.env.BROWSER_TESTS} matches no test. Tests: ${ALL.map((t) => t.name).join(', ')}`);
    process.exit(2);
  }
  return pick;
}

async function waitForActor() {
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${BASE_URL}/api/health`);
      if (r.ok) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e.cause?.code || e.message;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`no actor answers at ${BASE_URL}/api/health (${last}); start it or set BASE_URL`);
}

async function main() {
  const tests = selected();
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await waitForActor();
  if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH} (apt install chromium, or set CHROMIUM_PATH)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  let passed = 0;
  let failed = 0;
  try {
    for (const t of tests) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      // An uncaught exception in the page is a failure even when the page still looks fine.
      const pageErrors = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      const started = Date.now();
      const ctx = {
        page,
        context,
        baseUrl: BASE_URL,
        waitS: WAIT_S,
        log: (msg) => console.log(`    ${msg}`),
        screenshot: (name) => page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true }),
      };
      try {
        await t.run(ctx);
        if (pageErrors.length) throw new Error(`uncaught error in the page: ${pageErrors.join(' | ')}`);
        passed++;
        console.log(`ok   ${t.name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      } catch (e) {
        failed++;
        console.log(`FAIL ${t.name} (${((Date.now() - started) / 1000).toFixed(1)} s): ${e?.stack || e}`);
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${t.name}-failure.png`), fullPage: true }).catch(() => {});
      } finally {
        await context.close();
      }
    }
  } finally {
    await browser.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e?.stack || e);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
