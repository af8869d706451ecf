//! Self-play: worker threads, each with many games in flight, batching the leaves of
//! all its games into one evaluator call per step; finished games go over a channel
//! to the replay writer ([`crate::store::spawn_writer`]).
//!
//! One step of a worker:
//! 1. between batches (never inside an evaluator call), poll `models/latest.onnx` and
//!    swap to a newly published model;
//! 2. one [`Driver`] step over every game's search: gather up to `leaves_per_game`
//!    leaves from each, evaluate them all in one batch, complete each;
//! 3. every game whose search reached its simulations plays a move (by
//!    [`choose_move`] with the temperature schedule) and starts the next search.
//!
//! A move's search can straddle a model swap, so a few of its leaves may have been
//! scored by the previous model; the game records the model version in use when it
//! started.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use engine_core::Game;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::nn::{ModelWatcher, NnEvaluator, WatchEvent};
use crate::search::driver::lap;
use crate::search::{choose_move, Driver, Evaluator, Search, SearchConfig, SearchSet, StepTimes, UniformEvaluator};
use crate::store::{FinishedGame, PositionRecord};

#[derive(Debug, thiserror::Error)]
pub enum SelfPlayError {
    #[error("the replay writer has stopped; cannot hand over finished games")]
    WriterGone,
    #[error("search failed: {0}")]
    Search(#[from] crate::search::SearchError),
}

pub fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Self-play settings of one worker.
#[derive(Clone, Debug)]
pub struct SelfPlayConfig {
    /// Search settings for every move (with root noise).
    pub search: SearchConfig,
    /// Games each worker keeps in flight; their leaves share one batch.
    pub games_in_flight: usize,
    /// Temperature for the first `temperature_moves` plies.
    pub temperature: f32,
    /// Plies played with `temperature`; later ones use `final_temperature`.
    pub temperature_moves: u32,
    /// Temperature after the opening (0 = most visited move).
    pub final_temperature: f32,
    /// Each game starts with a uniformly random number of uniformly random moves, at
    /// most this many, played without a search and not recorded as training positions
    /// (0 = every game starts from the initial position). This puts positions that
    /// strong play never reaches (after a blunder) into the data, so the network also
    /// learns to win them.
    pub random_opening_plies: u32,
    /// ONNX Runtime intra-op threads per session.
    pub intra_threads: usize,
    /// How often to look for a new `latest.onnx`.
    pub model_poll: Duration,
    /// Stop after this many games in total over all workers (None = run until stopped).
    pub max_games: Option<u64>,
    /// Seed of this worker's random numbers (noise, move sampling).
    pub seed: u64,
    /// Most positions per second this worker produces (0 = unlimited).
    pub max_positions_per_s: f64,
    /// While a watched models folder has no model yet, self-play (uniform priors, no
    /// network, so thousands of times faster) stops once the actor has written this
    /// many positions, and waits for the trainer's first model (0 = never stops).
    /// Without it, the seconds before the first model fill the replay window with
    /// hundreds of thousands of near-random positions, which the trainer then learns
    /// from for the next half hour.
    pub bootstrap_positions: u64,
}

/// How long to pause so that `produced` positions since `elapsed` stay within `rate`
/// per second; capped at one second so a stop request is noticed soon.
pub fn pace_delay(produced: u64, elapsed: Duration, rate: f64) -> Duration {
    if rate <= 0.0 {
        return Duration::ZERO;
    }
    let due = Duration::from_secs_f64(produced as f64 / rate);
    due.saturating_sub(elapsed).min(Duration::from_secs(1))
}

/// What the model status part of the stats says.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RejectedModel {
    pub path: String,
    pub reason: String,
    pub at: f64,
}

#[derive(Clone, Debug, Default)]
struct ModelStatus {
    version: Option<i64>,
    loaded_at: Option<f64>,
    last_rejected: Option<RejectedModel>,
}

/// Running totals since start, for rates over a window (`/api/stats`, `actor bench`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counters {
    /// Games and positions committed to replay.db.
    pub games: u64,
    pub positions: u64,
    /// Simulations of finished move searches.
    pub simulations: u64,
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
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
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

/// Live figures, updated with relaxed atomics by the workers and the writer.
pub struct Telemetry {
    pub game: &'static str,
    started: Instant,
    /// Games claimed by workers (for `max_games`).
    games_started: AtomicU64,
    /// Games committed to replay.db, and their positions.
    games_written: AtomicU64,
    positions_written: AtomicU64,
    simulations: AtomicU64,
    /// Positions evaluated by the evaluator.
    nn_evals: AtomicU64,
    batches: AtomicU64,
    /// Sum over batches of the most leaves the batch could have held.
    batch_capacity: AtomicU64,
    select_ns: AtomicU64,
    encode_ns: AtomicU64,
    infer_ns: AtomicU64,
    complete_ns: AtomicU64,
    handoff_ns: AtomicU64,
    paced_ns: AtomicU64,
    model: Mutex<ModelStatus>,
    window: Mutex<VecDeque<(Instant, Counters)>>,
}

/// The actor part of `/api/stats` (docs/CONTRACTS.md §6).
#[derive(Clone, Debug, Serialize)]
pub struct ActorStats {
    pub game: String,
    pub games_played: u64,
    pub positions: u64,
    pub games_per_min: f64,
    pub positions_per_min: f64,
    pub simulations_per_s: f64,
    pub nn_evals_per_s: f64,
    /// Mean share of each batch's capacity (games in flight × leaves per game) filled.
    pub mean_batch_fill: f64,
    pub mean_batch_size: f64,
    /// Share of worker time spent inside the evaluator.
    pub inference_share: f64,
    /// Worker time by phase over the last minute (see [`TimeSplit`]).
    pub time_split: TimeSplit,
    pub model_version: Option<i64>,
    pub model_loaded_at: Option<f64>,
    pub last_rejected_model: Option<RejectedModel>,
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
            window: Mutex::new(window),
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
    fn claim_game(&self, max: Option<u64>) -> bool {
        let n = self.games_started.fetch_add(1, Relaxed);
        max.is_none_or(|m| n < m)
    }

    pub fn model_loaded(&self, version: i64) {
        let mut m = self.model.lock().unwrap_or_else(|p| p.into_inner());
        if m.version != Some(version) {
            m.version = Some(version);
            m.loaded_at = Some(unix_now());
        }
    }

    pub fn model_rejected(&self, path: &Path, reason: &str) {
        let mut m = self.model.lock().unwrap_or_else(|p| p.into_inner());
        m.last_rejected =
            Some(RejectedModel { path: path.display().to_string(), reason: reason.to_string(), at: unix_now() });
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

    fn add_time(&self, t: &PhaseNanos) {
        self.select_ns.fetch_add(t.select, Relaxed);
        self.encode_ns.fetch_add(t.encode, Relaxed);
        self.infer_ns.fetch_add(t.inference, Relaxed);
        self.complete_ns.fetch_add(t.complete, Relaxed);
        self.handoff_ns.fetch_add(t.handoff, Relaxed);
        self.paced_ns.fetch_add(t.paced, Relaxed);
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
            mean_batch_fill: if d.batch_capacity > 0 { d.nn_evals as f64 / d.batch_capacity as f64 } else { 0.0 },
            mean_batch_size: if d.batches > 0 { d.nn_evals as f64 / d.batches as f64 } else { 0.0 },
            inference_share: TimeSplit::of(&d.time).inference,
            time_split: TimeSplit::of(&d.time),
            model_version: m.version,
            model_loaded_at: m.loaded_at,
            last_rejected_model: m.last_rejected,
            uptime_s: self.uptime_s(),
        }
    }
}

/// Where a worker's evaluations come from.
pub enum ModelSource {
    /// Uniform priors and value 0 for ever (tests, `--no-model`).
    Uniform,
    /// The newest valid `latest.onnx` of this watcher; uniform until one appears.
    Watch(ModelWatcher),
}

impl ModelSource {
    /// Polls for a new model (between batches only) and reports what happened.
    fn refresh(&mut self, worker: usize, telemetry: &Telemetry) {
        let ModelSource::Watch(w) = self else { return };
        match w.poll() {
            WatchEvent::Unchanged => {}
            WatchEvent::Loaded(info) => {
                tracing::info!(worker, version = info.step, arch = ?info.arch, "loaded model {}", info.path.display());
                telemetry.model_loaded(info.step);
            }
            WatchEvent::Rejected { path, reason } => {
                tracing::warn!(worker, "rejected model {}: {reason}; keeping the current one", path.display());
                telemetry.model_rejected(&path, &reason);
            }
        }
    }

    fn evaluator<G: Game>(&self) -> Box<dyn Evaluator<G>> {
        match self {
            ModelSource::Watch(w) => match w.current() {
                Some(m) => Box::new(NnEvaluator(m)),
                None => Box::new(UniformEvaluator),
            },
            ModelSource::Uniform => Box::new(UniformEvaluator),
        }
    }
}

/// Whether self-play should wait for a first model rather than go on with uniform
/// priors: it watches a models folder that has none yet and has written `bootstrap`
/// positions (0 = never wait).
fn waits_for_first_model(source: &ModelSource, version: Option<i64>, bootstrap: u64, telemetry: &Telemetry) -> bool {
    bootstrap > 0
        && matches!(source, ModelSource::Watch(_))
        && version.is_none()
        && telemetry.counters().positions >= bootstrap
}

/// One game in flight.
struct Slot<G: Game> {
    search: Box<dyn Search<G>>,
    moves: Vec<u16>,
    positions: Vec<(PositionRecord, engine_core::Player)>,
    model_version: Option<i64>,
}

impl<G: Game> Slot<G> {
    fn new<R: Rng + ?Sized>(cfg: &SelfPlayConfig, model_version: Option<i64>, rng: &mut R) -> Slot<G> {
        let (start, moves) = random_opening::<G, R>(cfg.random_opening_plies, rng);
        Slot {
            search: cfg.search.start(start).expect("an opening never ends the game"),
            moves,
            positions: Vec::new(),
            model_version,
        }
    }
}

/// A worker's games in flight, as the driver steps them.
struct Slots<G: Game>(Vec<Option<Slot<G>>>);

impl<G: Game> SearchSet<G> for Slots<G> {
    fn slots(&self) -> usize {
        self.0.len()
    }

    fn search_mut(&mut self, i: usize) -> Option<&mut dyn Search<G>> {
        match &mut self.0[i] {
            Some(s) => Some(s.search.as_mut()),
            None => None,
        }
    }
}

/// A start position `k` uniformly random moves from the initial one, `k` uniform in
/// `0..=max_plies`, with the moves that lead there. A move that would end the game is
/// never played: the opening stops short of it, so the game always has a move to search.
pub fn random_opening<G: Game, R: Rng + ?Sized>(max_plies: u32, rng: &mut R) -> (G, Vec<u16>) {
    let mut g = G::initial();
    let mut moves = Vec::new();
    if max_plies == 0 {
        return (g, moves);
    }
    let k = rng.random_range(0..=max_plies);
    let mut legal = Vec::new();
    for _ in 0..k {
        g.legal_actions_into(&mut legal);
        let a = legal[rng.random_range(0..legal.len())];
        let mut next = g.clone();
        next.apply_unchecked(a);
        if next.is_terminal() {
            break;
        }
        g = next;
        moves.push(a);
    }
    (g, moves)
}

/// The training targets of a finished game: each position's value is the outcome
/// from its side to move.
pub fn finish_game(
    moves: Vec<u16>,
    positions: Vec<(PositionRecord, engine_core::Player)>,
    outcome: engine_core::Outcome,
    model_version: Option<i64>,
) -> FinishedGame {
    FinishedGame {
        created_at: unix_now(),
        model_version,
        moves,
        outcome: outcome.as_i8(),
        positions: positions
            .into_iter()
            .map(|(mut p, to_move)| {
                p.value = outcome.value_for(to_move);
                p
            })
            .collect(),
    }
}

/// Runs one self-play worker until `stop` is set or `cfg.max_games` games are done.
pub fn run_worker<G: Game>(
    worker: usize,
    cfg: &SelfPlayConfig,
    mut source: ModelSource,
    tx: crossbeam_channel::Sender<FinishedGame>,
    telemetry: Arc<Telemetry>,
    stop: Arc<AtomicBool>,
) -> Result<(), SelfPlayError> {
    let obs_len = G::spec().obs_len();
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    source.refresh(worker, &telemetry);
    let mut evaluator: Box<dyn Evaluator<G>> = source.evaluator::<G>();
    let mut games = Slots(
        (0..cfg.games_in_flight.max(1))
            .map(|_| telemetry.claim_game(cfg.max_games).then(|| Slot::new(cfg, evaluator.model_version(), &mut rng)))
            .collect(),
    );
    let capacity = (games.0.len() as u64) * cfg.search.params.leaves_per_game.max(1) as u64;
    let mut driver = Driver::new();
    // A failed batch must not stop training: it is completed with uniform priors.
    driver.uniform_on_error = true;
    let started = Instant::now();
    let mut produced = 0u64;
    let mut waiting = false;
    let mut legal = Vec::new();

    while !stop.load(Relaxed) && games.0.iter().any(Option::is_some) {
        let mut time = PhaseNanos::default();
        let pause = pace_delay(produced, started.elapsed(), cfg.max_positions_per_s);
        if !pause.is_zero() {
            std::thread::sleep(pause);
            time.paced = pause.as_nanos() as u64;
            telemetry.add_time(&time);
            continue;
        }
        // 1. Swap models only here, between batches.
        source.refresh(worker, &telemetry);
        evaluator = source.evaluator::<G>();
        if waits_for_first_model(&source, evaluator.model_version(), cfg.bootstrap_positions, &telemetry) {
            if !waiting {
                tracing::info!(
                    worker,
                    "{} positions without a model: waiting for the trainer's first model",
                    cfg.bootstrap_positions
                );
                waiting = true;
            }
            std::thread::sleep(Duration::from_millis(100));
            time.paced = 100_000_000;
            telemetry.add_time(&time);
            continue;
        }

        // 2. One batch over every game's search.
        let mut steps = StepTimes::default();
        let evaluated = driver.step(&mut games, evaluator.as_mut(), &mut rng, &mut steps)?;
        (time.select, time.encode, time.inference) = (steps.select, steps.encode, steps.inference);
        time.complete = steps.complete;
        if evaluated > 0 {
            telemetry.nn_evals.fetch_add(evaluated as u64, Relaxed);
            telemetry.batches.fetch_add(1, Relaxed);
            telemetry.batch_capacity.fetch_add(capacity, Relaxed);
        }
        // 3. Games whose search is done play a move.
        let mut clock = Instant::now();
        for slot in games.0.iter_mut() {
            let Some(s) = slot else { continue };
            if !s.search.is_finished() {
                continue;
            }
            // Record the targets, pick by temperature, play the move.
            let result = s.search.result();
            let root = s.search.root().clone();
            let ply = root.ply() as u32;
            let temp = if ply < cfg.temperature_moves { cfg.temperature } else { cfg.final_temperature };
            root.legal_actions_into(&mut legal);
            let action = choose_move(&result.policy, &legal, temp, &mut rng);
            let mut o = vec![0.0; obs_len];
            root.encode(&mut o);
            s.positions.push((
                PositionRecord { ply, obs: o, policy: result.policy, value: 0.0, root_value: result.root_value },
                root.to_move(),
            ));
            s.moves.push(action);
            produced += 1;
            let mut next = root;
            next.apply_unchecked(action);
            telemetry.simulations.fetch_add(s.search.simulations_done() as u64, Relaxed);
            if let Some(outcome) = next.outcome() {
                let done = std::mem::take(&mut *slot).expect("slot is live");
                let game = finish_game(done.moves, done.positions, outcome, done.model_version);
                time.complete += lap(&mut clock);
                tx.send(game).map_err(|_| SelfPlayError::WriterGone)?;
                time.handoff += lap(&mut clock);
                if !stop.load(Relaxed) && telemetry.claim_game(cfg.max_games) {
                    *slot = Some(Slot::new(cfg, evaluator.model_version(), &mut rng));
                }
            } else {
                s.search.reset(next)?;
            }
        }
        time.complete += lap(&mut clock);
        telemetry.add_time(&time);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::tictactoe::TicTacToe;
    use engine_core::{Outcome, Player};

    fn cfg(max_games: u64) -> SelfPlayConfig {
        SelfPlayConfig {
            search: SearchConfig::puct_defaults(engine_core::GameKind::TicTacToe, 16, 4, true),
            games_in_flight: 3,
            temperature: 1.0,
            temperature_moves: 3,
            final_temperature: 0.0,
            random_opening_plies: 0,
            bootstrap_positions: 0,
            intra_threads: 1,
            model_poll: Duration::from_millis(100),
            max_games: Some(max_games),
            seed: 9,
            max_positions_per_s: 0.0,
        }
    }

    #[test]
    fn pacing_waits_only_when_ahead() {
        assert_eq!(pace_delay(1000, Duration::from_secs(1), 0.0), Duration::ZERO);
        assert_eq!(pace_delay(100, Duration::from_secs(1), 200.0), Duration::ZERO);
        assert_eq!(pace_delay(300, Duration::from_secs(1), 200.0), Duration::from_millis(500));
        assert_eq!(pace_delay(10_000, Duration::ZERO, 200.0), Duration::from_secs(1));
    }

    #[test]
    fn worker_respects_the_position_rate() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let t = Arc::new(Telemetry::new("tictactoe"));
        let mut c = cfg(4);
        c.max_positions_per_s = 100.0;
        let start = Instant::now();
        run_worker::<TicTacToe>(0, &c, ModelSource::Uniform, tx, t, Arc::new(AtomicBool::new(false))).unwrap();
        let positions: usize = rx.try_iter().map(|g| g.positions.len()).sum();
        // At 100/s, the positions after the first take at least (n - 1) / 100 s.
        assert!(positions >= 20);
        assert!(
            start.elapsed().as_secs_f64() >= (positions - 1) as f64 / 100.0 * 0.9,
            "{positions} positions in {:?}",
            start.elapsed()
        );
    }

    #[test]
    fn finish_game_values_follow_side_to_move() {
        let p = |ply| PositionRecord { ply, obs: vec![], policy: vec![], value: 9.0, root_value: 0.0 };
        let g = finish_game(
            vec![0, 1],
            vec![(p(0), Player::First), (p(1), Player::Second)],
            Outcome::Win(Player::Second),
            None,
        );
        assert_eq!(g.outcome, -1);
        assert_eq!(g.positions[0].value, -1.0);
        assert_eq!(g.positions[1].value, 1.0);
    }

    #[test]
    fn random_openings_are_legal_unfinished_and_vary_in_length() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut lengths = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            let (g, moves) = random_opening::<TicTacToe, _>(8, &mut rng);
            assert!(moves.len() <= 8);
            assert!(!g.is_terminal(), "{moves:?}");
            let replayed = TicTacToe::from_actions(&moves.iter().map(|&m| m as i64).collect::<Vec<_>>()).unwrap();
            assert_eq!(replayed.key(), g.key());
            lengths.insert(moves.len());
        }
        // Every length from 0 to 8 shows up (8 plies can end a game, so they stop short of it).
        assert_eq!(lengths.into_iter().collect::<Vec<_>>(), (0..=8).collect::<Vec<_>>());
        let (g, moves) = random_opening::<TicTacToe, _>(0, &mut rng);
        assert!(moves.is_empty() && g.ply() == 0);
    }

    #[test]
    fn games_with_random_openings_store_only_searched_positions() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let t = Arc::new(Telemetry::new("tictactoe"));
        let mut c = cfg(40);
        c.random_opening_plies = 4;
        run_worker::<TicTacToe>(0, &c, ModelSource::Uniform, tx, t, Arc::new(AtomicBool::new(false))).unwrap();
        let games: Vec<FinishedGame> = rx.try_iter().collect();
        assert_eq!(games.len(), 40);
        let mut skipped_some = false;
        for g in &games {
            let moves: Vec<i64> = g.moves.iter().map(|&m| m as i64).collect();
            let end = TicTacToe::from_actions(&moves).unwrap();
            assert_eq!(end.outcome().unwrap().as_i8(), g.outcome);
            // The positions are the last plies of the game, consecutive, each with its
            // value from the side to move at that ply.
            let skipped = g.moves.len() - g.positions.len();
            assert!(skipped <= 4 && !g.positions.is_empty());
            skipped_some |= skipped > 0;
            for (i, p) in g.positions.iter().enumerate() {
                assert_eq!(p.ply as usize, skipped + i);
                let mover = TicTacToe::from_actions(&moves[..skipped + i]).unwrap().to_move();
                assert_eq!(p.value, end.outcome().unwrap().value_for(mover));
            }
        }
        assert!(skipped_some);
    }

    #[test]
    fn worker_plays_exactly_max_games_and_counts_them() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let t = Arc::new(Telemetry::new("tictactoe"));
        run_worker::<TicTacToe>(0, &cfg(5), ModelSource::Uniform, tx, t.clone(), Arc::new(AtomicBool::new(false)))
            .unwrap();
        let games: Vec<FinishedGame> = rx.try_iter().collect();
        assert_eq!(games.len(), 5);
        for g in &games {
            // Replaying the moves gives the recorded outcome.
            let moves: Vec<i64> = g.moves.iter().map(|&m| m as i64).collect();
            let end = TicTacToe::from_actions(&moves).unwrap();
            assert_eq!(end.outcome().unwrap().as_i8(), g.outcome);
            assert_eq!(g.positions.len(), g.moves.len());
            for p in &g.positions {
                assert!((p.policy.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            }
        }
        assert!(t.snapshot().nn_evals_per_s > 0.0);
    }

    /// Many games batched together with several leaves each must still give every move
    /// exactly its simulations (the leaf-batch guard), and the counters must add up.
    #[test]
    fn batched_worker_runs_exactly_the_simulations_of_each_move() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let t = Arc::new(Telemetry::new("tictactoe"));
        let mut c = cfg(12);
        c.games_in_flight = 5;
        c.search.params.leaves_per_game = 7;
        c.search.params.simulations = 23;
        run_worker::<TicTacToe>(0, &c, ModelSource::Uniform, tx, t.clone(), Arc::new(AtomicBool::new(false))).unwrap();
        let positions: u64 = rx.try_iter().map(|g| g.positions.len() as u64).sum();
        let totals = t.counters();
        assert_eq!(totals.simulations, positions * 23);
        // Terminal leaves are scored without the network, so evaluations ≤ simulations,
        // and no batch ever held more than games × leaves.
        assert!(totals.nn_evals <= totals.simulations && totals.nn_evals > 0);
        assert!(totals.nn_evals <= totals.batches * 5 * 7);
        assert_eq!(totals.batch_capacity, totals.batches * 5 * 7);
        assert!(totals.time.inference > 0 && totals.time.select > 0 && totals.time.complete > 0);
        let split = TimeSplit::of(&totals.time);
        let sum = split.select + split.encode + split.inference + split.complete + split.handoff;
        assert!((sum - 1.0).abs() < 1e-9, "{split:?}");
        assert_eq!(split.paced, 0.0);
    }

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
}
