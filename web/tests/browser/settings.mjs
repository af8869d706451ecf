// A settings round trip through the trainer: change the learning rate, see it, have a
// bad value refused with the trainer's words, put the old value back.
import assert from 'node:assert/strict';

/** Waits for the settings page to load; fails with the page's own words when it cannot. */
async function settingsLoaded(page) {
  await page.locator('[data-testid=trainer-state], [data-testid=trainer-unreachable]').first().waitFor({ timeout: 30_000 });
  const down = page.getByTestId('trainer-unreachable');
  if (await down.count()) throw new Error(`the settings page says: ${(await down.textContent()).trim()}`);
}

/** The trainer's config values (its answer is `{config, live}`; a bare object works too). */
async function trainerConfig(page, baseUrl) {
  const r = await page.request.get(`${baseUrl}/api/trainer/config`);
  assert.equal(r.status(), 200, `GET /api/trainer/config answered ${r.status()}`);
  const body = await r.json();
  return body.config && typeof body.config === 'object' ? body.config : body;
}

export const tests = [
  {
    name: 'settings',
    needs: ['actor', 'trainer'],
    async run(ctx) {
      const { page, baseUrl } = ctx;
      const before = await trainerConfig(page, baseUrl);
      assert.equal(typeof before.learning_rate, 'number', 'the trainer reports learning_rate');
      const original = before.learning_rate;
      const changed = Number((original / 2).toPrecision(6));

      await page.goto(`${baseUrl}/#/settings`);
      await settingsLoaded(page);
      const input = page.locator('input[name=learning_rate]');
      assert.equal(Number(await input.inputValue()), original);
      // Beside the configured value, the one the schedule gives now (the trainer's status).
      const status = await (await page.request.get(`${baseUrl}/api/trainer/status`)).json();
      if (typeof status.learning_rate === 'number') {
        assert.match(await page.getByTestId('lr-scheduled').textContent(), /The schedule .* gives \S+ at the trainer's current step/);
      }
      try {
        await input.fill(String(changed));
        await page.getByRole('button', { name: 'Save' }).click();
        await page.getByTestId('settings-saved').waitFor({ timeout: 15_000 });
        assert.equal(Number(await page.locator('td[data-key=learning_rate]').textContent()), changed);
        assert.equal((await trainerConfig(page, baseUrl)).learning_rate, changed, 'the trainer has the new value');

        // A value the trainer refuses: its 422 message, naming the field, is shown.
        await input.fill('-1');
        await page.getByRole('button', { name: 'Save' }).click();
        const error = page.getByTestId('settings-error');
        await error.waitFor({ timeout: 15_000 });
        assert.match(await error.textContent(), /learning_rate/);
        assert.equal((await trainerConfig(page, baseUrl)).learning_rate, changed, 'the refused value was not applied');
        await ctx.screenshot('settings');
      } finally {
        // Put the original back through the page, and make sure of it through the API.
        await input.fill(String(original));
        await page.getByRole('button', { name: 'Save' }).click();
        await page.getByTestId('settings-saved').waitFor({ timeout: 15_000 }).catch(() => {});
        if ((await trainerConfig(page, baseUrl)).learning_rate !== original) {
          await page.request.patch(`${baseUrl}/api/trainer/config`, { data: { learning_rate: original } });
        }
      }
      assert.equal((await trainerConfig(page, baseUrl)).learning_rate, original, 'the learning rate is restored');
      assert.equal(Number(await page.locator('td[data-key=learning_rate]').textContent()), original);
    },
  },
  {
    name: 'settings-pause',
    needs: ['actor', 'trainer'],
    async run(ctx) {
      const { page, baseUrl } = ctx;
      await page.goto(`${baseUrl}/#/settings`);
      await settingsLoaded(page);
      const state = page.getByTestId('trainer-state');
      const wasPaused = /paused/.test(await state.textContent());
      const toggle = page.getByRole('button', { name: /^(Pause|Resume) training$/ });
      if (!wasPaused) {
        // Pausing a live run asks first; "Keep training" changes nothing.
        await toggle.click();
        await page.getByTestId('confirm-pause').waitFor();
        await page.getByRole('button', { name: 'Keep training' }).click();
        assert.equal((await (await page.request.get(`${baseUrl}/api/trainer/status`)).json()).paused, false, 'not paused without a yes');
        assert.match(await state.textContent(), /running/);
      }
      const confirmIfAsked = async () => {
        const yes = page.getByRole('button', { name: 'Yes, pause training' });
        if (await yes.count()) await yes.click();
      };
      try {
        await toggle.click();
        await confirmIfAsked();
        await page.waitForFunction((was) => document.querySelector('[data-testid=trainer-state]').textContent.includes(was ? 'running' : 'paused'), wasPaused, { timeout: 15_000 });
        const status = await (await page.request.get(`${baseUrl}/api/trainer/status`)).json();
        assert.equal(status.paused, !wasPaused, 'the trainer reports the new state');
        await ctx.screenshot('settings-pause');
      } finally {
        await toggle.click();
        await confirmIfAsked();
        await page.waitForFunction((was) => document.querySelector('[data-testid=trainer-state]').textContent.includes(was ? 'paused' : 'running'), wasPaused, { timeout: 15_000 });
      }
      const status = await (await page.request.get(`${baseUrl}/api/trainer/status`)).json();
      assert.equal(status.paused, wasPaused, 'the trainer is back as it was');
    },
  },
];
