// Whether the actor and the trainer answer, for the header's indicators and banner.
// The trainer is reached through the actor's proxy (docs/CONTRACTS.md §6), so while the
// actor is down nothing can be said about the trainer.

import { ApiError } from './api';

export type Reach = 'up' | 'down' | 'unknown';

export interface Reachability {
  actor: Reach;
  trainer: Reach;
  /** The words of the last failure of each, for the banner's tooltip and screen readers. */
  actorError?: string;
  trainerError?: string;
}

/**
 * Reads the outcome of one poll: GET /api/health and GET /api/trainer/status.
 * A trainer failure with an HTTP status came from the actor's proxy (502: trainer
 * unreachable); one with no answer at all means the actor itself did not answer.
 */
export function reachability(health: PromiseSettledResult<unknown>, trainer: PromiseSettledResult<unknown>): Reachability {
  const words = (e: unknown) => (e instanceof Error ? e.message : String(e));
  if (health.status === 'rejected') {
    return { actor: 'down', trainer: 'unknown', actorError: words(health.reason) };
  }
  if (trainer.status === 'fulfilled') return { actor: 'up', trainer: 'up' };
  const r = trainer.reason;
  if (r instanceof ApiError && r.status === 0) {
    // The actor answered /api/health a moment ago but not this: say nothing sure.
    return { actor: 'up', trainer: 'unknown', trainerError: words(r) };
  }
  return { actor: 'up', trainer: 'down', trainerError: r instanceof ApiError ? r.detail : words(r) };
}

/** The banner naming what is unreachable and what still works, or null when all is well. */
export function reachBanner(r: Reachability): string | null {
  if (r.actor === 'down') {
    return 'The actor is not reachable: nothing new can be played or shown, and pages keep the last data they had.';
  }
  if (r.trainer === 'down') {
    return 'The trainer is not reachable: training figures stop updating and settings cannot be changed; playing and replays still work.';
  }
  return null;
}

/** A header indicator's words: "actor up", "trainer down", "trainer unknown". */
export function reachWords(name: string, reach: Reach): string {
  return reach === 'unknown' ? `${name}: not known` : `${name} ${reach}`;
}
