import { describe, expect, it } from 'vitest';
import { connect4, IllegalMoveError, othello, perft, play, positionAfter, positionsOf, rulesFor, tictactoe, transcript } from './index';
import { discCounts, flips, PASS } from './othello';
import type { GameRules, Position } from './types';

/** Draws a position as rows of `.xo` for readable expectations. */
function draw(rules: GameRules, p: Position): string[] {
  const rows: string[] = [];
  for (let r = 0; r < rules.rows; r++) {
    rows.push(p.cells.slice(r * rules.cols, (r + 1) * rules.cols).map((c) => '.xo'[c]).join(''));
  }
  return rows;
}

/** Plays random legal games to the end; returns the final positions. */
function randomGames(rules: GameRules, count: number, seed: number): { moves: number[]; last: Position }[] {
  let s = seed;
  const rand = () => {
    // A small LCG: deterministic, so a failure can be replayed.
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const out = [];
  for (let g = 0; g < count; g++) {
    let p = rules.initial();
    const moves: number[] = [];
    for (;;) {
      const legal = rules.legalActions(p);
      if (legal.length === 0) break;
      const a = legal[Math.floor(rand() * legal.length)];
      moves.push(a);
      p = rules.apply(p, a);
    }
    out.push({ moves, last: p });
  }
  return out;
}

describe('rulesFor', () => {
  it('knows the three games and nothing else', () => {
    expect(rulesFor('tictactoe')).toBe(tictactoe);
    expect(rulesFor('connect4')).toBe(connect4);
    expect(rulesFor('othello')).toBe(othello);
    expect(rulesFor('chess')).toBeNull();
    expect(rulesFor('toString')).toBeNull();
  });
});

describe('perft (counts the engine uses too)', () => {
  const cases: [GameRules, number[]][] = [
    [tictactoe, [9, 72, 504, 3024, 15120, 54720]],
    [connect4, [7, 49, 343, 2401, 16807]],
    [othello, [4, 12, 56, 244, 1396]],
  ];
  for (const [rules, counts] of cases) {
    it(rules.name, () => {
      counts.forEach((n, i) => expect(perft(rules, rules.initial(), i + 1)).toBe(n));
    });
  }
});

describe('tictactoe', () => {
  it('names cells a1..c3 with ranks from the top', () => {
    expect([0, 1, 2, 4, 8].map(tictactoe.actionName)).toEqual(['a1', 'b1', 'c1', 'b2', 'c3']);
  });

  it('finds a diagonal win and its cells', () => {
    // x: a1 b2 c3, o: b1 c1
    const p = positionAfter(tictactoe, [0, 1, 4, 2, 8]);
    expect(draw(tictactoe, p)).toEqual(['xoo', '.x.', '..x']);
    expect(tictactoe.outcome(p)).toBe('first');
    expect(tictactoe.winningCells(p)).toEqual([0, 4, 8]);
    expect(tictactoe.legalActions(p)).toEqual([]);
  });

  it('highlights both lines when one mark completes two', () => {
    // x: b1 c1 a2 a3, o: b2 c2 b3 c3; x a1 then completes row 1 and file a together.
    const q = positionAfter(tictactoe, [1, 4, 2, 5, 3, 7, 6, 8, 0]);
    expect(draw(tictactoe, q)).toEqual(['xxx', 'xoo', 'xoo']);
    expect(tictactoe.outcome(q)).toBe('first');
    expect(tictactoe.winningCells(q)).toEqual([0, 1, 2, 3, 6]);
  });

  it('knows a draw', () => {
    const p = positionAfter(tictactoe, [4, 0, 2, 6, 3, 5, 1, 7, 8]);
    expect(draw(tictactoe, p)).toEqual(['oxx', 'xxo', 'oox']);
    expect(tictactoe.outcome(p)).toBe('draw');
    expect(tictactoe.winningCells(p)).toEqual([]);
  });

  it('refuses a taken cell, naming the move', () => {
    expect(() => positionAfter(tictactoe, [4, 4])).toThrow(IllegalMoveError);
    expect(() => positionAfter(tictactoe, [4, 4])).toThrow('move 2 (action 4) is illegal: cell b2 is already taken');
    expect(() => positionAfter(tictactoe, [9])).toThrow('actions are 0..8');
  });

  it('refuses moves after the end', () => {
    expect(() => positionAfter(tictactoe, [0, 1, 4, 2, 8, 3])).toThrow('already over');
  });
});

describe('connect4', () => {
  it('drops discs to the bottom and names columns 1..7', () => {
    const p = positionAfter(connect4, [3, 3, 4]);
    expect(draw(connect4, p).slice(4)).toEqual(['...o...', '...xx..']);
    expect(transcript(connect4, [3, 3, 4, 2], '')).toBe('4453');
    expect(connect4.cellOfAction(p, 3)).toBe(3 * 7 + 3);
  });

  it('finds a vertical win', () => {
    const p = positionAfter(connect4, [0, 1, 0, 1, 0, 1, 0]);
    expect(connect4.outcome(p)).toBe('first');
    expect(connect4.winningCells(p)).toEqual([14, 21, 28, 35]);
  });

  it('finds a diagonal win', () => {
    const p = positionAfter(connect4, [0, 1, 1, 2, 3, 2, 2, 3, 6, 3, 3]);
    expect(draw(connect4, p).slice(2)).toEqual(['...x...', '..xo...', '.xoo...', 'xoox..x']);
    expect(connect4.outcome(p)).toBe('first');
    expect(connect4.winningCells(p)).toEqual([17, 23, 29, 35]);
  });

  it('finds a horizontal win for the second player', () => {
    // x stacks on a and g; o lays b6..e6 along the bottom.
    const p = positionAfter(connect4, [0, 1, 0, 2, 6, 3, 6, 4]);
    expect(draw(connect4, p).slice(4)).toEqual(['x.....x', 'xoooo.x']);
    expect(connect4.outcome(p)).toBe('second');
    expect(connect4.winningCells(p)).toEqual([36, 37, 38, 39]);
  });

  it('refuses a full column', () => {
    const full = [2, 2, 2, 2, 2, 2];
    const p = positionAfter(connect4, full);
    expect(connect4.legalActions(p)).toEqual([0, 1, 3, 4, 5, 6]);
    expect(() => play(connect4, p, 2)).toThrow('column 3 is full');
  });

  it('random games end in a win with a line, or a full board', () => {
    for (const { moves, last } of randomGames(connect4, 200, 7)) {
      const o = connect4.outcome(last);
      expect(o).not.toBeNull();
      if (o === 'draw') expect(moves.length).toBe(42);
      else expect(connect4.winningCells(last).length).toBeGreaterThanOrEqual(4);
      // The winner is the one who moved last.
      if (o === 'first') expect(moves.length % 2).toBe(1);
      if (o === 'second') expect(moves.length % 2).toBe(0);
    }
  });
});

describe('othello', () => {
  it('starts with d5 e4 black, d4 e5 white and 4 moves: d3 c4 f5 e6', () => {
    const p = othello.initial();
    expect(draw(othello, p).slice(3, 5)).toEqual(['...ox...', '...xo...']);
    const legal = othello.legalActions(p);
    expect(legal).toEqual([19, 26, 37, 44]);
    expect(legal.map(othello.actionName)).toEqual(['d3', 'c4', 'f5', 'e6']);
  });

  it('flips the closed run', () => {
    const p = othello.initial();
    expect(flips(p.cells, 1, 37)).toEqual([36]); // f5 turns e5
    const q = othello.apply(p, 37);
    expect(discCounts(q.cells)).toEqual([4, 1]);
    expect(q.toMove).toBe(2);
    expect(othello.legalActions(q).map(othello.actionName)).toEqual(['f4', 'd6', 'f6']);
  });

  it('plays the classic transcript f5d6c3d3c4', () => {
    const names = ['f5', 'd6', 'c3', 'd3', 'c4'];
    const actions = names.map((n) => (n.charCodeAt(1) - 49) * 8 + (n.charCodeAt(0) - 97));
    const p = positionAfter(othello, actions);
    expect(transcript(othello, actions, '')).toBe('f5d6c3d3c4');
    // Worked by hand: black c3 c4 d4 e4 e5 f5, white d3 d5 d6.
    expect(discCounts(p.cells)).toEqual([6, 3]);
    expect(p.cells[19]).toBe(2);
    expect(p.cells[27]).toBe(1);
  });

  it('refuses pass while there is a move, and a move that flips nothing', () => {
    const p = othello.initial();
    expect(() => play(othello, p, PASS)).toThrow('pass is only allowed');
    expect(() => play(othello, p, 0)).toThrow('a1 turns over no disc');
    expect(othello.actionName(PASS)).toBe('pass');
  });

  it('makes a side pass when it has no move, and ends when neither has', () => {
    // Random games reach passes often enough; check the invariants on every position.
    let sawPass = false;
    for (const { moves, last } of randomGames(othello, 100, 11)) {
      const all = positionsOf(othello, moves);
      all.forEach((p, i) => {
        const legal = othello.legalActions(p);
        if (legal.includes(PASS)) {
          sawPass = true;
          expect(legal).toEqual([PASS]);
          // After a pass the other side must have a move.
          expect(othello.legalActions(all[i + 1]).filter((a) => a !== PASS).length).toBeGreaterThan(0);
        }
      });
      const [b, w] = discCounts(last.cells);
      const o = othello.outcome(last);
      expect(o).toBe(b > w ? 'first' : w > b ? 'second' : 'draw');
      expect(othello.winningCells(last)).toEqual([]);
    }
    expect(sawPass).toBe(true);
  });
});
