//! Continuous evaluation inside `actor run`: one background thread that evaluates
//! each new snapshot, keeps `eval.db` (docs/CONTRACTS.md §8) and the `evaluation`
//! summary of `/api/stats`, and maintains `models/best.onnx` (gating).
//!
//! For each new model (the newest `model_step_*.onnx`, or `latest.onnx` when its step
//! is newer than every snapshot; snapshots skipped while busy are not revisited):
//! 1. a match against the current best (`max(--eval-games, --gate-games)` games); the
//!    candidate becomes the best when it scores above `--gate-threshold` (draws
//!    half). The very first model becomes the best at once, so gated self-play has a
//!    network to play. Promotion writes `models/best.onnx` atomically.
//! 2. a match against each baseline of the ladder (`--eval-baselines`);
//! 3. perfect-play accuracy (TicTacToe all positions, Connect4 the benchmark sets), raw
//!    network and full search;
//!
//! after each of which the ratings are refitted and the summary republished.
//!
//! Its share of the machine: after every piece of work taking `t` seconds the thread
//! sleeps `t (1 − share) / share`, so it uses about `--eval-share` of one core however
//! fast the model is, and self-play keeps the rest. It starts only once a model exists,
//! so it never slows the first games.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use engine_core::{with_game, Game, GameKind};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::eval::accuracy::{benchmark, choose_moves, count_errors, select, Mode};
use crate::eval::arena::{play_match, tally, Contestant, MatchConfig};
use crate::eval::players::{model_label, PlayerSpec};
use crate::eval::store::{summarize, EvalStore, GatingInfo};
use crate::nn::{ModelFile, NnModel};
use crate::search::SearchConfig;
use crate::telemetry::Telemetry;

/// Which model self-play uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatingMode {
    /// Self-play plays `latest.onnx` (AlphaZero).
    Continuous,
    /// Self-play plays `best.onnx`, replaced only by a candidate that beats it (AlphaGo Zero).
    Gated,
}

impl GatingMode {
    pub fn name(self) -> &'static str {
        match self {
            GatingMode::Continuous => "continuous",
            GatingMode::Gated => "gated",
        }
    }

    /// The model file self-play plays, and so the one the move API plays too: people
    /// who play the bot meet the network that makes the training games.
    pub fn played_model(self) -> ModelFile {
        match self {
            GatingMode::Continuous => ModelFile::Latest,
            GatingMode::Gated => ModelFile::Best,
        }
    }
}

/// The evaluation settings (validated from `--eval-*` and `--gat*` flags).
#[derive(Clone, Debug)]
pub struct EvalConfig {
    /// Share of one core the evaluator may use; 0 turns it off.
    pub share: f64,
    /// Games per opponent for each new model.
    pub games: u32,
    pub gating: GatingMode,
    /// Score (draws half) a candidate must exceed against the best to replace it.
    pub gate_threshold: f64,
    /// Fewest games of the candidate-vs-best match.
    pub gate_games: u32,
    /// The fixed opponents of every new model.
    pub baselines: Vec<PlayerSpec>,
    /// Network search in matches and in the accuracy "search" mode.
    pub search: SearchConfig,
    /// Random plies of each match opening (each opening is played with both colours).
    pub opening_plies: u32,
    /// Positions per benchmark set for the "search" mode (the raw network sees all).
    pub accuracy_positions: usize,
    /// How often to look for a new model.
    pub poll: Duration,
    pub seed: u64,
}

/// What `/api/stats` serves as `evaluation`; `None` until the first result.
pub type SharedSummary = Arc<Mutex<Option<Value>>>;

/// Sleeps so that work takes about `share` of the wall time.
pub struct Throttle {
    share: f64,
    since: Instant,
}

impl Throttle {
    pub fn new(share: f64) -> Throttle {
        Throttle { share: share.clamp(0.001, 1.0), since: Instant::now() }
    }

    /// The pause owed for `work` of busy time.
    pub fn pause_for(&self, work: Duration) -> Duration {
        work.mul_f64((1.0 - self.share) / self.share)
    }

    /// Called after a piece of work: sleeps for it (in slices, watching `stop`), then
    /// starts timing the next. False once `stop` is set.
    pub fn pace(&mut self, stop: &AtomicBool) -> bool {
        let pause = self.pause_for(self.since.elapsed()).min(Duration::from_secs(120));
        let until = Instant::now() + pause;
        while Instant::now() < until {
            if stop.load(Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(100)));
        }
        self.since = Instant::now();
        !stop.load(Ordering::Relaxed)
    }
}

/// Snapshot step from a file name `model_step_00001200.onnx`.
pub fn snapshot_step(name: &str) -> Option<i64> {
    name.strip_prefix("model_step_")?.strip_suffix(".onnx")?.parse().ok()
}

/// The newest snapshot in `models`: (step, path).
pub fn newest_snapshot(models: &Path) -> Option<(i64, PathBuf)> {
    std::fs::read_dir(models)
        .ok()?
        .flatten()
        .filter_map(|e| snapshot_step(&e.file_name().to_string_lossy()).map(|s| (s, e.path())))
        .max_by_key(|(s, _)| *s)
}

/// Writes `bytes` to `dest` the way the trainer publishes: a temp file in the same
/// folder, fsync, rename, fsync of the folder.
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = dest.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.tmp", dest.file_name().unwrap_or_default().to_string_lossy()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dest)?;
    std::fs::File::open(dir)?.sync_all()
}

/// A model being evaluated or held as the best: its bytes (promotion writes these, not
/// whatever the file has become since) and the loaded network.
struct Held {
    version: i64,
    bytes: Vec<u8>,
    contestant: Contestant,
}

struct Evaluator<'a> {
    kind: GameKind,
    data_dir: PathBuf,
    cfg: EvalConfig,
    store: EvalStore,
    telemetry: &'a Telemetry,
    summary: SharedSummary,
    stop: &'a AtomicBool,
    throttle: Throttle,
    rng: StdRng,
    best: Option<Held>,
}

/// Starts the evaluation thread.
pub fn spawn_evaluator(
    kind: GameKind,
    data_dir: PathBuf,
    cfg: EvalConfig,
    telemetry: Arc<Telemetry>,
    summary: SharedSummary,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("evaluator".into()).spawn(move || {
        let db = data_dir.join("eval.db");
        let store = match EvalStore::open(&db, kind.name()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("evaluation is off: cannot open {}: {e}", db.display());
                return;
            }
        };
        let mut ev = Evaluator {
            kind,
            throttle: Throttle::new(cfg.share),
            rng: StdRng::seed_from_u64(cfg.seed),
            data_dir,
            cfg,
            store,
            telemetry: &telemetry,
            summary,
            stop: &stop,
            best: None,
        };
        ev.run();
    })
}

impl Evaluator<'_> {
    fn models_dir(&self) -> PathBuf {
        self.data_dir.join("models")
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn load(&self, bytes: Vec<u8>, what: &str) -> Result<Held, String> {
        // NnModel loads from a path; a private copy means the trainer may replace or
        // delete the original meanwhile.
        let tmp = self.data_dir.join(".eval-model.onnx");
        std::fs::write(&tmp, &bytes).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
        let model = NnModel::load(&tmp, self.kind.spec(), 1).map_err(|e| format!("{what}: {e}"))?;
        let _ = std::fs::remove_file(&tmp);
        let version = model.info.step;
        Ok(Held {
            version,
            bytes,
            contestant: Contestant {
                spec: PlayerSpec::Model(PathBuf::from(what)),
                label: model_label(version),
                model: Some(Arc::new(model)),
                search: None,
            },
        })
    }

    fn run(&mut self) {
        let best_path = self.models_dir().join("best.onnx");
        if let Ok(bytes) = std::fs::read(&best_path) {
            match self.load(bytes, "models/best.onnx") {
                Ok(h) => self.best = Some(h),
                Err(e) => tracing::warn!("ignoring the current best model: {e}"),
            }
        }
        let mut last: i64 = self.store.meta("last_evaluated").ok().flatten().and_then(|v| v.parse().ok()).unwrap_or(-1);
        let mut latest_sig = None;
        self.publish();
        while !self.stopped() {
            let candidate = self.next_candidate(last, &mut latest_sig);
            let Some((step, path)) = candidate else {
                let t = Instant::now();
                while t.elapsed() < self.cfg.poll && !self.stopped() {
                    std::thread::sleep(Duration::from_millis(100));
                }
                continue;
            };
            last = step;
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!("evaluation: cannot read {}: {e}", path.display());
                    continue;
                }
            };
            let held = match self.load(bytes, &path.display().to_string()) {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!("evaluation skips a model: {e}");
                    continue;
                }
            };
            self.throttle = Throttle::new(self.cfg.share);
            let kind = self.kind;
            let result = with_game!(kind, G => self.evaluate::<G>(held));
            if let Err(e) = result {
                tracing::error!("evaluation of step {step} failed: {e}");
            }
            if !self.stopped() {
                let _ = self.store.set_meta("last_evaluated", &step.to_string());
            }
        }
    }

    /// The newest model to evaluate, if any is newer than `last`.
    fn next_candidate(&self, last: i64, latest_sig: &mut Option<crate::nn::FileSig>) -> Option<(i64, PathBuf)> {
        let models = self.models_dir();
        let snap = newest_snapshot(&models).filter(|(s, _)| *s > last);
        if snap.is_some() {
            return snap;
        }
        // No snapshot newer: latest.onnx may be (a trainer that keeps no snapshots).
        let latest = models.join("latest.onnx");
        let sig = crate::nn::file_sig(&latest)?;
        if *latest_sig == Some(sig) {
            return None;
        }
        *latest_sig = Some(sig);
        let model = NnModel::load(&latest, self.kind.spec(), 1).ok()?;
        (model.info.step > last).then_some((model.info.step, latest))
    }

    fn match_config(&mut self, games: u32) -> MatchConfig {
        MatchConfig {
            games,
            opening_plies: self.cfg.opening_plies,
            sample_plies: 0,
            search: self.cfg.search.clone(),
            parallel: 32,
            seed: self.rng.random(),
        }
    }

    /// Plays and records a match; `None` if stopped before the end.
    fn play<G: Game>(&mut self, a: &Contestant, b: &Contestant, games: u32) -> Result<Option<f64>, String> {
        let cfg = self.match_config(games);
        let (store, throttle, stop) = (&mut self.store, &mut self.throttle, self.stop);
        let mut write_err = None;
        let records = play_match::<G>(a, b, &cfg, &mut |done| {
            if !done.is_empty() {
                if let Err(e) = store.add_games(&a.label, &b.label, done) {
                    write_err = Some(e.to_string());
                    return false;
                }
            }
            throttle.pace(stop)
        })
        .map_err(|e| e.to_string())?;
        if let Some(e) = write_err {
            return Err(e);
        }
        if records.len() < games as usize {
            return Ok(None);
        }
        let (w, d, l) = tally(&records);
        let score = (w as f64 + 0.5 * d as f64) / records.len().max(1) as f64;
        tracing::info!("evaluation: {} vs {}: {w} wins, {d} draws, {l} losses (score {score:.3})", a.label, b.label);
        self.publish();
        Ok(Some(score))
    }

    fn promote(&mut self, held: &Held) -> Result<(), String> {
        let dest = self.models_dir().join("best.onnx");
        write_atomic(&dest, &held.bytes).map_err(|e| format!("writing {}: {e}", dest.display()))?;
        self.store.set_meta("best_version", &held.version.to_string()).map_err(|e| e.to_string())?;
        tracing::info!("evaluation: step {} is the new best model ({})", held.version, dest.display());
        Ok(())
    }

    fn evaluate<G: Game>(&mut self, cand: Held) -> Result<(), String> {
        tracing::info!("evaluating step {}", cand.version);
        // 1. Against the best; the first model is the best at once.
        let promote = match self.best.take() {
            None => true,
            Some(best) if best.version == cand.version => {
                self.best = Some(best);
                false
            }
            Some(best) => {
                let games = self.cfg.games.max(self.cfg.gate_games);
                let score = self.play::<G>(&cand.contestant, &best.contestant, games)?;
                self.best = Some(best);
                match score {
                    None => return Ok(()),
                    Some(s) => s > self.cfg.gate_threshold,
                }
            }
        };
        if promote {
            self.promote(&cand)?;
            // The candidate's network is reused as the best: reload from its bytes.
            self.best = Some(self.load(cand.bytes.clone(), "the new best model")?);
            self.publish();
        }
        // 2. The baseline ladder.
        for spec in self.cfg.baselines.clone() {
            let b = Contestant { label: spec.label(None), spec, model: None, search: None };
            if self.play::<G>(&cand.contestant, &b, self.cfg.games)?.is_none() {
                return Ok(());
            }
        }
        // 3. Perfect-play accuracy.
        let positions = benchmark::<G>();
        if positions.is_empty() {
            return Ok(());
        }
        let model = cand.contestant.model.clone().expect("a candidate is a model");
        for (mode, per_phase) in [(Mode::Net, usize::MAX), (Mode::Search, self.cfg.accuracy_positions)] {
            let chosen = select(positions, per_phase);
            let mut moves = Vec::with_capacity(chosen.len());
            for chunk in chosen.chunks(32) {
                let states: Vec<G> = chunk.iter().map(|p| p.state.clone()).collect();
                moves.extend(
                    choose_moves(&states, &model, mode, &self.cfg.search, &mut self.rng).map_err(|e| e.to_string())?,
                );
                if !self.throttle.pace(self.stop) {
                    return Ok(());
                }
            }
            for row in count_errors(&chosen, &moves, mode) {
                self.store
                    .add_accuracy(cand.version, &row.phase, row.mode, row.positions, row.errors)
                    .map_err(|e| e.to_string())?;
                tracing::info!(
                    "evaluation: step {} {} {}: {}/{} errors",
                    cand.version,
                    row.phase,
                    row.mode,
                    row.errors,
                    row.positions
                );
            }
            self.publish();
        }
        Ok(())
    }

    /// Refits the ratings and republishes the summary.
    fn publish(&self) {
        let best_version = self.best.as_ref().map(|b| b.version);
        let gating = GatingInfo {
            mode: self.cfg.gating.name().to_string(),
            best_version,
            self_play_version: match self.cfg.gating {
                GatingMode::Gated => best_version,
                GatingMode::Continuous => self.telemetry.model_version(),
            },
        };
        match summarize(self.store.connection(), gating) {
            Ok(s) => {
                let v = s.map(|s| serde_json::to_value(s).expect("summary serialises"));
                // Offline readers of the data folder (`trainer report`) get the same
                // ratings from evaluation.json (docs/CONTRACTS.md §8) without refitting.
                if let Some(v) = &v {
                    let path = self.data_dir.join("evaluation.json");
                    if let Err(e) = write_atomic(&path, v.to_string().as_bytes()) {
                        tracing::warn!("cannot write {}: {e}", path.display());
                    }
                }
                *self.summary.lock().unwrap_or_else(|p| p.into_inner()) = v;
            }
            Err(e) => tracing::warn!("evaluation summary failed: {e}"),
        }
    }
}

/// The summary of an existing `eval.db` (for `actor serve`, which does not evaluate).
pub fn summary_of(data_dir: &Path, kind: GameKind, gating: GatingMode) -> Option<Value> {
    let path = data_dir.join("eval.db");
    if !path.is_file() {
        return None;
    }
    let store = EvalStore::open(&path, kind.name()).ok()?;
    let best = store.meta("best_version").ok().flatten().and_then(|v| v.parse().ok());
    let gating = GatingInfo { mode: gating.name().into(), best_version: best, self_play_version: None };
    summarize(store.connection(), gating).ok().flatten().map(|s| serde_json::to_value(s).expect("summary serialises"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names() {
        assert_eq!(snapshot_step("model_step_00001200.onnx"), Some(1200));
        assert_eq!(snapshot_step("latest.onnx"), None);
        assert_eq!(snapshot_step("model_step_x.onnx"), None);
        let dir = tempfile::tempdir().unwrap();
        assert!(newest_snapshot(dir.path()).is_none());
        for n in ["model_step_00000100.onnx", "model_step_00001000.onnx", "model_step_00000200.onnx", "best.onnx"] {
            std::fs::write(dir.path().join(n), b"x").unwrap();
        }
        assert_eq!(newest_snapshot(dir.path()).unwrap().0, 1000);
    }

    #[test]
    fn throttle_owes_the_complement_of_its_share() {
        let t = Throttle::new(0.25);
        assert_eq!(t.pause_for(Duration::from_secs(1)), Duration::from_secs(3));
        let t = Throttle::new(1.0);
        assert_eq!(t.pause_for(Duration::from_secs(1)), Duration::ZERO);
        let stop = AtomicBool::new(true);
        assert!(!Throttle::new(0.5).pace(&stop));
    }

    #[test]
    fn atomic_write_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("best.onnx");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temp file left");
    }
}
