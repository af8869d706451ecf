//! The `actor` command line: `run`, `selfplay`, `serve`, `perft`, `arena`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use engine_core::{with_game, Game, GameKind};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::{ActorConfig, RunArgs};
use crate::mcts::{apply_temperature, game_defaults, run_search, sample_index, RolloutEvaluator, SearchParams};
use crate::nn::{self, ModelWatcher, NnEvaluator, NnModel};
use crate::selfplay::{self, ModelSource, Telemetry};
use crate::server::{self, AppState};
use crate::store::{self, Store};

#[derive(Parser, Debug)]
#[command(
    name = "actor",
    version,
    about = "Cartridge actor: AlphaZero-style self-play (batched MCTS + ONNX Runtime), the replay.db writer, and the HTTP server for the web app",
    after_help = "Examples:\n  actor run --game tictactoe --data-dir data          self-play + server on 127.0.0.1:8080\n  actor selfplay --game connect4 --max-games 100      self-play only\n  actor serve                                         play the current model in the browser\n  actor perft --game othello --depth 6\n  actor arena --game tictactoe --a latest --b random --games 100 --sims 100\n\nONNX Runtime is loaded from --ort-lib, $ORT_DYLIB_PATH, or .venv/lib/python3*/site-packages/onnxruntime/capi/ (pip install onnxruntime)."
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
    /// HTTP server only; still loads and hot-reloads DATA_DIR/models/latest.onnx for play.
    Serve(RunArgs),
    /// Count the leaf nodes of the game tree to a depth (move generator check and speed).
    Perft(PerftArgs),
    /// Play two agents against each other, alternating who moves first.
    Arena(ArenaArgs),
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

#[derive(Args, Debug)]
pub struct ArenaArgs {
    /// Game: tictactoe, connect4, othello.
    #[arg(long, default_value = "tictactoe")]
    pub game: String,
    /// Data folder, for `latest`.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Agent A: a model file, `latest` (DATA_DIR/models/latest.onnx), `random`, or `mcts` (search with random playouts, no network).
    #[arg(long)]
    pub a: String,
    /// Agent B, same choices as --a.
    #[arg(long)]
    pub b: String,
    /// Games to play; A moves first in the even-numbered ones.
    #[arg(long, default_value_t = 20)]
    pub games: u32,
    /// Simulations per move for searching agents [default: the game's play default].
    #[arg(long)]
    pub sims: Option<u32>,
    /// Opening plies sampled in proportion to the search policy, so games differ [default: per game].
    #[arg(long)]
    pub random_plies: Option<u32>,
    /// PUCT exploration constant.
    #[arg(long, default_value_t = 1.5)]
    pub c_puct: f32,
    /// Random playouts per leaf for `mcts`.
    #[arg(long, default_value_t = 1)]
    pub rollouts: usize,
    /// libonnxruntime.so.1.x to load.
    #[arg(long)]
    pub ort_lib: Option<PathBuf>,
    /// ONNX Runtime intra-op threads per model.
    #[arg(long, default_value_t = 1)]
    pub intra_threads: usize,
    /// Seed for opening sampling and random agents (default: from the OS).
    #[arg(long)]
    pub seed: Option<u64>,
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
        Command::Arena(a) => arena_cmd(&a),
    }
}

fn init_ort(explicit: Option<&Path>) -> Result<()> {
    let path = nn::init_runtime(explicit).context("ONNX Runtime is needed to play with models")?;
    tracing::info!("ONNX Runtime loaded from {}", path.display());
    Ok(())
}

fn run_actor(args: &RunArgs, selfplay_on: bool, server_on: bool) -> Result<()> {
    let cfg: ActorConfig = args.validate().context("invalid arguments")?;
    if !cfg.no_model {
        init_ort(cfg.ort_lib.as_deref())?;
    }
    let spec = cfg.game.spec();
    let models_dir = cfg.data_dir.join("models");
    std::fs::create_dir_all(&models_dir).with_context(|| format!("creating {}", models_dir.display()))?;
    tracing::info!(game = spec.name, data_dir = %cfg.data_dir.display(), "actor starting: {cfg:?}");
    let telemetry = Arc::new(Telemetry::new(spec.name));
    let stop = Arc::new(AtomicBool::new(false));

    // Self-play: writer thread + workers.
    let mut workers = Vec::new();
    let mut writer = None;
    if !selfplay_on {
        let db = cfg.data_dir.join("replay.db");
        store::check_existing(&db, spec).with_context(|| format!("checking {}", db.display()))?;
    }
    if selfplay_on {
        let db = cfg.data_dir.join("replay.db");
        let store = Store::open(&db, spec).with_context(|| format!("opening {}", db.display()))?;
        let (tx, rx) = crossbeam_channel::bounded(1024);
        writer = Some(store::spawn_writer(store, rx, telemetry.clone()));
        for i in 0..cfg.threads {
            let mut sp = cfg.selfplay.clone();
            sp.seed = sp.seed.wrapping_add(i as u64 * 0x9E37_79B9);
            let source = if cfg.no_model {
                ModelSource::Uniform
            } else {
                ModelSource::Watch(ModelWatcher::new(&models_dir, spec, sp.intra_threads, sp.model_poll))
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
                let model =
                    (!cfg.no_model).then(|| ModelWatcher::new(&models_dir, spec, 1, Duration::from_millis(500)));
                let state = AppState::new(cfg.server.clone(), telemetry.clone(), model);
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
            "games {} ({:.1}/min), positions {}, sims/s {:.0}, evals/s {:.0}, batch fill {:.2} (mean {:.1}), inference {:.0}%, model {}",
            s.games_played,
            s.games_per_min,
            s.positions,
            s.simulations_per_s,
            s.nn_evals_per_s,
            s.mean_batch_fill,
            s.mean_batch_size,
            s.inference_share * 100.0,
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

/// An arena player.
enum Agent {
    Random,
    Mcts,
    Model(Arc<NnModel>),
}

impl Agent {
    fn parse(
        text: &str,
        data_dir: &Path,
        kind: GameKind,
        intra: usize,
        ort_lib: Option<&Path>,
    ) -> Result<(Agent, String)> {
        let path = match text {
            "random" => return Ok((Agent::Random, "random".into())),
            "mcts" => return Ok((Agent::Mcts, "mcts (random playouts)".into())),
            "latest" => data_dir.join("models/latest.onnx"),
            p => PathBuf::from(p),
        };
        if !path.is_file() {
            bail!(
                "agent {text:?}: {} does not exist (agents are a model file, latest, random or mcts)",
                path.display()
            );
        }
        init_ort(ort_lib)?;
        let m = NnModel::load(&path, kind.spec(), intra).with_context(|| format!("agent {text:?}"))?;
        let name = format!("{} (step {})", path.display(), m.info.step);
        Ok((Agent::Model(Arc::new(m)), name))
    }
}

fn arena_cmd(a: &ArenaArgs) -> Result<()> {
    let kind = GameKind::from_name(&a.game)?;
    if a.games == 0 {
        bail!("--games must be at least 1");
    }
    let d = game_defaults(kind.spec());
    let sims = a.sims.unwrap_or(d.play_simulations);
    if sims == 0 || sims > 1_000_000 {
        bail!("--sims must be between 1 and 1000000, got {sims}");
    }
    let (agent_a, name_a) = Agent::parse(&a.a, &a.data_dir, kind, a.intra_threads, a.ort_lib.as_deref())?;
    let (agent_b, name_b) = Agent::parse(&a.b, &a.data_dir, kind, a.intra_threads, a.ort_lib.as_deref())?;
    let params = SearchParams {
        simulations: sims,
        c_puct: a.c_puct,
        dirichlet_alpha: 1.0,
        dirichlet_epsilon: 0.0,
        fpu_reduction: 0.0,
        leaves_per_game: 8,
    };
    let random_plies = a.random_plies.unwrap_or(d.temperature_moves);
    let mut rng = StdRng::seed_from_u64(a.seed.unwrap_or_else(rand::random));
    println!(
        "arena {kind}: A = {name_a}, B = {name_b}, {} games, {sims} simulations, {random_plies} sampled opening plies",
        a.games
    );
    let (mut w, mut dr, mut l) = (0u32, 0u32, 0u32);
    let t = Instant::now();
    for i in 0..a.games {
        let a_first = i % 2 == 0;
        let first_player_won = with_game!(kind, G => play_arena_game::<G>(&agent_a, &agent_b, a_first, &params, random_plies, a.rollouts, &mut rng))?;
        match first_player_won {
            0 => dr += 1,
            r if (r == 1) == a_first => w += 1,
            _ => l += 1,
        }
    }
    let n = a.games as f64;
    let score = (w as f64 + 0.5 * dr as f64) / n;
    let elo = if score > 0.0 && score < 1.0 {
        // + 0.0 turns an even score's -0 into 0.
        format!("{:+.0}", -400.0 * (1.0 / score - 1.0).log10() + 0.0)
    } else {
        "unbounded".into()
    };
    println!(
        "A: {w} wins, {dr} draws, {l} losses; score {score:.3} (Elo difference {elo}) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Plays one game; returns +1/-1/0 from the first player's side.
fn play_arena_game<G: Game>(
    a: &Agent,
    b: &Agent,
    a_first: bool,
    params: &SearchParams,
    random_plies: u32,
    rollouts: usize,
    rng: &mut StdRng,
) -> Result<i8> {
    let mut g = G::initial();
    while g.outcome().is_none() {
        let first_to_move = g.to_move() == engine_core::Player::First;
        let agent = if first_to_move == a_first { a } else { b };
        let legal = g.legal_actions();
        let action = match agent {
            Agent::Random => legal[rng.random_range(0..legal.len())],
            Agent::Mcts | Agent::Model(_) => {
                let r = match agent {
                    Agent::Model(m) => run_search(&g, params, false, &mut NnEvaluator(m.clone()), rng)?,
                    _ => {
                        let mut p = params.clone();
                        p.leaves_per_game = 1;
                        let mut ev = RolloutEvaluator { rollouts, rng: StdRng::seed_from_u64(rng.random()) };
                        run_search(&g, &p, false, &mut ev, rng)?
                    }
                };
                let temp = if (g.ply() as u32) < random_plies { 1.0 } else { 0.0 };
                sample_index(&apply_temperature(&r.policy, temp), rng) as u16
            }
        };
        g.apply_unchecked(action);
    }
    Ok(g.outcome().expect("loop ends at the end").as_i8())
}
