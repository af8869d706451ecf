import { describe, expect, it } from 'vitest';
import type { AccuracyResult, BaselineResult, HistoryPoint, Rating } from './api';
import {
  accuracySeries,
  baselineRatings,
  baselineSeries,
  compareOpponents,
  comparePhases,
  eloSeries,
  evaluationLag,
  errorRateOf,
  gatingWords,
  halfInterval,
  intervalText,
  latestBaselines,
  latestRating,
  modelTimeline,
  modelVersionOf,
  scoreOf,
  selfPlayVersion,
} from './evaluation';

const rating = (player: string, version: number | null, elo: number, half = 30): Rating => ({
  player,
  version,
  elo,
  elo_lo: elo - half,
  elo_hi: elo + half,
  games: 100,
});

// The example of docs/CONTRACTS.md §8, plus a second snapshot and a second baseline.
const ratings: Rating[] = [
  rating('random', null, 0, 0),
  rating('model:1200', 1200, 812.3),
  rating('mcts:200', null, 400),
  rating('model:600', 600, 300, 80),
];

describe('evaluation: ratings', () => {
  it('reads the version from the field or the player name', () => {
    expect(modelVersionOf({ player: 'model:1200', version: 1200 })).toBe(1200);
    expect(modelVersionOf({ player: 'model:900', version: null })).toBe(900);
    expect(modelVersionOf({ player: 'random', version: null })).toBeNull();
    expect(modelVersionOf({ player: 'alphabeta:4', version: null })).toBeNull();
  });

  it('puts Elo and its interval against step, snapshots only, ascending', () => {
    expect(eloSeries(ratings)).toEqual([
      [600, 1200],
      [300, 812.3],
      [220, 782.3],
      [380, 842.3],
    ]);
    expect(eloSeries([rating('random', null, 0)])).toEqual([[], [], [], []]);
  });

  it('leaves unbounded or huge intervals out of the band, keeping the Elo point', () => {
    const wide: Rating = { player: 'model:1800', version: 1800, elo: 900, elo_lo: -9000, elo_hi: 10800, games: 2 };
    const unbounded = { player: 'model:2400', version: 2400, elo: 950, elo_lo: null, elo_hi: null, games: 0 } as unknown as Rating;
    expect(eloSeries([...ratings, wide, unbounded])).toEqual([
      [600, 1200, 1800, 2400],
      [300, 812.3, 900, 950],
      [220, 782.3, null, null],
      [380, 842.3, null, null],
    ]);
    expect(intervalText(unbounded)).toBe('unbounded');
    expect(intervalText(ratings[1])).toBe('782–842');
    expect(halfInterval(unbounded)).toBeNull();
    expect(halfInterval(wide)).toBe(9900);
  });

  it('lists the baselines by rating and finds the newest snapshot', () => {
    expect(baselineRatings(ratings).map((r) => r.player)).toEqual(['random', 'mcts:200']);
    expect(latestRating(ratings)?.player).toBe('model:1200');
    expect(latestRating([rating('random', null, 0)])).toBeNull();
  });
});

describe('evaluation: baselines', () => {
  const b = (version: number, opponent: string, wins: number, draws: number, losses: number, score?: number): BaselineResult => ({
    version,
    opponent,
    wins,
    draws,
    losses,
    score: score as number,
  });

  it('orders opponents: random first, then kind, then strength by number', () => {
    expect(['mcts:200', 'alphabeta:4', 'random', 'mcts:50'].sort(compareOpponents)).toEqual(['random', 'alphabeta:4', 'mcts:50', 'mcts:200']);
  });

  it('gives one score column per opponent, with gaps where a snapshot did not play it', () => {
    const rows = [b(1200, 'random', 18, 2, 0, 0.95), b(600, 'random', 10, 0, 10, 0.5), b(1200, 'mcts:200', 5, 10, 5, 0.5)];
    expect(baselineSeries(rows)).toEqual({
      opponents: ['random', 'mcts:200'],
      data: [
        [600, 1200],
        [0.5, 0.95],
        [null, 0.5],
      ],
    });
    expect(latestBaselines(rows).map((r) => r.opponent)).toEqual(['random', 'mcts:200']);
    expect(latestBaselines([])).toEqual([]);
  });

  it('computes the score from the counts when it is missing', () => {
    expect(scoreOf(b(1, 'random', 3, 2, 1))).toBeCloseTo(4 / 6);
    expect(scoreOf(b(1, 'random', 0, 0, 0))).toBeNull();
  });
});

describe('evaluation: accuracy', () => {
  const a = (version: number, phase: string, mode: string, errors: number, positions = 100): AccuracyResult => ({
    version,
    phase,
    mode,
    positions,
    errors,
    error_rate: errors / positions,
  });

  it('orders phases by game stage, then difficulty', () => {
    expect(['middle-easy', 'opening-hard', 'opening-easy', 'end-medium', 'all'].sort(comparePhases)).toEqual([
      'all',
      'opening-easy',
      'opening-hard',
      'middle-easy',
      'end-medium',
    ]);
  });

  it('gives one column per phase and mode, the network alone before search', () => {
    const rows = [a(1200, 'all', 'search', 0), a(1200, 'all', 'net', 10), a(600, 'all', 'net', 30), a(600, 'all', 'search', 5)];
    const { keys, data } = accuracySeries(rows);
    expect(keys.map((k) => k.label)).toEqual(['network alone', 'with search']);
    expect(data).toEqual([
      [600, 1200],
      [0.3, 0.1],
      [0.05, 0],
    ]);
  });

  it('names the phase when there are several (Connect4)', () => {
    const rows = [a(5, 'middle-medium', 'search', 1), a(5, 'opening-easy', 'net', 2), a(5, 'opening-easy', 'search', 1)];
    expect(accuracySeries(rows).keys.map((k) => k.label)).toEqual([
      'opening-easy, network alone',
      'opening-easy, with search',
      'middle-medium, with search',
    ]);
  });

  it('computes the error rate from the counts when it is missing', () => {
    expect(errorRateOf({ ...a(1, 'all', 'net', 3, 12), error_rate: undefined as unknown as number })).toBe(0.25);
    expect(errorRateOf({ ...a(1, 'all', 'net', 0, 0), error_rate: NaN })).toBeNull();
  });
});

describe('evaluation: published models and gating', () => {
  const h = (step: number, time: number, model_version: number | null): HistoryPoint => ({ step, time, model_version: model_version as number });

  it('dates each version by its first history entry, newest first, and marks self-play and best', () => {
    const history = [h(50, 1000, 0), h(100, 1010, 100), h(150, 1020, 100), h(200, 1030, 200), h(250, 1040, null as unknown as number)];
    const timeline = modelTimeline(history, [rating('model:200', 200, 500), rating('model:300', 300, 600)], { best: 200, selfPlay: 200 });
    expect(timeline.map((m) => [m.version, m.time, m.rating?.elo ?? null, m.selfPlay, m.best])).toEqual([
      [300, null, 600, false, false],
      [200, 1030, 500, true, true],
      [100, 1010, null, false, false],
    ]);
  });

  it('includes the loaded model even with no history or ratings', () => {
    expect(modelTimeline([], [], { best: null, selfPlay: 1200 }).map((m) => m.version)).toEqual([1200]);
    expect(modelTimeline([], [], { best: null, selfPlay: null })).toEqual([]);
  });

  it('takes the self-play model from the actor in continuous mode, from the gate when gated', () => {
    // The summary said 2000 when it was last published; the actor has loaded 2100 since.
    expect(selfPlayVersion({ mode: 'continuous', best_version: 100, self_play_version: 2000 }, 2100)).toBe(2100);
    expect(selfPlayVersion({ mode: 'continuous', best_version: 100, self_play_version: 2000 }, null)).toBe(2000);
    expect(selfPlayVersion({ mode: 'gated', best_version: 1100, self_play_version: 1100 }, 2100)).toBe(1100);
    expect(selfPlayVersion({ mode: 'gated', best_version: null, self_play_version: null }, 2100)).toBeNull();
    expect(selfPlayVersion(null, 700)).toBe(700);
  });

  it('says which model self-play uses', () => {
    expect(gatingWords({ mode: 'continuous', best_version: 1100, self_play_version: 1200 }, 1300)).toBe(
      'Continuous: self-play uses the latest model (step 1300).',
    );
    expect(gatingWords({ mode: 'gated', best_version: 1100, self_play_version: 1100 }, 1200)).toBe(
      'Gated: self-play uses the best model (step 1100). Latest step 1200 is a candidate until it beats it.',
    );
    expect(gatingWords({ mode: 'gated', best_version: null, self_play_version: null }, 1200)).toMatch(/no model has passed/);
    expect(gatingWords(null, 1200)).toBe('Self-play uses the latest model (step 1200).');
    expect(gatingWords(null, null)).toMatch(/no model yet/);
  });
});

describe('evaluation lag', () => {
  it('says how far evaluation is behind training', () => {
    expect(evaluationLag(2000, 4231)).toBe('rated up to step 2,000 of 4,231');
    expect(evaluationLag(4231, 4231)).toBe('rated up to step 4,231');
    expect(evaluationLag(2000, null)).toBe('rated up to step 2,000');
    expect(evaluationLag(null, 4231)).toBeNull();
  });
});
