// The replay list's filters and pages as they travel in the location hash
// (`#/replays/42?outcome=draw&before=900`), and what the viewer says about a position
// the database holds no search for.

import { REPLAY_FILTER_KEYS, type ReplayFilter, type ReplayPosition } from './api';

/** The list state a hash query names, and what in it made no sense. */
export interface ListState {
  filter: ReplayFilter;
  /** The page: games below this id (null: the newest). */
  before: number | null;
  problems: string[];
}

const OUTCOMES = ['first', 'second', 'draw'] as const;

/** Reads the list state from a hash query; bad values are dropped and named. */
export function listStateFrom(query: Record<string, string>): ListState {
  const filter: ReplayFilter = {};
  const problems: string[] = [];
  const whole = (key: string): number | undefined => {
    const raw = query[key];
    if (raw === undefined || raw === '') return undefined;
    const n = Number(raw);
    if (Number.isInteger(n) && n >= 0) return n;
    problems.push(`${key} “${raw}” is not a whole number ≥ 0`);
    return undefined;
  };
  for (const key of REPLAY_FILTER_KEYS) {
    if (key === 'outcome') {
      const raw = query.outcome;
      if (raw === undefined || raw === '') continue;
      if ((OUTCOMES as readonly string[]).includes(raw)) filter.outcome = raw as ReplayFilter['outcome'];
      else problems.push(`outcome “${raw}” is not first, second or draw`);
    } else {
      const n = whole(key);
      if (n !== undefined) filter[key] = n;
    }
  }
  for (const [lo, hi] of [
    ['model_min', 'model_max'],
    ['moves_min', 'moves_max'],
  ] as const) {
    if (filter[lo] !== undefined && filter[hi] !== undefined && filter[lo]! > filter[hi]!) {
      problems.push(`${lo} ${filter[lo]} is above ${hi} ${filter[hi]}`);
      delete filter[lo];
      delete filter[hi];
    }
  }
  const before = whole('before') ?? null;
  return { filter, before, problems };
}

/** The hash query of a list state (empty values left out). */
export function queryOf(filter: ReplayFilter, before: number | null): Record<string, string | number | undefined> {
  return { ...filter, before: before ?? undefined };
}

/** True when any filter is set. */
export function filtered(filter: ReplayFilter): boolean {
  return REPLAY_FILTER_KEYS.some((k) => filter[k] !== undefined);
}

/**
 * Why the database holds no search for position `ply` (null: it does). Self-play plays
 * the first plies of a game at random, unsearched, so those positions never had any;
 * the trainer trims whole old games, so a game with no positions at all was trimmed.
 */
export function missingSearchReason(positions: ReplayPosition[] | undefined, ply: number, last: number): string | null {
  if (ply >= last) return null;
  if (positions?.some((p) => p.ply === ply)) return null;
  if (!positions || positions.length === 0) {
    return 'No search data for this game: the trainer has trimmed its positions from the database.';
  }
  const first = Math.min(...positions.map((p) => p.ply));
  if (ply < first) return 'Played at random to open the game (self-play varies its openings): not searched.';
  return 'No search data for this position.';
}
