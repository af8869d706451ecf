// TicTacToe. Actions 0–8 row-major from the top-left; notation a1…c3 with files a–c
// left to right and ranks 1–3 from the top row (docs/CONTRACTS.md §1):
//
//     a b c
//   1 0 1 2
//   2 3 4 5
//   3 6 7 8

import type { Cell, GameRules, Outcome, Player, Position } from './types';

const LINES: readonly (readonly number[])[] = [
  [0, 1, 2], [3, 4, 5], [6, 7, 8], // rows
  [0, 3, 6], [1, 4, 7], [2, 5, 8], // columns
  [0, 4, 8], [2, 4, 6], // diagonals
];

function completeLines(cells: readonly Cell[]): (readonly number[])[] {
  return LINES.filter(([a, b, c]) => cells[a] !== 0 && cells[a] === cells[b] && cells[a] === cells[c]);
}

function outcome(p: Position): Outcome {
  const lines = completeLines(p.cells);
  if (lines.length > 0) return p.cells[lines[0][0]] === 1 ? 'first' : 'second';
  return p.cells.every((c) => c !== 0) ? 'draw' : null;
}

export const tictactoe: GameRules = {
  name: 'tictactoe',
  displayName: 'TicTacToe',
  rows: 3,
  cols: 3,
  numActions: 9,
  passAction: null,
  ui: {
    sides: ['X', 'O'],
    piece: 'mark',
    input: 'cell',
    style: 'grid-marks',
    colors: { board: 'var(--panel)', pieces: ['#2f6fdf', '#d9534f'] },
    coordinates: true,
    hints: false,
    showFlips: false,
    score: null,
  },

  initial: () => ({ cells: Array<Cell>(9).fill(0), toMove: 1, ply: 0 }),

  legalActions(p) {
    if (outcome(p) !== null) return [];
    const out: number[] = [];
    p.cells.forEach((c, i) => {
      if (c === 0) out.push(i);
    });
    return out;
  },

  apply(p, action) {
    const cells = p.cells.slice();
    cells[action] = p.toMove;
    return { cells, toMove: (3 - p.toMove) as Player, ply: p.ply + 1 };
  },

  outcome,

  // Every cell on a complete line: the last mark can finish two lines at once.
  winningCells(p) {
    const set = new Set(completeLines(p.cells).flat());
    return [...set].sort((a, b) => a - b);
  },

  actionName(action) {
    if (!Number.isInteger(action) || action < 0 || action >= 9) return `?${action}`;
    return `${'abc'[action % 3]}${Math.floor(action / 3) + 1}`;
  },

  cellOfAction: (_p, action) => action,

  illegalReason(p, action) {
    return p.cells[action] !== 0 ? `cell ${tictactoe.actionName(action)} is already taken` : 'it is not a legal move here';
  },
};
