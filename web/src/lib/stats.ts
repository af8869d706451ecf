// Turning /api/stats answers into chart series. The trainer's history (stats.json,
// docs/CONTRACTS.md §4) is plotted against the training step; the actor only reports
// live figures, so the dashboard keeps its own short history of those, over time.

import type { ActorStats, HistoryPoint, ThroughputPoint } from './api';

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

/**
 * The actor's own history (kept every 10 s since it started) followed by this page's
 * samples newer than it, so the throughput chart covers the run, not only the visit.
 */
export function withHistory(kept: readonly ThroughputPoint[], samples: readonly ActorSample[]): ActorSample[] {
  const old: ActorSample[] = kept.map((p) => ({
    time: p.time,
    games_per_min: p.games_per_min,
    simulations_per_s: p.simulations_per_s,
    nn_evals_per_s: p.nn_evals_per_s,
    mean_batch_fill: NaN,
    games_played: p.games_played,
  }));
  const last = old.length ? old[old.length - 1].time : -Infinity;
  return old.concat(samples.filter((s) => s.time > last));
}

/** Columns of the actor samples against time (unix seconds). */
export function sampleSeries(samples: readonly ActorSample[], keys: readonly (keyof ActorSample)[]): Series {
  return [samples.map((s) => s.time), ...keys.map((k) => samples.map((s) => (Number.isFinite(s[k]) ? s[k] : null)))];
}

/** How old the trainer's stats are, in seconds (they stop changing when it stops). */
export function staleness(updatedAt: number | undefined, now: number): number | null {
  return updatedAt === undefined || !Number.isFinite(updatedAt) ? null : Math.max(0, now - updatedAt);
}

/** The x axis of the training and evaluation charts: the training step, or wall time. */
export type XAxis = 'step' | 'time';

/**
 * The wall time at which training passed `step`, from the trainer's history (linear
 * between its points, the nearest end outside them); null without history.
 */
export function timeOfStep(history: readonly HistoryPoint[], step: number): number | null {
  const rows = history.filter((h) => Number.isFinite(h.step) && Number.isFinite(h.time)).slice().sort((a, b) => a.step - b.step);
  if (rows.length === 0) return null;
  if (step <= rows[0].step) return rows[0].time;
  const last = rows[rows.length - 1];
  if (step >= last.step) return last.time;
  let lo = 0;
  let hi = rows.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (rows[mid].step <= step) lo = mid;
    else hi = mid;
  }
  const a = rows[lo];
  const b = rows[hi];
  return b.step === a.step ? a.time : a.time + ((step - a.step) / (b.step - a.step)) * (b.time - a.time);
}

/** A series against step, moved onto `axis` (time: each step at the time training passed it). */
export function onAxis(series: Series, axis: XAxis, history: readonly HistoryPoint[]): Series {
  if (axis === 'step') return series;
  const xs = series[0].map((s) => timeOfStep(history, s));
  if (xs.some((x) => x === null)) return [[]];
  return [xs as number[], ...series.slice(1)] as Series;
}

/** The x range covering every series (so charts side by side share one axis), or null. */
export function xRangeOf(...series: readonly Series[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (const x of s[0]) {
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
  return lo < hi ? [lo, hi] : null;
}

/**
 * Tick labels that differ from one another: `format` first, then more decimals until
 * no two ticks read alike (3 significant figures printed 1,250 and 1,260 both as 1.3k).
 */
export function distinctTicks(values: readonly number[], format: (v: number) => string): string[] {
  const first = values.map(format);
  if (new Set(first).size === first.length) return first;
  for (let digits = 0; digits <= 6; digits++) {
    const out = values.map((v) => v.toLocaleString('en-US', { maximumFractionDigits: digits }));
    if (new Set(out).size === out.length) return out;
  }
  return values.map((v) => String(v));
}
