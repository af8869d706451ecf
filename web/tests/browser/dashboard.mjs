// The dashboard draws its charts from the trainer's stats history.
import assert from 'node:assert/strict';

/**
 * Counts the canvas pixels in a series' own colour. Axes and grid are drawn on the same
 * canvas, so "any ink" would pass for an empty chart; the line colour does not.
 */
function lineInk(page, testid, hex) {
  return page.evaluate(
    ([id, hex]) => {
      const canvas = document.querySelector(`[data-testid=${id}] canvas`);
      if (!canvas) return -1;
      const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let ink = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] > 200 && want.every((v, k) => Math.abs(data[i + k] - v) < 40)) ink++;
      }
      return ink;
    },
    [testid, hex],
  );
}

export const tests = [
  {
    name: 'dashboard',
    needs: ['actor', 'trainer'],
    async run(ctx) {
      const { page, baseUrl, waitS } = ctx;
      await page.goto(`${baseUrl}/#/dashboard`);
      // Loss lines need two history points; a fresh run takes a while to get them.
      await page.waitForFunction(
        () => {
          const fig = document.querySelector('[data-testid=chart-loss]');
          return fig && fig.querySelector('canvas') && !fig.querySelector('.empty');
        },
        null,
        { timeout: waitS * 1000, polling: 1000 },
      );
      const charts = ['chart-loss', 'chart-lr', 'chart-data', 'chart-entropy', 'chart-samples', 'chart-actor'];
      for (const id of charts) {
        assert.equal(await page.locator(`[data-testid=${id}] canvas`).count(), 1, `${id} has a canvas`);
      }
      // The page polls every 2 s; the actor chart needs two polls of its own.
      await page.waitForFunction(() => !document.querySelector('[data-testid=chart-actor] .empty'), null, { timeout: 15_000 });
      await page.waitForTimeout(300);
      // Colours as set in DashboardPage.svelte. The actor chart's two lines lie on top of
      // each other when self-play is idle (both 0), so either colour counts there.
      const expected = [
        ['chart-loss', ['#2f6fdf']],
        ['chart-lr', ['#8e44ad']],
        ['chart-actor', ['#c0392b', '#2980b9']],
      ];
      for (const [id, colours] of expected) {
        let ink = 0;
        for (const colour of colours) ink += await lineInk(page, id, colour);
        ctx.log(`${id}: ${ink} line pixels`);
        assert.ok(ink > 20, `${id} has its line drawn on the canvas (${ink} pixels of ${colours.join(' or ')})`);
      }
      const step = await page.getByTestId('card-step').textContent();
      assert.match(step, /^[\d,.]+( M)?$/, `the step card shows a number, not "${step}"`);
      assert.equal(await page.getByTestId('actor-down').count(), 0, 'no "actor unreachable" banner');
      await ctx.screenshot('dashboard');
    },
  },
];
