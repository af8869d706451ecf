// The actor's HTTP API, one thin typed function per route. Must match
// docs/CONTRACTS.md §6 (actor) and §7 (trainer control API, proxied by the actor
// under /api/trainer/*). Every call goes through `send`, which turns HTTP errors,
// timeouts and network failures into an `ApiError` whose message is plain words.

// ---- types (CONTRACTS §4, §6, §7, §8) ----

/** Which model file the move API plays: `models/best.onnx` or `models/latest.onnx` (§8). */
export type ModelSource = 'best' | 'latest';

export interface Health {
  status: string;
  game: string;
  model_version: number | null;
  /** The file the move API plays; absent from actors older than gating. */
  model_source?: ModelSource;
  uptime_s: number;
}

export interface GameInfo {
  name: string;
  display_name: string;
  rows: number;
  cols: number;
  num_actions: number;
  has_model: boolean;
  model_version: number | null;
  default_simulations: number;
  /** The game of the actor's data folder; only it can have a model. */
  training: boolean;
}

export interface MoveReply {
  action: number;
  /** The search's distribution over all actions, summing to 1: visit shares, or Gumbel's improved policy. */
  policy: number[];
  /** The search's estimate for the side to move before the action, in [-1, 1]. */
  value: number;
  /** The network's own value of that position (no search), same side; null without a model, absent from older actors. */
  network_value?: number | null;
  model_version: number | null;
  /** The file the search used, null when it used no model; absent from older actors. */
  model_source?: ModelSource | null;
  /** The search that chose the move (`puct`, `puct+solver`, `ttts`, `gumbel`); absent from older actors. */
  search?: string;
}

/** The searches the move API offers; `undefined` leaves the choice to the server's `--search`. */
export const SEARCHES = ['puct', 'ttts', 'gumbel'] as const;
export type SearchName = (typeof SEARCHES)[number];

export interface StateReply {
  cells: number[];
  to_move: 1 | 2;
  legal_actions: number[];
  outcome: 'first' | 'second' | 'draw' | null;
  winning_cells: number[];
}

export interface HistoryPoint {
  step: number;
  time: number;
  policy_loss?: number;
  value_loss?: number;
  total_loss?: number;
  policy_entropy?: number;
  learning_rate?: number;
  samples_per_s?: number;
  buffer_size?: number;
  games_in_db?: number;
  model_version?: number;
}

/** stats.json as the trainer publishes it (§4). Readers ignore unknown keys. */
export interface TrainerStats {
  game: string;
  step: number;
  model_version: number;
  updated_at: number;
  started_at: number;
  status: 'waiting_for_data' | 'training' | 'paused' | string;
  policy_loss?: number;
  value_loss?: number;
  total_loss?: number;
  policy_entropy?: number;
  learning_rate?: number;
  samples_per_s?: number;
  buffer_size?: number;
  games_in_db?: number;
  newest_data_age_s?: number;
  history: HistoryPoint[];
}

export interface RejectedModel {
  path: string;
  reason: string;
  at: number;
}

export interface ActorStats {
  game: string;
  games_played: number;
  positions: number;
  games_per_min: number;
  positions_per_min: number;
  simulations_per_s: number;
  nn_evals_per_s: number;
  mean_batch_fill: number;
  model_version: number | null;
  model_loaded_at: number | null;
  last_rejected_model: RejectedModel | null;
  uptime_s: number;
  /** Extras the actor reports beyond the contract's minimum. */
  mean_batch_size?: number;
  inference_share?: number;
  /** Network evaluations per searched move (null before a move) and the share of
   * leaves the evaluation cache answered; absent from older actors. */
  nn_evals_per_move?: number | null;
  cache_hit_share?: number;
  /** "fp32" or "int8": the model file self-play plays; absent from older actors. */
  model_precision?: string | null;
  /** The search self-play runs; null without self-play, absent from older actors. */
  self_play_search?: SelfPlaySearch | null;
}

export interface SelfPlaySearch {
  search: string;
  simulations: number;
  leaves_per_game: number;
}

/** Which model self-play plays (§8): `continuous` plays latest.onnx, gated plays best.onnx. */
export interface Gating {
  mode: 'continuous' | 'gated' | string;
  best_version: number | null;
  self_play_version: number | null;
}

/** One player of the Elo fit: a snapshot (`model:1200`) or a baseline (`random`, `mcts:200`). */
export interface Rating {
  player: string;
  /** The snapshot's step; null for baselines. */
  version: number | null;
  elo: number;
  /** The 95% interval. */
  elo_lo: number;
  elo_hi: number;
  games: number;
}

/** A snapshot's results against one baseline. */
export interface BaselineResult {
  version: number;
  opponent: string;
  wins: number;
  draws: number;
  losses: number;
  /** (wins + draws / 2) / games. */
  score: number;
}

/** Perfect-play error rate of one snapshot in one phase and mode. */
export interface AccuracyResult {
  version: number;
  /** "all" (tictactoe); "opening-easy", "middle-medium", ... (connect4). */
  phase: string;
  /** "net": the raw network's argmax; "search": full search at play strength. */
  mode: 'net' | 'search' | string;
  positions: number;
  errors: number;
  error_rate: number;
}

/** The `evaluation` object of /api/stats (§8). */
export interface Evaluation {
  gating: Gating | null;
  ratings: Rating[];
  baselines: BaselineResult[];
  accuracy: AccuracyResult[];
}

export interface Stats {
  trainer: TrainerStats | null;
  actor: ActorStats;
  /** Null (or absent, from an actor without evaluation) until the first result. */
  evaluation?: Evaluation | null;
}

export interface ReplaySummary {
  id: number;
  created_at: number;
  model_version: number | null;
  num_moves: number;
  /** +1 first player won, -1 second won, 0 draw (§5). */
  outcome: number;
  moves: number[];
}

export interface ReplayPosition {
  ply: number;
  /** MCTS visit distribution over all actions. */
  policy: number[];
  /** MCTS root value estimate, side to move. */
  root_value: number;
  /** Final outcome from the side to move: +1/0/-1. */
  value: number;
}

export interface Replay extends ReplaySummary {
  positions?: ReplayPosition[];
}

/** The settings the trainer accepts in PATCH /config (§7). */
export interface LiveSettings {
  learning_rate: number;
  batch_size: number;
  sample_ratio: number;
  publish_interval: number;
}

/** How the trainer describes one live setting: its type and allowed range. */
export interface LiveRange {
  type: string;
  min: number;
  max: number;
}

/**
 * GET /config (and the PATCH answer): the whole training config plus the ranges of the
 * live settings. The trainer answers `{"config": {...}, "live": {...}}`; a bare config
 * object is accepted too (`normalizeConfig`).
 */
export interface TrainerConfig {
  config: Partial<LiveSettings> & Record<string, unknown>;
  live: Record<string, LiveRange>;
}

/** Reads either answer shape of GET /config into a `TrainerConfig`. */
export function normalizeConfig(raw: unknown): TrainerConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ApiError('the trainer config is not a JSON object', 200, '/api/trainer/config');
  }
  const r = raw as Record<string, unknown>;
  if (r.config && typeof r.config === 'object' && !Array.isArray(r.config)) {
    const live = r.live && typeof r.live === 'object' ? (r.live as Record<string, LiveRange>) : {};
    return { config: r.config as TrainerConfig['config'], live };
  }
  return { config: r as TrainerConfig['config'], live: {} };
}

/** GET /status: the current stats figures plus `paused`. */
export type TrainerStatus = { paused: boolean } & Record<string, unknown>;

// ---- the one wrapper ----

/** A failed call: `status` is the HTTP status, or 0 when no answer came at all. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly path: string,
    /** The server's own words alone (the message adds the route and status). */
    readonly detail: string = message,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface SendOptions {
  method?: 'GET' | 'POST' | 'PATCH';
  body?: unknown;
  /** Give up after this long (searches with many simulations take a while). */
  timeoutMs?: number;
  /** Lets a page cancel a request it no longer needs. */
  signal?: AbortSignal;
}

/** The fetch used by `send`; tests swap it. */
let fetchImpl: typeof fetch = (...args) => globalThis.fetch(...args);

export function setFetch(f: typeof fetch): void {
  fetchImpl = f;
}

/**
 * The words to show for an error body: the actor's `{"error": ...}`, FastAPI's
 * `{"detail": "..."}` or its validation list `{"detail": [{"loc", "msg"}]}`.
 */
export function errorText(body: unknown): string | null {
  if (body === null || typeof body !== 'object') return null;
  const b = body as Record<string, unknown>;
  if (typeof b.error === 'string' && b.error) return b.error;
  if (typeof b.detail === 'string' && b.detail) return b.detail;
  if (Array.isArray(b.detail)) {
    const parts = b.detail.map((d) => {
      if (d && typeof d === 'object') {
        const e = d as { loc?: unknown; msg?: unknown };
        const loc = Array.isArray(e.loc) ? e.loc.filter((x) => x !== 'body').join('.') : '';
        const msg = typeof e.msg === 'string' ? e.msg : JSON.stringify(d);
        return loc ? `${loc}: ${msg}` : msg;
      }
      return String(d);
    });
    if (parts.length > 0) return parts.join('; ');
  }
  return null;
}

export async function send<T>(path: string, opts: SendOptions = {}): Promise<T> {
  const { method = 'GET', body, timeoutMs = 10_000, signal } = opts;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort);

  let res: Response;
  try {
    res = await fetchImpl(path, {
      method,
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
    });
  } catch (e) {
    if (timedOut) throw new ApiError(`${method} ${path} got no answer within ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`}`, 0, path);
    if (signal?.aborted) throw new ApiError(`${method} ${path} was cancelled`, 0, path);
    throw new ApiError(`cannot reach the server for ${method} ${path} (${e instanceof Error ? e.message : String(e)})`, 0, path);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }

  const text = await res.text().catch(() => '');
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!res.ok) {
    const words = errorText(parsed) ?? (text && text.length < 200 && !text.trimStart().startsWith('<') ? text.trim() : res.statusText || 'no details');
    throw new ApiError(`${method} ${path} failed (${res.status}): ${words}`, res.status, path, words);
  }
  if (parsed === undefined) {
    throw new ApiError(`${method} ${path} answered with something that is not JSON`, res.status, path);
  }
  return parsed as T;
}

// ---- actor (§6) ----

export const getHealth = () => send<Health>('/api/health', { timeoutMs: 5_000 });

export const getGames = () => send<{ games: GameInfo[] }>('/api/games').then((r) => r.games);

/** Asks the bot for a move. Slow on purpose for large `simulations`. Unset options are
 * left out of the request, so the server's defaults apply. */
export const postMove = (
  game: string,
  moves: number[],
  simulations?: number,
  signal?: AbortSignal,
  search?: SearchName,
) =>
  send<MoveReply>('/api/move', {
    method: 'POST',
    body: {
      game,
      moves,
      ...(simulations === undefined ? {} : { simulations }),
      ...(search === undefined ? {} : { search }),
    },
    timeoutMs: 180_000,
    signal,
  });

export const postState = (game: string, moves: number[]) =>
  send<StateReply>('/api/state', { method: 'POST', body: { game, moves } });

/** The network's own value (no search) of every position of a game, for each position's side to move (null once over). */
export const postValues = (game: string, moves: number[]) =>
  send<{ values: (number | null)[]; model_version: number }>('/api/values', { method: 'POST', body: { game, moves } });

export const getStats = () => send<Stats>('/api/stats', { timeoutMs: 5_000 });

/** A point of the actor's throughput history (GET /api/stats/throughput). */
export interface ThroughputPoint {
  time: number;
  games_per_min: number;
  positions_per_min: number;
  simulations_per_s: number;
  nn_evals_per_s: number;
  games_played: number;
}

export const getThroughput = () =>
  send<{ interval_s: number; points: ThroughputPoint[] }>('/api/stats/throughput', { timeoutMs: 5_000 }).then((r) => r.points);

/** Which replays a listing shows (§6): every bound inclusive, absent = no bound. */
export interface ReplayFilter {
  model_min?: number;
  model_max?: number;
  outcome?: 'first' | 'second' | 'draw';
  moves_min?: number;
  moves_max?: number;
}

export const REPLAY_FILTER_KEYS = ['model_min', 'model_max', 'outcome', 'moves_min', 'moves_max'] as const;

/** One page of replays: games `newer + 1` to `newer + games.length` of `total`. */
export interface ReplayPage {
  games: ReplaySummary[];
  total: number;
  newer: number;
}

/** The query of GET /api/replays: a page of `limit` games below id `before`, filtered. */
export function replaysQuery(limit: number, before: number | null, filter: ReplayFilter): string {
  const q = new URLSearchParams({ limit: String(limit) });
  if (before !== null) q.set('before', String(before));
  for (const key of REPLAY_FILTER_KEYS) {
    const v = filter[key];
    if (v !== undefined && v !== null && String(v) !== '') q.set(key, String(v));
  }
  return q.toString();
}

export const getReplays = (limit = 20, before: number | null = null, filter: ReplayFilter = {}) =>
  send<ReplayPage>(`/api/replays?${replaysQuery(limit, before, filter)}`).then((r) => ({
    games: r.games,
    // Older actors send the games only.
    total: r.total ?? r.games.length,
    newer: r.newer ?? 0,
  }));

export const getReplay = (id: number) => send<Replay>(`/api/replays/${encodeURIComponent(id)}`);

// ---- trainer, through the actor's proxy (§7) ----

export const getTrainerStatus = () => send<TrainerStatus>('/api/trainer/status', { timeoutMs: 5_000 });

export const getTrainerConfig = () => send<unknown>('/api/trainer/config').then(normalizeConfig);

export const patchTrainerConfig = (changes: Partial<LiveSettings>) =>
  send<unknown>('/api/trainer/config', { method: 'PATCH', body: changes }).then(normalizeConfig);

export const pauseTrainer = () => send<unknown>('/api/trainer/pause', { method: 'POST' });

export const resumeTrainer = () => send<unknown>('/api/trainer/resume', { method: 'POST' });
