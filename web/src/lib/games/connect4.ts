// Connect4: 7 columns × 6 rows, discs drop to the lowest empty row. Actions 0–6 are
// the columns left to right; notation is the 1-based column digit, as solvers write
// it ("4453"). Cells are row-major from the top row (docs/CONTRACTS.md §1).

import type { Cell, GameRules, Outcome, Player, Position } from './types';

const ROWS = 6;
const COLS = 7;
// Directions that make a line: right, down, down-right, down-left.
const DIRS: readonly [number, number][] = [[0, 1], [1, 0], [1, 1], [1, -1]];

/** The row a disc dropped in `col` lands on, or -1 when the column is full. */
export function landingRow(cells: readonly Cell[], col: number): number {
  for (let r = ROWS - 1; r >= 0; r--) if (cells[r * COLS + col] === 0) return r;
  return -1;
}

/** Every run of four or more same-coloured discs, as cell lists. */
function lines(cells: readonly Cell[]): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c++) {
      const who = cells[r * COLS + c];
      if (who === 0) continue;
      for (const [dr, dc] of DIRS) {
        const run = [r * COLS + c];
        for (let k = 1; k < 4; k++) {
          const rr = r + dr * k;
          const cc = c + dc * k;
          if (rr < 0 || rr >= ROWS || cc < 0 || cc >= COLS || cells[rr * COLS + cc] !== who) break;
          run.push(rr * COLS + cc);
        }
        if (run.length === 4) out.push(run);
      }
    }
  }
  return out;
}

function outcome(p: Position): Outcome {
  const found = lines(p.cells);
  if (found.length > 0) return p.cells[found[0][0]] === 1 ? 'first' : 'second';
  return p.cells.every((c) => c !== 0) ? 'draw' : null;
}

export const connect4: GameRules = {
  name: 'connect4',
  displayName: 'Connect4',
  rows: ROWS,
  cols: COLS,
  numActions: COLS,
  passAction: null,
  ui: {
    sides: ['red', 'yellow'],
    piece: 'disc',
    input: 'column',
    style: 'columns',
    colors: { board: '#1f4fb5', pieces: ['#e53935', '#fdd835'] },
    coordinates: true,
    hints: false,
    showFlips: false,
    score: null,
  },

  initial: () => ({ cells: Array<Cell>(ROWS * COLS).fill(0), toMove: 1, ply: 0 }),

  legalActions(p) {
    if (outcome(p) !== null) return [];
    const out: number[] = [];
    for (let c = 0; c < COLS; c++) if (p.cells[c] === 0) out.push(c);
    return out;
  },

  apply(p, action) {
    const cells = p.cells.slice();
    cells[landingRow(cells, action) * COLS + action] = p.toMove;
    return { cells, toMove: (3 - p.toMove) as Player, ply: p.ply + 1 };
  },

  outcome,

  // Every cell on a run of four (a drop can complete several at once).
  winningCells(p) {
    const set = new Set(lines(p.cells).flat());
    return [...set].sort((a, b) => a - b);
  },

  actionName(action) {
    if (!Number.isInteger(action) || action < 0 || action >= COLS) return `?${action}`;
    return String(action + 1);
  },

  cellOfAction(p, action) {
    const r = landingRow(p.cells, action);
    return r < 0 ? null : r * COLS + action;
  },

  illegalReason(p, action) {
    return p.cells[action] !== 0 ? `column ${action + 1} is full` : 'it is not a legal move here';
  },
};
