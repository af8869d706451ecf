//! Raw command-line arguments ([`RunArgs`], clap) → a validated [`ActorConfig`].
//! Per-game defaults come from [`crate::mcts::game_defaults`].

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use engine_core::GameKind;

use crate::mcts::{game_defaults, SearchParams};
use crate::selfplay::SelfPlayConfig;
use crate::server::ServerConfig;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    UnknownGame(#[from] engine_core::UnknownGame),
    #[error("--{flag} must be {range}, got {value}")]
    OutOfRange { flag: &'static str, range: &'static str, value: String },
    #[error("--host {0:?} is not an IP address (use 127.0.0.1, or 0.0.0.0 to listen on every interface)")]
    BadHost(String),
    #[error("--trainer-url {0:?} must start with http:// (the trainer's control API, e.g. http://127.0.0.1:8081)")]
    BadTrainerUrl(String),
}

/// Flags shared by `run`, `selfplay` and `serve`. Search knobs left out take the
/// game's defaults.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Data folder: replay.db, models/, stats.json (one folder = one game).
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Game to train: tictactoe, connect4, othello.
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
    /// libonnxruntime.so.1.x to load (else $ORT_DYLIB_PATH, else .venv/.../onnxruntime/capi/).
    #[arg(long)]
    pub ort_lib: Option<PathBuf>,
    /// Self-play worker threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Games each worker keeps in flight (their leaves share one network batch).
    #[arg(long, default_value_t = 64)]
    pub games_in_flight: usize,
    /// Most leaves one game may have waiting for the network at once (virtual loss).
    #[arg(long, default_value_t = 4)]
    pub leaves_per_game: u32,
    /// MCTS simulations per self-play move [default: per game, tictactoe 100].
    #[arg(long)]
    pub simulations: Option<u32>,
    /// PUCT exploration constant.
    #[arg(long, default_value_t = 1.5)]
    pub c_puct: f32,
    /// Root Dirichlet noise alpha [default: 10 / average legal moves of the game].
    #[arg(long)]
    pub dirichlet_alpha: Option<f32>,
    /// Weight of the root noise (0 disables it).
    #[arg(long, default_value_t = 0.25)]
    pub dirichlet_epsilon: f32,
    /// Unvisited children are valued at the parent's value minus this.
    #[arg(long, default_value_t = 0.0)]
    pub fpu_reduction: f32,
    /// Move-sampling temperature for the opening plies.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f32,
    /// Plies played at --temperature [default: per game, tictactoe 2].
    #[arg(long)]
    pub temperature_moves: Option<u32>,
    /// Temperature after the opening (0 = always the most visited move).
    #[arg(long, default_value_t = 0.0)]
    pub final_temperature: f32,
    /// ONNX Runtime intra-op threads per session.
    #[arg(long, default_value_t = 1)]
    pub intra_threads: usize,
    /// Stop self-play after this many games (default: run until stopped).
    #[arg(long)]
    pub max_games: Option<u64>,
    /// Seed for noise and move sampling (default: from the OS).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Cap on self-play positions per second over all workers, so self-play leaves CPU
    /// to the trainer on a small machine (0 = as fast as it goes).
    #[arg(long, default_value_t = 0.0)]
    pub max_positions_per_s: f64,
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
    /// Searches /api/move runs at once.
    #[arg(long, default_value_t = 2)]
    pub max_concurrent_searches: usize,
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
    /// `--ort-lib`, if given.
    pub ort_lib: Option<PathBuf>,
    /// Self-play worker threads.
    pub threads: usize,
    /// Per-worker self-play settings (the seed is offset per worker).
    pub selfplay: SelfPlayConfig,
    /// Never load a model (uniform priors).
    pub no_model: bool,
    /// Seconds between telemetry log lines.
    pub log_interval: Duration,
    /// Server settings.
    pub server: ServerConfig,
}

fn check<T: PartialOrd + std::fmt::Display>(
    flag: &'static str,
    value: T,
    lo: T,
    hi: T,
    range: &'static str,
) -> Result<T, ConfigError> {
    if value >= lo && value <= hi {
        Ok(value)
    } else {
        Err(ConfigError::OutOfRange { flag, range, value: value.to_string() })
    }
}

impl RunArgs {
    pub fn validate(&self) -> Result<ActorConfig, ConfigError> {
        let game = GameKind::from_name(&self.game)?;
        let d = game_defaults(game.spec());
        let host: IpAddr = self.host.parse().map_err(|_| ConfigError::BadHost(self.host.clone()))?;
        if !self.trainer_url.starts_with("http://") {
            return Err(ConfigError::BadTrainerUrl(self.trainer_url.clone()));
        }
        let f = |x: f32| x.is_finite();
        let c_puct = check("c-puct", self.c_puct, 0.01, 100.0, "between 0.01 and 100")?;
        let alpha = self.dirichlet_alpha.unwrap_or(d.dirichlet_alpha);
        if !f(alpha) {
            return Err(ConfigError::OutOfRange {
                flag: "dirichlet-alpha",
                range: "a finite number",
                value: alpha.to_string(),
            });
        }
        let search = SearchParams {
            simulations: check(
                "simulations",
                self.simulations.unwrap_or(d.selfplay_simulations),
                1,
                100_000,
                "between 1 and 100000",
            )?,
            c_puct,
            dirichlet_alpha: check("dirichlet-alpha", alpha, 0.001, 100.0, "between 0.001 and 100")?,
            dirichlet_epsilon: check("dirichlet-epsilon", self.dirichlet_epsilon, 0.0, 1.0, "between 0 and 1")?,
            fpu_reduction: check("fpu-reduction", self.fpu_reduction, -2.0, 2.0, "between -2 and 2")?,
            leaves_per_game: check("leaves-per-game", self.leaves_per_game, 1, 256, "between 1 and 256")?,
        };
        let selfplay = SelfPlayConfig {
            search,
            games_in_flight: check("games-in-flight", self.games_in_flight, 1, 65_536, "between 1 and 65536")?,
            temperature: check("temperature", self.temperature, 0.0, 100.0, "between 0 and 100")?,
            temperature_moves: self.temperature_moves.unwrap_or(d.temperature_moves),
            final_temperature: check("final-temperature", self.final_temperature, 0.0, 100.0, "between 0 and 100")?,
            intra_threads: check("intra-threads", self.intra_threads, 1, 256, "between 1 and 256")?,
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
            max_positions_per_s: check("max-positions-per-s", self.max_positions_per_s, 0.0, 1e9, "between 0 and 1e9")?
                / self.threads.max(1) as f64,
        };
        Ok(ActorConfig {
            game,
            data_dir: self.data_dir.clone(),
            addr: SocketAddr::new(host, self.port),
            ort_lib: self.ort_lib.clone(),
            threads: check("threads", self.threads, 1, 1024, "between 1 and 1024")?,
            selfplay,
            no_model: self.no_model,
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
                c_puct,
                fpu_reduction: self.fpu_reduction,
                rollouts: 1,
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

    fn parse(args: &[&str]) -> Result<ActorConfig, ConfigError> {
        let mut v = vec!["actor"];
        v.extend_from_slice(args);
        T::parse_from(v).run.validate()
    }

    #[test]
    fn defaults_follow_the_game() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.game, GameKind::TicTacToe);
        assert_eq!(c.selfplay.search.simulations, 100);
        assert!((c.selfplay.search.dirichlet_alpha - 2.0).abs() < 1e-6);
        assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.server.trainer_url, "http://127.0.0.1:8081");
        let c = parse(&["--simulations", "50", "--dirichlet-alpha", "0.3", "--trainer-url", "http://localhost:9000/"])
            .unwrap();
        assert_eq!(c.selfplay.search.simulations, 50);
        assert_eq!(c.selfplay.search.dirichlet_alpha, 0.3);
        assert_eq!(c.server.trainer_url, "http://localhost:9000");
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
        ] {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }
}
