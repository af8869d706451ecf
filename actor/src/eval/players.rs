//! Who plays in an evaluation: [`PlayerSpec`] (parsed from text such as `latest`,
//! `mcts:200`, `alphabeta:4`, `models/model_step_00001200.onnx`) and the baselines'
//! move choice: uniformly random, plain MCTS with random playouts, and depth-limited
//! alpha-beta with the game's static evaluation ([`Game::heuristic`], offered only for
//! games that have one).
//!
//! Network players are not here: their searches are batched across games by
//! [`crate::eval::arena`].

use std::path::{Path, PathBuf};

use engine_core::{with_game, Action, Game, GameKind};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::search::puct::PuctParams;
use crate::search::{run_search, Algorithm, RolloutEvaluator, SearchConfig, SearchError, SearchParams};

#[derive(Debug, thiserror::Error)]
pub enum PlayerError {
    #[error("unknown player {0:?}: use a model file, latest, best, random, mcts:R (R random-playout simulations per move) or alphabeta:D (search depth)")]
    Unknown(String),
    #[error("player {text:?}: {what} must be between {lo} and {hi}")]
    OutOfRange { text: String, what: &'static str, lo: u32, hi: u32 },
    #[error("player {text:?}: alpha-beta has no evaluation for {game}; it plays {games}")]
    NoHeuristic { text: String, game: &'static str, games: String },
    #[error("player {text:?}: {} does not exist", path.display())]
    Missing { text: String, path: PathBuf },
}

/// A player as named on the command line and in `eval.db`.
#[derive(Clone, Debug, PartialEq)]
pub enum PlayerSpec {
    /// A model file, searched with the arena's simulations.
    Model(PathBuf),
    Random,
    /// Plain MCTS: uniform priors, each leaf valued by one random playout.
    Mcts(u32),
    /// Depth-limited negamax with alpha-beta pruning and the game's heuristic.
    AlphaBeta(u32),
}

impl PlayerSpec {
    /// Parses `text`. `latest` and `best` name `DATA_DIR/models/{latest,best}.onnx`;
    /// plain `mcts` takes `default_mcts` simulations (the arena's `--sims`, as the
    /// `arena` command always did).
    pub fn parse(
        text: &str,
        data_dir: &Path,
        game: &'static str,
        default_mcts: u32,
    ) -> Result<PlayerSpec, PlayerError> {
        let t = text.trim();
        let number = |s: &str, what: &'static str, lo: u32, hi: u32| -> Result<u32, PlayerError> {
            match s.parse::<u32>() {
                Ok(v) if (lo..=hi).contains(&v) => Ok(v),
                _ => Err(PlayerError::OutOfRange { text: text.to_string(), what, lo, hi }),
            }
        };
        let spec = match t {
            "random" => PlayerSpec::Random,
            "mcts" => PlayerSpec::Mcts(default_mcts.max(1)),
            "latest" => PlayerSpec::Model(data_dir.join("models/latest.onnx")),
            "best" => PlayerSpec::Model(data_dir.join("models/best.onnx")),
            _ if t.starts_with("mcts:") => PlayerSpec::Mcts(number(&t[5..], "the simulations", 1, 1_000_000)?),
            _ if t.starts_with("alphabeta:") => PlayerSpec::AlphaBeta(number(&t[10..], "the depth", 1, 20)?),
            _ if t.ends_with(".onnx") || Path::new(t).is_file() => PlayerSpec::Model(PathBuf::from(t)),
            _ => return Err(PlayerError::Unknown(text.to_string())),
        };
        if let PlayerSpec::AlphaBeta(_) = spec {
            if !GameKind::from_name(game).is_ok_and(has_heuristic) {
                let games: Vec<&str> = GameKind::ALL.iter().filter(|k| has_heuristic(**k)).map(|k| k.name()).collect();
                return Err(PlayerError::NoHeuristic { text: text.to_string(), game, games: games.join(" and ") });
            }
        }
        if let PlayerSpec::Model(p) = &spec {
            if !p.is_file() {
                return Err(PlayerError::Missing { text: text.to_string(), path: p.clone() });
            }
        }
        Ok(spec)
    }

    /// The name stored in `eval.db` (docs/CONTRACTS.md §8); models are named by
    /// their step, which only the loaded file knows, so it is passed in.
    pub fn label(&self, model_step: Option<i64>) -> String {
        match self {
            PlayerSpec::Model(p) => match model_step {
                Some(s) => model_label(s),
                None => p.display().to_string(),
            },
            PlayerSpec::Random => "random".to_string(),
            PlayerSpec::Mcts(r) => format!("mcts:{r}"),
            PlayerSpec::AlphaBeta(d) => format!("alphabeta:{d}"),
        }
    }
}

/// `model:1200`: how a model version is named in `eval.db`.
pub fn model_label(step: i64) -> String {
    format!("model:{step}")
}

/// The model version inside a `model:1200` label.
pub fn label_version(label: &str) -> Option<i64> {
    label.strip_prefix("model:").and_then(|v| v.parse().ok())
}

/// Whether `kind`'s rules come with a static evaluation for alpha-beta.
pub fn has_heuristic(kind: GameKind) -> bool {
    with_game!(kind, G => G::initial().heuristic().is_some())
}

/// Value of a won position for the winner at `depth_left`: quicker wins score higher.
fn win_value(depth_left: u32) -> f32 {
    1.0 + depth_left as f32 * 1e-3
}

/// Negamax with alpha-beta: the value of `g` for its side to move, searching `depth`
/// plies and scoring the horizon with [`Game::heuristic`] (0 for a game without one).
pub fn negamax<G: Game>(g: &G, depth: u32, mut alpha: f32, beta: f32) -> f32 {
    if let Some(o) = g.outcome() {
        let v = o.value_for(g.to_move());
        return if v > 0.0 {
            win_value(depth)
        } else if v < 0.0 {
            -win_value(depth)
        } else {
            0.0
        };
    }
    if depth == 0 {
        return g.heuristic().unwrap_or(0.0);
    }
    let mut best = f32::NEG_INFINITY;
    for a in g.ordered_moves() {
        let mut c = g.clone();
        c.apply_unchecked(a);
        // Othello passes keep the same player to move: no sign flip then.
        let v = if c.to_move() == g.to_move() {
            negamax(&c, depth - 1, alpha, beta)
        } else {
            -negamax(&c, depth - 1, -beta, -alpha)
        };
        if v > best {
            best = v;
        }
        if v > alpha {
            alpha = v;
        }
        if alpha >= beta {
            break;
        }
    }
    best
}

/// The alpha-beta player's move: every root move is searched with a full window, and
/// one of the equally best is picked at random (so games differ).
pub fn alphabeta_move<G: Game, R: Rng + ?Sized>(g: &G, depth: u32, rng: &mut R) -> Action {
    let mut best = Vec::new();
    let mut best_v = f32::NEG_INFINITY;
    for a in g.ordered_moves() {
        let mut c = g.clone();
        c.apply_unchecked(a);
        let v = if c.to_move() == g.to_move() {
            negamax(&c, depth.saturating_sub(1), f32::NEG_INFINITY, f32::INFINITY)
        } else {
            -negamax(&c, depth.saturating_sub(1), f32::NEG_INFINITY, f32::INFINITY)
        };
        if v > best_v + 1e-6 {
            best_v = v;
            best.clear();
            best.push(a);
        } else if (v - best_v).abs() <= 1e-6 {
            best.push(a);
        }
    }
    best[rng.random_range(0..best.len())]
}

/// The search of the `mcts:R` baseline: PUCT with fixed settings (uniform priors, a
/// random playout per leaf, one leaf at a time since playouts gain nothing from a
/// batch), so that its strength does not move with the flags of the player it rates.
pub fn rollout_search(simulations: u32) -> SearchConfig {
    SearchConfig {
        algorithm: Algorithm::Puct(PuctParams {
            c_puct: 1.5,
            dirichlet_alpha: 1.0,
            dirichlet_epsilon: 0.0,
            fpu_reduction: 0.0,
            solver: false,
        }),
        params: SearchParams { simulations, leaves_per_game: 1, root_noise: false },
    }
}

/// A move of one of the baselines (not a network): `None` for a model player.
pub fn baseline_move<G: Game>(spec: &PlayerSpec, g: &G, rng: &mut StdRng) -> Result<Option<Action>, SearchError> {
    let legal = g.legal_actions();
    Ok(Some(match spec {
        PlayerSpec::Model(_) => return Ok(None),
        PlayerSpec::Random => legal[rng.random_range(0..legal.len())],
        PlayerSpec::AlphaBeta(d) => alphabeta_move(g, *d, rng),
        PlayerSpec::Mcts(sims) => {
            let mut ev = RolloutEvaluator { rollouts: 1, rng: StdRng::seed_from_u64(rng.random()) };
            let r = run_search(g, &rollout_search(*sims), &mut ev, rng)?;
            r.choose(&legal, 0.0, rng)
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::connect4::Connect4;
    use engine_core::othello::Othello;
    use engine_core::Player;

    #[test]
    fn parse_players() {
        let d = Path::new("/nonexistent");
        assert_eq!(PlayerSpec::parse("random", d, "connect4", 50).unwrap(), PlayerSpec::Random);
        assert_eq!(PlayerSpec::parse("mcts", d, "connect4", 50).unwrap(), PlayerSpec::Mcts(50));
        assert_eq!(PlayerSpec::parse("mcts:200", d, "connect4", 50).unwrap(), PlayerSpec::Mcts(200));
        assert_eq!(PlayerSpec::parse("alphabeta:4", d, "othello", 50).unwrap(), PlayerSpec::AlphaBeta(4));
        assert_eq!(PlayerSpec::parse("alphabeta:4", d, "othello", 50).unwrap().label(None), "alphabeta:4");
        for (bad, needle) in [
            ("mcts:0", "simulations"),
            ("alphabeta:x", "depth"),
            ("latest", "does not exist"),
            ("chess-bot", "unknown player"),
        ] {
            let e = PlayerSpec::parse(bad, d, "connect4", 50).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
        }
        assert!(PlayerSpec::parse("alphabeta:2", d, "tictactoe", 50).unwrap_err().to_string().contains("tictactoe"));
        assert_eq!(label_version(&model_label(1200)), Some(1200));
        assert_eq!(label_version("mcts:50"), None);
    }

    #[test]
    fn alphabeta_takes_an_immediate_connect4_win_and_blocks_one() {
        let mut rng = StdRng::seed_from_u64(1);
        // Red has three in column 1 and is to move: column 1 (action 0) wins.
        let g = Connect4::from_moves("121212").unwrap();
        for d in 1..=4 {
            assert_eq!(alphabeta_move(&g, d, &mut rng), 0, "depth {d}");
        }
        // Yellow to move must block column 1.
        let g = Connect4::from_moves("12121").unwrap();
        for d in 2..=4 {
            assert_eq!(alphabeta_move(&g, d, &mut rng), 0, "depth {d}");
        }
    }

    #[test]
    fn alphabeta_matches_plain_negamax() {
        // Pruning must not change the value.
        fn plain<G: Game>(g: &G, depth: u32) -> f32 {
            negamax(g, depth, f32::NEG_INFINITY, f32::INFINITY)
        }
        fn minimax<G: Game>(g: &G, depth: u32) -> f32 {
            if g.outcome().is_some() || depth == 0 {
                return negamax(g, depth, f32::NEG_INFINITY, f32::INFINITY);
            }
            g.legal_actions()
                .into_iter()
                .map(|a| {
                    let mut c = g.clone();
                    c.apply_unchecked(a);
                    if c.to_move() == g.to_move() {
                        minimax(&c, depth - 1)
                    } else {
                        -minimax(&c, depth - 1)
                    }
                })
                .fold(f32::NEG_INFINITY, f32::max)
        }
        for moves in ["4453", "1234567", "44444"] {
            let g = Connect4::from_moves(moves).unwrap();
            assert!((plain(&g, 4) - minimax(&g, 4)).abs() < 1e-6, "{moves}");
        }
        let o = Othello::from_moves("f5d6c3").unwrap();
        assert!((plain(&o, 3) - minimax(&o, 3)).abs() < 1e-6);
    }

    #[test]
    fn heuristics_are_bounded_and_see_the_obvious() {
        // Red (to move) owns the centre column bottom three.
        let g = Connect4::from_moves("414141").unwrap();
        assert!(g.heuristic().unwrap() > 0.0 && g.heuristic().unwrap() < 1.0, "{:?}", g.heuristic());
        let o = Othello::initial();
        assert!(o.heuristic().unwrap().abs() < 1e-6);
        let mut rng = StdRng::seed_from_u64(3);
        let mut g = Othello::initial();
        while g.outcome().is_none() {
            assert!(g.heuristic().unwrap().abs() < 1.0);
            let a = alphabeta_move(&g, 1, &mut rng);
            g.apply_unchecked(a);
        }
    }

    #[test]
    fn alphabeta_beats_random_at_connect4() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut wins = 0;
        for i in 0..10 {
            let mut g = Connect4::initial();
            let ab_first = i % 2 == 0;
            while g.outcome().is_none() {
                let ab = (g.to_move() == Player::First) == ab_first;
                let a = if ab {
                    alphabeta_move(&g, 2, &mut rng)
                } else {
                    baseline_move(&PlayerSpec::Random, &g, &mut rng).unwrap().unwrap()
                };
                g.apply_unchecked(a);
            }
            let winner_first = g.outcome().unwrap() == engine_core::Outcome::Win(Player::First);
            if winner_first == ab_first && g.outcome() != Some(engine_core::Outcome::Draw) {
                wins += 1;
            }
        }
        assert!(wins >= 9, "{wins}/10");
    }
}
