// Every game in the registry must be complete and consistent: the pages and Board.svelte
// trust its fields without knowing the game, so a new module is checked here the moment
// it is listed in GAMES. The check runs on broken copies too, to show it catches them.
import { describe, expect, it } from 'vitest';
import { flippedCells } from '../play';
import { BOARD_STYLES, connect4, GAMES, othello, rulesFor, tictactoe } from './index';
import type { BoardStyle, GameRules, InputMode, Position } from './types';

/** CSS colours as the modules write them: hex, a page variable, rgb()/hsl(), or a name. */
const COLOUR = /^(#[0-9a-f]{3,4}|#[0-9a-f]{6}|#[0-9a-f]{8}|var\(--[a-z0-9-]+\)|(rgb|hsl)a?\([0-9.,%\s/]+\)|[a-z]+)$/i;

/** A small LCG, so a failing game can be replayed from its seed. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

function staticProblems(rules: GameRules): string[] {
  const out: string[] = [];
  const { ui } = rules;
  const isInt = (n: number) => Number.isInteger(n) && n > 0;
  if (!/^[a-z][a-z0-9_]*$/.test(rules.name)) out.push(`name "${rules.name}" is not a registry name`);
  if (rulesFor(rules.name) !== rules) out.push(`rulesFor("${rules.name}") does not find this module`);
  if (!rules.displayName.trim()) out.push('displayName is empty');
  if (!isInt(rules.rows) || !isInt(rules.cols)) out.push(`board ${rules.rows}×${rules.cols} is not two positive integers`);
  if (!BOARD_STYLES.includes(ui.style)) out.push(`board style "${ui.style}" is not one Board.svelte draws (${BOARD_STYLES.join(', ')})`);
  if (!(['cell', 'column'] as InputMode[]).includes(ui.input)) out.push(`input "${ui.input}" is neither cell nor column`);
  // Board.svelte draws column buttons in the columns look only, and cells in the others.
  if ((ui.style === 'columns') !== (ui.input === 'column')) out.push(`style "${ui.style}" does not go with input "${ui.input}"`);
  if (rules.passAction !== null && rules.passAction !== rules.numActions - 1) {
    out.push(`passAction ${rules.passAction} is not the last action (${rules.numActions - 1})`);
  }
  const boardActions = rules.numActions - (rules.passAction === null ? 0 : 1);
  const expected = ui.input === 'column' ? rules.cols : rules.rows * rules.cols;
  if (boardActions !== expected) out.push(`${boardActions} board actions, but a ${ui.input} board of ${rules.rows}×${rules.cols} has ${expected}`);
  const names = Array.from({ length: rules.numActions }, (_, a) => rules.actionName(a));
  if (names.some((n) => !n || n.startsWith('?'))) out.push(`actionName has no name for some actions: ${names.join(' ')}`);
  if (new Set(names).size !== names.length) out.push('actionName gives two actions the same name');
  const [first, second] = ui.sides;
  if (!first?.trim() || !second?.trim() || first === second) out.push(`sides ${JSON.stringify(ui.sides)} are not two different names`);
  // grid-marks draws each side's name inside its cells.
  if (ui.style === 'grid-marks' && ui.sides.some((s) => s.length > 2)) out.push(`sides ${JSON.stringify(ui.sides)} are too long to draw as marks`);
  if (!ui.piece.trim()) out.push('piece is empty');
  const colours: [string, string | null | undefined][] = [
    ['board', ui.colors.board],
    ['pieces[0]', ui.colors.pieces[0]],
    ['pieces[1]', ui.colors.pieces[1]],
    ['lines', ui.colors.lines ?? null],
    ['outlines[0]', ui.colors.outlines?.[0] ?? null],
    ['outlines[1]', ui.colors.outlines?.[1] ?? null],
  ];
  for (const [what, c] of colours) {
    const optional = what.startsWith('lines') || what.startsWith('outlines');
    if ((c === null && !optional) || (c !== null && c !== undefined && !COLOUR.test(c))) out.push(`colour ${what} "${c}" is not a CSS colour`);
  }
  if (ui.colors.pieces[0] === ui.colors.pieces[1]) out.push('both sides have the same colour');
  // Files are letters a–z along the top of a grid.
  if (ui.coordinates && ui.input === 'cell' && rules.cols > 26) out.push(`${rules.cols} columns, but files run a–z`);
  for (const flag of ['coordinates', 'hints', 'showFlips'] as const) {
    if (typeof ui[flag] !== 'boolean') out.push(`${flag} is not true or false`);
  }
  if (ui.score !== null && typeof ui.score !== 'function') out.push('score is neither null nor a function');
  return out;
}

/** Checks one position and every legal move from it; returns the problems found. */
function positionProblems(rules: GameRules, p: Position, ply: number): { problems: string[]; flips: boolean } {
  const out: string[] = [];
  let flips = false;
  const size = rules.rows * rules.cols;
  if (p.cells.length !== size || p.cells.some((c) => c !== 0 && c !== 1 && c !== 2)) out.push(`cells are not ${size} values of 0, 1, 2`);
  if (p.ply !== ply) out.push(`ply is ${p.ply}, not ${ply}`);
  if (p.toMove !== 1 && p.toMove !== 2) out.push(`toMove is ${p.toMove}`);
  const legal = rules.legalActions(p);
  if (legal.some((a, i) => !Number.isInteger(a) || a < 0 || a >= rules.numActions || (i > 0 && a <= legal[i - 1]))) {
    out.push(`legal actions [${legal}] are not ascending actions in 0..${rules.numActions - 1}`);
  }
  const outcome = rules.outcome(p);
  if ((outcome === null) !== legal.length > 0) out.push(`outcome ${outcome} with ${legal.length} legal actions`);
  const winning = rules.winningCells(p);
  if (winning.some((i) => i < 0 || i >= size || p.cells[i] === 0)) out.push(`winning cells [${winning}] are not occupied cells`);
  if (outcome === null || outcome === 'draw') {
    if (winning.length) out.push(`winning cells [${winning}] while the outcome is ${outcome}`);
  } else if (winning.some((i) => p.cells[i] !== (outcome === 'first' ? 1 : 2))) {
    out.push(`winning cells [${winning}] are not all the winner's`);
  }
  if (rules.ui.score) {
    const s = rules.ui.score(p);
    if (s.length !== 2 || s.some((n) => !Number.isInteger(n) || n < 0)) out.push(`score ${JSON.stringify(s)} is not two counts`);
  }
  for (const a of legal) {
    const q = rules.apply(p, a);
    if (q.toMove !== 3 - p.toMove || q.ply !== p.ply + 1) out.push(`${rules.actionName(a)} does not pass the turn on`);
    if (a === rules.passAction) {
      if (legal.length !== 1) out.push(`pass is legal beside [${legal}]`);
      if (rules.cellOfAction(p, a) !== null) out.push('pass puts a piece on a cell');
      if (q.cells.join() !== p.cells.join()) out.push('pass changes the board');
      continue;
    }
    const cell = rules.cellOfAction(p, a);
    if (cell === null || !Number.isInteger(cell) || cell < 0 || cell >= size) {
      out.push(`${rules.actionName(a)} lands on no cell (${cell})`);
      continue;
    }
    // The board draws a cell action on its own cell, a column action in its column.
    if (rules.ui.input === 'cell' ? cell !== a : cell % rules.cols !== a) out.push(`${rules.actionName(a)} lands on cell ${cell}, outside what the user clicked`);
    if (p.cells[cell] !== 0) out.push(`${rules.actionName(a)} lands on an occupied cell`);
    if (q.cells[cell] !== p.toMove) out.push(`${rules.actionName(a)} does not put the mover's piece on cell ${cell}`);
    if (flippedCells(p, q).length > 0) flips = true;
  }
  return { problems: out, flips };
}

/** Everything wrong with a game module, from its fields and `games` random playouts. */
function problems(rules: GameRules, games = 30, seed = 1): string[] {
  const out = staticProblems(rules);
  const rand = lcg(seed);
  const start = rules.initial();
  if (start.toMove !== 1 || start.ply !== 0) out.push('the game does not start with the first player at ply 0');
  // Every in-range action that is not legal at the start gets a reason in words.
  const legal0 = rules.legalActions(start);
  for (let a = 0; a < rules.numActions; a++) {
    if (!legal0.includes(a) && !rules.illegalReason(start, a).trim()) out.push(`no reason why ${rules.actionName(a)} is illegal`);
  }
  let flips = false;
  const longest = rules.rows * rules.cols * 3;
  // One broken position says enough: stop at the first.
  let broken = false;
  for (let g = 0; g < games && !broken; g++) {
    let p = start;
    for (let ply = 0; ; ply++) {
      const found = positionProblems(rules, p, ply);
      out.push(...found.problems.map((m) => `game ${g} (seed ${seed}) ply ${ply}: ${m}`));
      flips ||= found.flips;
      broken = found.problems.length > 0;
      const moves = rules.legalActions(p);
      if (moves.length === 0 || broken) break;
      if (ply > longest) {
        out.push(`game ${g} runs past ${longest} moves`);
        break;
      }
      p = rules.apply(p, moves[Math.floor(rand() * moves.length)]);
    }
  }
  // Turned-over pieces are drawn only for games that say their moves flip pieces.
  if (flips && !rules.ui.showFlips) out.push('moves turn pieces over, but showFlips is false');
  return out;
}

describe('every registered game is complete and consistent', () => {
  it('has unique names', () => {
    const names = GAMES.map((g) => g.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBeGreaterThan(0);
  });

  for (const rules of GAMES) {
    it(rules.name, () => {
      expect(problems(rules)).toEqual([]);
    });
  }
});

describe('the registry check catches a broken module', () => {
  /** A copy of `rules` with some of its UI fields replaced. */
  const withUi = (rules: GameRules, ui: Partial<GameRules['ui']>): GameRules => ({ ...rules, ui: { ...rules.ui, ...ui } });
  /** Runs the check on a copy that poses as the registered module (rulesFor finds it). */
  const check = (broken: GameRules, original: GameRules) => {
    const found = problems(broken, 5);
    const unregistered = `rulesFor("${original.name}") does not find this module`;
    return found.filter((m) => m !== unregistered);
  };

  const cases: [string, GameRules, GameRules, RegExp][] = [
    ['an unknown board style', withUi(tictactoe, { style: 'hexes' as BoardStyle }), tictactoe, /board style "hexes"/],
    ['a columns look played by cell', withUi(connect4, { input: 'cell' }), connect4, /does not go with input "cell"/],
    ['a grid played by column', withUi(othello, { input: 'column' }), othello, /does not go with input "column"/],
    ['an action count that does not fit the board', { ...tictactoe, numActions: 10 }, tictactoe, /10 board actions/],
    ['a pass that is not the last action', { ...othello, passAction: 0 }, othello, /passAction 0 is not the last action/],
    ['flips drawn nowhere', withUi(othello, { showFlips: false }), othello, /showFlips is false/],
    ['marks too long to draw', withUi(tictactoe, { sides: ['Cross', 'Nought'] }), tictactoe, /too long to draw as marks/],
    ['one name for both sides', withUi(connect4, { sides: ['red', 'red'] }), connect4, /are not two different names/],
    ['a colour that is not one', withUi(connect4, { colors: { board: 'blue!', pieces: ['#e53935', '#fdd835'] } }), connect4, /colour board "blue!"/],
    ['the same colour for both sides', withUi(tictactoe, { colors: { board: 'white', pieces: ['#123', '#123'] } }), tictactoe, /same colour/],
    ['a column move drawn in another column', { ...connect4, cellOfAction: (_p: Position, a: number) => (a + 1) % 7 + 35 }, connect4, /outside what the user clicked/],
    ['two actions with one name', { ...tictactoe, actionName: (a: number) => (a < 2 ? 'a1' : tictactoe.actionName(a)) }, tictactoe, /same name/],
    ['a score that is not two counts', withUi(tictactoe, { score: () => [1, -1] }), tictactoe, /is not two counts/],
  ];
  for (const [what, broken, original, message] of cases) {
    it(what, () => {
      const found = check(broken, original);
      expect(found.some((m) => message.test(m)), `expected ${message} among ${JSON.stringify(found)}`).toBe(true);
    });
  }

  it('an unregistered module', () => {
    expect(problems({ ...tictactoe, name: 'tictactoe2' }, 1)).toContain('rulesFor("tictactoe2") does not find this module');
  });
});
