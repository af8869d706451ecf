// A self-play game from the replay list can be stepped through move by move.
import assert from 'node:assert/strict';

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
      // Self-play games appear after the actor has finished some; refresh until then.
      const deadline = Date.now() + waitS * 1000;
      while ((await page.getByTestId('replay-list').count()) === 0) {
        assert.ok(Date.now() < deadline, `no replay listed within ${waitS} s`);
        const alert = page.getByRole('alert');
        if (await alert.count()) throw new Error(`the page shows an error: ${await alert.first().textContent()}`);
        await page.waitForTimeout(2000);
        await page.getByRole('button', { name: 'Refresh' }).click();
      }
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

      // Search data: the visit shares and root value of the first position, when stored.
      const id = Number(new URL(page.url()).hash.split('/').pop());
      const replay = await (await page.request.get(`${baseUrl}/api/replays/${id}`)).json();
      if (replay.positions?.some((p) => p.ply === 0)) {
        assert.equal(await page.getByTestId('replay-viewer').getByTestId('value').count(), 1, 'the root value is drawn');
      }
    },
  },
];
