//! The `actor` command line: `run`, `selfplay`, `serve`, `perft`, `arena`, `tournament`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use engine_core::{with_game, Game, GameKind};

use crate::config::{ActorConfig, RunArgs};
use crate::nn::ModelWatcher;
use crate::selfplay::{self, ModelSource};
use crate::server::{self, AppState};
use crate::store::{self, Store};
use crate::telemetry::{SelfPlaySearch, Telemetry};

#[derive(Parser, Debug)]
#[command(
    name = "actor",
    version,
    about = "Cartridge actor: AlphaZero-style self-play (batched MCTS + ONNX Runtime), the replay.db writer, and the HTTP server for the web app",
    after_help = "Examples:\n  actor run --game tictactoe --data-dir data          self-play + server on 127.0.0.1:8080\n  actor selfplay --game connect4 --max-games 100      self-play only\n  actor serve                                         play the current model in the browser\n  actor perft --game othello --depth 6\n  actor arena --game tictactoe --a latest --b random --games 100 --sims 100\n  actor tournament --game connect4 --models data/models --baselines random,alphabeta:4\n  actor accuracy --game connect4 --model latest        solver error rates of the current model\n  actor games                                         the games and their defaults\n\nONNX Runtime is loaded from --ort-lib, $ORT_DYLIB_PATH, or .venv/lib/python3*/site-packages/onnxruntime/capi/ (pip install onnxruntime)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Self-play and the HTTP server in one process (what ./start_training.sh runs).
    Run(RunArgs),
    /// Self-play only: writes games to DATA_DIR/replay.db, no HTTP server.
    Selfplay(RunArgs),
    /// HTTP server only; still loads and hot-reloads DATA_DIR/models/latest.onnx (best.onnx with --gating gated) for play.
    Serve(RunArgs),
    /// Count the leaf nodes of the game tree to a depth (move generator check and speed).
    Perft(PerftArgs),
    /// Play two players against each other (alternating colours, optional balanced openings): W/D/L, Elo difference with its interval, p-value.
    Arena(crate::eval::commands::ArenaArgs),
    /// Round robin among the snapshots of a folder and baselines: cross-table and maximum-likelihood ratings.
    Tournament(crate::eval::commands::TournamentArgs),
    /// Measure a model's raw ONNX Runtime speed, then self-play with it, and compare; with `--precision auto` (the default) also its `.int8.onnx` file beside it, side by side.
    Bench(crate::bench::BenchArgs),
    /// Error rates of a model against perfect play (TicTacToe: all positions; Connect4: the solver-labelled sets), raw network and full search.
    Accuracy(crate::eval::commands::AccuracyArgs),
    /// Play the bot in the terminal (moves typed on stdin, so it can be piped).
    Play(crate::play::PlayArgs),
    /// List the games and the defaults of their profiles (games/<name>/profile.toml).
    Games,
}

#[derive(Args, Debug)]
pub struct PerftArgs {
    /// Game: tictactoe, connect4, othello.
    #[arg(long, default_value = "tictactoe")]
    pub game: String,
    /// Plies to enumerate from the initial position.
    #[arg(long)]
    pub depth: usize,
}

/// Sets up logging, loads ONNX Runtime if the command needs it (before any thread
/// starts), and runs the command.
pub fn main_entry() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        // Colours only on a terminal: start_training.sh pipes the log through a prefixer.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli.command {
        Command::Run(a) => run_actor(&a, true, true),
        Command::Selfplay(a) => run_actor(&a, true, false),
        Command::Serve(a) => run_actor(&a, false, true),
        Command::Perft(a) => perft_cmd(&a),
        Command::Arena(a) => crate::eval::commands::arena_cmd(&a),
        Command::Tournament(a) => crate::eval::commands::tournament_cmd(&a),
        Command::Accuracy(a) => crate::eval::commands::accuracy_cmd(&a),
        Command::Bench(a) => crate::bench::run(&a),
        Command::Play(a) => crate::play::play_cmd(&a),
        Command::Games => {
            print!("{}", games_table());
            Ok(())
        }
    }
}

/// The games of this build with the defaults their profiles give (what `actor games`
/// prints).
pub fn games_table() -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:>7} {:>9} {:>10} {:>6} {:>7} {:>7} {:>8} {:>9}  {:<14} baselines",
        "game", "actions", "selfplay", "play sims", "alpha", "temp", "random", "threads", "bootstrap", "benchmark"
    );
    for &k in GameKind::ALL {
        let p = crate::profile::profile(k);
        let s = &p.selfplay;
        let bench = if p.eval.benchmark.is_empty() { "none" } else { p.eval.benchmark.as_str() };
        let _ = writeln!(
            out,
            "{:<10} {:>7} {:>9} {:>10} {:>6.2} {:>7} {:>7} {:>8} {:>9}  {:<14} {}",
            k.name(),
            k.spec().num_actions,
            s.simulations,
            p.play.simulations,
            s.dirichlet_alpha(),
            s.temperature_moves,
            s.random_opening_plies,
            s.threads,
            s.bootstrap_positions,
            bench,
            p.eval.baselines.join(",")
        );
    }
    out.push_str("\nselfplay/play sims: search simulations per move; alpha: root Dirichlet noise; temp: plies sampled at\ntemperature 1; random: most random opening plies; bootstrap: positions before waiting for the first model.\nEvery value is a flag of `actor run` too; the profiles say why each default was chosen.\n");
    out
}

fn run_actor(args: &RunArgs, selfplay_on: bool, server_on: bool) -> Result<()> {
    let cfg: ActorConfig = args.validate().context("invalid arguments")?;
    if !cfg.no_model {
        let path = cfg.onnx.init().context("ONNX Runtime is needed to play with models")?;
        tracing::info!("ONNX Runtime loaded from {}", path.display());
    }
    let spec = cfg.game.spec();
    // Another game's folder is refused before anything is created in it. Self-play
    // opens the database for writing (which checks its game, and leaves no -wal/-shm
    // behind when it refuses); the server alone only reads it.
    std::fs::create_dir_all(&cfg.data_dir).with_context(|| format!("creating {}", cfg.data_dir.display()))?;
    let db = cfg.data_dir.join("replay.db");
    let mut replay = None;
    if selfplay_on {
        replay = Some(Store::open(&db, spec).with_context(|| format!("opening {}", db.display()))?);
    } else {
        store::check_existing(&db, spec).with_context(|| format!("checking {}", db.display()))?;
    }
    let models_dir = cfg.data_dir.join("models");
    std::fs::create_dir_all(&models_dir).with_context(|| format!("creating {}", models_dir.display()))?;
    tracing::info!(game = spec.name, data_dir = %cfg.data_dir.display(), "actor starting: {cfg:?}");
    let telemetry = Arc::new(Telemetry::new(spec.name));
    let stop = Arc::new(AtomicBool::new(false));

    // Self-play: writer thread + workers.
    let mut workers = Vec::new();
    let mut writer = None;
    if let Some(replay) = replay {
        let (tx, rx) = crossbeam_channel::bounded(1024);
        writer = Some(store::spawn_writer_until(replay, rx, telemetry.clone(), stop.clone()));
        let search = &cfg.selfplay.search;
        telemetry.self_play_started(SelfPlaySearch {
            search: search.algorithm.label(),
            simulations: search.params.simulations,
            leaves_per_game: search.params.leaves_per_game,
        });
        for i in 0..cfg.threads {
            let mut sp = cfg.selfplay.clone();
            sp.seed = sp.seed.wrapping_add(i as u64 * 0x9E37_79B9);
            let source = if cfg.no_model {
                ModelSource::Uniform
            } else {
                // Gated: self-play plays the model that won its way in (the evaluator promotes).
                let w = ModelWatcher::new(&models_dir, spec, sp.intra_threads, sp.model_poll)
                    .with_device(cfg.onnx.device)
                    .with_tuning(cfg.onnx.session().tuning)
                    .with_precision(cfg.precision)
                    .watching(cfg.gating.played_model());
                ModelSource::Watch(w)
            };
            let (tx, t, stop, kind) = (tx.clone(), telemetry.clone(), stop.clone(), cfg.game);
            workers.push(
                std::thread::Builder::new()
                    .name(format!("selfplay-{i}"))
                    .spawn(move || with_game!(kind, G => selfplay::run_worker::<G>(i, &sp, source, tx, t, stop)))
                    .context("spawning a self-play thread")?,
            );
        }
        // The workers hold the remaining senders; the writer ends when they are gone.
        drop(tx);
        let (t, stop, every) = (telemetry.clone(), stop.clone(), cfg.log_interval);
        std::thread::Builder::new().name("telemetry".into()).spawn(move || log_loop(&t, &stop, every))?;
    }

    // Background evaluation of new snapshots (`actor run` only).
    let evaluation: crate::eval::evaluator::SharedSummary = Default::default();
    let mut evaluator = None;
    match (&cfg.eval, selfplay_on && server_on && !cfg.no_model) {
        (Some(e), true) => {
            evaluator = Some(
                crate::eval::evaluator::spawn_evaluator(
                    cfg.game,
                    cfg.data_dir.clone(),
                    e.clone(),
                    telemetry.clone(),
                    evaluation.clone(),
                    stop.clone(),
                )
                .context("spawning the evaluator")?,
            );
        }
        _ if server_on => {
            // No evaluator here: serve what an earlier `actor run` stored.
            *evaluation.lock().unwrap_or_else(|p| p.into_inner()) =
                crate::eval::evaluator::summary_of(&cfg.data_dir, cfg.game, cfg.gating);
        }
        _ => {}
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let workers_done = Arc::new(tokio::sync::Notify::new());
    {
        // Wakes the main loop when every worker has returned (e.g. --max-games reached).
        let n = workers_done.clone();
        let handles = std::mem::take(&mut workers);
        let joiner = std::thread::spawn(move || {
            let results: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
            n.notify_one();
            results
        });
        let result: Result<()> = rt.block_on(async {
            let wd = workers_done.clone();
            let shutdown = async move {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; stopping"),
                    _ = term.recv() => tracing::info!("terminated; stopping"),
                    _ = wd.notified(), if selfplay_on => tracing::info!("self-play finished"),
                }
            };
            if server_on {
                // The same file as self-play: `cfg.server.model_file` follows `--gating`.
                let model = (!cfg.no_model).then(|| cfg.server.model_watcher());
                let mut state = AppState::new(cfg.server.clone(), telemetry.clone(), model);
                state.evaluation = evaluation.clone();
                let listener = tokio::net::TcpListener::bind(cfg.addr)
                    .await
                    .with_context(|| format!("cannot listen on {} (is another actor running? use --port)", cfg.addr))?;
                tracing::info!("serving http://{} (web app from {})", cfg.addr, cfg.server.web_dir.display());
                server::serve(state, listener, shutdown).await.context("HTTP server")?;
            } else {
                shutdown.await;
            }
            Ok(())
        });
        stop.store(true, Ordering::Relaxed);
        let results = joiner.join().map_err(|_| anyhow::anyhow!("worker joiner panicked"))?;
        if let Some(w) = writer {
            w.join().map_err(|_| anyhow::anyhow!("the replay writer panicked"))?;
        }
        if let Some(e) = evaluator {
            e.join().map_err(|_| anyhow::anyhow!("the evaluator panicked"))?;
        }
        result?;
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => bail!("self-play worker {i} failed: {e}"),
                Err(_) => bail!("self-play worker {i} panicked"),
            }
        }
    }
    let s = telemetry.snapshot();
    tracing::info!(games = s.games_played, positions = s.positions, "actor stopped");
    Ok(())
}

fn log_loop(t: &Telemetry, stop: &AtomicBool, every: Duration) {
    let mut last = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
        if last.elapsed() < every {
            continue;
        }
        last = Instant::now();
        let s = t.snapshot();
        tracing::info!(
            "games {} ({:.1}/min), positions {} ({:.0}/min), sims/s {:.0}, evals/s {:.0}, batch fill {:.2} (mean {:.1}), inference {:.0}% (select {:.0}%, complete {:.0}%, paced {:.0}% of wall), model {}",
            s.games_played,
            s.games_per_min,
            s.positions,
            s.positions_per_min,
            s.simulations_per_s,
            s.nn_evals_per_s,
            s.mean_batch_fill,
            s.mean_batch_size,
            s.inference_share * 100.0,
            s.time_split.select * 100.0,
            s.time_split.complete * 100.0,
            s.time_split.paced * 100.0,
            s.model_version.map_or("none (uniform)".to_string(), |v| v.to_string()),
        );
    }
}

fn perft_cmd(a: &PerftArgs) -> Result<()> {
    let kind = GameKind::from_name(&a.game)?;
    if a.depth > 64 {
        bail!("--depth {} is absurd; perft grows exponentially (try 1..10)", a.depth);
    }
    with_game!(kind, G => {
        let t = Instant::now();
        let n = engine_core::perft::perft(&G::initial(), a.depth);
        let secs = t.elapsed().as_secs_f64();
        println!("perft {} depth {}: {} leaves in {:.3} s ({:.0} nodes/s)", kind, a.depth, n, secs, n as f64 / secs.max(1e-9));
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_games_table_has_a_row_per_game_with_its_profile() {
        let t = super::games_table();
        for &k in engine_core::GameKind::ALL {
            let row = t.lines().find(|l| l.starts_with(k.name())).unwrap_or_else(|| panic!("no row for {k}: {t}"));
            let p = crate::profile::profile(k);
            assert!(row.contains(&p.eval.baselines.join(",")), "{row}");
        }
        assert!(t.lines().any(|l| l.starts_with("connect4") && l.contains("positions.json")), "{t}");
    }
}
