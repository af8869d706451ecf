//! The `arena`, `tournament` and `accuracy` subcommands.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use engine_core::{with_game, Game, GameKind};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::eval::accuracy::{benchmark, evaluate, Mode};
use crate::eval::arena::{play_match, tally, Contestant, MatchConfig};
use crate::eval::elo::{fit_ratings, summarize_match, FitOptions, PairResult};
use crate::eval::evaluator::snapshot_step;
use crate::eval::players::PlayerSpec;
use crate::nn::{NnModel, OnnxArgs};
use crate::profile::profile;
use crate::search::{Algorithm, SearchArgs, SearchConfig, SearchParams, SEARCH_NAMES};

#[derive(Args, Debug)]
pub struct ArenaArgs {
    /// Game (`actor games` lists them).
    #[arg(long, default_value = "tictactoe")]
    pub game: String,
    /// Data folder, for `latest` and `best`.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Player A: a model file, `latest` (DATA_DIR/models/latest.onnx), `best`, `random`, `mcts` (random-playout search with --sims), `mcts:R` (R simulations) or `alphabeta:D` (connect4, othello). A model may name its own search after a colon, with that search's default settings: `latest:ttts`, `best:gumbel`, `latest:puct+solver` (otherwise it plays --search).
    #[arg(long)]
    pub a: String,
    /// Player B, same choices as --a.
    #[arg(long)]
    pub b: String,
    /// Games to play; A moves first in half of them.
    #[arg(long, default_value_t = 20)]
    pub games: u32,
    /// Simulations per move for the networks (and plain `mcts`) [default: the game's play default].
    #[arg(long)]
    pub sims: Option<u32>,
    /// Balanced random openings: each game starts after K uniformly random plies, and each opening is played twice with the colours swapped.
    #[arg(long, default_value_t = 0)]
    pub openings: u32,
    /// Plies in which searching players sample their move from the visit shares, so games differ [default: per game without --openings, 0 with].
    #[arg(long)]
    pub random_plies: Option<u32>,
    /// Games played at once (their network leaves share one batch).
    #[arg(long, default_value_t = 32)]
    pub parallel: usize,
    /// Seed for openings, sampling and random players (default: from the OS).
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub search: SearchArgs,
    #[command(flatten)]
    pub onnx: OnnxArgs,
}

#[derive(Args, Debug)]
pub struct TournamentArgs {
    /// Game (`actor games` lists them).
    #[arg(long, default_value = "tictactoe")]
    pub game: String,
    /// Folder of snapshots (`model_step_*.onnx`); every one plays.
    #[arg(long)]
    pub models: PathBuf,
    /// Games of each pair of players.
    #[arg(long, default_value_t = 20)]
    pub games_per_pair: u32,
    /// Players to include besides the snapshots, comma-separated: random, mcts:R, alphabeta:D, or a model with its own search such as best:gumbel.
    #[arg(long, default_value = "random")]
    pub baselines: String,
    /// Simulations per move for the networks [default: the game's play default].
    #[arg(long)]
    pub sims: Option<u32>,
    /// Random plies of each opening (each played with both colours) [default: per game, tictactoe 2, others 4].
    #[arg(long)]
    pub openings: Option<u32>,
    /// Games played at once.
    #[arg(long, default_value_t = 32)]
    pub parallel: usize,
    /// Seed (default: from the OS).
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub search: SearchArgs,
    #[command(flatten)]
    pub onnx: OnnxArgs,
}

#[derive(Args, Debug)]
pub struct AccuracyArgs {
    /// Game: tictactoe (all 4520 decision positions) or connect4 (the solver-labelled sets).
    #[arg(long, default_value = "tictactoe")]
    pub game: String,
    /// Data folder, for `latest` and `best`.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// The model: a file, `latest` (DATA_DIR/models/latest.onnx) or `best`.
    #[arg(long, default_value = "latest")]
    pub model: String,
    /// Simulations of the full search [default: the game's play default].
    #[arg(long)]
    pub sims: Option<u32>,
    /// Positions of each set the full search is scored on (the raw network is always
    /// scored on all) [default: all].
    #[arg(long)]
    pub positions: Option<usize>,
    /// Seed for ties between equally visited moves (default: from the OS).
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub search: SearchArgs,
    #[command(flatten)]
    pub onnx: OnnxArgs,
}

/// `actor accuracy`: the error rates against perfect play that the background
/// evaluator records, for any model file, with the whole machine.
pub fn accuracy_cmd(a: &AccuracyArgs) -> Result<()> {
    let kind = GameKind::from_name(&a.game)?;
    with_game!(kind, G => accuracy::<G>(kind, a))
}

fn accuracy<G: Game>(kind: GameKind, a: &AccuracyArgs) -> Result<()> {
    let positions = benchmark::<G>();
    if positions.is_empty() {
        let with: Vec<&str> = GameKind::ALL
            .iter()
            .filter(|k| crate::profile::benchmark(**k) != crate::profile::BenchmarkSource::None)
            .map(|k| k.name())
            .collect();
        bail!("{kind} has no perfect-play benchmark ({} do)", with.join(" and "));
    }
    let sims = a.sims.unwrap_or(profile(kind).play.simulations);
    if sims == 0 || sims > 1_000_000 {
        bail!("--sims must be between 1 and 1000000, got {sims}");
    }
    let spec = PlayerSpec::parse(&a.model, &a.data_dir, kind.name(), sims)?;
    if !matches!(spec, PlayerSpec::Model(_)) {
        bail!("--model must be a model file, latest or best, got {:?}", a.model);
    }
    let player = contestant(spec, kind, &a.onnx)?;
    let model = player.model.expect("a model player has a model");
    let mut rng = StdRng::seed_from_u64(a.seed.unwrap_or_else(rand::random));
    let search = search_config(kind, sims, &a.search)?;
    println!(
        "accuracy {kind}: {} against perfect play; search: {} with {sims} simulations, the move it chooses",
        player.label,
        search.algorithm.label()
    );
    println!("{:<16} {:>7} {:>10} {:>7} {:>9}", "set", "mode", "positions", "errors", "error %");
    for (mode, per_phase) in [(Mode::Net, usize::MAX), (Mode::Search, a.positions.unwrap_or(usize::MAX))] {
        let t = Instant::now();
        let rows = evaluate(positions, per_phase, &model, mode, &search, &mut rng)?;
        for r in &rows {
            println!(
                "{:<16} {:>7} {:>10} {:>7} {:>8.1}%",
                r.phase,
                r.mode,
                r.positions,
                r.errors,
                100.0 * r.errors as f64 / r.positions.max(1) as f64
            );
        }
        tracing::info!("{} in {:.1} s", mode.name(), t.elapsed().as_secs_f64());
    }
    Ok(())
}

/// The search of the networks in a match or benchmark: the chosen algorithm, no
/// root noise, 8 leaves per game in flight.
fn search_config(kind: GameKind, sims: u32, args: &SearchArgs) -> Result<SearchConfig> {
    Ok(SearchConfig {
        algorithm: args.algorithm(profile(kind))?,
        params: SearchParams { simulations: sims, leaves_per_game: 8, root_noise: false },
    })
}

/// Splits a player's own search off its text: `latest:ttts` is `latest` searched
/// by TTTS. Only a known search name (optionally `+solver`) after the last colon
/// counts, so `mcts:200` and `alphabeta:4` stay whole.
pub fn split_search(text: &str) -> (&str, Option<&str>) {
    if let Some((player, search)) = text.trim().rsplit_once(':') {
        let name = search.trim().to_ascii_lowercase();
        if SEARCH_NAMES.contains(&name.strip_suffix("+solver").unwrap_or(&name)) {
            return (player, Some(search.trim()));
        }
    }
    (text, None)
}

/// Parses and loads a player (`latest`, `latest:ttts`, `mcts:200`, ...).
fn player(text: &str, data_dir: &std::path::Path, kind: GameKind, sims: u32, onnx: &OnnxArgs) -> Result<Contestant> {
    let (who, search) = split_search(text);
    let spec = PlayerSpec::parse(who, data_dir, kind.name(), sims)?;
    let mut c = contestant(spec, kind, onnx)?;
    if let Some(name) = search {
        if c.model.is_none() {
            bail!("player {text:?}: only a model player chooses its search ({who:?} has its own)");
        }
        let algorithm = Algorithm::parse_label(name, profile(kind)).with_context(|| format!("player {text:?}"))?;
        c.label = format!("{}/{}", c.label, algorithm.label());
        c.search = Some(algorithm);
    }
    Ok(c)
}

/// Loads a player; models need ONNX Runtime, loaded on first use.
fn contestant(spec: PlayerSpec, kind: GameKind, onnx: &OnnxArgs) -> Result<Contestant> {
    if let PlayerSpec::Model(path) = &spec {
        let onnx = onnx.validate()?;
        let lib = onnx.init().context("ONNX Runtime is needed to play with models")?;
        tracing::debug!("ONNX Runtime loaded from {}", lib.display());
        let m = NnModel::load_with(path, kind.spec(), onnx.session())
            .with_context(|| format!("player {}", path.display()))?;
        let label = spec.label(Some(m.info.step));
        return Ok(Contestant { spec, label, model: Some(Arc::new(m)), search: None });
    }
    Ok(Contestant { label: spec.label(None), spec, model: None, search: None })
}

fn fmt_elo(x: f64) -> String {
    if x.is_finite() {
        format!("{:+.0}", x)
    } else if x > 0.0 {
        "+inf".into()
    } else {
        "-inf".into()
    }
}

pub fn arena_cmd(a: &ArenaArgs) -> Result<()> {
    let kind = GameKind::from_name(&a.game)?;
    if a.games == 0 {
        bail!("--games must be at least 1");
    }
    let d = profile(kind);
    let sims = a.sims.unwrap_or(d.play.simulations);
    if sims == 0 || sims > 1_000_000 {
        bail!("--sims must be between 1 and 1000000, got {sims}");
    }
    let search = search_config(kind, sims, &a.search)?;
    let pa = player(&a.a, &a.data_dir, kind, sims, &a.onnx)?;
    let pb = player(&a.b, &a.data_dir, kind, sims, &a.onnx)?;
    let sample_plies = a.random_plies.unwrap_or(if a.openings > 0 { 0 } else { d.selfplay.temperature_moves });
    let cfg = MatchConfig {
        games: a.games,
        opening_plies: a.openings,
        sample_plies,
        search,
        parallel: a.parallel.max(1),
        seed: a.seed.unwrap_or_else(rand::random),
    };
    println!(
        "arena {kind}: A = {}, B = {}, {} games, {} with {sims} simulations, {} random opening plies, {sample_plies} sampled plies",
        pa.label,
        pb.label,
        a.games,
        cfg.search.algorithm.label(),
        a.openings
    );
    let t = Instant::now();
    let records = with_game!(kind, G => play_match::<G>(&pa, &pb, &cfg, &mut |_| true))?;
    let (w, dr, l) = tally(&records);
    let m = summarize_match(w, dr, l);
    println!(
        "A: {w} wins, {dr} draws, {l} losses; score {:.3}, Elo difference {} (95% interval {} to {}), p = {} against equal strength, in {:.1} s",
        m.score,
        fmt_elo(m.elo),
        fmt_elo(m.elo_lo),
        fmt_elo(m.elo_hi),
        if m.p_value < 1e-3 { format!("{:.1e}", m.p_value) } else { format!("{:.3}", m.p_value) },
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn tournament_cmd(a: &TournamentArgs) -> Result<()> {
    let kind = GameKind::from_name(&a.game)?;
    with_game!(kind, G => tournament::<G>(kind, a))
}

fn tournament<G: Game>(kind: GameKind, a: &TournamentArgs) -> Result<()> {
    if a.games_per_pair == 0 {
        bail!("--games-per-pair must be at least 1");
    }
    let sims = a.sims.unwrap_or(profile(kind).play.simulations);
    let search = search_config(kind, sims, &a.search)?;
    let mut snaps: Vec<(i64, PathBuf)> = std::fs::read_dir(&a.models)
        .with_context(|| format!("reading {}", a.models.display()))?
        .flatten()
        .filter_map(|e| snapshot_step(&e.file_name().to_string_lossy()).map(|s| (s, e.path())))
        .collect();
    snaps.sort();
    let mut players: Vec<Contestant> = Vec::new();
    for t in a.baselines.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        players.push(player(t, &a.models, kind, sims, &a.onnx)?);
    }
    for (_, p) in &snaps {
        players.push(contestant(PlayerSpec::Model(p.clone()), kind, &a.onnx)?);
    }
    if players.len() < 2 {
        bail!(
            "a tournament needs two players: found {} snapshots in {} and {} baselines",
            snaps.len(),
            a.models.display(),
            players.len() - snaps.len()
        );
    }
    let n = players.len();
    println!("tournament {kind}: {n} players, {} games per pair, {sims} simulations", a.games_per_pair);
    let mut rng = StdRng::seed_from_u64(a.seed.unwrap_or_else(rand::random));
    let opening_plies = a.openings.unwrap_or(profile(kind).eval.opening_plies);
    // score[i][j]: i's total score against j.
    let mut score = vec![vec![0.0f64; n]; n];
    let mut games = vec![vec![0u32; n]; n];
    let mut results = Vec::new();
    let t = Instant::now();
    for i in 0..n {
        for j in i + 1..n {
            let cfg = MatchConfig {
                games: a.games_per_pair,
                opening_plies,
                sample_plies: 0,
                search: search.clone(),
                parallel: a.parallel.max(1),
                seed: rng.random(),
            };
            let recs = play_match::<G>(&players[i], &players[j], &cfg, &mut |_| true)?;
            let s: f64 = recs.iter().map(|r| r.score_a).sum();
            score[i][j] += s;
            score[j][i] += recs.len() as f64 - s;
            games[i][j] += recs.len() as u32;
            games[j][i] += recs.len() as u32;
            results.push(PairResult { a: i, b: j, games: recs.len() as f64, score_a: s });
            let (w, dr, l) = tally(&recs);
            eprintln!("{} vs {}: {w}-{dr}-{l}", players[i].label, players[j].label);
        }
    }
    // Cross-table: row player's score against the column player.
    let width = players.iter().map(|p| p.label.len()).max().unwrap_or(6).max(6);
    print!("{:width$}", "");
    for k in 0..n {
        print!(" {:>6}", format!("#{}", k + 1));
    }
    println!("  total");
    for i in 0..n {
        print!("{:width$}", players[i].label);
        let (mut tot, mut g) = (0.0, 0);
        for j in 0..n {
            if i == j {
                print!(" {:>6}", "-");
            } else {
                print!(" {:>6}", format!("{:.1}", score[i][j]));
                tot += score[i][j];
                g += games[i][j];
            }
        }
        println!("  {tot:.1}/{g}");
    }
    let anchor = players.iter().position(|p| p.spec == PlayerSpec::Random).unwrap_or(0);
    let ratings = fit_ratings(n, &results, &FitOptions { anchor, prior_draws: 1.0 });
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| ratings[y].elo.total_cmp(&ratings[x].elo));
    println!("\nratings (maximum likelihood, {} = 0, 95% intervals):", players[anchor].label);
    for (rank, &i) in order.iter().enumerate() {
        let r = &ratings[i];
        println!(
            "{:>3}. #{:<3} {:width$} {:>6.0}  [{:>6.0}, {:>6.0}]  {} games",
            rank + 1,
            i + 1,
            players[i].label,
            r.elo,
            r.elo_lo,
            r.elo_hi,
            r.games
        );
    }
    println!("{} games in {:.1} s", results.iter().map(|r| r.games).sum::<f64>(), t.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_player_names_its_search_after_a_colon() {
        assert_eq!(split_search("latest:ttts"), ("latest", Some("ttts")));
        assert_eq!(split_search("best:puct+solver"), ("best", Some("puct+solver")));
        assert_eq!(split_search("runs/a:b/model.onnx:Gumbel"), ("runs/a:b/model.onnx", Some("Gumbel")));
        // Baselines keep their own colon.
        assert_eq!(split_search("mcts:200"), ("mcts:200", None));
        assert_eq!(split_search("alphabeta:4"), ("alphabeta:4", None));
        assert_eq!(split_search("latest"), ("latest", None));
    }

    #[test]
    fn only_a_model_chooses_its_search() {
        let dir = tempfile::tempdir().unwrap();
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            onnx: OnnxArgs,
        }
        let onnx = <Cli as clap::Parser>::try_parse_from(["x"]).unwrap().onnx;
        let e = player("random:puct", dir.path(), GameKind::TicTacToe, 8, &onnx).unwrap_err().to_string();
        assert!(e.contains("only a model player"), "{e}");
    }
}
