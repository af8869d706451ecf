// Turning /api/stats answers into chart series. The trainer's history (stats.json,
// docs/CONTRACTS.md §4) is plotted against the training step; the actor only reports
// live figures, so the dashboard keeps its own short history of those, over time.

import type { ActorStats, HistoryPoint } from './api';

/** uPlot's aligned data: x values, then one array per series (null = gap). */
export type Series = [number[], ...(number | null)[][]];

/** Columns `keys` of the trainer history against step, ascending by step. */
export function historySeries(history: readonly HistoryPoint[], keys: readonly (keyof HistoryPoint)[]): Series {
  const rows = history.filter((h) => Number.isFinite(h.step)).slice().sort((a, b) => a.step - b.step);
  const xs = rows.map((h) => h.step);
  const ys = keys.map((k) =>
    rows.map((h) => {
      const v = h[k];
      return typeof v === 'number' && Number.isFinite(v) ? v : null;
    }),
  );
  return [xs, ...ys];
}

/** True when some column has at least `min` points (2 to draw a line through). */
export function hasLine(s: Series, min = 2): boolean {
  return s[0].length >= min && s.slice(1).some((ys) => ys.filter((v) => v !== null).length >= min);
}

/** One sample of the actor's live figures, at the time the dashboard saw it. */
export interface ActorSample {
  time: number;
  games_per_min: number;
  simulations_per_s: number;
  nn_evals_per_s: number;
  mean_batch_fill: number;
  games_played: number;
}

/** Adds a sample, keeping at most `max` (oldest dropped). Returns a new array. */
export function pushSample(samples: readonly ActorSample[], actor: ActorStats, time: number, max = 900): ActorSample[] {
  const next: ActorSample = {
    time,
    games_per_min: actor.games_per_min,
    simulations_per_s: actor.simulations_per_s,
    nn_evals_per_s: actor.nn_evals_per_s,
    mean_batch_fill: actor.mean_batch_fill,
    games_played: actor.games_played,
  };
  const out = samples.concat([next]);
  return out.length > max ? out.slice(out.length - max) : out;
}

/** Columns of the actor samples against time (unix seconds). */
export function sampleSeries(samples: readonly ActorSample[], keys: readonly (keyof ActorSample)[]): Series {
  return [samples.map((s) => s.time), ...keys.map((k) => samples.map((s) => (Number.isFinite(s[k]) ? s[k] : null)))];
}

/** How old the trainer's stats are, in seconds (they stop changing when it stops). */
export function staleness(updatedAt: number | undefined, now: number): number | null {
  return updatedAt === undefined || !Number.isFinite(updatedAt) ? null : Math.max(0, now - updatedAt);
}
