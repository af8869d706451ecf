// Play full games against the real bot: click legal empty cells (or columns, or pass)
// until the page announces a result, then check the result with the engine itself.
import assert from 'node:assert/strict';

/** Starts a game of `game` with `simulations` per bot move; the human moves first unless `botFirst`. */
async function startGame(page, baseUrl, game, simulations, botFirst = false) {
  await page.goto(`${baseUrl}/#/play`);
  await page.getByTestId('game-select').waitFor({ timeout: 30_000 });
  const options = await page.getByTestId('game-select').locator('option').evaluateAll((os) => os.map((o) => o.value));
  assert.ok(options.includes(game), `the game list offers ${game} (it has ${options.join(', ')})`);
  await page.getByTestId('game-select').selectOption(game);
  await page.getByLabel(botFirst ? 'The bot' : 'You', { exact: true }).check();
  await page.getByTestId('strength-select').selectOption('custom');
  await page.getByTestId('custom-simulations').fill(String(simulations));
  await page.getByRole('button', { name: 'New game' }).click();
  await page.getByTestId('board').waitFor();
  assert.equal(await page.getByTestId('board').getAttribute('data-game'), game);
}

/** What the page shows now: the result, an error, or what the human can do. */
async function waitForTurn(page, timeoutMs) {
  const handle = await page.waitForFunction(
    () => {
      const result = document.querySelector('[data-testid=result]');
      if (result) return { kind: 'over', text: result.textContent.trim() };
      const alert = document.querySelector('[role=alert]');
      if (alert) return { kind: 'error', text: alert.textContent.trim() };
      if (document.querySelector('[data-testid=board] button:enabled')) return { kind: 'move' };
      if ([...document.querySelectorAll('button')].some((b) => b.textContent.startsWith('Pass'))) return { kind: 'pass' };
      return false;
    },
    null,
    { timeout: timeoutMs, polling: 100 },
  );
  return handle.jsonValue();
}

/** Plays random legal moves until the end; returns the result text and the move count. */
async function playToEnd(ctx, { maxMoves, useKeys = false }) {
  const { page } = ctx;
  let sawAnalysis = false;
  let passes = 0;
  for (let turn = 0; turn < maxMoves; turn++) {
    const state = await waitForTurn(page, 120_000);
    if (state.kind === 'over') {
      const moves = JSON.parse(await page.getByTestId('game').getAttribute('data-moves'));
      return { result: state.text, moves, sawAnalysis, passes };
    }
    assert.notEqual(state.kind, 'error', `the page shows an error: ${state.text}`);
    if (await page.getByTestId('analysis').count()) sawAnalysis = true;
    if (state.kind === 'pass') {
      passes++;
      await page.getByRole('button', { name: /^Pass/ }).click();
      continue;
    }
    const enabled = page.locator('[data-testid=board] button:enabled');
    const n = await enabled.count();
    const pick = Math.floor(Math.random() * n);
    if (useKeys && turn % 2 === 0) {
      // Connect4 takes the digit keys 1–7 too.
      const col = Number(await enabled.nth(pick).getAttribute('data-column'));
      await page.locator('body').press(String(col + 1));
    } else {
      await enabled.nth(pick).click();
    }
  }
  throw new Error(`no result after ${maxMoves} turns`);
}

/** The result the engine gives for `moves`, in the page's words for the human's side. */
async function engineVerdict(page, baseUrl, game, moves, botFirst) {
  const r = await page.request.post(`${baseUrl}/api/state`, { data: { game, moves } });
  assert.equal(r.status(), 200, `POST /api/state answered ${r.status()}: ${await r.text()}`);
  const s = await r.json();
  const words = botFirst
    ? { first: 'The bot wins', second: 'You win', draw: 'Draw' }
    : { first: 'You win', second: 'The bot wins', draw: 'Draw' };
  return words[s.outcome] ?? `unfinished (${s.outcome})`;
}

function playTest(game, { simulations, maxMoves, useKeys, botFirst = false }) {
  const name = `play-${game}${botFirst ? '-bot-first' : ''}`;
  return {
    name,
    needs: ['actor'],
    async run(ctx) {
      const { page, baseUrl } = ctx;
      await startGame(page, baseUrl, game, simulations, botFirst);
      if (botFirst) {
        // The bot opens: one piece on the board before the human's first move.
        await page.waitForFunction(() => JSON.parse(document.querySelector('[data-testid=game]').dataset.moves).length === 1, null, { timeout: 60_000 });
      }
      const { result, moves, sawAnalysis, passes } = await playToEnd(ctx, { maxMoves, useKeys });
      ctx.log(`${name}: "${result}" after ${moves.length} moves${passes ? `, ${passes} passes by us` : ''}`);
      assert.match(result, /^(You win|The bot wins|Draw)\b/);
      assert.ok(sawAnalysis, "the bot's visit shares and value were shown after its moves");
      const verdict = await engineVerdict(page, baseUrl, game, moves, botFirst);
      assert.ok(result.startsWith(verdict), `the page says "${result}", the engine says "${verdict}"`);
      // The page checks every position against /api/state; give the last check a moment.
      await page.waitForTimeout(500);
      assert.equal(await page.getByTestId('rules-mismatch').count(), 0, 'the page and the engine agree on every position');
      const announced = await page.getByTestId('announcer').textContent();
      assert.match(announced, /Game over/);
      await ctx.screenshot(name);
    },
  };
}

export const tests = [
  playTest('tictactoe', { simulations: 50, maxMoves: 12 }),
  playTest('tictactoe', { simulations: 50, maxMoves: 12, botFirst: true }),
  playTest('connect4', { simulations: 16, maxMoves: 40, useKeys: true }),
  playTest('othello', { simulations: 8, maxMoves: 80 }),
  {
    name: 'play-phone',
    needs: ['actor'],
    async run(ctx) {
      const { page, baseUrl } = ctx;
      await page.setViewportSize({ width: 390, height: 844 });
      await startGame(page, baseUrl, 'tictactoe', 20);
      // The page fits a phone: no sideways scrolling, the board inside the screen.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page is ${overflow}px wider than a 390px phone`);
      const box = await page.getByTestId('board').boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390, 'the board fits the screen');
      // Undo after one exchange is back to an empty board.
      await page.getByRole('button', { name: 'Cell b2, empty' }).click();
      await page.waitForFunction(() => JSON.parse(document.querySelector('[data-testid=game]').dataset.moves).length === 2, null, { timeout: 60_000 });
      await page.getByRole('button', { name: 'Undo' }).click();
      assert.equal(await page.getByTestId('game').getAttribute('data-moves'), '[]');
      await ctx.screenshot('play-phone');
    },
  },
];
