import { describe, expect, it } from 'vitest';
import type { ActorStats, GameInfo, Health, HistoryPoint } from './api';
import { count, duration, num, percent, signed } from './format';
import { connect4, othello, positionAfter, tictactoe } from './games';
import { PASS } from './games/othello';
import {
  arrowTarget,
  boardActions,
  botModel,
  botModelLabel,
  columnForKey,
  flippedCells,
  howToPlay,
  isPass,
  passIsForced,
  resultText,
  simulationsFor,
  topMoves,
  undoMoves,
  valueWords,
} from './play';
import { hrefFor, parseHash } from './router';
import { distinctTicks, withHistory, hasLine, historySeries, onAxis, pushSample, sampleSeries, staleness, timeOfStep, xRangeOf } from './stats';
import { ApiError } from './api';
import { reachability, reachBanner, reachWords } from './status';

describe('router', () => {
  it('reads pages and their arguments', () => {
    expect(parseHash('')).toEqual({ page: 'play', rest: [], query: {} });
    expect(parseHash('#/dashboard')).toEqual({ page: 'dashboard', rest: [], query: {} });
    expect(parseHash('#/replays/42')).toEqual({ page: 'replays', rest: ['42'], query: {} });
    expect(parseHash('#/nowhere/1?x=2')).toEqual({ page: 'play', rest: [], query: {} });
    expect(parseHash(hrefFor('replays', 7))).toEqual({ page: 'replays', rest: ['7'], query: {} });
    // Filters and pages of the replay list travel in the hash, so a link can be shared.
    const href = hrefFor('replays', 7, { outcome: 'draw', before: 120, moves_min: '' });
    expect(href).toBe('#/replays/7?outcome=draw&before=120');
    expect(parseHash(href)).toEqual({ page: 'replays', rest: ['7'], query: { outcome: 'draw', before: '120' } });
  });
});

describe('format', () => {
  it('writes numbers for people', () => {
    expect(count(12345)).toBe('12,345');
    expect(count(2_500_000)).toBe('2.50 M');
    expect(count(null)).toBe('—');
    expect(num(0.0012345)).toBe('0.00123');
    expect(num(0.00001234)).toBe('1.23e-5');
    expect(num(1.23456)).toBe('1.23');
    expect(duration(3.21)).toBe('3.2 s');
    expect([signed(0.25), signed(-0.5), signed(-0.001), signed(0)]).toEqual(['+0.25', '-0.50', '+0.00', '+0.00']);
    expect(duration(0.0123)).toBe('12 ms');
    expect(duration(0.0001)).toBe('1 ms');
    expect(duration(0.9996)).toBe('1000 ms');
    expect(duration(245)).toBe('4 min 05 s');
    expect(duration(7380)).toBe('2 h 03 min');
    expect(percent(0.123)).toBe('12%');
    expect(percent(0.004)).toBe('0.4%');
  });
});

describe('play', () => {
  it('says who won from the human side', () => {
    expect(resultText(null, 1)).toBeNull();
    expect(resultText('first', 1)).toBe('You win');
    expect(resultText('first', 2)).toBe('The bot wins');
    expect(resultText('second', 2)).toBe('You win');
    expect(resultText('draw', 2)).toBe('Draw');
  });

  it('puts the value in words', () => {
    expect(valueWords(0.9)).toBe('The bot thinks it is winning');
    expect(valueWords(0)).toBe('The bot thinks the game is about even');
    expect(valueWords(-0.95)).toBe('The bot thinks it is losing');
  });

  it('undo takes back the human move and the bot reply', () => {
    // Human X: 4, bot 0, human 8, bot 2.
    expect(undoMoves(tictactoe, [4, 0, 8, 2], 1)).toEqual([4, 0]);
    // After the human's move, before the bot answered.
    expect(undoMoves(tictactoe, [4, 0, 8], 1)).toEqual([4, 0]);
    // Human is O: bot 4, human 0.
    expect(undoMoves(tictactoe, [4, 0], 2)).toEqual([4]);
    // Nothing of the human's to take back.
    expect(undoMoves(tictactoe, [4], 2)).toEqual([4]);
    expect(undoMoves(connect4, [], 1)).toEqual([]);
  });

  it('undo in Othello counts the bot passes as bot moves', () => {
    // Walk deterministic games until white (the bot here) passes right after a black move.
    let moves: number[] = [];
    for (let k = 1; k < 500; k++) {
      let p = othello.initial();
      const walk: number[] = [];
      while (othello.outcome(p) === null) {
        const legal = othello.legalActions(p);
        const a = legal[(walk.length * k + k) % legal.length];
        walk.push(a);
        p = othello.apply(p, a);
        if (a === PASS && p.toMove === 1 && othello.outcome(p) === null) break;
      }
      if (walk[walk.length - 1] === PASS) {
        moves = walk;
        break;
      }
    }
    expect(moves[moves.length - 1]).toBe(PASS);
    // Back to before black's last move: the pass and that move are gone.
    const back = undoMoves(othello, moves, 1);
    expect(back).toEqual(moves.slice(0, moves.length - 2));
    expect(positionAfter(othello, back).toMove).toBe(1);
  });

  it('picks the simulation count', () => {
    expect(simulationsFor('quick', 0)).toBe(32);
    expect(simulationsFor('normal', 0)).toBeUndefined();
    expect(simulationsFor('custom', 7.4)).toBe(7);
    expect(simulationsFor('custom', 0)).toBe(1);
    expect(simulationsFor('custom', NaN)).toBeUndefined();
    expect(simulationsFor('custom', null as unknown as number)).toBeUndefined();
  });

  it('lists the top moves of a policy', () => {
    expect(topMoves([0, 0.5, 0.2, 0.3, 0], 2)).toEqual([
      { action: 1, share: 0.5 },
      { action: 3, share: 0.3 },
    ]);
  });
});

describe('play, from the game modules alone', () => {
  it('tells a pass from a board move', () => {
    expect(isPass(othello, PASS)).toBe(true);
    expect(isPass(othello, 19)).toBe(false);
    // TicTacToe has no pass: no action is one.
    expect(Array.from({ length: 10 }, (_, a) => isPass(tictactoe, a))).not.toContain(true);
    expect(boardActions(othello, [PASS])).toEqual([]);
    expect(boardActions(othello, [19, 26])).toEqual([19, 26]);
    expect(passIsForced(othello, [PASS])).toBe(true);
    expect(passIsForced(othello, [19])).toBe(false);
    expect(passIsForced(tictactoe, [8])).toBe(false);
  });

  it('finds the discs a move turned over, and nothing for a placed piece', () => {
    const before = othello.initial();
    // f5 turns e5 over; the new disc itself was empty before, so it is no flip.
    expect(flippedCells(before, othello.apply(before, 37))).toEqual([36]);
    const p = tictactoe.initial();
    expect(flippedCells(p, tictactoe.apply(p, 4))).toEqual([]);
  });

  it('maps digit keys to columns on column boards only', () => {
    expect(columnForKey(connect4, '1')).toBe(0);
    expect(columnForKey(connect4, '7')).toBe(6);
    expect(columnForKey(connect4, '8')).toBeNull();
    expect(columnForKey(connect4, '0')).toBeNull();
    expect(columnForKey(connect4, 'a')).toBeNull();
    expect(columnForKey(tictactoe, '1')).toBeNull();
    // Beyond nine columns a digit cannot reach every column: no digit keys at all.
    expect(columnForKey({ ...connect4, cols: 12 }, '1')).toBeNull();
  });

  it('says how to move', () => {
    expect(howToPlay(connect4)).toBe('Click a column or press 1–7 to drop a disc (or ← → and Enter).');
    expect(howToPlay(tictactoe)).toBe('Click a cell, or move with the arrow keys and press Enter.');
    expect(howToPlay({ ...connect4, cols: 12 })).toBe('Click a column to drop a disc (or ← → and Enter).');
    // A phone has no keys to speak of.
    expect(howToPlay(connect4, true)).toBe('Tap a column to drop a disc.');
    expect(howToPlay(tictactoe, true)).toBe('Tap a cell to play there.');
  });
});

describe('the bot model label', () => {
  const health = (h: Partial<Health>): Health => ({ status: 'ok', game: 'tictactoe', model_version: 4200, uptime_s: 1, ...h });
  const info = (i: Partial<GameInfo>): GameInfo => ({
    name: 'tictactoe',
    display_name: 'TicTacToe',
    rows: 3,
    cols: 3,
    num_actions: 9,
    has_model: true,
    model_version: 4100,
    default_simulations: 200,
    training: true,
    ...i,
  });

  it('names the file and the step', () => {
    expect(botModelLabel({ version: 4200, source: 'best' })).toBe('Bot model: best, step 4200');
    expect(botModelLabel({ version: 4600, source: 'latest' })).toBe('Bot model: latest, step 4600');
  });

  it('gives the step alone when the actor does not name the file', () => {
    expect(botModelLabel({ version: 4200 })).toBe('Bot model: step 4200');
  });

  it('says when the bot plays without a model', () => {
    expect(botModelLabel({ version: null, source: null })).toBe('Bot model: none (search only)');
    expect(botModelLabel({ version: null })).toBe('Bot model: none (search only)');
    expect(botModelLabel(null)).toBeNull();
  });

  it('takes the last move reply over /api/health, and health over the game list', () => {
    const h = health({ model_source: 'best', model_version: 4200 });
    // Before the first move: the health value.
    expect(botModel('tictactoe', null, h, info({}))).toEqual({ version: 4200, source: 'best' });
    // After a move: what that move used, even when health said otherwise.
    expect(botModel('tictactoe', { version: 4600, source: 'latest' }, h, info({}))).toEqual({ version: 4600, source: 'latest' });
    expect(botModel('tictactoe', { version: null, source: null }, h, info({}))).toEqual({ version: null, source: null });
    // Health speaks for the actor's own game only; other games fall back to the list.
    expect(botModel('connect4', null, h, info({ name: 'connect4', model_version: null }))).toEqual({ version: null });
    // An actor from before gating: no file in health, so the label gives the step alone.
    expect(botModelLabel(botModel('tictactoe', null, health({}), info({})))).toBe('Bot model: step 4200');
    expect(botModel('tictactoe', null, null, null)).toBeNull();
  });
});

describe('stats', () => {
  const history: HistoryPoint[] = [
    { step: 200, time: 2, policy_loss: 1.5, value_loss: 0.5 },
    { step: 100, time: 1, policy_loss: 2.0 },
    { step: 300, time: 3, policy_loss: 1.2, value_loss: 0.4 },
  ];

  it('sorts history by step and leaves gaps for missing figures', () => {
    const s = historySeries(history, ['policy_loss', 'value_loss']);
    expect(s).toEqual([[100, 200, 300], [2.0, 1.5, 1.2], [null, 0.5, 0.4]]);
    expect(hasLine(s)).toBe(true);
    expect(hasLine(historySeries(history.slice(0, 1), ['policy_loss']))).toBe(false);
  });

  it('keeps a bounded history of actor samples', () => {
    const actor = { games_per_min: 10, simulations_per_s: 5000, nn_evals_per_s: 100, mean_batch_fill: 0.5, games_played: 3 } as ActorStats;
    let samples = pushSample([], actor, 1, 2);
    samples = pushSample(samples, { ...actor, games_per_min: 12 }, 2, 2);
    samples = pushSample(samples, { ...actor, games_per_min: 14 }, 3, 2);
    expect(sampleSeries(samples, ['games_per_min'])).toEqual([[2, 3], [12, 14]]);
  });

  it('measures staleness', () => {
    expect(staleness(100, 130)).toBe(30);
    expect(staleness(undefined, 130)).toBeNull();
  });
});

describe('keyboard on the board', () => {
  // TicTacToe: 0 1 2 / 3 4 5 / 6 7 8.
  it('left and right walk the playable cells in reading order', () => {
    expect(arrowTarget(3, 3, [0, 2, 5, 7], 2, 'ArrowRight')).toBe(5);
    expect(arrowTarget(3, 3, [0, 2, 5, 7], 2, 'ArrowLeft')).toBe(0);
    expect(arrowTarget(3, 3, [0, 2, 5, 7], 7, 'ArrowRight')).toBeNull();
  });

  it('up and down go to the nearest playable cell of the next row that has one', () => {
    expect(arrowTarget(3, 3, [0, 2, 5, 7], 4, 'ArrowDown')).toBe(7);
    expect(arrowTarget(3, 3, [0, 2, 6], 5, 'ArrowUp')).toBe(2);
    // Row 1 has nothing playable: skip to row 2.
    expect(arrowTarget(3, 3, [6, 8], 1, 'ArrowDown')).toBe(6);
    expect(arrowTarget(3, 3, [6, 8], 7, 'ArrowDown')).toBeNull();
  });

  it('from nowhere, lands nearest the centre', () => {
    expect(arrowTarget(3, 3, [0, 4, 8], null, 'ArrowRight')).toBe(4);
    // Othello's opening moves: d3 (19), c4 (26), f5 (37), e6 (44).
    expect([19, 26, 37, 44]).toContain(arrowTarget(8, 8, [19, 26, 37, 44], null, 'ArrowUp'));
    expect(arrowTarget(3, 3, [], null, 'ArrowUp')).toBeNull();
  });

  it('Connect4 columns are one row', () => {
    expect(arrowTarget(1, 7, [0, 1, 3, 6], 1, 'ArrowRight')).toBe(3);
    expect(arrowTarget(1, 7, [0, 1, 3, 6], 3, 'ArrowUp')).toBeNull();
  });
});

describe('reachability', () => {
  const ok = { status: 'fulfilled', value: {} } as const;
  const fail = (e: unknown) => ({ status: 'rejected', reason: e }) as const;

  it('all up: no banner', () => {
    const r = reachability(ok, ok);
    expect(r).toEqual({ actor: 'up', trainer: 'up' });
    expect(reachBanner(r)).toBeNull();
  });

  it('the proxy answering 502 means the trainer is down, the actor up', () => {
    const r = reachability(ok, fail(new ApiError('GET /api/trainer/status failed (502): trainer down', 502, '/api/trainer/status', 'trainer down')));
    expect(r.actor).toBe('up');
    expect(r.trainer).toBe('down');
    expect(r.trainerError).toBe('trainer down');
    expect(reachBanner(r)).toMatch(/^The trainer is not reachable/);
  });

  it('with the actor down nothing is known about the trainer', () => {
    const r = reachability(fail(new ApiError('cannot reach the server', 0, '/api/health')), fail(new ApiError('x', 0, '/api/trainer/status')));
    expect(r).toMatchObject({ actor: 'down', trainer: 'unknown' });
    expect(reachBanner(r)).toMatch(/^The actor is not reachable/);
    expect(reachWords('trainer', r.trainer)).toBe('trainer: not known');
    expect(reachWords('actor', r.actor)).toBe('actor down');
  });

  it('a trainer call with no answer while health answered is not called down', () => {
    expect(reachability(ok, fail(new ApiError('timeout', 0, '/api/trainer/status'))).trainer).toBe('unknown');
  });
});

describe('chart axes', () => {
  const history = [
    { step: 100, time: 1000 },
    { step: 300, time: 1100 },
    { step: 500, time: 1400 },
  ];
  it('maps steps to the time training passed them', () => {
    expect(timeOfStep(history, 200)).toBe(1050);
    expect(timeOfStep(history, 400)).toBe(1250);
    expect(timeOfStep(history, 50)).toBe(1000);
    expect(timeOfStep(history, 900)).toBe(1400);
    expect(timeOfStep([], 10)).toBeNull();
    expect(onAxis([[100, 500], [1, 2]], 'time', history)).toEqual([[1000, 1400], [1, 2]]);
    expect(onAxis([[100, 500], [1, 2]], 'step', history)).toEqual([[100, 500], [1, 2]]);
  });

  it('gives side-by-side charts one x range', () => {
    expect(xRangeOf([[100, 300], [1, 2]], [[50, 200], [3, 4]])).toEqual([50, 300]);
    expect(xRangeOf([[7], [1]])).toBeNull();
  });

  it('never prints two ticks alike', () => {
    const threeFigures = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : String(v));
    expect(distinctTicks([1000, 1500], threeFigures)).toEqual(['1.0k', '1.5k']);
    expect(distinctTicks([1210, 1230, 1270], threeFigures)).toEqual(['1,210', '1,230', '1,270']);
    expect(distinctTicks([0.5, 1], (v) => v.toFixed(1))).toEqual(['0.5', '1.0']);
    expect(distinctTicks([0.001, 0.0015], (v) => v.toFixed(2))).toEqual(['0.001', '0.002']);
  });
});

describe('throughput history', () => {
  it('puts the actor-kept points before the page\'s newer samples', () => {
    const kept = [10, 20].map((time) => ({ time, games_per_min: time, positions_per_min: 0, simulations_per_s: 1, nn_evals_per_s: 2, games_played: 3 }));
    const page = [15, 25, 30].map((time) => ({ time, games_per_min: 1, simulations_per_s: 1, nn_evals_per_s: 1, mean_batch_fill: 1, games_played: 1 }));
    expect(withHistory(kept, page).map((s) => s.time)).toEqual([10, 20, 25, 30]);
    expect(withHistory([], page)).toEqual(page);
  });
});
