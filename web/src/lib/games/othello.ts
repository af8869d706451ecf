// Othello on 8×8. Actions 0–63 row-major with a1 = 0 at the top-left and h8 = 63;
// 64 is pass, legal only when no other move is. Black (player 1) moves first from
// d5 and e4 black, d4 and e5 white (docs/CONTRACTS.md §1). The game ends when
// neither side can move; the side with more discs wins.

import type { Cell, GameRules, Outcome, Player, Position } from './types';

export const PASS = 64;
const N = 8;
const DIRS: readonly [number, number][] = [
  [-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1], [1, -1], [1, 0], [1, 1],
];

/** The opponent discs that `who` playing on `cell` would turn over (empty: not a move). */
export function flips(cells: readonly Cell[], who: Player, cell: number): number[] {
  if (cell < 0 || cell >= N * N || cells[cell] !== 0) return [];
  const r0 = Math.floor(cell / N);
  const c0 = cell % N;
  const out: number[] = [];
  for (const [dr, dc] of DIRS) {
    const run: number[] = [];
    let r = r0 + dr;
    let c = c0 + dc;
    while (r >= 0 && r < N && c >= 0 && c < N && cells[r * N + c] === 3 - who) {
      run.push(r * N + c);
      r += dr;
      c += dc;
    }
    // A run counts only when closed by one of the mover's own discs.
    if (run.length > 0 && r >= 0 && r < N && c >= 0 && c < N && cells[r * N + c] === who) out.push(...run);
  }
  return out.sort((a, b) => a - b);
}

/** Board moves (not pass) for `who`, ascending. */
function placements(cells: readonly Cell[], who: Player): number[] {
  const out: number[] = [];
  for (let i = 0; i < N * N; i++) if (cells[i] === 0 && flips(cells, who, i).length > 0) out.push(i);
  return out;
}

/** Disc counts `[first, second]`. */
export function discCounts(cells: readonly Cell[]): [number, number] {
  let a = 0;
  let b = 0;
  for (const c of cells) {
    if (c === 1) a++;
    else if (c === 2) b++;
  }
  return [a, b];
}

function outcome(p: Position): Outcome {
  if (placements(p.cells, p.toMove).length > 0) return null;
  if (placements(p.cells, (3 - p.toMove) as Player).length > 0) return null;
  const [a, b] = discCounts(p.cells);
  return a > b ? 'first' : b > a ? 'second' : 'draw';
}

function initialCells(): Cell[] {
  const cells = Array<Cell>(N * N).fill(0);
  cells[27] = 2; // d4
  cells[28] = 1; // e4
  cells[35] = 1; // d5
  cells[36] = 2; // e5
  return cells;
}

export const othello: GameRules = {
  name: 'othello',
  displayName: 'Othello',
  rows: N,
  cols: N,
  numActions: N * N + 1,
  passAction: PASS,
  ui: {
    sides: ['black', 'white'],
    piece: 'disc',
    input: 'cell',
    style: 'discs-grid',
    colors: { board: '#2e7d4f', lines: '#1f5e3a', pieces: ['#111', '#f4f4f4'], outlines: [null, '#999'] },
    coordinates: true,
    // Legal moves are the squares that turn a disc over: hard to spot, so they are marked.
    hints: true,
    showFlips: true,
    // Othello is won on disc count, so the count is shown while it goes on.
    score: (p) => discCounts(p.cells),
  },

  initial: () => ({ cells: initialCells(), toMove: 1, ply: 0 }),

  legalActions(p) {
    const mine = placements(p.cells, p.toMove);
    if (mine.length > 0) return mine;
    // No move of our own: pass if the opponent can go on, otherwise the game is over.
    return placements(p.cells, (3 - p.toMove) as Player).length > 0 ? [PASS] : [];
  },

  apply(p, action) {
    const cells = p.cells.slice();
    if (action !== PASS) {
      for (const i of flips(cells, p.toMove, action)) cells[i] = p.toMove;
      cells[action] = p.toMove;
    }
    return { cells, toMove: (3 - p.toMove) as Player, ply: p.ply + 1 };
  },

  outcome,

  winningCells: () => [],

  actionName(action) {
    if (action === PASS) return 'pass';
    if (!Number.isInteger(action) || action < 0 || action > PASS) return `?${action}`;
    return `${'abcdefgh'[action % N]}${Math.floor(action / N) + 1}`;
  },

  cellOfAction: (_p, action) => (action === PASS ? null : action),

  illegalReason(p, action) {
    if (action === PASS) return 'pass is only allowed when there is no other move';
    if (p.cells[action] !== 0) return `square ${othello.actionName(action)} is already taken`;
    return `${othello.actionName(action)} turns over no disc`;
  },
};
