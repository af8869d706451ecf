// A self-play game from the replay list can be stepped through move by move, the list
// pages and filters, and a link brings back the same game at the same position.
import assert from 'node:assert/strict';

/** The replay id in the page's address (`#/replays/42?ply=3` → 42). */
function idInUrl(url) {
  return Number(new URL(url).hash.split('?')[0].split('/').pop());
}

/** Waits until the replay list has games (self-play has finished some). */
async function waitForList(page, waitS) {
  const deadline = Date.now() + waitS * 1000;
  while ((await page.getByTestId('replay-list').count()) === 0) {
    assert.ok(Date.now() < deadline, `no replay listed within ${waitS} s`);
    // The list's own errors; the header's "trainer down" banner is not one.
    const alert = page.locator('section.list [role=alert]');
    if (await alert.count()) throw new Error(`the page shows an error: ${await alert.first().textContent()}`);
    await page.waitForTimeout(2000);
    await page.getByRole('button', { name: 'Refresh' }).click();
  }
}

async function pieces(page) {
  return page.locator('[data-testid=board] [data-piece="1"], [data-testid=board] [data-piece="2"]').count();
}

async function plyText(page) {
  return (await page.getByTestId('replay-ply').textContent()).trim();
}

export const tests = [
  {
    name: 'replays',
    needs: ['actor'],
    async run(ctx) {
      const { page, baseUrl, waitS } = ctx;
      await page.goto(`${baseUrl}/#/replays`);
      await waitForList(page, waitS);
      await page.getByTestId('replay-list').locator('tbody a').first().click();
      await page.getByTestId('replay-viewer').waitFor({ timeout: 30_000 });
      const m = (await plyText(page)).match(/^Move 0 of (\d+)$/);
      assert.ok(m, `the viewer starts at move 0 (shows "${await plyText(page)}")`);
      const total = Number(m[1]);
      assert.ok(total >= 1, 'the replay has moves');
      const start = await pieces(page);

      await page.getByRole('button', { name: 'Next move' }).click();
      assert.equal(await plyText(page), `Move 1 of ${total}`);
      assert.notEqual(await pieces(page), start, 'the first move changed the board');

      // The move list jumps straight to a move.
      if (total >= 2) {
        await page.getByRole('list', { name: /^Moves/ }).getByRole('button').nth(1).click();
        assert.equal(await plyText(page), `Move 2 of ${total}`);
      }

      await page.keyboard.press('End');
      assert.equal(await plyText(page), `Move ${total} of ${total}`);
      assert.match(await page.getByTestId('replay-viewer').textContent(), /Final position/);

      await page.keyboard.press('ArrowLeft');
      assert.equal(await plyText(page), `Move ${total - 1} of ${total}`);
      // One move before the end the search's visit shares and value are on the board.
      await ctx.screenshot('replays');
      await page.keyboard.press('Home');
      assert.equal(await plyText(page), `Move 0 of ${total}`);
      assert.equal(await pieces(page), start, 'back to the first position');

      // Search data: the visit shares and root value of the first position, when stored;
      // otherwise the reason (a random opening move, or a trimmed game).
      const id = idInUrl(page.url());
      const replay = await (await page.request.get(`${baseUrl}/api/replays/${id}`)).json();
      if (replay.positions?.some((p) => p.ply === 0)) {
        assert.equal(await page.getByTestId('replay-viewer').getByTestId('value').count(), 1, 'the root value is drawn');
      } else {
        const why = await page.getByTestId('no-search').textContent();
        assert.match(why, replay.positions?.length ? /random/ : /trimmed/, `the reason given: "${why}"`);
        assert.doesNotMatch(why, /may have/);
      }

      // The value graph: one column per position; a click jumps there.
      const graph = page.getByTestId('value-graph');
      assert.equal(await graph.locator('rect.hit').count(), total + 1, 'a column per position');
      await graph.locator(`rect.hit[data-ply="${total}"]`).click();
      assert.equal(await plyText(page), `Move ${total} of ${total}`);
      const searched = (replay.positions ?? []).map((p) => p.ply);
      assert.equal(await graph.locator('path.dot').count(), searched.length, 'a dot per searched position');

      // The network's own values of the game, from the model loaded now, as a second line.
      const game = (await (await page.request.get(`${baseUrl}/api/health`)).json()).game;
      const net = await page.request.post(`${baseUrl}/api/values`, { data: { game, moves: replay.moves } });
      if (net.ok()) {
        await graph.locator('path.second').waitFor({ timeout: 10_000 });
        assert.equal((await net.json()).values.length, total + 1, 'a network value per position');
      }
      // The link: the position shown travels in the address and opens there again.
      await graph.locator(`rect.hit[data-ply="${total - 1}"]`).click();
      const link = await page.getByTestId('share-link').inputValue();
      assert.match(link, new RegExp(`#/replays/${id}\\?(.*&)?ply=${total - 1}`), `the link "${link}"`);
      const fresh = await ctx.context.newPage();
      await fresh.goto(link);
      await fresh.getByTestId('replay-viewer').waitFor({ timeout: 30_000 });
      assert.equal(await plyText(fresh), `Move ${total - 1} of ${total}`, 'the shared link opens at its position');
      await fresh.close();

      // Ask the bot about the position on the board.
      await page.keyboard.press('Home');
      await page.getByTestId('ask-bot').click();
      const answer = page.getByTestId('bot-answer');
      await answer.waitFor({ timeout: 60_000 });
      assert.match(await answer.textContent(), /The bot would play \S+/);
    },
  },
  {
    name: 'replays-browse',
    needs: ['actor'],
    async run(ctx) {
      const { page, baseUrl, waitS } = ctx;
      await page.goto(`${baseUrl}/#/replays`);
      await waitForList(page, waitS);
      const all = await (await page.request.get(`${baseUrl}/api/replays?limit=30`)).json();
      const range = async () => (await page.getByTestId('replay-range').textContent()).replace(/\s+/g, ' ').trim();
      assert.match(await range(), /^Games 1–\d+ of [\d,]+/);
      // Paging: 30 a page, older and back.
      if (all.total > 30) {
        // Self-play adds games all the while: the older page starts below the first
        // page's last id, and counts every newer game, those added since too.
        const lastOfFirst = Number((await page.getByTestId('replay-list').locator('tbody a').last().textContent()).slice(1));
        await page.getByTestId('page-older').click();
        await page.waitForFunction(
          (last) => Number(document.querySelector('[data-testid=replay-list] tbody a')?.textContent.slice(1)) < last,
          lastOfFirst,
          { timeout: 15_000 },
        );
        assert.match(page.url(), /before=\d+/);
        const shown = (await range()).match(/^Games ([\d,]+)–/);
        assert.ok(shown && Number(shown[1].replace(/,/g, '')) >= 31, `the older page says "${await range()}"`);
        await page.getByTestId('page-newer').click();
        await page.waitForFunction(() => /^Games 1–30 /.test(document.querySelector('[data-testid=replay-range]')?.textContent.trim() ?? ''));
      } else {
        assert.ok(await page.getByTestId('page-older').isDisabled(), 'one page: nothing older');
      }
      // Filters: the first player's wins only, as the server counts them.
      await page.getByTestId('filter-outcome').selectOption('first');
      await page.getByTestId('replay-filters').getByRole('button', { name: 'Filter' }).click();
      await page.waitForFunction(() => location.hash.includes('outcome=first'));
      const wins = await (await page.request.get(`${baseUrl}/api/replays?limit=30&outcome=first`)).json();
      if (wins.total > 0) {
        await page.waitForFunction(() => /matching/.test(document.querySelector('[data-testid=replay-range]')?.textContent ?? ''));
        const results = await page.getByTestId('replay-list').locator('tbody tr td:nth-child(4)').allTextContents();
        assert.ok(results.length > 0 && results.every((r) => / won$/.test(r) && r === results[0]), `only one side's wins: ${results.join(', ')}`);
      } else {
        await page.getByTestId('replays-empty').waitFor();
      }
      // A filter the server cannot match shows the words for it, not an empty table.
      await page.goto(`${baseUrl}/#/replays?moves_min=100000`);
      await page.getByTestId('replays-empty').waitFor({ timeout: 15_000 });
      assert.match(await page.getByTestId('replays-empty').textContent(), /No self-play game matches/);
      // A broken link says what it ignored.
      await page.goto(`${baseUrl}/#/replays?outcome=won`);
      await page.getByText(/Ignored in the link: outcome “won”/).waitFor({ timeout: 15_000 });
    },
  },
  {
    name: 'replays-phone',
    needs: ['actor'],
    async run(ctx) {
      const { page, baseUrl, waitS } = ctx;
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${baseUrl}/#/replays`);
      await waitForList(page, waitS);
      await page.getByTestId('replay-list').locator('tbody a').first().click();
      await page.getByTestId('replay-viewer').waitFor({ timeout: 30_000 });
      // The viewer sits below the list on a phone: choosing a game brings it into view.
      await page.waitForFunction(() => {
        const r = document.querySelector('[data-testid=replay-viewer]').getBoundingClientRect();
        return r.top >= -1 && r.top < window.innerHeight / 2;
      }, null, { timeout: 5_000 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page is ${overflow}px wider than a 390px phone`);
      await ctx.screenshot('replays-phone');
    },
  },
];
