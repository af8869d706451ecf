import { describe, expect, it } from 'vitest';
import { replaysQuery } from './api';
import { filtered, listStateFrom, missingSearchReason, queryOf } from './replays';

describe('replay list state in the link', () => {
  it('reads filters and the page, and names what it drops', () => {
    const s = listStateFrom({ outcome: 'draw', model_min: '200', moves_max: '30', before: '900', ply: '4' });
    expect(s).toEqual({ filter: { outcome: 'draw', model_min: 200, moves_max: 30 }, before: 900, problems: [] });
    expect(filtered(s.filter)).toBe(true);
    expect(filtered(listStateFrom({}).filter)).toBe(false);

    const bad = listStateFrom({ outcome: 'won', model_min: '-3', moves_min: '12', moves_max: '4', before: 'x' });
    expect(bad.filter).toEqual({});
    expect(bad.before).toBeNull();
    expect(bad.problems).toHaveLength(4);
    expect(bad.problems.join()).toMatch(/outcome “won”/);
    expect(bad.problems.join()).toMatch(/moves_min 12 is above moves_max 4/);
  });

  it('round-trips through the query of the link and of the API', () => {
    const filter = { outcome: 'first' as const, moves_min: 7 };
    const q = queryOf(filter, 55);
    expect(q).toEqual({ outcome: 'first', moves_min: 7, before: 55 });
    const back = listStateFrom(Object.fromEntries(Object.entries(q).map(([k, v]) => [k, String(v)])));
    expect(back).toEqual({ filter, before: 55, problems: [] });
    expect(replaysQuery(30, 55, filter)).toBe('limit=30&before=55&outcome=first&moves_min=7');
    expect(replaysQuery(30, null, {})).toBe('limit=30');
  });
});

describe('why a position has no search data', () => {
  const pos = (ply: number) => ({ ply, policy: [1], root_value: 0, value: 0 });
  it('tells the random opening from a trimmed game', () => {
    const positions = [pos(3), pos(4), pos(5)];
    expect(missingSearchReason(positions, 0, 6)).toMatch(/random/);
    expect(missingSearchReason(positions, 2, 6)).toMatch(/random/);
    expect(missingSearchReason(positions, 3, 6)).toBeNull();
    expect(missingSearchReason([], 3, 6)).toMatch(/trimmed/);
    expect(missingSearchReason(undefined, 0, 6)).toMatch(/trimmed/);
    // The final position has no move to search.
    expect(missingSearchReason(positions, 6, 6)).toBeNull();
  });
});
