//! Game profiles: the defaults of everything about a game that is not its rules
//! (search, self-play, play strength, evaluation opponents, benchmark positions),
//! from `games/<name>/profile.toml`, compiled in by `build.rs`. The trainer and
//! `./start_training.sh` read the same files; games/README.md describes them.

use std::sync::OnceLock;

use engine_core::GameKind;
use serde::Deserialize;

include!(concat!(env!("OUT_DIR"), "/profiles.rs"));

/// One game's profile (`games/<name>/profile.toml`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GameProfile {
    /// The registry name; equals the folder's name.
    pub name: String,
    /// The name people read.
    pub display_name: String,
    /// How a person types a move in terminal play.
    pub move_hint: String,
    pub selfplay: SelfPlayDefaults,
    pub play: PlayDefaults,
    pub eval: EvalDefaults,
    /// The trainer's settings (read by the trainer, not here).
    #[serde(default)]
    pub trainer: toml::Table,
    /// `./start_training.sh`'s settings (read by the script).
    #[serde(default)]
    pub start: toml::Table,
}

/// Self-play defaults (`[selfplay]`); each is a flag of `actor run`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SelfPlayDefaults {
    /// Simulations per self-play move.
    pub simulations: u32,
    /// The average number of legal moves; the root noise's alpha is 10 / this.
    pub avg_legal_moves: f32,
    /// Plies sampled with temperature 1 at the start of a game.
    pub temperature_moves: u32,
    /// Most uniformly random moves a game starts with.
    pub random_opening_plies: u32,
    /// Self-play positions per second over all workers (0 = no cap).
    pub max_positions_per_s: f64,
    /// Self-play worker threads.
    pub threads: usize,
    /// Positions written with uniform priors before self-play waits for the first
    /// model (0 = never waits).
    pub bootstrap_positions: u64,
}

impl SelfPlayDefaults {
    /// About 10 / the average number of legal moves.
    pub fn dirichlet_alpha(&self) -> f32 {
        10.0 / self.avg_legal_moves
    }
}

/// Play defaults (`[play]`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlayDefaults {
    /// Simulations per move when a person plays the bot, and in arena and evaluation.
    pub simulations: u32,
}

/// Evaluation defaults (`[eval]`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EvalDefaults {
    /// Fixed opponents of each new snapshot (`random`, `mcts:R`, `alphabeta:D`).
    pub baselines: Vec<String>,
    /// Random plies of each evaluation opening, played with both colours.
    pub opening_plies: u32,
    /// Positions per benchmark set searched in the accuracy's search mode (0 = all).
    pub accuracy_positions: usize,
    /// `solve` (every position, solved exactly), a positions file of the game's
    /// folder, or empty for none.
    pub benchmark: String,
}

impl EvalDefaults {
    /// Positions per set for the search mode, `usize::MAX` for all.
    pub fn accuracy_positions(&self) -> usize {
        if self.accuracy_positions == 0 {
            usize::MAX
        } else {
            self.accuracy_positions
        }
    }
}

/// What a profile says about perfect-play benchmark positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchmarkSource {
    /// None (the game is not solved).
    None,
    /// Every reachable decision position, labelled by solving the game exactly.
    Solve,
    /// A positions file's text (compiled in).
    File(&'static str),
}

/// The profile of `kind`, parsed once.
pub fn profile(kind: GameKind) -> &'static GameProfile {
    static ALL: OnceLock<Vec<GameProfile>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        GameKind::ALL
            .iter()
            .map(|k| {
                let (_, text, _) = entry(*k);
                toml::from_str(text).unwrap_or_else(|e| panic!("games/{}/profile.toml does not parse: {e}", k.name()))
            })
            .collect()
    });
    &all[GameKind::ALL.iter().position(|k| *k == kind).expect("kind is in ALL")]
}

/// The benchmark positions of `kind`'s profile.
pub fn benchmark(kind: GameKind) -> BenchmarkSource {
    match (profile(kind).eval.benchmark.as_str(), entry(kind).2) {
        ("", _) => BenchmarkSource::None,
        ("solve", _) => BenchmarkSource::Solve,
        (_, Some(text)) => BenchmarkSource::File(text),
        (file, None) => unreachable!("build.rs compiles in every named benchmark file ({file})"),
    }
}

fn entry(kind: GameKind) -> &'static (&'static str, &'static str, Option<&'static str>) {
    PROFILES
        .iter()
        .find(|(name, _, _)| *name == kind.name())
        .unwrap_or_else(|| panic!("no games/{}/profile.toml was compiled in", kind.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_game_has_a_complete_profile_and_every_profile_a_game() {
        for &k in GameKind::ALL {
            let p = profile(k);
            assert_eq!(p.name, k.name());
            assert!(p.selfplay.simulations >= 1 && p.play.simulations >= 1, "{}", p.name);
            assert!(p.selfplay.threads >= 1 && p.selfplay.avg_legal_moves > 0.0, "{}", p.name);
            assert!(p.selfplay.random_opening_plies as usize <= k.spec().max_game_length, "{}", p.name);
            assert!(!p.eval.baselines.is_empty(), "{}", p.name);
        }
        assert_eq!(PROFILES.len(), GameKind::ALL.len(), "a profile without rules in the games! list");
        assert_eq!(profile(GameKind::Connect4).display_name, "Connect4");
    }

    #[test]
    fn the_benchmark_sources_are_as_the_profiles_say() {
        assert_eq!(benchmark(GameKind::TicTacToe), BenchmarkSource::Solve);
        assert!(matches!(benchmark(GameKind::Connect4), BenchmarkSource::File(t) if t.contains("opening-easy")));
        assert_eq!(benchmark(GameKind::Othello), BenchmarkSource::None);
    }

    #[test]
    fn a_profile_with_an_unknown_or_missing_key_is_refused() {
        let good = entry(GameKind::TicTacToe).1;
        assert!(toml::from_str::<GameProfile>(good).is_ok());
        let extra = good.replace("[play]\n", "[play]\nsimulatoins = 3\n");
        let e = toml::from_str::<GameProfile>(&extra).unwrap_err().to_string();
        assert!(e.contains("simulatoins"), "{e}");
        let missing = good.replace("threads = 1", "");
        assert!(toml::from_str::<GameProfile>(&missing).unwrap_err().to_string().contains("threads"));
    }
}
