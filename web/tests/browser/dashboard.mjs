// The dashboard draws its charts from the trainer's stats history, and (test
// `dashboard-eval`, tag `eval`) the evaluation charts from /api/stats → evaluation.
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

/**
 * Counts canvas pixels of any saturated colour, with opacity in [minAlpha, maxAlpha].
 * Axes, ticks and grid are grey, so only series lines (opaque) and filled bands
 * (translucent) count; for charts whose colours depend on the data.
 */
function colourInk(page, testid, minAlpha = 200, maxAlpha = 255) {
  return page.evaluate(
    ([id, lo, hi]) => {
      const canvas = document.querySelector(`[data-testid=${id}] canvas`);
      if (!canvas) return -1;
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let ink = 0;
      for (let i = 0; i < data.length; i += 4) {
        const a = data[i + 3];
        if (a < lo || a > hi) continue;
        const rgb = [data[i], data[i + 1], data[i + 2]];
        if (Math.max(...rgb) - Math.min(...rgb) > 60) ink++;
      }
      return ink;
    },
    [testid, minAlpha, maxAlpha],
  );
}

/** Waits until the header says the actor (and the trainer, when `trainer`) are up. */
async function headerSaysUp(page, trainer) {
  await page.waitForFunction(
    (trainer) => {
      const state = (n) => document.querySelector(`[data-testid=status-${n}]`)?.dataset.state;
      return state('actor') === 'up' && (!trainer || state('trainer') === 'up');
    },
    trainer,
    { timeout: 20_000 },
  );
  assert.equal(await page.getByTestId('connection-banner').count(), 0, 'no "not reachable" banner while both answer');
}

/** Tick labels that do not fit their axis, or repeat on one axis, in every drawn chart. */
function axisProblems(page) {
  return page.evaluate(() => {
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    const out = [];
    for (const host of document.querySelectorAll('figure.chart .host')) {
      if (!host.dataset.axes) continue;
      const id = host.closest('figure').dataset.testid;
      JSON.parse(host.dataset.axes).forEach((axis, i) => {
        const labels = axis.values.filter((v) => v !== '');
        // A time axis labels seconds within each minute (":40" every minute) by design.
        const timeAxis = i === 0 && host.dataset.time === 'true';
        if (!timeAxis && new Set(labels).size < labels.length) out.push(`${id} axis ${i} repeats a label: ${labels.join(' ')}`);
        if (i === 0) return; // the x axis runs along the bottom: its size is a height
        const widest = Math.max(0, ...labels.map((v) => ctx.measureText(v).width));
        if (widest + 8 > axis.size) out.push(`${id} axis ${i}: "${labels.join(' ')}" (${Math.round(widest)} px) in ${axis.size} px`);
      });
    }
    return out;
  });
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
      await headerSaysUp(page, true);
      // The evaluation section is there either way: charts, or words saying why not.
      const evalSection = page.getByTestId('eval-section');
      assert.equal(await evalSection.count(), 1, 'the dashboard has an evaluation section');
      const hasCharts = await evalSection.getByTestId('chart-elo').count();
      if (!hasCharts) assert.match(await evalSection.getByTestId('eval-empty').textContent(), /evaluation/i);
      assert.match(await page.getByTestId('card-selfplay').textContent(), /(latest|best) · (\d+|none)/);
      // The search self-play runs, as the actor reports it.
      const sps = (await (await page.request.get(`${baseUrl}/api/stats`)).json()).actor.self_play_search;
      assert.ok(sps && sps.search, 'the actor reports the search self-play runs');
      const searchCard = (await page.getByTestId('card-search').textContent()).replace(/\s+/g, ' ');
      assert.ok(searchCard.includes(`${sps.search} ${sps.simulations} simulations, ${sps.leaves_per_game} leaves`), `the search card says "${searchCard}"`);
      // The throughput chart starts from the history the actor keeps, at once, not
      // after the page's own polls.
      const kept = (await (await page.request.get(`${baseUrl}/api/stats/throughput`)).json()).points;
      if (kept.length >= 2) {
        const fresh = await ctx.context.newPage();
        const opened = Date.now() / 1000;
        await fresh.goto(`${baseUrl}/#/dashboard`);
        await fresh.waitForFunction(() => !document.querySelector('[data-testid=chart-actor] .empty'), null, { timeout: 15_000 });
        const first = Number(await fresh.getByTestId('chart-actor').locator('.host').getAttribute('data-first-x'));
        assert.ok(first <= kept[0].time + 1 && first < opened - 5, `the chart starts at the actor's first kept point (${first}), not at the page's (${opened})`);
        await fresh.close();
      }
      // The page holds still: the trainer flips between training and waiting under its
      // sample-ratio limit every few seconds, and that must not move the page about.
      const tops = [];
      const banners = [];
      for (let i = 0; i < 24; i++) {
        tops.push(await page.evaluate(() => Math.round(document.querySelector('[data-testid=cards]').getBoundingClientRect().top + window.scrollY)));
        banners.push(await page.getByTestId('waiting').count());
        await page.waitForTimeout(500);
      }
      const changes = banners.slice(1).filter((b, i) => b !== banners[i]).length;
      assert.ok(changes <= 1, `the waiting banner came and went ${changes} times in 12 s`);
      const moves = tops.slice(1).filter((t, i) => t !== tops[i]).length;
      assert.ok(moves <= 1, `the cards moved ${moves} times in 12 s (${[...new Set(tops)].join(', ')} px)`);
      // How far evaluation is behind training, in the Elo card.
      const lag = await page.getByTestId('eval-lag').textContent();
      assert.match(lag, /^(rated up to step [\d,]+( of [\d,]+)?|no model rated yet)$/, `the Elo card says "${lag}"`);
      // Every tick label fits its axis and reads differently from its neighbours.
      assert.deepEqual(await axisProblems(page), []);
      // Step or wall time on the x axis, the same for training and evaluation charts.
      await page.getByTestId('axis-time').click();
      await page.waitForFunction(() => /Loss vs time/.test(document.querySelector('[data-testid=chart-loss] figcaption')?.textContent ?? ''));
      await page.waitForTimeout(300);
      assert.deepEqual(await axisProblems(page), [], 'against time too');
      await page.getByTestId('axis-step').click();
      await page.waitForFunction(() => /Loss vs step/.test(document.querySelector('[data-testid=chart-loss] figcaption')?.textContent ?? ''));
      // Evaluations per searched move, once self-play has searched a move in the window.
      await page.waitForFunction(
        () => /per searched move/.test(document.querySelector('[data-testid=card-evals]')?.textContent ?? ''),
        null,
        { timeout: 30_000, polling: 1000 },
      );
      const evalsCard = (await page.getByTestId('card-evals').textContent()).replace(/\s+/g, ' ');
      assert.match(evalsCard, /[\d.,]+ per searched move/, `the evals card says "${evalsCard}"`);
      await ctx.screenshot('dashboard');
    },
  },
  {
    name: 'dashboard-eval',
    needs: ['actor', 'eval'],
    async run(ctx) {
      const { page, baseUrl, waitS } = ctx;
      // The stats the page itself last received: a separate request races the page's
      // 2 s poll while TicTacToe publishes a model every second or so.
      let pageStats = null;
      page.on('response', async (r) => {
        if (r.url().endsWith('/api/stats') && r.ok()) pageStats = await r.json().catch(() => pageStats);
      });
      await page.goto(`${baseUrl}/#/dashboard`);
      // The first results come a while after the first model is published.
      try {
        await page.waitForFunction(
          () => {
            const fig = document.querySelector('[data-testid=chart-elo]');
            return fig && fig.querySelector('canvas') && !fig.querySelector('.empty');
          },
          null,
          { timeout: waitS * 1000, polling: 1000 },
        );
      } catch (e) {
        const s = await (await page.request.get(`${baseUrl}/api/stats`)).json().catch(() => ({}));
        const what = !('evaluation' in s) ? 'has no "evaluation" key' : s.evaluation === null ? 'says "evaluation": null' : 'has evaluation, but no rated snapshot';
        throw new Error(`no Elo chart within ${waitS} s: GET /api/stats ${what} (${e.message.split('\n')[0]})`);
      }
      await headerSaysUp(page, false);
      const stats = await (await page.request.get(`${baseUrl}/api/stats`)).json();
      const ev = stats.evaluation;
      assert.ok(ev && typeof ev === 'object', 'GET /api/stats carries an evaluation object');
      await page.waitForTimeout(500);

      // Elo: its own line, and the 95% band as a translucent fill around it.
      const line = await lineInk(page, 'chart-elo', '#2f6fdf');
      // The edges are drawn at alpha 0.45 (about 115), the fill at 0.16 (about 41).
      const band = await colourInk(page, 'chart-elo', 15, 80);
      ctx.log(`chart-elo: ${line} line pixels, ${band} band pixels`);
      assert.ok(line > 5, `the Elo line or point is drawn (${line} pixels)`);
      const rated = ev.ratings.filter((r) => r.version !== null && r.elo_hi - r.elo_lo > 1);
      if (rated.length >= 2) assert.ok(band > 300, `the 95% band is shaded (${band} pixels)`);

      // Scores against the baselines and perfect-play error rates, when the actor has them.
      for (const [id, rows] of [
        ['chart-baselines', ev.baselines],
        ['chart-accuracy', ev.accuracy],
      ]) {
        const fig = page.getByTestId(id);
        assert.equal(await fig.count(), 1, `${id} is on the page`);
        if (rows.length === 0) {
          assert.equal(await fig.locator('.empty').count(), 1, `${id} says in words that it has no data`);
          continue;
        }
        await page.waitForFunction((id) => !document.querySelector(`[data-testid=${id}] .empty`), id, { timeout: 10_000 });
        const ink = await colourInk(page, id);
        ctx.log(`${id}: ${rows.length} results, ${ink} coloured pixels`);
        assert.ok(ink > 5, `${id} draws its series (${ink} pixels)`);
      }

      // Which model self-play uses, at a glance, as the actor reports it; the timeline
      // lists the published models and marks that one. The page polls every 2 s and
      // self-play may switch models in between, so compare a few times before failing.
      const rows = page.getByTestId('model-timeline').locator('tbody tr');
      assert.ok((await rows.count()) >= 1, 'the timeline lists published models');
      let seen = '';
      for (let attempt = 0; ; attempt++) {
        // Continuous mode plays the actor's loaded model (the summary can lag it); gated, the best.
        const s = pageStats ?? (await (await page.request.get(`${baseUrl}/api/stats`)).json());
        const gating = s.evaluation?.gating;
        const selfPlay = gating && gating.mode !== 'continuous' ? gating.self_play_version : (s.actor.model_version ?? gating?.self_play_version);
        if (selfPlay == null) break;
        const card = await page.getByTestId('card-selfplay').textContent();
        const marked = page.getByTestId('model-timeline').locator('tr.self td').first();
        const markedText = (await marked.count()) ? (await marked.textContent()).replace(/,/g, '') : 'nothing';
        seen = `step ${selfPlay}: the card says "${card.trim()}", the timeline marks ${markedText}`;
        if (card.includes(String(selfPlay)) && markedText === String(selfPlay)) break;
        assert.ok(attempt < 5, `the self-play model is shown as the actor reports it (${seen})`);
        await page.waitForTimeout(2500);
      }
      if (seen) ctx.log(`self-play ${seen}`);
      // Evaluation and training charts share the x axis: the same first and last tick.
      await page.waitForTimeout(300);
      const xTicks = await page.evaluate(() =>
        ['chart-elo', 'chart-loss'].map((id) => {
          const axes = JSON.parse(document.querySelector(`[data-testid=${id}] .host`).dataset.axes || '[]');
          return axes[0]?.values.filter((v) => v !== '') ?? [];
        }),
      );
      assert.deepEqual(xTicks[0], xTicks[1], 'the Elo and loss charts have the same x ticks');
      assert.deepEqual(await axisProblems(page), []);
      // A legend of many lines starts folded and opens on a click.
      const fold = page.getByTestId('chart-accuracy').locator('.legend-toggle');
      if (await fold.count()) {
        assert.equal(await page.getByTestId('chart-accuracy').locator('.u-legend').isVisible(), false, 'folded legend');
        await fold.click();
        assert.equal(await page.getByTestId('chart-accuracy').locator('.u-legend').isVisible(), true, 'opened legend');
      }
      // A long timeline shows its newest rows and opens to all of them.
      const more = page.getByTestId('timeline-more');
      if (await more.count()) {
        const shown = await rows.count();
        await more.click();
        assert.equal(await more.getAttribute('aria-expanded'), 'true');
        assert.ok((await rows.count()) > shown, 'the older models are listed once asked for');
        await more.click();
        assert.equal(await rows.count(), shown);
      }
      // The Elo card says which step its rating is of, against the trainer's.
      assert.match(await page.getByTestId('eval-lag').textContent(), /^rated up to step [\d,]+/);
      // The throughput chart fills after two of the page's polls: wait, for a full picture.
      await page.waitForFunction(() => !document.querySelector('[data-testid=chart-actor] .empty'), null, { timeout: 15_000 });
      await ctx.screenshot('dashboard-eval');
    },
  },
  {
    name: 'dashboard-phone',
    needs: ['actor', 'trainer'],
    async run(ctx) {
      const { page, baseUrl, waitS } = ctx;
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${baseUrl}/#/dashboard`);
      await page.getByTestId('cards').waitFor({ timeout: waitS * 1000 });
      // On a phone the figures come first; the chart sections are folded, a tap away.
      for (const id of ['section-evaluation', 'section-training', 'section-selfplay']) {
        assert.equal(await page.getByTestId(id).getAttribute('open'), null, `${id} starts folded`);
      }
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      assert.ok(height < 2600, `the folded dashboard is ${height} px tall`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page is ${overflow}px wider than a 390px phone`);
      await page.getByTestId('section-training').locator('summary').click();
      await page.getByTestId('chart-loss').locator('canvas').waitFor({ state: 'visible', timeout: 15_000 });
      const box = await page.getByTestId('chart-loss').boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390, 'the chart fits the screen');
      await ctx.screenshot('dashboard-phone');
    },
  },
];
