// The shape every game's rules share. Must match docs/CONTRACTS.md §1: actions are
// integers from the initial position, cells are row-major from the top-left with
// 0 empty, 1 the first player, 2 the second player.

/** A board square: 0 empty, 1 first player's piece, 2 second player's piece. */
export type Cell = 0 | 1 | 2;

/** 1 moves first (X, red, black), 2 second. */
export type Player = 1 | 2;

/** How a finished game ended, in the words `/api/state` uses; null while it goes on. */
export type Outcome = 'first' | 'second' | 'draw' | null;

/** A position. Immutable: `apply` returns a new one. */
export interface Position {
  /** rows × cols, row-major from the top-left. */
  readonly cells: readonly Cell[];
  /** Whose turn it is. */
  readonly toMove: Player;
  /** Actions played so far (an Othello pass counts). */
  readonly ply: number;
}

/**
 * The board looks `Board.svelte` draws; a game picks one by name and gives the colours.
 * `columns` goes with input `column`, the grids with input `cell`. A new look here is
 * a new look to draw in Board.svelte.
 */
export const BOARD_STYLES = [
  /** Letters on square cells (TicTacToe's X and O): each side's `sides` name is its mark. */
  'grid-marks',
  /** Round discs on square cells (Othello). */
  'discs-grid',
  /** Columns of round slots in a frame that discs drop into (Connect4). */
  'columns',
] as const;
export type BoardStyle = (typeof BOARD_STYLES)[number];

/**
 * How the user picks a move: a cell (action = cell index, row-major) or a column
 * (action = column index, left to right). Column games take the digit keys too.
 */
export type InputMode = 'cell' | 'column';

/** Colours of a board, as CSS colour values (page variables such as `var(--panel)` work). */
export interface BoardColors {
  /** The board itself: the cells of a grid, the frame around columns. */
  readonly board: string;
  /** Cell borders of a grid; absent: the page's usual button border. */
  readonly lines?: string;
  /** The first and the second side's pieces: a mark's ink, a disc's fill. */
  readonly pieces: readonly [string, string];
  /** An outline for a side's discs that would not stand out otherwise (null: none). */
  readonly outlines?: readonly [string | null, string | null];
}

/**
 * What the web app needs to show and play a game, besides its rules. The pages and
 * Board.svelte read these fields only, never a game's name, so a new game is one new
 * module and one line in the registry (index.ts).
 */
export interface GameUI {
  /** The sides in the game's own words, first player first: X/O, red/yellow, black/white. */
  readonly sides: readonly [string, string];
  /** What one piece is called in instructions: "drop a disc". */
  readonly piece: string;
  readonly input: InputMode;
  readonly style: BoardStyle;
  readonly colors: BoardColors;
  /** Letters and numbers on the edges: files and ranks of a grid, numbers under columns. */
  readonly coordinates: boolean;
  /** A dot on every cell the user may play, for games whose legal moves are hard to see. */
  readonly hints: boolean;
  /** Ring the pieces the last move turned over, for games whose moves flip pieces. */
  readonly showFlips: boolean;
  /** The running score `[first, second]` shown under the status, for games won on points; null: none. */
  readonly score: ((p: Position) => readonly [number, number]) | null;
}

/** The rules of one game, and (`ui`) how the web app draws and plays it. */
export interface GameRules {
  /** The registry name the actor uses (docs/CONTRACTS.md §1). */
  readonly name: string;
  readonly displayName: string;
  readonly rows: number;
  readonly cols: number;
  /** Size of the action space (Othello: 65, the last one is pass). */
  readonly numActions: number;
  /** The action that passes (Othello: 64), or null for games without a pass. */
  readonly passAction: number | null;
  readonly ui: GameUI;
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
