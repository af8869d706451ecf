//! Live figures of the actor: counters the self-play workers and the replay writer bump
//! with relaxed atomics, and the snapshot `/api/stats` and the log line read (rates
//! over the last minute, batch fill, worker time by phase). Kept apart from
//! [`crate::selfplay`] so that the writer ([`crate::store`]), the evaluator and the
//! server can report and read figures without depending on the worker loop.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use utoipa::ToSchema;

/// Seconds since the Unix epoch, as the database rows and the stats files store time.
pub fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// The last model file that failed to load, and why.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct RejectedModel {
    pub path: String,
    pub reason: String,
    pub at: f64,
}

#[derive(Clone, Debug, Default)]
struct ModelStatus {
    version: Option<i64>,
    precision: Option<String>,
    loaded_at: Option<f64>,
    last_rejected: Option<RejectedModel>,
}

/// Running totals since start, for rates over a window (`/api/stats`, `actor bench`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counters {
    /// Games and positions committed to replay.db.
    pub games: u64,
    pub positions: u64,
    /// Simulations of finished move searches (not counting kept subtrees).
    pub simulations: u64,
    /// Moves searched (and played) by self-play.
    pub moves: u64,
    /// Leaves answered from the evaluation cache instead of the network.
    pub cache_hits: u64,
    /// Positions the evaluator scored, in how many calls, and the most those calls
    /// could have held.
    pub nn_evals: u64,
    pub batches: u64,
    pub batch_capacity: u64,
    /// Worker time (summed over workers), by phase.
    pub time: PhaseNanos,
}

/// Where worker time goes, in nanoseconds summed over workers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhaseNanos {
    /// Tree walks choosing leaves (PUCT, virtual loss, terminal backups).
    pub select: u64,
    /// Writing the leaves' observations into the batch buffer.
    pub encode: u64,
    /// Inside the evaluator (ONNX Runtime).
    pub inference: u64,
    /// Expanding and backing up leaves, picking and playing moves, recording targets.
    pub complete: u64,
    /// Handing finished games to the writer (blocks only when its queue is full).
    pub handoff: u64,
    /// Sleeping to stay under `--max-positions-per-s`.
    pub paced: u64,
}

impl PhaseNanos {
    pub fn busy(&self) -> u64 {
        self.select + self.encode + self.inference + self.complete + self.handoff
    }

    fn minus(&self, o: &PhaseNanos) -> PhaseNanos {
        PhaseNanos {
            select: self.select.saturating_sub(o.select),
            encode: self.encode.saturating_sub(o.encode),
            inference: self.inference.saturating_sub(o.inference),
            complete: self.complete.saturating_sub(o.complete),
            handoff: self.handoff.saturating_sub(o.handoff),
            paced: self.paced.saturating_sub(o.paced),
        }
    }
}

impl Counters {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            games: self.games.saturating_sub(earlier.games),
            positions: self.positions.saturating_sub(earlier.positions),
            simulations: self.simulations.saturating_sub(earlier.simulations),
            moves: self.moves.saturating_sub(earlier.moves),
            cache_hits: self.cache_hits.saturating_sub(earlier.cache_hits),
            nn_evals: self.nn_evals.saturating_sub(earlier.nn_evals),
            batches: self.batches.saturating_sub(earlier.batches),
            batch_capacity: self.batch_capacity.saturating_sub(earlier.batch_capacity),
            time: self.time.minus(&earlier.time),
        }
    }
}

/// Shares of worker time by phase (`/api/stats` → `actor.time_split`); `paced` is the
/// share of wall time spent waiting under the position cap, the others are shares of
/// busy time and add up to 1.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, ToSchema)]
pub struct TimeSplit {
    pub select: f64,
    pub encode: f64,
    pub inference: f64,
    pub complete: f64,
    pub handoff: f64,
    pub paced: f64,
}

impl TimeSplit {
    pub fn of(t: &PhaseNanos) -> TimeSplit {
        let busy = t.busy() as f64;
        let share = |x: u64| if busy > 0.0 { x as f64 / busy } else { 0.0 };
        let wall = busy + t.paced as f64;
        TimeSplit {
            select: share(t.select),
            encode: share(t.encode),
            inference: share(t.inference),
            complete: share(t.complete),
            handoff: share(t.handoff),
            paced: if wall > 0.0 { t.paced as f64 / wall } else { 0.0 },
        }
    }
}

/// The search self-play runs, as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SelfPlaySearch {
    /// `puct`, `puct+solver`, `ttts` or `gumbel`.
    pub search: String,
    /// Simulations per move.
    pub simulations: u32,
    /// Leaves of one game in flight at once.
    pub leaves_per_game: u32,
}

/// Live figures, updated with relaxed atomics by the workers and the writer.
pub struct Telemetry {
    pub game: &'static str,
    started: Instant,
    /// Games claimed by workers (for `max_games`).
    games_started: AtomicU64,
    /// Games committed to replay.db, and their positions.
    games_written: AtomicU64,
    positions_written: AtomicU64,
    pub(crate) simulations: AtomicU64,
    pub(crate) moves: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    /// Positions evaluated by the evaluator.
    pub(crate) nn_evals: AtomicU64,
    pub(crate) batches: AtomicU64,
    /// Sum over batches of the most leaves the batch could have held.
    pub(crate) batch_capacity: AtomicU64,
    select_ns: AtomicU64,
    encode_ns: AtomicU64,
    infer_ns: AtomicU64,
    complete_ns: AtomicU64,
    handoff_ns: AtomicU64,
    paced_ns: AtomicU64,
    model: Mutex<ModelStatus>,
    self_play: Mutex<Option<SelfPlaySearch>>,
    window: Mutex<VecDeque<(Instant, Counters)>>,
    /// Throughput every [`THROUGHPUT_EVERY`], the newest [`THROUGHPUT_POINTS`] of them.
    throughput: Mutex<VecDeque<ThroughputPoint>>,
}

/// How often the server keeps a throughput point, and how many it keeps (8 hours).
pub const THROUGHPUT_EVERY: Duration = Duration::from_secs(10);
pub const THROUGHPUT_POINTS: usize = 2880;

/// Self-play throughput at one moment (rates over the minute before it), kept by the
/// server so the dashboard can draw the run's history, not only since it was opened.
#[derive(Clone, Debug, Serialize, PartialEq, ToSchema)]
pub struct ThroughputPoint {
    /// Unix seconds.
    pub time: f64,
    pub games_per_min: f64,
    pub positions_per_min: f64,
    pub simulations_per_s: f64,
    pub nn_evals_per_s: f64,
    pub games_played: u64,
}

/// The actor part of `/api/stats` (docs/CONTRACTS.md §6).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ActorStats {
    pub game: String,
    pub games_played: u64,
    pub positions: u64,
    pub games_per_min: f64,
    pub positions_per_min: f64,
    pub simulations_per_s: f64,
    pub nn_evals_per_s: f64,
    /// Network evaluations per move self-play searched, over the last minute (null
    /// before a move): what the evaluation cache and tree reuse save.
    pub nn_evals_per_move: Option<f64>,
    /// Share of the leaves the evaluation cache answered, over the last minute.
    pub cache_hit_share: f64,
    /// Mean share of each batch's capacity (games in flight × leaves per game) filled.
    pub mean_batch_fill: f64,
    pub mean_batch_size: f64,
    /// Share of worker time spent inside the evaluator.
    pub inference_share: f64,
    /// Worker time by phase over the last minute (see [`TimeSplit`]).
    pub time_split: TimeSplit,
    pub model_version: Option<i64>,
    /// The precision of the model file played: "fp32", or "int8" (`--precision`).
    pub model_precision: Option<String>,
    pub model_loaded_at: Option<f64>,
    pub last_rejected_model: Option<RejectedModel>,
    /// The search self-play runs; null when this actor does not play (`--no-selfplay`).
    pub self_play_search: Option<SelfPlaySearch>,
    pub uptime_s: f64,
}

impl Telemetry {
    pub fn new(game: &'static str) -> Telemetry {
        let mut window = VecDeque::new();
        window.push_back((Instant::now(), Counters::default()));
        Telemetry {
            game,
            started: Instant::now(),
            games_started: AtomicU64::new(0),
            games_written: AtomicU64::new(0),
            positions_written: AtomicU64::new(0),
            simulations: AtomicU64::new(0),
            moves: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
            nn_evals: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            batch_capacity: AtomicU64::new(0),
            select_ns: AtomicU64::new(0),
            encode_ns: AtomicU64::new(0),
            infer_ns: AtomicU64::new(0),
            complete_ns: AtomicU64::new(0),
            handoff_ns: AtomicU64::new(0),
            paced_ns: AtomicU64::new(0),
            model: Mutex::new(ModelStatus::default()),
            self_play: Mutex::new(None),
            window: Mutex::new(window),
            throughput: Mutex::new(VecDeque::new()),
        }
    }

    pub fn uptime_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    pub fn record_written(&self, positions: usize) {
        self.games_written.fetch_add(1, Relaxed);
        self.positions_written.fetch_add(positions as u64, Relaxed);
    }

    pub fn games_written(&self) -> u64 {
        self.games_written.load(Relaxed)
    }

    /// Claims one more game; false once `max` games have been claimed.
    pub(crate) fn claim_game(&self, max: Option<u64>) -> bool {
        let n = self.games_started.fetch_add(1, Relaxed);
        max.is_none_or(|m| n < m)
    }

    pub fn model_loaded(&self, version: i64, precision: &str) {
        let mut m = self.model.lock().unwrap_or_else(|p| p.into_inner());
        if m.version != Some(version) || m.precision.as_deref() != Some(precision) {
            m.version = Some(version);
            m.precision = Some(precision.to_string());
            m.loaded_at = Some(unix_now());
        }
    }

    pub fn model_rejected(&self, path: &Path, reason: &str) {
        let mut m = self.model.lock().unwrap_or_else(|p| p.into_inner());
        m.last_rejected =
            Some(RejectedModel { path: path.display().to_string(), reason: reason.to_string(), at: unix_now() });
    }

    /// Records the search self-play runs.
    pub fn self_play_started(&self, search: SelfPlaySearch) {
        *self.self_play.lock().unwrap_or_else(|p| p.into_inner()) = Some(search);
    }

    pub fn model_version(&self) -> Option<i64> {
        self.model.lock().unwrap_or_else(|p| p.into_inner()).version
    }

    /// Totals since start.
    pub fn counters(&self) -> Counters {
        Counters {
            games: self.games_written.load(Relaxed),
            positions: self.positions_written.load(Relaxed),
            simulations: self.simulations.load(Relaxed),
            moves: self.moves.load(Relaxed),
            cache_hits: self.cache_hits.load(Relaxed),
            nn_evals: self.nn_evals.load(Relaxed),
            batches: self.batches.load(Relaxed),
            batch_capacity: self.batch_capacity.load(Relaxed),
            time: PhaseNanos {
                select: self.select_ns.load(Relaxed),
                encode: self.encode_ns.load(Relaxed),
                inference: self.infer_ns.load(Relaxed),
                complete: self.complete_ns.load(Relaxed),
                handoff: self.handoff_ns.load(Relaxed),
                paced: self.paced_ns.load(Relaxed),
            },
        }
    }

    pub(crate) fn add_time(&self, t: &PhaseNanos) {
        self.select_ns.fetch_add(t.select, Relaxed);
        self.encode_ns.fetch_add(t.encode, Relaxed);
        self.infer_ns.fetch_add(t.inference, Relaxed);
        self.complete_ns.fetch_add(t.complete, Relaxed);
        self.handoff_ns.fetch_add(t.handoff, Relaxed);
        self.paced_ns.fetch_add(t.paced, Relaxed);
    }

    /// Keeps a throughput point of now (the server calls this every [`THROUGHPUT_EVERY`]).
    pub fn record_throughput(&self) {
        let s = self.snapshot();
        let time =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        let mut h = self.throughput.lock().unwrap_or_else(|p| p.into_inner());
        h.push_back(ThroughputPoint {
            time,
            games_per_min: s.games_per_min,
            positions_per_min: s.positions_per_min,
            simulations_per_s: s.simulations_per_s,
            nn_evals_per_s: s.nn_evals_per_s,
            games_played: s.games_played,
        });
        while h.len() > THROUGHPUT_POINTS {
            h.pop_front();
        }
    }

    /// The kept throughput points, oldest first.
    pub fn throughput(&self) -> Vec<ThroughputPoint> {
        self.throughput.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }

    /// Current figures; rates are over the last minute (or since start).
    pub fn snapshot(&self) -> ActorStats {
        let now = Instant::now();
        let c = self.counters();
        let (t0, c0) = {
            let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
            if w.back().is_none_or(|(t, _)| now.duration_since(*t) >= Duration::from_secs(2)) {
                w.push_back((now, c));
            }
            while w.len() > 2 && now.duration_since(w[1].0) >= Duration::from_secs(60) {
                w.pop_front();
            }
            w[0]
        };
        let dt = now.duration_since(t0).as_secs_f64().max(1e-3);
        let m = self.model.lock().unwrap_or_else(|p| p.into_inner()).clone();
        // Batch fill and the time split over the window too, so a change of settings or
        // model shows within a minute rather than being averaged into the whole run.
        let d = c.since(&c0);
        let d = if d.batches > 0 { d } else { c };
        ActorStats {
            game: self.game.to_string(),
            games_played: c.games,
            positions: c.positions,
            games_per_min: (c.games - c0.games) as f64 * 60.0 / dt,
            positions_per_min: (c.positions - c0.positions) as f64 * 60.0 / dt,
            simulations_per_s: (c.simulations - c0.simulations) as f64 / dt,
            nn_evals_per_s: (c.nn_evals - c0.nn_evals) as f64 / dt,
            nn_evals_per_move: (d.moves > 0).then(|| d.nn_evals as f64 / d.moves as f64),
            cache_hit_share: if d.cache_hits + d.nn_evals > 0 {
                d.cache_hits as f64 / (d.cache_hits + d.nn_evals) as f64
            } else {
                0.0
            },
            mean_batch_fill: if d.batch_capacity > 0 { d.nn_evals as f64 / d.batch_capacity as f64 } else { 0.0 },
            mean_batch_size: if d.batches > 0 { d.nn_evals as f64 / d.batches as f64 } else { 0.0 },
            inference_share: TimeSplit::of(&d.time).inference,
            time_split: TimeSplit::of(&d.time),
            model_version: m.version,
            model_precision: m.precision,
            model_loaded_at: m.loaded_at,
            last_rejected_model: m.last_rejected,
            self_play_search: self.self_play.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            uptime_s: self.uptime_s(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_since_and_time_split() {
        let t = |x| PhaseNanos { select: x, encode: x, inference: 2 * x, complete: x, handoff: 0, paced: 4 * x };
        let a = Counters { games: 2, nn_evals: 10, time: t(1), ..Counters::default() };
        let b = Counters { games: 5, nn_evals: 40, time: t(3), ..Counters::default() };
        let d = b.since(&a);
        assert_eq!((d.games, d.nn_evals), (3, 30));
        assert_eq!(d.time, t(2));
        let s = TimeSplit::of(&d.time);
        assert!((s.inference - 0.4).abs() < 1e-12 && (s.select - 0.2).abs() < 1e-12);
        // Paced: 8 of 18 ns of wall time.
        assert!((s.paced - 8.0 / 18.0).abs() < 1e-12);
        assert_eq!(TimeSplit::of(&PhaseNanos::default()), TimeSplit::default());
    }

    #[test]
    fn evaluations_per_move_and_cache_share() {
        let t = Telemetry::new("connect4");
        let s = t.snapshot();
        assert_eq!((s.nn_evals_per_move, s.cache_hit_share), (None, 0.0));
        t.moves.fetch_add(4, Relaxed);
        t.nn_evals.fetch_add(300, Relaxed);
        t.cache_hits.fetch_add(100, Relaxed);
        t.batches.fetch_add(3, Relaxed);
        let s = t.snapshot();
        assert_eq!(s.nn_evals_per_move, Some(75.0));
        assert!((s.cache_hit_share - 0.25).abs() < 1e-12, "{}", s.cache_hit_share);
    }

    #[test]
    fn throughput_history_is_bounded_and_ordered() {
        let t = Telemetry::new("tictactoe");
        assert!(t.throughput().is_empty());
        for i in 0..THROUGHPUT_POINTS + 5 {
            t.games_written.store(i as u64, Relaxed);
            t.record_throughput();
        }
        let h = t.throughput();
        assert_eq!(h.len(), THROUGHPUT_POINTS);
        assert_eq!(h[0].games_played, 5, "the oldest points went first");
        assert_eq!(h.last().unwrap().games_played, (THROUGHPUT_POINTS + 4) as u64);
        assert!(h.windows(2).all(|w| w[0].time <= w[1].time));
    }
}
