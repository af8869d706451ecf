//! Raw command-line arguments ([`RunArgs`], clap) → a validated [`ActorConfig`].
//! Per-game defaults come from the game's profile ([`crate::profile`]).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use engine_core::GameKind;

pub use crate::flags::{check, ConfigError};
use crate::nn::{OnnxArgs, Precision};
use crate::profile::profile;
use crate::search::{SearchArgs, SearchConfig, SearchParams};
use crate::selfplay::SelfPlayConfig;
use crate::server::ServerConfig;

/// Flags shared by `run`, `selfplay` and `serve`. Knobs left out take the game's
/// defaults from its profile (`games/<name>/profile.toml`; `actor games` lists them).
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Data folder: replay.db, models/, stats.json (one folder = one game).
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Game to train (`actor games` lists them).
    #[arg(long, default_value = "tictactoe")]
    pub game: String,
    /// Address the HTTP server listens on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port the HTTP server listens on.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The built web app to serve.
    #[arg(long, default_value = "web/dist")]
    pub web_dir: PathBuf,
    /// The trainer's control API, proxied under /api/trainer/.
    #[arg(long, default_value = "http://127.0.0.1:8081")]
    pub trainer_url: String,
    /// Self-play worker threads [default: the game's profile].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Games each worker keeps in flight (their leaves share one network batch).
    #[arg(long, default_value_t = 64)]
    pub games_in_flight: usize,
    /// Most leaves one game may have waiting for the network at once (virtual loss).
    #[arg(long, default_value_t = 4)]
    pub leaves_per_game: u32,
    /// Search simulations per self-play move [default: the game's profile].
    #[arg(long)]
    pub simulations: Option<u32>,
    /// Move-sampling temperature for the opening plies.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f32,
    /// Plies played at --temperature [default: the game's profile].
    #[arg(long)]
    pub temperature_moves: Option<u32>,
    /// Temperature after the opening (0 = always the search's choice: the most visited move for PUCT).
    #[arg(long, default_value_t = 0.0)]
    pub final_temperature: f32,
    /// Each self-play game starts with 0 to N uniformly random moves (not searched, not
    /// stored as training positions), so the data also holds positions that strong
    /// play never reaches [default: the game's profile].
    #[arg(long)]
    pub random_opening_plies: Option<u32>,
    /// Stop self-play after this many games (default: run until stopped).
    #[arg(long)]
    pub max_games: Option<u64>,
    /// Seed for noise and move sampling (default: from the OS).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Cap on self-play positions per second over all workers, so self-play leaves CPU
    /// to the trainer on a small machine (0 = as fast as it goes) [default: the game's
    /// profile].
    #[arg(long)]
    pub max_positions_per_s: Option<f64>,
    /// Positions self-play writes with uniform priors while the models folder has no
    /// model yet; then it waits for the trainer's first model (0 = never waits)
    /// [default: the game's profile].
    #[arg(long)]
    pub bootstrap_positions: Option<u64>,
    /// Keep the searched subtree of the played move for the next move (PUCT only):
    /// its visits count toward the next search (at most 3/4 of it) and need no new
    /// network evaluations; the new root gets fresh noise.
    #[arg(long)]
    pub reuse_tree: bool,
    /// Network answers each self-play worker keeps for positions met again
    /// (transpositions, the same subtree at the next move, common openings): two
    /// generations of this many; 0 turns the cache off. The search gets exactly the
    /// answers the network would give, so only the speed changes.
    #[arg(long, default_value_t = 65_536)]
    pub eval_cache: usize,
    /// Play with uniform priors only, never loading a model (no ONNX Runtime needed).
    #[arg(long)]
    pub no_model: bool,
    /// How often to check models/latest.onnx for a new version, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub model_poll_ms: u64,
    /// Seconds between telemetry log lines.
    #[arg(long, default_value_t = 10)]
    pub log_interval: u64,
    /// Largest `simulations` a /api/move request may ask for.
    #[arg(long, default_value_t = 5000)]
    pub max_simulations: u32,
    /// Share of one core for evaluating new snapshots in the background (`actor run`
    /// only; 0 turns evaluation off).
    #[arg(long, default_value_t = 0.15)]
    pub eval_share: f64,
    /// Evaluation games of each new snapshot against each opponent.
    #[arg(long, default_value_t = 20)]
    pub eval_games: u32,
    /// Simulations per move of the network in evaluation games and in the accuracy
    /// search [default: the game's play strength, from its profile].
    #[arg(long)]
    pub eval_sims: Option<u32>,
    /// Fixed opponents of each new snapshot, comma-separated: random, mcts:R,
    /// alphabeta:D [default: the game's profile].
    #[arg(long)]
    pub eval_baselines: Option<String>,
    /// Random plies of each evaluation opening, played with both colours [default: the
    /// game's profile].
    #[arg(long)]
    pub eval_openings: Option<u32>,
    /// Benchmark positions per set searched for the accuracy of the full search (the
    /// raw network is scored on all of them) [default: the game's profile].
    #[arg(long)]
    pub eval_accuracy_positions: Option<usize>,
    /// continuous: self-play plays models/latest.onnx; gated: self-play plays
    /// models/best.onnx, which a new snapshot replaces only by beating it.
    #[arg(long, default_value = "continuous", value_parser = ["continuous", "gated"])]
    pub gating: String,
    /// Score (draws half) a snapshot must exceed against the best to replace it.
    #[arg(long, default_value_t = 0.55)]
    pub gate_threshold: f64,
    /// Fewest games of a snapshot against the best before it can replace it.
    #[arg(long, default_value_t = 40)]
    pub gate_games: u32,
    /// Searches /api/move runs at once.
    #[arg(long, default_value_t = 2)]
    pub max_concurrent_searches: usize,
    /// Which published file self-play and play load: fp32 (`latest.onnx`), int8 (the
    /// trainer's checked `latest.int8.onnx` of the same step, else fp32 with a log
    /// line), or auto (int8 on the CPU, fp32 on CUDA).
    #[arg(long, default_value = "auto")]
    pub precision: Precision,
    /// Keep the search tree of each /api/move answer for the game's next request
    /// (same game, model, search and simulations): the visits below the moves played
    /// since are kept (at most 3/4 of the budget) instead of evaluated again.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub keep_trees: bool,
    #[command(flatten)]
    pub search: SearchArgs,
    #[command(flatten)]
    pub onnx: OnnxArgs,
}

/// The validated settings of one actor process.
#[derive(Clone, Debug)]
pub struct ActorConfig {
    /// The game of this data folder.
    pub game: GameKind,
    /// Data folder (replay.db, models/, stats.json).
    pub data_dir: PathBuf,
    /// Where the HTTP server listens.
    pub addr: SocketAddr,
    /// `--ort-lib`, `--intra-threads`, `--device`.
    pub onnx: OnnxArgs,
    /// `--precision`: the file of the model self-play loads.
    pub precision: Precision,
    /// Self-play worker threads.
    pub threads: usize,
    /// Per-worker self-play settings (the seed is offset per worker).
    pub selfplay: SelfPlayConfig,
    /// Never load a model (uniform priors).
    pub no_model: bool,
    /// Seconds between telemetry log lines.
    pub log_interval: Duration,
    /// Which model self-play plays (latest or best).
    pub gating: crate::eval::evaluator::GatingMode,
    /// Background evaluation of `actor run`; `None` when `--eval-share 0`.
    pub eval: Option<crate::eval::evaluator::EvalConfig>,
    /// Server settings.
    pub server: ServerConfig,
}

impl RunArgs {
    pub fn validate(&self) -> Result<ActorConfig, ConfigError> {
        let game = GameKind::from_name(&self.game)?;
        let d = profile(game);
        let threads = check("threads", self.threads.unwrap_or(d.selfplay.threads), 1, 1024, "between 1 and 1024")?;
        let host: IpAddr = self.host.parse().map_err(|_| ConfigError::BadHost(self.host.clone()))?;
        if !self.trainer_url.starts_with("http://") {
            return Err(ConfigError::BadTrainerUrl(self.trainer_url.clone()));
        }
        let algorithm = self.search.algorithm(d)?;
        let search = SearchConfig {
            algorithm: algorithm.clone(),
            params: SearchParams {
                simulations: check(
                    "simulations",
                    self.simulations.unwrap_or(d.selfplay.simulations),
                    1,
                    100_000,
                    "between 1 and 100000",
                )?,
                leaves_per_game: check("leaves-per-game", self.leaves_per_game, 1, 256, "between 1 and 256")?,
                root_noise: true,
            },
        };
        let onnx = self.onnx.validate()?;
        let selfplay = SelfPlayConfig {
            search,
            games_in_flight: check("games-in-flight", self.games_in_flight, 1, 65_536, "between 1 and 65536")?,
            temperature: check("temperature", self.temperature, 0.0, 100.0, "between 0 and 100")?,
            temperature_moves: self.temperature_moves.unwrap_or(d.selfplay.temperature_moves),
            final_temperature: check("final-temperature", self.final_temperature, 0.0, 100.0, "between 0 and 100")?,
            random_opening_plies: check(
                "random-opening-plies",
                self.random_opening_plies.unwrap_or(d.selfplay.random_opening_plies),
                0,
                game.spec().max_game_length as u32,
                "at most the game's longest game",
            )?,
            intra_threads: onnx.intra_threads,
            model_poll: Duration::from_millis(check(
                "model-poll-ms",
                self.model_poll_ms,
                10,
                3_600_000,
                "between 10 and 3600000",
            )?),
            max_games: self.max_games,
            seed: self.seed.unwrap_or_else(rand::random),
            // Split evenly: each worker paces itself.
            max_positions_per_s: check(
                "max-positions-per-s",
                self.max_positions_per_s.unwrap_or(d.selfplay.max_positions_per_s),
                0.0,
                1e9,
                "between 0 and 1e9",
            )? / threads as f64,
            bootstrap_positions: self.bootstrap_positions.unwrap_or(d.selfplay.bootstrap_positions),
            reuse_tree: self.reuse_tree,
            eval_cache: check("eval-cache", self.eval_cache, 0, 10_000_000, "between 0 and 10000000")?,
        };
        let gating = match self.gating.as_str() {
            "gated" => crate::eval::evaluator::GatingMode::Gated,
            _ => crate::eval::evaluator::GatingMode::Continuous,
        };
        let eval_share = check("eval-share", self.eval_share, 0.0, 1.0, "between 0 and 1")?;
        if gating == crate::eval::evaluator::GatingMode::Gated && eval_share == 0.0 {
            // Only the evaluator promotes models to best.onnx; without it gated
            // self-play would wait for ever.
            return Err(ConfigError::OutOfRange {
                flag: "eval-share",
                range: "above 0 with --gating gated (the evaluator promotes models to best.onnx)",
                value: "0".into(),
            });
        }
        let eval = if eval_share > 0.0 {
            let text = self.eval_baselines.clone().unwrap_or_else(|| d.eval.baselines.join(","));
            let baselines = text
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| match crate::eval::players::PlayerSpec::parse(t, &self.data_dir, game.name(), 50) {
                    Ok(crate::eval::players::PlayerSpec::Model(_)) => {
                        Err(ConfigError::BadBaseline(format!("{t:?}: baselines are random, mcts:R or alphabeta:D")))
                    }
                    Ok(p) => Ok(p),
                    Err(e) => Err(ConfigError::BadBaseline(e.to_string())),
                })
                .collect::<Result<_, _>>()?;
            Some(crate::eval::evaluator::EvalConfig {
                share: eval_share,
                games: check("eval-games", self.eval_games, 2, 100_000, "between 2 and 100000")?,
                gating,
                gate_threshold: check("gate-threshold", self.gate_threshold, 0.0, 1.0, "between 0 and 1")?,
                gate_games: check("gate-games", self.gate_games, 1, 100_000, "between 1 and 100000")?,
                baselines,
                search: SearchConfig {
                    algorithm: algorithm.clone(),
                    params: SearchParams {
                        simulations: check(
                            "eval-sims",
                            self.eval_sims.unwrap_or(d.play.simulations),
                            1,
                            100_000,
                            "between 1 and 100000",
                        )?,
                        leaves_per_game: 8,
                        root_noise: false,
                    },
                },
                opening_plies: self.eval_openings.unwrap_or(d.eval.opening_plies),
                accuracy_positions: self.eval_accuracy_positions.unwrap_or(d.eval.accuracy_positions()),
                poll: Duration::from_secs(2),
                seed: selfplay.seed ^ 0x5EED_E7A1,
            })
        } else {
            None
        };
        Ok(ActorConfig {
            onnx,
            gating,
            eval,
            game,
            data_dir: self.data_dir.clone(),
            addr: SocketAddr::new(host, self.port),
            threads,
            selfplay,
            no_model: self.no_model,
            precision: self.precision,
            log_interval: Duration::from_secs(check(
                "log-interval",
                self.log_interval,
                1,
                86_400,
                "between 1 and 86400",
            )?),
            server: ServerConfig {
                game,
                data_dir: self.data_dir.clone(),
                web_dir: self.web_dir.clone(),
                trainer_url: self.trainer_url.trim_end_matches('/').to_string(),
                max_simulations: check("max-simulations", self.max_simulations, 1, 1_000_000, "between 1 and 1000000")?,
                max_concurrent_searches: check(
                    "max-concurrent-searches",
                    self.max_concurrent_searches,
                    1,
                    256,
                    "between 1 and 256",
                )?,
                algorithm,
                rollouts: 1,
                model_file: gating.played_model(),
                precision: self.precision,
                keep_trees: self.keep_trees,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        run: RunArgs,
    }

    fn puct(c: &SearchConfig) -> &crate::search::puct::PuctParams {
        match &c.algorithm {
            crate::search::Algorithm::Puct(p) => p,
            other => panic!("not PUCT: {other:?}"),
        }
    }

    fn parse(args: &[&str]) -> Result<ActorConfig, ConfigError> {
        let mut v = vec!["actor"];
        v.extend_from_slice(args);
        T::parse_from(v).run.validate()
    }

    #[test]
    fn defaults_follow_the_game() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.game, GameKind::TicTacToe);
        assert_eq!(c.selfplay.search.params.simulations, 100);
        assert!(c.selfplay.search.params.root_noise);
        assert!((puct(&c.selfplay.search).dirichlet_alpha - 2.0).abs() < 1e-6);
        assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.server.trainer_url, "http://127.0.0.1:8081");
        let c = parse(&["--simulations", "50", "--dirichlet-alpha", "0.3", "--trainer-url", "http://localhost:9000/"])
            .unwrap();
        assert_eq!(c.selfplay.search.params.simulations, 50);
        assert_eq!(puct(&c.selfplay.search).dirichlet_alpha, 0.3);
        assert_eq!(c.server.trainer_url, "http://localhost:9000");
    }

    #[test]
    fn position_cap_and_device_defaults() {
        // TicTacToe outruns the trainer, so it is capped; the network-bound games are not.
        assert_eq!(parse(&[]).unwrap().selfplay.max_positions_per_s, 1000.0);
        assert_eq!(parse(&["--game", "connect4"]).unwrap().selfplay.max_positions_per_s, 0.0);
        assert_eq!(parse(&["--max-positions-per-s", "0"]).unwrap().selfplay.max_positions_per_s, 0.0);
        // The cap is over all workers: each paces itself at its share.
        let c = parse(&["--max-positions-per-s", "600", "--threads", "3"]).unwrap();
        assert_eq!(c.selfplay.max_positions_per_s, 200.0);
        assert_eq!(parse(&[]).unwrap().onnx.device, crate::nn::Device::Cpu);
        assert_eq!(parse(&["--device", "cuda"]).unwrap().onnx.device, crate::nn::Device::Cuda);
        let mut v = vec!["actor", "--device", "tpu"];
        let err = T::try_parse_from(v.drain(..)).err().expect("tpu is refused").to_string();
        assert!(err.contains("cpu or cuda"), "{err}");
    }

    #[test]
    fn bad_values_name_the_flag() {
        for (args, needle) in [
            (&["--game", "chess"][..], "unknown game"),
            (&["--simulations", "0"][..], "--simulations"),
            (&["--dirichlet-epsilon", "2"][..], "--dirichlet-epsilon"),
            (&["--threads", "0"][..], "--threads"),
            (&["--host", "my host"][..], "--host"),
            (&["--trainer-url", "ftp://x"][..], "--trainer-url"),
            (&["--c-puct", "NaN"][..], "--c-puct"),
            (&["--leaves-per-game", "0"][..], "--leaves-per-game"),
            (&["--intra-threads", "0"][..], "--intra-threads"),
            (&["--eval-share", "2"][..], "--eval-share"),
            (&["--eval-baselines", "random,alphabeta:2"][..], "alpha-beta has no evaluation for tictactoe"),
            (&["--eval-baselines", "latest"][..], "--eval-baselines"),
            (&["--gate-threshold", "1.5"][..], "--gate-threshold"),
            (&["--gating", "gated", "--eval-share", "0"][..], "--eval-share must be above 0 with --gating gated"),
        ] {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn evaluation_defaults_follow_the_game() {
        use crate::eval::evaluator::GatingMode;
        use crate::eval::players::PlayerSpec;
        use crate::nn::ModelFile;
        let c = parse(&[]).unwrap();
        assert_eq!(c.gating, GatingMode::Continuous);
        // The move API plays what self-play plays.
        assert_eq!(c.server.model_file, ModelFile::Latest);
        let e = c.eval.unwrap();
        assert_eq!(e.baselines, vec![PlayerSpec::Random, PlayerSpec::Mcts(50)]);
        assert_eq!((e.search.params.simulations, e.search.params.root_noise, e.share), (200, false, 0.15));
        let c = parse(&["--game", "connect4", "--gating", "gated", "--eval-baselines", "random, alphabeta:3"]).unwrap();
        assert_eq!(c.gating, GatingMode::Gated);
        assert_eq!(c.server.model_file, ModelFile::Best);
        assert_eq!(c.eval.unwrap().baselines, vec![PlayerSpec::Random, PlayerSpec::AlphaBeta(3)]);
        assert!(parse(&["--eval-share", "0"]).unwrap().eval.is_none());
    }
}
