// The registry of the games the web app can draw and play, and helpers built on the
// GameRules interface alone. A new game is its module next to this one plus one entry
// in GAMES: the pages and Board.svelte read everything else from the module.

import { connect4 } from './connect4';
import { othello } from './othello';
import { tictactoe } from './tictactoe';
import type { GameRules, Position } from './types';

export type { BoardColors, BoardStyle, Cell, GameRules, GameUI, InputMode, Outcome, Player, Position } from './types';
export { BOARD_STYLES } from './types';
export { connect4, othello, tictactoe };

/** Every game the web app knows. */
export const GAMES: readonly GameRules[] = [tictactoe, connect4, othello];

const BY_NAME: ReadonlyMap<string, GameRules> = new Map(GAMES.map((g) => [g.name, g]));

/** The rules for a registry name, or null for a game this web app cannot draw. */
export function rulesFor(name: string): GameRules | null {
  return BY_NAME.get(name) ?? null;
}

/** Raised by `playMoves`: which move (0-based index) was wrong and why. */
export class IllegalMoveError extends Error {
  constructor(
    readonly index: number,
    readonly action: number,
    reason: string,
  ) {
    super(`move ${index + 1} (action ${action}) is illegal: ${reason}`);
    this.name = 'IllegalMoveError';
  }
}

/** Checks `action` in `p` and plays it; throws with a reason when it is not legal. */
export function play(rules: GameRules, p: Position, action: number, index = p.ply): Position {
  if (!Number.isInteger(action) || action < 0 || action >= rules.numActions) {
    throw new IllegalMoveError(index, action, `${rules.displayName} actions are 0..${rules.numActions - 1}`);
  }
  if (rules.outcome(p) !== null) throw new IllegalMoveError(index, action, 'the game is already over');
  if (!rules.legalActions(p).includes(action)) {
    throw new IllegalMoveError(index, action, rules.illegalReason(p, action));
  }
  return rules.apply(p, action);
}

/** Every position of a game: `[initial, after move 1, …]`. Throws on an illegal move. */
export function positionsOf(rules: GameRules, moves: readonly number[]): Position[] {
  const out = [rules.initial()];
  moves.forEach((a, i) => out.push(play(rules, out[out.length - 1], a, i)));
  return out;
}

/** The position after `moves` from the start. Throws on an illegal move. */
export function positionAfter(rules: GameRules, moves: readonly number[]): Position {
  return moves.reduce((p, a, i) => play(rules, p, a, i), rules.initial());
}

/** The moves in notation, e.g. "b2 a1 c3" (TicTacToe) or "4453" (Connect4 transcripts). */
export function transcript(rules: GameRules, moves: readonly number[], separator = ' '): string {
  return moves.map((a) => rules.actionName(a)).join(separator);
}

/**
 * Number of move sequences of exactly `depth` plies; a game that ends earlier is not
 * counted (the convention of the engine's perft, engine-rust/engine-core/src/perft.rs).
 */
export function perft(rules: GameRules, p: Position, depth: number): number {
  if (depth === 0) return 1;
  const moves = rules.legalActions(p);
  if (depth === 1) return moves.length;
  let total = 0;
  for (const a of moves) total += perft(rules, rules.apply(p, a), depth - 1);
  return total;
}
