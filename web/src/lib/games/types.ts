// The shape every game's rules share. Must match docs/CONTRACTS.md §1: actions are
// integers from the initial position, cells are row-major from the top-left with
// 0 empty, 1 the first player, 2 the second player.

/** A board square: 0 empty, 1 first player's piece, 2 second player's piece. */
export type Cell = 0 | 1 | 2;

/** 1 moves first (X, red, black), 2 second. */
export type Player = 1 | 2;

/** How a finished game ended, in the words `/api/state` uses; null while it goes on. */
export type Outcome = 'first' | 'second' | 'draw' | null;

/** The registry names of the games the web app knows the rules of. */
export type GameName = 'tictactoe' | 'connect4' | 'othello';

/** A position. Immutable: `apply` returns a new one. */
export interface Position {
  /** rows × cols, row-major from the top-left. */
  readonly cells: readonly Cell[];
  /** Whose turn it is. */
  readonly toMove: Player;
  /** Actions played so far (an Othello pass counts). */
  readonly ply: number;
}

/** Rules of one game, free of any UI. */
export interface GameRules {
  readonly name: GameName;
  readonly displayName: string;
  readonly rows: number;
  readonly cols: number;
  /** Size of the action space (Othello: 65, the last one is pass). */
  readonly numActions: number;
  initial(): Position;
  /** Legal actions, ascending; empty exactly when the game is over. */
  legalActions(p: Position): number[];
  /** Plays a legal action; callers check legality first (see `playMoves`). */
  apply(p: Position, action: number): Position;
  outcome(p: Position): Outcome;
  /** Cells on completed lines, ascending (empty for Othello, which has no lines). */
  winningCells(p: Position): number[];
  /** The move in the game's notation: `b2`, `4`, `f5`, `pass`. */
  actionName(action: number): string;
  /** The cell an action puts a piece on, or null (Othello pass). */
  cellOfAction(p: Position, action: number): number | null;
  /** Why a legal-range action is illegal here, in words. */
  illegalReason(p: Position, action: number): string;
}
