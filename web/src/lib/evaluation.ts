// Turning the `evaluation` object of /api/stats (docs/CONTRACTS.md §8) into chart
// series, a timeline of published models and words for the dashboard. Framework-free so
// the shaping is tested on its own (lib.test.ts); the dashboard only draws the results.

import type { AccuracyResult, BaselineResult, Gating, HistoryPoint, Rating } from './api';
import type { Series } from './stats';

/** The version a rated player stands for: `model:1200` → 1200, baselines → null. */
export function modelVersionOf(r: Pick<Rating, 'player' | 'version'>): number | null {
  if (typeof r.version === 'number' && Number.isFinite(r.version)) return r.version;
  const m = /^model:(\d+)$/.exec(r.player);
  return m ? Number(m[1]) : null;
}

/** Sorted distinct finite numbers. */
function distinctSorted(values: Iterable<number>): number[] {
  return [...new Set([...values].filter((v) => Number.isFinite(v)))].sort((a, b) => a - b);
}

/** A finite number, or null (the actor writes a non-finite interval bound as JSON null). */
function finite(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Half the width of a rating's 95% interval, or null when it is unbounded or missing. */
export function halfInterval(r: Pick<Rating, 'elo_lo' | 'elo_hi'>): number | null {
  const lo = finite(r.elo_lo);
  const hi = finite(r.elo_hi);
  return lo === null || hi === null ? null : (hi - lo) / 2;
}

/** A rating's interval as people read it: "850–884", or "unbounded" before it has games enough. */
export function intervalText(r: Pick<Rating, 'elo_lo' | 'elo_hi'>): string {
  const lo = finite(r.elo_lo);
  const hi = finite(r.elo_hi);
  return lo === null || hi === null ? 'unbounded' : `${Math.round(lo)}–${Math.round(hi)}`;
}

/**
 * Elo of each model snapshot against its training step: columns elo, elo_lo, elo_hi
 * (the 95% interval, drawn as a band between the last two). Baseline players (random,
 * mcts:200, ...) have no step and are left out; `baselineRatings` lists them.
 * An interval wider than ±`maxHalf` (a snapshot with few games; the fit can give ±10⁴)
 * is left out of the band, so one such snapshot cannot flatten every other line.
 */
export function eloSeries(ratings: readonly Rating[], maxHalf = 1000): Series {
  const byVersion = new Map<number, Rating>();
  for (const r of ratings) {
    const v = modelVersionOf(r);
    if (v !== null && finite(r.elo) !== null) byVersion.set(v, r);
  }
  const xs = distinctSorted(byVersion.keys());
  const rows = xs.map((x) => byVersion.get(x)!);
  const narrow = (r: Rating) => {
    const half = halfInterval(r);
    return half !== null && half <= maxHalf;
  };
  return [
    xs,
    rows.map((r) => r.elo),
    rows.map((r) => (narrow(r) ? r.elo_lo : null)),
    rows.map((r) => (narrow(r) ? r.elo_hi : null)),
  ];
}

/** The rated players that are not model snapshots (the anchors the models are measured against). */
export function baselineRatings(ratings: readonly Rating[]): Rating[] {
  return ratings.filter((r) => modelVersionOf(r) === null).sort((a, b) => a.elo - b.elo || a.player.localeCompare(b.player));
}

/** Orders opponents the way people read them: random first, then by name (mcts:50 before mcts:200). */
export function compareOpponents(a: string, b: string): number {
  if (a === b) return 0;
  if (a === 'random') return -1;
  if (b === 'random') return 1;
  const [ka, na] = a.split(':');
  const [kb, nb] = b.split(':');
  if (ka !== kb) return ka.localeCompare(kb);
  const da = Number(na);
  const db = Number(nb);
  return Number.isFinite(da) && Number.isFinite(db) ? da - db : a.localeCompare(b);
}

/** Score (1 win, ½ draw) of a baseline row, from its counts when `score` is missing. */
export function scoreOf(b: BaselineResult): number | null {
  if (typeof b.score === 'number' && Number.isFinite(b.score)) return b.score;
  const n = b.wins + b.draws + b.losses;
  return n > 0 ? (b.wins + b.draws / 2) / n : null;
}

/** Score against each opponent (one column each, in `opponents` order) per snapshot version. */
export function baselineSeries(baselines: readonly BaselineResult[]): { opponents: string[]; data: Series } {
  const opponents = [...new Set(baselines.map((b) => b.opponent))].sort(compareOpponents);
  const xs = distinctSorted(baselines.map((b) => b.version));
  const cell = new Map<string, number | null>();
  for (const b of baselines) cell.set(`${b.version}\u0000${b.opponent}`, scoreOf(b));
  const cols = opponents.map((o) => xs.map((x) => cell.get(`${x}\u0000${o}`) ?? null));
  return { opponents, data: [xs, ...cols] };
}

/** The newest snapshot's results against each baseline, in opponent order. */
export function latestBaselines(baselines: readonly BaselineResult[]): BaselineResult[] {
  if (baselines.length === 0) return [];
  const newest = Math.max(...baselines.map((b) => b.version));
  return baselines.filter((b) => b.version === newest).sort((a, b) => compareOpponents(a.opponent, b.opponent));
}

/** Error rate of an accuracy row, from its counts when `error_rate` is missing. */
export function errorRateOf(a: AccuracyResult): number | null {
  if (typeof a.error_rate === 'number' && Number.isFinite(a.error_rate)) return a.error_rate;
  return a.positions > 0 ? a.errors / a.positions : null;
}

/** One accuracy line: a phase measured in one mode. */
export interface AccuracyKey {
  phase: string;
  mode: string;
  label: string;
}

const PHASE_ORDER = ['all', 'opening', 'middle', 'end', 'endgame'];
const LEVEL_ORDER = ['easy', 'medium', 'hard'];

/** Phases in game order (opening before middle), then difficulty: "opening-easy", "opening-medium", ... */
export function comparePhases(a: string, b: string): number {
  const rank = (p: string) => {
    const [stage, level = ''] = p.split('-');
    const s = PHASE_ORDER.indexOf(stage);
    const l = LEVEL_ORDER.indexOf(level);
    return [s < 0 ? PHASE_ORDER.length : s, l < 0 ? LEVEL_ORDER.length : l] as const;
  };
  const [sa, la] = rank(a);
  const [sb, lb] = rank(b);
  return sa - sb || la - lb || a.localeCompare(b);
}

/** How a mode reads in a legend: the raw network's first choice, or the full search. */
export function modeWords(mode: string): string {
  return mode === 'net' ? 'network alone' : mode === 'search' ? 'with search' : mode;
}

/**
 * Perfect-play error rate against snapshot version, one column per (phase, mode): for
 * each phase the network-alone line comes before the with-search line.
 */
export function accuracySeries(accuracy: readonly AccuracyResult[]): { keys: AccuracyKey[]; data: Series } {
  const phases = [...new Set(accuracy.map((a) => a.phase))].sort(comparePhases);
  const modes = [...new Set(accuracy.map((a) => a.mode))].sort((a, b) => (a === 'net' ? -1 : b === 'net' ? 1 : a.localeCompare(b)));
  const keys: AccuracyKey[] = [];
  for (const phase of phases) {
    for (const mode of modes) {
      if (accuracy.some((a) => a.phase === phase && a.mode === mode)) {
        keys.push({ phase, mode, label: phases.length === 1 && phase === 'all' ? modeWords(mode) : `${phase}, ${modeWords(mode)}` });
      }
    }
  }
  const xs = distinctSorted(accuracy.map((a) => a.version));
  const cell = new Map<string, number | null>();
  for (const a of accuracy) cell.set(`${a.version}\u0000${a.phase}\u0000${a.mode}`, errorRateOf(a));
  const cols = keys.map((k) => xs.map((x) => cell.get(`${x}\u0000${k.phase}\u0000${k.mode}`) ?? null));
  return { keys, data: [xs, ...cols] };
}

/** One published model on the timeline. */
export interface PublishedModel {
  version: number;
  /** When the trainer's history first showed it (unix seconds), or null when unknown. */
  time: number | null;
  rating: Rating | null;
  /** The model self-play plays now. */
  selfPlay: boolean;
  /** The best model so far (gated mode's champion). */
  best: boolean;
}

/**
 * Every model version known from the trainer's history (the first history entry with a
 * new `model_version` dates it) and from the ratings, newest first. The history is
 * thinned as it grows, so an old version's time is "no later than", and a version only
 * the ratings know has no time.
 */
export function modelTimeline(
  history: readonly HistoryPoint[],
  ratings: readonly Rating[],
  marks: { best: number | null; selfPlay: number | null },
): PublishedModel[] {
  const times = new Map<number, number | null>();
  const rows = history.filter((h) => Number.isFinite(h.step)).slice().sort((a, b) => a.step - b.step);
  for (const h of rows) {
    const v = h.model_version;
    // Version 0 (or none) means nothing was published yet.
    if (typeof v === 'number' && Number.isFinite(v) && v > 0 && !times.has(v)) times.set(v, Number.isFinite(h.time) ? h.time : null);
  }
  const rated = new Map<number, Rating>();
  for (const r of ratings) {
    const v = modelVersionOf(r);
    if (v !== null) {
      rated.set(v, r);
      if (!times.has(v)) times.set(v, null);
    }
  }
  for (const v of [marks.best, marks.selfPlay]) {
    if (typeof v === 'number' && v > 0 && !times.has(v)) times.set(v, null);
  }
  return [...times.entries()]
    .sort((a, b) => b[0] - a[0])
    .map(([version, time]) => ({
      version,
      time,
      rating: rated.get(version) ?? null,
      selfPlay: marks.selfPlay === version,
      best: marks.best === version,
    }));
}

/**
 * The model self-play plays now. Gated: the best model, as the evaluator reports it.
 * Continuous: the actor's loaded model, which is live, whereas the evaluation summary
 * is only refreshed when the evaluator publishes and so can lag a model behind.
 */
export function selfPlayVersion(gating: Gating | null | undefined, loaded: number | null): number | null {
  if (gating && gating.mode !== 'continuous') return gating.self_play_version ?? null;
  return loaded ?? gating?.self_play_version ?? null;
}

/** Which model self-play uses, in one sentence. */
export function gatingWords(gating: Gating | null | undefined, latest: number | null): string {
  if (!gating) return latest === null ? 'Self-play has no model yet: it searches without a network.' : `Self-play uses the latest model (step ${latest}).`;
  const sp = gating.self_play_version;
  // The contract names "continuous" (the default); any other mode gates self-play on the best model.
  if (gating.mode !== 'continuous') {
    const best = gating.best_version;
    if (best === null || best === undefined) return 'Gated: no model has passed the gate yet, so self-play has no best model.';
    const candidate = latest !== null && latest !== best ? ` Latest step ${latest} is a candidate until it beats it.` : '';
    return `Gated: self-play uses the best model (step ${sp ?? best}).${candidate}`;
  }
  const now = latest ?? sp;
  return `Continuous: self-play uses the latest model${now !== null && now !== undefined ? ` (step ${now})` : ''}.`;
}

/** The Elo of the newest rated snapshot, or null. */
export function latestRating(ratings: readonly Rating[]): Rating | null {
  let best: Rating | null = null;
  let bestV = -Infinity;
  for (const r of ratings) {
    const v = modelVersionOf(r);
    if (v !== null && v > bestV) {
      bestV = v;
      best = r;
    }
  }
  return best;
}

/**
 * How far evaluation is behind training, in words: "rated up to step 2,000 of 4,231",
 * or null while nothing is rated. Evaluation runs beside training and can fall far
 * behind it, so the newest Elo is of an older model than the one training now.
 */
export function evaluationLag(rated: number | null | undefined, trainerStep: number | null | undefined): string | null {
  if (rated === null || rated === undefined) return null;
  const n = (x: number) => x.toLocaleString('en-US');
  if (trainerStep === null || trainerStep === undefined || trainerStep <= rated) return `rated up to step ${n(rated)}`;
  return `rated up to step ${n(rated)} of ${n(trainerStep)}`;
}

/** Colours for lines whose number depends on the data (opponents, phases). */
export const PALETTE = ['#2f6fdf', '#d9534f', '#1f8a4c', '#e67e22', '#8e44ad', '#16a085', '#7f6a00', '#c2185b', '#5d6d7e'];
