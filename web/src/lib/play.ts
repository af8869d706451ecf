// The Play page's decisions, kept out of Svelte so they can be tested: who is who, what
// the result and the bot's evaluation say in words, and what undo takes back.

import type { GameInfo, Health, ModelSource } from './api';
import type { GameRules, Outcome, Player, Position } from './games';

/** Simulation presets offered on the Play page; `null` means the game's default. */
export const STRENGTHS: readonly { id: string; label: string; simulations: number | null }[] = [
  { id: 'quick', label: 'Quick (32 simulations)', simulations: 32 },
  { id: 'normal', label: 'Normal (the game’s default)', simulations: null },
  { id: 'strong', label: 'Strong (800 simulations)', simulations: 800 },
  { id: 'custom', label: 'Custom…', simulations: null },
];

/** The result from the human's side, as the page announces it. */
export function resultText(outcome: Outcome, human: Player): string | null {
  if (outcome === null) return null;
  if (outcome === 'draw') return 'Draw';
  const winner: Player = outcome === 'first' ? 1 : 2;
  return winner === human ? 'You win' : 'The bot wins';
}

/** The bot's value (its own point of view, in [-1, 1]) in words. */
export function valueWords(value: number): string {
  if (value > 0.6) return 'The bot thinks it is winning';
  if (value > 0.2) return 'The bot thinks it is ahead';
  if (value >= -0.2) return 'The bot thinks the game is about even';
  if (value >= -0.6) return 'The bot thinks it is behind';
  return 'The bot thinks it is losing';
}

/** True when `action` is the game's pass (Othello), which has a button, not a cell. */
export function isPass(rules: GameRules, action: number): boolean {
  return rules.passAction !== null && action === rules.passAction;
}

/** The board actions the user may click: the legal ones but a pass. */
export function boardActions(rules: GameRules, legal: readonly number[]): number[] {
  return legal.filter((a) => !isPass(rules, a));
}

/** True when the only legal move is to pass. */
export function passIsForced(rules: GameRules, legal: readonly number[]): boolean {
  return legal.length === 1 && isPass(rules, legal[0]);
}

/** Cells whose piece changed sides between two positions: the discs a move turned over. */
export function flippedCells(before: Position, after: Position): number[] {
  return after.cells.flatMap((c, i) => (before.cells[i] !== 0 && before.cells[i] !== c ? [i] : []));
}

/**
 * The column a digit key plays in a game played by column ('1' is the leftmost), or
 * null. Only boards of up to 9 columns have a key for every column.
 */
export function columnForKey(rules: GameRules, key: string): number | null {
  if (rules.ui.input !== 'column' || rules.cols > 9 || !/^[1-9]$/.test(key)) return null;
  const col = Number(key) - 1;
  return col < rules.cols ? col : null;
}

/** The line under the board that says how to move. */
export function howToPlay(rules: GameRules, touch = false): string {
  if (rules.ui.input === 'column') {
    if (touch) return `Tap a column to drop a ${rules.ui.piece}.`;
    const keys = rules.cols <= 9 ? ` or press 1–${rules.cols}` : '';
    return `Click a column${keys} to drop a ${rules.ui.piece} (or ← → and Enter).`;
  }
  return touch ? 'Tap a cell to play there.' : 'Click a cell, or move with the arrow keys and press Enter.';
}

/**
 * The moves left after undo: takes back the human's last move and every bot move after
 * it, so it is the human's turn again. Returns `moves` unchanged when the human has not
 * moved yet (undo is then disabled).
 */
export function undoMoves(rules: GameRules, moves: readonly number[], human: Player): number[] {
  // Whose move each ply was: the side to move before it. Passes count as moves.
  let p: Position = rules.initial();
  let lastHuman = -1;
  moves.forEach((a, i) => {
    if (p.toMove === human) lastHuman = i;
    p = rules.apply(p, a);
  });
  return lastHuman < 0 ? moves.slice() : moves.slice(0, lastHuman);
}

/** Simulation count to send: a preset's number, the game's default (undefined), or the custom value. */
export function simulationsFor(strengthId: string, custom: number): number | undefined {
  // An emptied number box binds as null or NaN: fall back to the game's default.
  if (strengthId === 'custom') return Number.isFinite(custom) ? Math.max(1, Math.round(custom)) : undefined;
  return STRENGTHS.find((s) => s.id === strengthId)?.simulations ?? undefined;
}

/** The `top` best actions of a visit distribution, best first, skipping zeros. */
export function topMoves(policy: readonly number[], top = 3): { action: number; share: number }[] {
  return policy
    .map((share, action) => ({ action, share }))
    .filter((m) => m.share > 0)
    .sort((a, b) => b.share - a.share || a.action - b.action)
    .slice(0, top);
}

/**
 * Where an arrow key moves the keyboard focus on a board of `rows` × `cols` cells, among
 * the `playable` cells only (occupied cells are disabled buttons and cannot hold focus).
 * Left/right go to the previous/next playable cell in reading order; up/down go to the
 * nearest playable cell (by column) in the closest row above/below that has one.
 * From nowhere (`from` null) any arrow lands on the playable cell nearest the centre.
 * Returns null when there is nowhere to go.
 */
export function arrowTarget(
  rows: number,
  cols: number,
  playable: readonly number[],
  from: number | null,
  key: 'ArrowLeft' | 'ArrowRight' | 'ArrowUp' | 'ArrowDown',
): number | null {
  const cells = [...new Set(playable)].filter((i) => i >= 0 && i < rows * cols).sort((a, b) => a - b);
  if (cells.length === 0) return null;
  if (from === null || from < 0 || from >= rows * cols) {
    // Nearest the centre, so a first press lands somewhere sensible on any board.
    const cr = (rows - 1) / 2;
    const cc = (cols - 1) / 2;
    const d = (i: number) => Math.hypot(Math.floor(i / cols) - cr, (i % cols) - cc);
    return cells.reduce((best, i) => (d(i) < d(best) ? i : best));
  }
  if (key === 'ArrowRight') return cells.find((i) => i > from) ?? null;
  if (key === 'ArrowLeft') return [...cells].reverse().find((i) => i < from) ?? null;
  const r0 = Math.floor(from / cols);
  const c0 = from % cols;
  const step = key === 'ArrowDown' ? 1 : -1;
  for (let r = r0 + step; r >= 0 && r < rows; r += step) {
    const inRow = cells.filter((i) => Math.floor(i / cols) === r);
    if (inRow.length) return inRow.reduce((best, i) => (Math.abs((i % cols) - c0) < Math.abs((best % cols) - c0) ? i : best));
  }
  return null;
}

/** The model the bot plays with, as far as the page knows. */
export interface BotModel {
  /** Its training step; null: no model. */
  version: number | null;
  /** Its file; null: the search used no model; undefined: the actor does not say (older ones). */
  source?: ModelSource | null;
}

/**
 * The model the bot plays `game` with, from the freshest source: the last move reply in
 * that game (`lastMove`), since the actor swaps models while it runs (a new latest, a
 * promotion to best); before the first move /api/health, which speaks for the game of
 * the actor's data folder only; else the game list, which does not name the file.
 */
export function botModel(game: string, lastMove: BotModel | null, health: Health | null, info: GameInfo | null): BotModel | null {
  if (lastMove) return lastMove;
  if (health && health.game === game) return { version: health.model_version, source: health.model_source };
  if (info) return { version: info.model_version };
  return null;
}

/** "Bot model: best, step 4200"; "step 4200" alone from an actor that does not name the file. */
export function botModelLabel(model: BotModel | null): string | null {
  if (!model) return null;
  const { version, source } = model;
  if (version === null) return 'Bot model: none (search only)';
  return source ? `Bot model: ${source}, step ${version}` : `Bot model: step ${version}`;
}
