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
      // A won game lights up its line and dims every other piece.
      if (!/^Draw/.test(result) && game !== 'othello') {
        const dims = await page.evaluate(() => {
          const board = document.querySelector('[data-testid=board]');
          const other = board.querySelector('.slot:not(.win) .disc.p1, .slot:not(.win) .disc.p2, .cell:not(.win) .mark.p1, .cell:not(.win) .mark.p2');
          return { hasWin: board.classList.contains('has-win'), wins: board.querySelectorAll('.win').length, opacity: other ? Number(getComputedStyle(other).opacity) : 0 };
        });
        assert.ok(dims.hasWin && dims.wins >= 3, `the winning line is marked (${JSON.stringify(dims)})`);
        assert.ok(dims.opacity < 0.5, `the other pieces are dimmed (opacity ${dims.opacity})`);
      }
      const announced = await page.getByTestId('announcer').textContent();
      assert.match(announced, /Game over/);
      await ctx.screenshot(name);
    },
  };
}

/** Widest option text of each select in the setup panel against the room the select gives it. */
async function clippedOptions(page) {
  return page.evaluate(() => {
    const ctx = document.createElement('canvas').getContext('2d');
    const out = [];
    for (const sel of document.querySelectorAll('section.setup select')) {
      const cs = getComputedStyle(sel);
      ctx.font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
      // Padding and the drop-down arrow take about 28 px of the select's width.
      const room = sel.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 20;
      for (const o of sel.options) {
        const w = ctx.measureText(o.textContent).width;
        if (w > room) out.push(`"${o.textContent}" (${Math.round(w)} px in ${Math.round(room)} px)`);
      }
    }
    return out;
  });
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
      // The bot's search fits too: heatmap on the board, value bar below it.
      await page.getByTestId('analysis').waitFor({ timeout: 10_000 });
      const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(wide <= 0, `with the analysis shown the page is ${wide}px wider than the phone`);
      await ctx.screenshot('play-phone');
      await page.getByRole('button', { name: 'Undo' }).click();
      assert.equal(await page.getByTestId('game').getAttribute('data-moves'), '[]');
    },
  },
  {
    name: 'play-keys',
    needs: ['actor'],
    async run(ctx) {
      const { page, baseUrl } = ctx;
      await startGame(page, baseUrl, 'tictactoe', 20);
      const moves = async () => JSON.parse(await page.getByTestId('game').getAttribute('data-moves'));
      // The focused board cell, when it is one that can be played.
      const focusedCell = () =>
        page.evaluate(() => {
          const el = document.activeElement;
          return el?.matches('[data-testid=board] button:enabled') ? el.getAttribute('data-cell') : null;
        });
      // Everything the live region says, in order (the bot's reply can follow within ms).
      await page.evaluate(() => {
        const region = document.querySelector('[data-testid=announcer]');
        window.__announced = [];
        new MutationObserver(() => window.__announced.push(region.textContent)).observe(region, { childList: true, characterData: true, subtree: true });
      });
      // From nowhere, an arrow lands on the centre (b2); Enter plays it.
      await page.locator('body').press('ArrowRight');
      assert.equal(await focusedCell(), '4', 'the first arrow key focuses b2');
      await page.keyboard.press('Enter');
      assert.deepEqual((await moves()).slice(0, 1), [4], 'Enter played the focused cell');
      await page.waitForFunction(() => window.__announced.some((t) => t.includes('The bot played')), null, { timeout: 60_000 });
      const said = await page.evaluate(() => window.__announced);
      assert.ok(said.includes('You played b2.'), `the live region announced our move (it said ${JSON.stringify(said)})`);
      // The bot's answer repeats our move, in case the reader only caught the newest text.
      assert.ok(
        said.some((t) => /^You played b2\. The bot played [a-c][1-3]\.$/.test(t)),
        `the bot's move is announced with ours (it said ${JSON.stringify(said)})`,
      );
      // Then arrows walk the empty cells; Enter plays whichever has the focus.
      for (let turn = 0; turn < 4; turn++) {
        const state = await waitForTurn(page, 60_000);
        if (state.kind === 'over') break;
        assert.equal(state.kind, 'move', `expected our turn, the page shows ${JSON.stringify(state)}`);
        await page.keyboard.press(turn % 2 ? 'ArrowDown' : 'ArrowLeft');
        let cell = await focusedCell();
        if (cell === null) {
          // Nothing in that direction: any other arrow finds a cell.
          for (const key of ['ArrowRight', 'ArrowUp', 'ArrowLeft', 'ArrowDown']) {
            await page.keyboard.press(key);
            cell = await focusedCell();
            if (cell !== null) break;
          }
        }
        assert.ok(cell !== null, 'an arrow key focused an empty cell');
        const before = await moves();
        assert.ok(!before.includes(Number(cell)), `the focused cell ${cell} is empty`);
        await page.keyboard.press('Enter');
        assert.equal((await moves())[before.length], Number(cell), 'Enter played the focused cell');
      }
      await ctx.screenshot('play-keys');
    },
  },
  {
    name: 'play-thinking',
    needs: ['actor'],
    async run(ctx) {
      const { page, baseUrl } = ctx;
      // Hold each bot request back for 2 s, so the thinking state can be seen at all.
      await page.route('**/api/move', async (route) => {
        await new Promise((r) => setTimeout(r, 2000));
        await route.continue();
      });
      // Any reply in this game names the model the label must show (the first request
      // may be one the page dropped for a newer one; both ask the same actor).
      const moveReply = page.waitForResponse((r) => r.url().endsWith('/api/move') && r.status() === 200, { timeout: 60_000 });
      await startGame(page, baseUrl, 'tictactoe', 50, true);
      const elapsed = page.getByTestId('elapsed');
      await elapsed.waitFor({ timeout: 10_000 });
      assert.equal(await page.getByTestId('status').locator('.spinner').count(), 1, 'a spinner turns while the bot thinks');
      const first = await elapsed.textContent();
      await page.waitForTimeout(700);
      const later = await elapsed.textContent();
      assert.notEqual(later, first, `the elapsed time counts up (${first} then ${later})`);
      assert.match(later, /^(\d+ ms|\d+(\.\d)? s)$/);
      // Its move lands; then the value bar and the top moves show what the search thought.
      await page.getByTestId('analysis').waitFor({ timeout: 30_000 });
      assert.equal(await page.getByTestId('elapsed').count(), 0, 'the spinner is gone once the bot has moved');
      assert.equal(await page.getByTestId('analysis').getByRole('meter').count(), 1, 'the value bar is drawn');
      assert.doesNotMatch(await page.getByTestId('analysis').textContent(), /· 0\.0 s/, 'a fast search says ms, not 0.0 s');
      // On the user's turn the board carries no visit shares: they would read as hints.
      assert.equal(await page.locator('[data-testid=board] .share').count(), 0, 'no visit shares on the board on your turn');
      // The position the bot searched, from the value graph: its visit shares on the board.
      await page.getByTestId('value-graph').locator('rect.hit[data-ply="0"]').click();
      await page.getByTestId('browsing').waitFor();
      assert.ok((await page.locator('[data-testid=board] .share').count()) >= 1, 'visit shares are drawn where the bot searched');
      assert.equal(await page.locator('[data-testid=board] button:enabled').count(), 0, 'a past position cannot be played on');
      await page.getByRole('button', { name: 'Back to the game' }).click();
      assert.equal(await page.getByTestId('browsing').count(), 0);
      assert.ok((await page.locator('[data-testid=board] button:enabled').count()) > 0, 'the live game can be played again');
      // The setup panel names the model the move used: "Bot model: best, step 4200".
      const reply = await (await moveReply).json();
      const label = page.getByTestId('bot-model');
      if (reply.model_version === null) {
        const said = (await label.count()) ? await label.textContent() : null;
        const note = await page.getByTestId('no-model').count();
        assert.ok(note === 1 ? said === null : said === 'Bot model: none (search only)', `no model: the page says so once (label ${said}, ${note} notes)`);
      } else {
        // The label names the model the bot plays next: this reply's, or a newer one
        // that /api/health has named since (the trainer publishes every second here).
        const said = (await label.textContent()).trim();
        const m = /^Bot model: (?:(best|latest), )?step (\d+)$/.exec(said);
        assert.ok(m, `the label reads "${said}"`);
        assert.ok(Number(m[2]) >= reply.model_version, `the label's step ${m[2]} is at least the reply's ${reply.model_version}`);
        if (reply.model_source) assert.equal(m[1], reply.model_source);
      }
      await ctx.screenshot('play-thinking');
    },
  },
  {
    name: 'play-search',
    needs: ['actor'],
    async run(ctx) {
      const { page, baseUrl } = ctx;
      // The search chosen on the page goes with each request and is named under the board.
      for (const search of ['gumbel', 'ttts']) {
        await startGame(page, baseUrl, 'tictactoe', 32);
        await page.getByTestId('search-select').selectOption(search);
        const reply = page.waitForResponse((r) => r.url().endsWith('/api/move') && r.status() === 200, { timeout: 60_000 });
        await page.getByRole('button', { name: 'Cell b2, empty' }).click();
        const sent = (await reply).request().postDataJSON();
        assert.equal(sent.search, search, `the request asks for ${search}: ${JSON.stringify(sent)}`);
        await page.getByTestId('analysis').waitFor({ timeout: 30_000 });
        assert.match(await page.getByTestId('analysis').textContent(), new RegExp(`· ${search}`));
      }
    },
  },
  {
    name: 'play-analysis',
    needs: ['actor'],
    async run(ctx) {
      const { page, baseUrl } = ctx;
      await startGame(page, baseUrl, 'connect4', 16);
      // The option texts fit their selects, whole.
      assert.deepEqual(await clippedOptions(page), [], 'no option text is cut off');
      const moves = async () => JSON.parse(await page.getByTestId('game').getAttribute('data-moves'));
      for (let i = 0; i < 2; i++) {
        await waitForTurn(page, 60_000);
        await page.locator('[data-testid=board] button:enabled').first().click();
        await page.waitForFunction((n) => JSON.parse(document.querySelector('[data-testid=game]').dataset.moves).length >= n, 2 * (i + 1), { timeout: 60_000 });
      }
      await waitForTurn(page, 60_000);
      const played = await moves();
      // Any move of the list shows the position after it, not playable; the value graph
      // has a dot for each position the bot searched.
      await page.getByTestId('move-list').getByRole('button').first().click();
      await page.getByTestId('browsing').waitFor();
      assert.match(await page.getByTestId('browsing').textContent(), new RegExp(`Looking at move 1 of ${played.length}`));
      const pieces = await page.locator('[data-testid=board] [data-piece="1"], [data-testid=board] [data-piece="2"]').count();
      assert.equal(pieces, 1, 'one piece after the first move');
      assert.equal(await page.locator('[data-testid=board] button:enabled').count(), 0);
      assert.equal(await page.getByTestId('value-graph').locator('path.dot').count(), played.length / 2, 'a dot per bot search');
      // With a model, the network's own value is a second line beside the search's.
      const probe = await (await page.request.post(`${baseUrl}/api/move`, { data: { game: 'connect4', moves: [], simulations: 8 } })).json();
      if (probe.network_value !== null && probe.network_value !== undefined) {
        assert.equal(await page.getByTestId('value-graph').locator('path.second').count(), 1, "the network's line is drawn");
        assert.match(await page.getByTestId('analysis').textContent(), /the network alone: [+-]\d\.\d\d/);
      }
      await page.getByRole('button', { name: 'Back to the game' }).click();
      assert.equal(await page.getByTestId('browsing').count(), 0);
      assert.deepEqual(await moves(), played, 'looking back changed no move');
      await ctx.screenshot('play-analysis');
    },
  },
  {
    name: 'play-model-label',
    needs: ['actor', 'trainer'],
    async run(ctx) {
      const { page, baseUrl, waitS } = ctx;
      // The label follows the trainer's new models without a move being played.
      const health = async () => (await (await page.request.get(`${baseUrl}/api/health`)).json()).model_version;
      await page.goto(`${baseUrl}/#/play`);
      await page.getByTestId('game-select').waitFor({ timeout: 30_000 });
      const first = await health();
      const deadline = Date.now() + waitS * 1000;
      let now = first;
      while (now === first) {
        assert.ok(Date.now() < deadline, `no new model within ${waitS} s (still ${first})`);
        await page.waitForTimeout(1000);
        now = await health();
      }
      await page.waitForFunction(
        (v) => {
          const m = /step (\d+)/.exec(document.querySelector('[data-testid=bot-model]')?.textContent ?? '');
          return m && Number(m[1]) >= v;
        },
        now,
        { timeout: 15_000 },
      );
    },
  },
  {
    name: 'play-phone-touch',
    needs: ['actor'],
    async run(ctx) {
      const { baseUrl } = ctx;
      // A phone with a touch screen: the hint speaks of taps, the options fit.
      const phone = await ctx.context.browser().newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
      try {
        const page = await phone.newPage();
        // The page opens on the game being trained, where the bot has a model.
        const trained = (await (await page.request.get(`${baseUrl}/api/health`)).json()).game;
        await page.goto(`${baseUrl}/#/play`);
        await page.getByTestId('game-select').waitFor({ timeout: 30_000 });
        await page.waitForFunction((g) => document.querySelector('[data-testid=board]')?.dataset.game === g, trained, { timeout: 15_000 });
        assert.equal(await page.getByTestId('game-select').inputValue(), trained, `Play opens on ${trained}`);
        await startGame(page, baseUrl, 'connect4', 16);
        assert.match(await page.locator('.hint').textContent(), /^Tap a column/);
        assert.deepEqual(await clippedOptions(page), [], 'no option text is cut off on a phone');
        // The board and its controls come first: the board's top within the first screen.
        const box = await page.getByTestId('board').boundingBox();
        assert.ok(box && box.y < 844 && box.y + box.height <= 844 * 1.2, `the board is near the top (${JSON.stringify(box)})`);
      } finally {
        await phone.close();
      }
    },
  },
];
