//! Who plays in an evaluation: [`PlayerSpec`] (parsed from text such as `latest`,
//! `mcts:200`, `alphabeta:4`, `models/model_step_00001200.onnx`) and the baselines'
//! move choice: uniformly random, plain MCTS with random playouts, and depth-limited
//! alpha-beta with a small evaluation per game ([`Heuristic`]).
//!
//! Network players are not here: their searches are batched across games by
//! [`crate::eval::arena`].

use std::path::{Path, PathBuf};

use engine_core::connect4::Connect4;
use engine_core::othello::{self, Othello};
use engine_core::tictactoe::TicTacToe;
use engine_core::{Action, Game, Player};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::mcts::{run_search, MctsError, RolloutEvaluator, SearchParams};

#[derive(Debug, thiserror::Error)]
pub enum PlayerError {
    #[error("unknown player {0:?}: use a model file, latest, best, random, mcts:R (R random-playout simulations per move) or alphabeta:D (search depth)")]
    Unknown(String),
    #[error("player {text:?}: {what} must be between {lo} and {hi}")]
    OutOfRange { text: String, what: &'static str, lo: u32, hi: u32 },
    #[error("player {text:?}: alpha-beta has no evaluation for {game}; it plays connect4 and othello")]
    NoHeuristic { text: String, game: &'static str },
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
    /// Depth-limited negamax with alpha-beta pruning and [`Heuristic`].
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
            if game == "tictactoe" {
                return Err(PlayerError::NoHeuristic { text: text.to_string(), game });
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

/// A static evaluation for alpha-beta, from the side to move, strictly inside
/// (-1, 1) so that it never outranks a proven result.
pub trait Heuristic: Game {
    /// Whether [`Heuristic::heuristic`] means anything for this game.
    const HAS_HEURISTIC: bool;
    fn heuristic(&self) -> f32;
    /// Moves in the order alpha-beta should try them (best guesses first).
    fn ordered_moves(&self) -> Vec<Action> {
        self.legal_actions()
    }
}

impl Heuristic for TicTacToe {
    const HAS_HEURISTIC: bool = false;
    fn heuristic(&self) -> f32 {
        0.0
    }
}

/// Lines of four on the Connect4 board as `cells()` indices (row-major from the top).
fn connect4_windows() -> &'static [[usize; 4]] {
    static W: std::sync::OnceLock<Vec<[usize; 4]>> = std::sync::OnceLock::new();
    W.get_or_init(|| {
        let (rows, cols) = (6i32, 7i32);
        let mut out = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                for (dr, dc) in [(0, 1), (1, 0), (1, 1), (1, -1)] {
                    let (er, ec) = (r + 3 * dr, c + 3 * dc);
                    if er < rows && ec >= 0 && ec < cols {
                        out.push(std::array::from_fn(|k| ((r + k as i32 * dr) * cols + c + k as i32 * dc) as usize));
                    }
                }
            }
        }
        out
    })
}

impl Heuristic for Connect4 {
    const HAS_HEURISTIC: bool = true;
    /// Open threes (three discs and an empty square in a line of four) count most,
    /// open twos a little, and discs in the centre column a little: the usual
    /// hand-made Connect4 evaluation.
    fn heuristic(&self) -> f32 {
        let cells = self.cells();
        let me = if self.to_move() == Player::First { 1 } else { 2 };
        let mut score = 0.0f32;
        for w in connect4_windows() {
            let (mut mine, mut theirs) = (0, 0);
            for &i in w {
                match cells[i] {
                    0 => {}
                    v if v == me => mine += 1,
                    _ => theirs += 1,
                }
            }
            if theirs == 0 {
                score += [0.0, 0.0, 2.0, 5.0, 0.0][mine];
            } else if mine == 0 {
                score -= [0.0, 0.0, 2.0, 5.0, 0.0][theirs];
            }
        }
        for r in 0..6 {
            match cells[r * 7 + 3] {
                0 => {}
                v if v == me => score += 3.0,
                _ => score -= 3.0,
            }
        }
        0.95 * (score / 60.0).tanh()
    }

    fn ordered_moves(&self) -> Vec<Action> {
        let mut m = self.legal_actions();
        m.sort_by_key(|&c| (c as i32 - 3).abs());
        m
    }
}

const CORNERS: u64 = 1 | 1 << 7 | 1 << 56 | 1 << 63;

impl Heuristic for Othello {
    const HAS_HEURISTIC: bool = true;
    /// Mobility (the share of legal moves) and corners all game; disc parity gains
    /// weight as the board fills, and decides alone in the last dozen empties.
    fn heuristic(&self) -> f32 {
        let (b, w) = (self.black().0, self.white().0);
        let (own, opp) = if self.to_move() == Player::First { (b, w) } else { (w, b) };
        let (m_own, m_opp) =
            (othello::moves(own, opp).count_ones() as f32, othello::moves(opp, own).count_ones() as f32);
        let mobility = (m_own - m_opp) / (m_own + m_opp + 1.0);
        let corners = ((own & CORNERS).count_ones() as f32 - (opp & CORNERS).count_ones() as f32) / 4.0;
        let (d_own, d_opp) = (own.count_ones() as f32, opp.count_ones() as f32);
        let parity = (d_own - d_opp) / (d_own + d_opp);
        let empties = 64.0 - d_own - d_opp;
        let e = if empties <= 12.0 {
            parity
        } else {
            let late = 1.0 - empties / 60.0;
            0.4 * mobility + 0.5 * corners + 0.1 * (0.2 + late) * parity
        };
        0.95 * e.clamp(-1.0, 1.0)
    }

    fn ordered_moves(&self) -> Vec<Action> {
        let mut m = self.legal_actions();
        // Corners first: they cut the most.
        m.sort_by_key(|&a| if a < 64 && CORNERS >> a & 1 == 1 { 0 } else { 1 });
        m
    }
}

/// Value of a won position for the winner at `depth_left`: quicker wins score higher.
fn win_value(depth_left: u32) -> f32 {
    1.0 + depth_left as f32 * 1e-3
}

/// Negamax with alpha-beta: the value of `g` for its side to move, searching `depth`
/// plies and scoring the horizon with [`Heuristic`].
pub fn negamax<G: Heuristic>(g: &G, depth: u32, mut alpha: f32, beta: f32) -> f32 {
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
        return g.heuristic();
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
pub fn alphabeta_move<G: Heuristic, R: Rng + ?Sized>(g: &G, depth: u32, rng: &mut R) -> Action {
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

/// A move of one of the baselines (not a network): `None` for a model player.
pub fn baseline_move<G: Heuristic>(
    spec: &PlayerSpec,
    g: &G,
    c_puct: f32,
    rng: &mut StdRng,
) -> Result<Option<Action>, MctsError> {
    let legal = g.legal_actions();
    Ok(Some(match spec {
        PlayerSpec::Model(_) => return Ok(None),
        PlayerSpec::Random => legal[rng.random_range(0..legal.len())],
        PlayerSpec::AlphaBeta(d) => alphabeta_move(g, *d, rng),
        PlayerSpec::Mcts(sims) => {
            let params = SearchParams {
                simulations: *sims,
                c_puct,
                dirichlet_alpha: 1.0,
                dirichlet_epsilon: 0.0,
                fpu_reduction: 0.0,
                leaves_per_game: 1,
            };
            let mut ev = RolloutEvaluator { rollouts: 1, rng: StdRng::seed_from_u64(rng.random()) };
            let r = run_search(g, &params, false, &mut ev, rng)?;
            best_visited(&r.visits, &legal, rng)
        }
    }))
}

/// The most visited legal action; ties broken at random.
pub fn best_visited<R: Rng + ?Sized>(visits: &[f32], legal: &[Action], rng: &mut R) -> Action {
    let max = legal.iter().map(|&a| visits[a as usize]).fold(f32::NEG_INFINITY, f32::max);
    let top: Vec<Action> = legal.iter().copied().filter(|&a| visits[a as usize] == max).collect();
    top[rng.random_range(0..top.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

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
        fn plain<G: Heuristic>(g: &G, depth: u32) -> f32 {
            negamax(g, depth, f32::NEG_INFINITY, f32::INFINITY)
        }
        fn minimax<G: Heuristic>(g: &G, depth: u32) -> f32 {
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
        assert!(g.heuristic() > 0.0 && g.heuristic() < 1.0, "{}", g.heuristic());
        let o = Othello::initial();
        assert!(o.heuristic().abs() < 1e-6);
        let mut rng = StdRng::seed_from_u64(3);
        let mut g = Othello::initial();
        while g.outcome().is_none() {
            assert!(g.heuristic().abs() < 1.0);
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
                    baseline_move(&PlayerSpec::Random, &g, 1.5, &mut rng).unwrap().unwrap()
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
