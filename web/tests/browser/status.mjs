// The header's actor/trainer indicators and the banner naming what is unreachable.
// Outages are made in the browser (page.route): the trainer's proxy answering 502 as the
// actor does when the trainer is down (docs/CONTRACTS.md §6), then no answer at all.
import assert from 'node:assert/strict';

function pillState(page, name) {
  return page.getByTestId(`status-${name}`).getAttribute('data-state');
}

async function waitForState(page, name, state) {
  await page.waitForFunction(([n, s]) => document.querySelector(`[data-testid=status-${n}]`)?.dataset.state === s, [name, state], {
    timeout: 20_000,
  });
}

export const tests = [
  {
    name: 'status-outages',
    needs: ['actor'],
    async run(ctx) {
      const { page, baseUrl } = ctx;
      await page.route('**/api/trainer/**', (route) =>
        route.fulfill({ status: 502, contentType: 'application/json', body: JSON.stringify({ error: 'trainer not reachable (test)' }) }),
      );
      await page.goto(`${baseUrl}/#/play`);
      await waitForState(page, 'trainer', 'down');
      assert.equal(await pillState(page, 'actor'), 'up');
      const banner = page.getByTestId('connection-banner');
      assert.match(await banner.textContent(), /trainer is not reachable.*playing and replays still work/);
      assert.match(await page.getByTestId('status-trainer').getAttribute('title'), /trainer not reachable \(test\)/);

      // Play keeps working without the trainer.
      await page.getByTestId('board').waitFor();
      await page.getByRole('button', { name: 'Cell b2, empty' }).click();
      await page.waitForFunction(() => JSON.parse(document.querySelector('[data-testid=game]').dataset.moves).length === 2, null, { timeout: 60_000 });
      await ctx.screenshot('status-trainer-down');

      // The dashboard has its own, more detailed banner and keeps showing the actor's figures.
      await page.goto(`${baseUrl}/#/dashboard`);
      await page.getByTestId('trainer-down').waitFor({ timeout: 20_000 });
      assert.equal(await page.getByTestId('connection-banner').count(), 0, 'the dashboard does not repeat the shell banner');
      assert.match(await page.getByTestId('card-games').textContent(), /^[\d,.]+( M)?$/);

      // Now the actor stops answering too: the header says so and the page keeps its data.
      await page.route('**/api/**', (route) => route.abort('connectionrefused'));
      await waitForState(page, 'actor', 'down');
      assert.equal(await pillState(page, 'trainer'), 'unknown', 'nothing is known about the trainer behind a dead actor');
      await page.getByTestId('actor-down').waitFor({ timeout: 10_000 });
      assert.match(await page.getByTestId('card-games').textContent(), /^[\d,.]+( M)?$/, 'the last figures stay on screen');
      await page.goto(`${baseUrl}/#/replays`);
      await page.getByTestId('connection-banner').waitFor({ timeout: 20_000 });
      assert.match(await page.getByTestId('connection-banner').textContent(), /actor is not reachable/);
      await ctx.screenshot('status-actor-down');

      // And back: the actor's part of the banner goes once it answers again (the trainer's
      // stays only when no trainer runs beside this actor).
      await page.unroute('**/api/**');
      await page.unroute('**/api/trainer/**');
      await waitForState(page, 'actor', 'up');
      await page.waitForFunction(() => !/actor is not reachable/.test(document.querySelector('[data-testid=connection-banner]')?.textContent ?? ''), null, {
        timeout: 20_000,
      });
    },
  },
];
