// The web app's rules against the engine's, position by position, through the actor's
// POST /api/state (docs/CONTRACTS.md §6). Needs a running actor, so it runs only when
// ACTOR_URL is set, e.g. `ACTOR_URL=http://127.0.0.1:8080 npm test`; without it the
// suite is reported as skipped.
import { describe, expect, it } from 'vitest';
import { GAMES } from './index';
import { PASS } from './othello';
import type { GameRules, Position } from './types';

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const ACTOR_URL = env.ACTOR_URL?.replace(/\/$/, '');

async function engineState(game: string, moves: number[]) {
  const r = await fetch(`${ACTOR_URL}/api/state`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ game, moves }),
  });
  return { status: r.status, body: await r.json() };
}

/** A deterministic pseudo-random game, so a disagreement can be replayed. */
function randomGame(rules: GameRules, seed: number): number[] {
  let s = seed;
  let p: Position = rules.initial();
  const moves: number[] = [];
  for (;;) {
    const legal = rules.legalActions(p);
    if (legal.length === 0) return moves;
    s = (s * 1103515245 + 12345) % 2147483648;
    const a = legal[s % legal.length];
    moves.push(a);
    p = rules.apply(p, a);
  }
}

describe.skipIf(!ACTOR_URL)('rules agree with the engine', () => {
  for (const rules of GAMES) {
    // Small boards get more games: every game costs one request per position.
    const games = Math.min(40, Math.max(12, Math.round(1000 / (rules.rows * rules.cols))));
    it(`${rules.name}: every position of ${games} random games`, async () => {
      let passes = 0;
      for (let g = 0; g < games; g++) {
        const moves = randomGame(rules, 1000 + g);
        let p = rules.initial();
        for (let i = 0; i <= moves.length; i++) {
          const { status, body } = await engineState(rules.name, moves.slice(0, i));
          const where = `${rules.name} game ${g} after ${i} moves [${moves.slice(0, i)}]`;
          expect(status, where).toBe(200);
          expect(body.cells, where).toEqual(p.cells);
          expect(body.to_move, where).toBe(p.toMove);
          expect(body.legal_actions, where).toEqual(rules.legalActions(p));
          expect(body.outcome ?? null, where).toBe(rules.outcome(p));
          expect(body.winning_cells, where).toEqual(rules.winningCells(p));
          if (i < moves.length) {
            if (moves[i] === rules.passAction) passes++;
            p = rules.apply(p, moves[i]);
          }
        }
      }
      // A pass rule is the tricky part (Othello's): make sure the games reached some.
      if (rules.passAction !== null) expect(passes).toBeGreaterThan(0);
    }, 120_000);
  }

  it('refuses the same illegal moves', async () => {
    expect((await engineState('tictactoe', [4, 4])).status).toBe(400);
    expect((await engineState('connect4', [0, 0, 0, 0, 0, 0, 0])).status).toBe(400);
    expect((await engineState('othello', [PASS])).status).toBe(400);
    expect((await engineState('othello', [0])).status).toBe(400);
  });
});
