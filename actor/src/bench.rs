//! `actor bench`: how close self-play comes to the speed of the network.
//!
//! Two measurements with the same model file, batch size and session settings:
//! 1. **raw**: every worker thread loads its own session (as self-play does) and
//!    evaluates full batches of `games_in_flight × leaves_per_game` observations in a
//!    loop — the most NN evaluations per second this machine can do at these settings;
//! 2. **self-play**: the real workers and replay writer (into a temporary data folder)
//!    for `--seconds`, after a warm-up.
//!
//! It prints both rates, their ratio (the share of the network's speed self-play
//! keeps), simulations/s, games and positions per minute, batch fill and where the
//! worker time went. With the int8 file of the model beside it (`X.int8.onnx`, as the
//! trainer publishes `latest.int8.onnx`, or `trainer quantize X.onnx`), both
//! precisions are measured in turn and compared in one table. The figures belong in
//! docs/BENCHMARKS.md with the command line.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use engine_core::{with_game, Game, GameKind};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::{ActorConfig, RunArgs};
use crate::nn::{int8_path, Device, ModelWatcher, NnModel, Precision, SessionSettings};
use crate::selfplay::{self, ModelSource};
use crate::store::{self, Store};
use crate::telemetry::{Counters, Telemetry, TimeSplit};

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// The model file to measure (docs/CONTRACTS.md §3), for --game.
    #[arg(long)]
    pub model: PathBuf,
    /// Seconds of self-play measured (after the warm-up).
    #[arg(long, default_value_t = 30.0)]
    pub seconds: f64,
    /// Seconds of the raw ONNX Runtime measurement, half before self-play and half
    /// after, so a change in the machine's load during the run hits both figures alike.
    #[arg(long, default_value_t = 10.0)]
    pub raw_seconds: f64,
    /// Seconds of self-play run before measuring (first batches, page faults, caches).
    #[arg(long, default_value_t = 3.0)]
    pub warmup: f64,
    /// Self-play settings, as for `actor selfplay` (`--data-dir` is ignored: the games
    /// go to a temporary folder that is deleted afterwards). `--precision` picks what
    /// is measured: fp32 (`--model`), int8 (its `.int8.onnx` file), or auto: both, side
    /// by side (int8 only where the file exists).
    #[command(flatten)]
    pub run: RunArgs,
}

/// What one benchmark measured.
#[derive(Clone, Debug)]
pub struct BenchReport {
    pub raw_evals_per_s: f64,
    pub raw_batch: usize,
    pub selfplay: Counters,
    pub seconds: f64,
}

impl BenchReport {
    pub fn selfplay_evals_per_s(&self) -> f64 {
        self.selfplay.nn_evals as f64 / self.seconds
    }

    /// Self-play NN evaluations per second as a share of the raw figure.
    pub fn ratio(&self) -> f64 {
        if self.raw_evals_per_s > 0.0 {
            self.selfplay_evals_per_s() / self.raw_evals_per_s
        } else {
            0.0
        }
    }
}

/// A folder under the system temp folder, removed when dropped (also on errors).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let p = std::env::temp_dir().join(format!("actor-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// `batch` observations of positions reached by random moves, so the raw measurement
/// feeds the network the same kind of input as self-play.
pub fn random_observations<G: Game>(batch: usize, seed: u64) -> Vec<f32> {
    let len = G::spec().obs_len();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut obs = vec![0.0f32; batch * len];
    let mut legal = Vec::new();
    for chunk in obs.chunks_mut(len) {
        let mut g = G::initial();
        let plies = rng.random_range(0..G::spec().max_game_length.max(1));
        for _ in 0..plies {
            if g.is_terminal() {
                break;
            }
            g.legal_actions_into(&mut legal);
            let a = legal[rng.random_range(0..legal.len())];
            g.apply_unchecked(a);
        }
        if g.is_terminal() {
            g = G::initial();
        }
        g.encode(chunk);
    }
    obs
}

/// Evaluations per second of `threads` sessions, each running full batches of `batch`
/// for `seconds`, all at once.
pub fn raw_throughput<G: Game>(
    model: &Path,
    settings: SessionSettings,
    threads: usize,
    batch: usize,
    seconds: f64,
) -> Result<f64> {
    let spec = G::spec();
    let barrier = Arc::new(Barrier::new(threads));
    let mut handles = Vec::new();
    for t in 0..threads {
        let (model, barrier) = (model.to_path_buf(), barrier.clone());
        handles.push(std::thread::spawn(move || -> Result<(u64, Duration)> {
            let m = NnModel::load_with(&model, spec, settings)?;
            let obs = random_observations::<G>(batch, 17 + t as u64);
            // Warm-up: the first runs allocate ONNX Runtime's buffers.
            for _ in 0..3 {
                m.run(&obs, batch)?;
            }
            barrier.wait();
            let start = Instant::now();
            let mut evals = 0u64;
            while start.elapsed().as_secs_f64() < seconds {
                let out = m.run(&obs, batch)?;
                // Keep the output alive until here so nothing is optimised away.
                evals += out.values.len() as u64;
            }
            Ok((evals, start.elapsed()))
        }));
    }
    let mut total = 0.0;
    for h in handles {
        let (evals, took) = h.join().map_err(|_| anyhow::anyhow!("a raw benchmark thread panicked"))??;
        total += evals as f64 / took.as_secs_f64();
    }
    Ok(total)
}

/// Runs self-play as `actor selfplay` does (workers + writer) into `cfg.data_dir` and
/// returns the counters over `seconds` after `warmup`.
pub fn measure_selfplay(
    cfg: &ActorConfig,
    device: Device,
    precision: Precision,
    warmup: f64,
    seconds: f64,
) -> Result<Counters> {
    let spec = cfg.game.spec();
    let models_dir = cfg.data_dir.join("models");
    let db = cfg.data_dir.join("replay.db");
    let store = Store::open(&db, spec).with_context(|| format!("opening {}", db.display()))?;
    let telemetry = Arc::new(Telemetry::new(spec.name));
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = crossbeam_channel::bounded(1024);
    let writer = store::spawn_writer(store, rx, telemetry.clone());
    let mut workers = Vec::new();
    for i in 0..cfg.threads {
        let mut sp = cfg.selfplay.clone();
        sp.seed = sp.seed.wrapping_add(i as u64 * 0x9E37_79B9);
        let watcher = ModelWatcher::new(&models_dir, spec, sp.intra_threads, sp.model_poll)
            .with_device(device)
            .with_tuning(cfg.onnx.session().tuning)
            .with_precision(precision);
        let (tx, t, stop, kind) = (tx.clone(), telemetry.clone(), stop.clone(), cfg.game);
        workers.push(std::thread::spawn(
            move || with_game!(kind, G => selfplay::run_worker::<G>(i, &sp, ModelSource::Watch(watcher), tx, t, stop)),
        ));
    }
    drop(tx);

    // Warm-up: until every worker has its model and a batch behind it, then `warmup`.
    let t0 = Instant::now();
    while telemetry.model_version().is_none() || telemetry.counters().batches < cfg.threads as u64 {
        if t0.elapsed() > Duration::from_secs(120) {
            stop.store(true, Ordering::Relaxed);
            let why = telemetry.snapshot().last_rejected_model.map(|r| r.reason).unwrap_or_default();
            bail!("self-play did not start within 120 s {why}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let played = telemetry.snapshot().model_precision.unwrap_or_default();
    if precision == Precision::Int8 && played != "int8" {
        stop.store(true, Ordering::Relaxed);
        bail!("self-play loaded the {played} model, not the int8 one (see the log line above)");
    }
    std::thread::sleep(Duration::from_secs_f64(warmup));
    let start = telemetry.counters();
    let t_start = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let end = telemetry.counters();
    let took = t_start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for (i, w) in workers.into_iter().enumerate() {
        match w.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => bail!("self-play worker {i} failed: {e}"),
            Err(_) => bail!("self-play worker {i} panicked"),
        }
    }
    writer.join().map_err(|_| anyhow::anyhow!("the replay writer panicked"))?;
    let mut c = end.since(&start);
    // Scale to exactly `seconds` so rates divide by the requested span.
    let k = seconds / took;
    let scale = |x: u64| (x as f64 * k).round() as u64;
    c.nn_evals = scale(c.nn_evals);
    c.simulations = scale(c.simulations);
    c.games = scale(c.games);
    c.positions = scale(c.positions);
    Ok(c)
}

pub fn run(args: &BenchArgs) -> Result<()> {
    if !(args.seconds > 0.0 && args.raw_seconds > 0.0 && args.warmup >= 0.0) {
        bail!("--seconds and --raw-seconds must be positive and --warmup not negative");
    }
    if !args.model.is_file() {
        bail!("--model {}: no such file", args.model.display());
    }
    let tmp = TempDir::new()?;
    let mut run = args.run.clone();
    run.data_dir = tmp.0.clone();
    let cfg = run.validate().context("invalid arguments")?;
    if cfg.no_model {
        bail!("--no-model makes no sense for a benchmark of a model");
    }
    let device = cfg.onnx.device;
    let lib = cfg.onnx.init().context("ONNX Runtime is needed for the benchmark")?;
    let kind: GameKind = cfg.game;
    let spec = kind.spec();
    let sp = &cfg.selfplay;
    let batch = sp.games_in_flight * sp.search.params.leaves_per_game.max(1) as usize;
    let settings = SessionSettings { intra_threads: sp.intra_threads, ..cfg.onnx.session() };
    let probe = NnModel::load_with(&args.model, spec, settings).with_context(|| format!("{}", args.model.display()))?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let step = probe.info.step;
    if probe.info.precision != "fp32" {
        bail!(
            "--model {} is a {} file: give the fp32 model (its int8 file beside it is measured too)",
            args.model.display(),
            probe.info.precision
        );
    }
    println!("actor bench: {} {} (step {step}), ONNX Runtime {}", kind, args.model.display(), lib.display());
    drop(probe);
    println!(
        "settings: {} search, {} worker thread(s) × {} intra-op thread(s) on {device} ({:?}), {} games in flight × {} leaves = batch {batch}, {} simulations/move, cap {} positions/s, reuse tree {}, eval cache {}; {cores} cores, load average {}",
        sp.search.algorithm.label(),
        cfg.threads,
        sp.intra_threads,
        settings.tuning,
        sp.games_in_flight,
        sp.search.params.leaves_per_game,
        sp.search.params.simulations,
        if sp.max_positions_per_s > 0.0 {
            format!("{:.0}", sp.max_positions_per_s * cfg.threads as f64)
        } else {
            "none".into()
        },
        sp.reuse_tree,
        sp.eval_cache,
        load_average()
    );

    std::fs::create_dir_all(cfg.data_dir.join("models"))?;
    std::fs::copy(&args.model, cfg.data_dir.join("models/latest.onnx")).context("copying the model")?;
    let int8_file = int8_path(&args.model);
    let mut measured: Vec<(&str, PathBuf)> = Vec::new();
    if cfg.precision != Precision::Int8 {
        measured.push(("fp32", args.model.clone()));
    }
    if cfg.precision != Precision::Fp32 {
        if int8_file.is_file() {
            let m =
                NnModel::load_with(&int8_file, spec, settings).with_context(|| format!("{}", int8_file.display()))?;
            if m.info.step != step {
                bail!("{} holds step {}, the model step {step}", int8_file.display(), m.info.step);
            }
            std::fs::copy(&int8_file, cfg.data_dir.join("models/latest.int8.onnx")).context("copying the model")?;
            measured.push(("int8", int8_file.clone()));
        } else if cfg.precision == Precision::Int8 {
            bail!(
                "no {} (make it with `trainer quantize {} --db REPLAY.db`)",
                int8_file.display(),
                args.model.display()
            );
        } else {
            println!(
                "int8: no {} beside the model: measuring fp32 only (`trainer quantize` makes one)",
                int8_file.display()
            );
        }
    }
    let mut rows = Vec::new();
    for (name, file) in &measured {
        println!("--- {name}: {}", file.display());
        let precision = if *name == "int8" { Precision::Int8 } else { Precision::Fp32 };
        let report = measure_precision(args, &cfg, kind, file, settings, precision, batch)?;
        rows.push((*name, report));
    }
    if rows.len() > 1 {
        let base = &rows[0].1;
        println!("precision | raw evals/s | self-play evals/s | ratio | positions/min | self-play vs fp32");
        for (name, r) in &rows {
            println!(
                "{name} | {:.0} | {:.0} | {:.3} | {:.0} | {:.2}x",
                r.raw_evals_per_s,
                r.selfplay_evals_per_s(),
                r.ratio(),
                r.selfplay.positions as f64 * 60.0 / r.seconds,
                r.selfplay_evals_per_s() / base.selfplay_evals_per_s().max(1e-9),
            );
        }
    }
    println!("load average after {}", load_average());
    Ok(())
}

/// Raw speed before, self-play, raw speed after, of one precision's file.
fn measure_precision(
    args: &BenchArgs,
    cfg: &ActorConfig,
    kind: GameKind,
    file: &Path,
    settings: SessionSettings,
    precision: Precision,
    batch: usize,
) -> Result<BenchReport> {
    let half = args.raw_seconds / 2.0;
    let raw_before = with_game!(kind, G => raw_throughput::<G>(file, settings, cfg.threads, batch, half))?;
    println!(
        "raw ONNX Runtime before self-play: {raw_before:.0} evals/s ({} × batch {batch}, {half:.0} s)",
        cfg.threads
    );
    let c = measure_selfplay(cfg, settings.device, precision, args.warmup, args.seconds)?;
    let raw_after = with_game!(kind, G => raw_throughput::<G>(file, settings, cfg.threads, batch, half))?;
    println!("raw ONNX Runtime after self-play: {raw_after:.0} evals/s");
    let raw = (raw_before + raw_after) / 2.0;
    let report = BenchReport { raw_evals_per_s: raw, raw_batch: batch, selfplay: c, seconds: args.seconds };
    let split = TimeSplit::of(&c.time);
    let per_min = 60.0 / args.seconds;
    println!(
        "self-play: {:.0} evals/s over {:.0} s; {:.0} simulations/s, {:.1} games/min, {:.0} positions/min, mean batch {:.1} (fill {:.2})",
        report.selfplay_evals_per_s(),
        args.seconds,
        c.simulations as f64 / args.seconds,
        c.games as f64 * per_min,
        c.positions as f64 * per_min,
        if c.batches > 0 { c.nn_evals as f64 / c.batches as f64 } else { 0.0 },
        if c.batch_capacity > 0 { c.nn_evals as f64 / c.batch_capacity as f64 } else { 0.0 },
    );
    // The network's speed inside self-play (evaluations per second of time spent in
    // the evaluator, per worker summed): below the raw figure when the network itself
    // runs slower there (caches, odd batch sizes, load), not because of search overhead.
    let in_loop = if c.time.inference > 0 {
        c.nn_evals as f64 / (c.time.inference as f64 * 1e-9) * cfg.threads as f64
    } else {
        0.0
    };
    println!("network speed inside self-play: {in_loop:.0} evals per second of inference time");
    if c.moves > 0 {
        println!(
            "network evaluations per searched move: {:.1} ({} moves; {:.3} per simulation budgeted); cache hits {:.1}% of leaves",
            c.nn_evals as f64 / c.moves as f64,
            c.moves,
            c.nn_evals as f64 / (c.moves as f64 * cfg.selfplay.search.params.simulations.max(1) as f64),
            100.0 * c.cache_hits as f64 / (c.cache_hits + c.nn_evals).max(1) as f64,
        );
    }
    println!(
        "worker time: inference {:.1}%, select {:.1}%, encode {:.1}%, complete {:.1}%, hand-off {:.1}%; paced {:.1}% of wall time",
        split.inference * 100.0,
        split.select * 100.0,
        split.encode * 100.0,
        split.complete * 100.0,
        split.handoff * 100.0,
        split.paced * 100.0
    );
    println!(
        "ratio self-play / raw = {:.3} ({:.0} / {raw:.0}, raw = mean of before and after); load average {}",
        report.ratio(),
        report.selfplay_evals_per_s(),
        load_average()
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::connect4::Connect4;

    #[test]
    fn random_observations_are_legal_encodings() {
        let obs = random_observations::<Connect4>(50, 3);
        let len = Connect4::spec().obs_len();
        assert_eq!(obs.len(), 50 * len);
        for chunk in obs.chunks(len) {
            // Two planes of 0/1 that never overlap, and the side to move has as many
            // discs as the opponent or one fewer (Connect4 alternates strictly).
            let (me, them) = chunk.split_at(len / 2);
            assert!(chunk.iter().all(|&x| x == 0.0 || x == 1.0));
            assert!(me.iter().zip(them).all(|(a, b)| a + b <= 1.0));
            let (m, t) = (me.iter().sum::<f32>(), them.iter().sum::<f32>());
            assert!(m == t || m + 1.0 == t, "{m} vs {t}");
        }
        // Not all the same position.
        assert!(obs.chunks(len).any(|c| c != &obs[..len]));
    }

    #[test]
    fn ratio_divides_by_the_raw_figure() {
        let c = Counters { nn_evals: 900, ..Counters::default() };
        let r = BenchReport { raw_evals_per_s: 100.0, raw_batch: 8, selfplay: c, seconds: 10.0 };
        assert!((r.ratio() - 0.9).abs() < 1e-9);
        let zero = BenchReport { raw_evals_per_s: 0.0, ..r };
        assert_eq!(zero.ratio(), 0.0);
    }
}
