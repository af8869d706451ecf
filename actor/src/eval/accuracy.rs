//! Perfect-play accuracy: how often an agent's move is worse than the best move by
//! game-theoretic value (win > draw > loss).
//!
//! - TicTacToe: an exact minimax over every reachable position; the benchmark is all
//!   4520 positions that are reachable and not finished.
//! - Connect4: the sets in `actor/data/connect4_positions.json`, built by
//!   `tools/make_connect4_positions.py` with a perfect solver (bitbully), in the
//!   opening/middle/end × easy/medium/hard classes of Pascal Pons' benchmark (that
//!   script's docstring says how each class is defined).
//!
//! A move is an error when its value is below the best move's value: a drawing move in
//! a won position, a losing move in a drawn one. Slower wins are not errors.

use std::collections::HashMap;
use std::sync::OnceLock;

use engine_core::connect4::Connect4;
use engine_core::tictactoe::TicTacToe;
use engine_core::{Action, Game};
use rand::rngs::StdRng;

use crate::eval::arena::{net_moves, search_many};
use crate::eval::players::best_visited;
use crate::mcts::{MctsError, SearchParams};
use crate::nn::NnModel;

/// A benchmark position with the game-theoretic value of every move.
#[derive(Clone, Debug)]
pub struct LabelledPosition<G> {
    pub state: G,
    /// Per action, from the side to move: 1 win, 0 draw, -1 loss; `None` if illegal.
    pub values: Vec<Option<i8>>,
    /// Which set it belongs to (`all`, `opening-easy`, ...).
    pub phase: &'static str,
}

impl<G> LabelledPosition<G> {
    pub fn best_value(&self) -> i8 {
        self.values.iter().flatten().copied().max().unwrap_or(0)
    }

    /// Whether playing `action` gives away value.
    pub fn is_error(&self, action: Action) -> bool {
        self.values.get(action as usize).copied().flatten().is_none_or(|v| v < self.best_value())
    }
}

/// Value of every reachable TicTacToe position for its side to move (exact minimax).
fn tictactoe_values() -> &'static HashMap<u32, i8> {
    static T: OnceLock<HashMap<u32, i8>> = OnceLock::new();
    T.get_or_init(|| {
        fn solve(g: &TicTacToe, memo: &mut HashMap<u32, i8>) -> i8 {
            if let Some(&v) = memo.get(&g.key()) {
                return v;
            }
            let v = match g.outcome() {
                Some(o) => o.value_for(g.to_move()) as i8,
                None => g
                    .legal_actions()
                    .into_iter()
                    .map(|a| {
                        let mut c = *g;
                        c.apply_unchecked(a);
                        -solve(&c, memo)
                    })
                    .max()
                    .expect("an unfinished position has a move"),
            };
            memo.insert(g.key(), v);
            v
        }
        let mut memo = HashMap::new();
        solve(&TicTacToe::initial(), &mut memo);
        memo
    })
}

/// Every reachable, unfinished TicTacToe position (4520) with its moves' values.
pub fn tictactoe_positions() -> &'static [LabelledPosition<TicTacToe>] {
    static P: OnceLock<Vec<LabelledPosition<TicTacToe>>> = OnceLock::new();
    P.get_or_init(|| {
        let values = tictactoe_values();
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![TicTacToe::initial()];
        let mut out = Vec::new();
        while let Some(g) = stack.pop() {
            if g.is_terminal() || !seen.insert(g.key()) {
                continue;
            }
            let mut v = vec![None; TicTacToe::spec().num_actions];
            for a in g.legal_actions() {
                let mut c = g;
                c.apply_unchecked(a);
                v[a as usize] = Some(-values[&c.key()]);
                stack.push(c);
            }
            out.push(LabelledPosition { state: g, values: v, phase: "all" });
        }
        // A stable order (by key) so that limits and reports do not depend on hashing.
        out.sort_by_key(|p| p.state.key());
        out
    })
}

#[derive(serde::Deserialize)]
struct C4File {
    sets: Vec<C4Set>,
}

#[derive(serde::Deserialize)]
struct C4Set {
    phase: String,
    positions: Vec<C4Position>,
}

#[derive(serde::Deserialize)]
struct C4Position {
    moves: String,
    values: Vec<Option<i8>>,
}

/// The committed Connect4 benchmark (see the module docs).
pub const CONNECT4_POSITIONS_JSON: &str = include_str!("../../../games/connect4/positions.json");

/// Parses a Connect4 benchmark file: sets of positions (move strings in solver
/// notation) with a win/draw/loss value per column.
pub fn parse_connect4_positions(json: &str) -> Result<Vec<LabelledPosition<Connect4>>, String> {
    let f: C4File = serde_json::from_str(json).map_err(|e| format!("bad Connect4 benchmark file: {e}"))?;
    let mut out = Vec::new();
    for set in f.sets {
        // Leaked once per process: phases are a handful of short names.
        let phase: &'static str = Box::leak(set.phase.into_boxed_str());
        for p in set.positions {
            let state = Connect4::from_moves(&p.moves).map_err(|e| format!("position {:?}: {e}", p.moves))?;
            if p.values.len() != 7 {
                return Err(format!("position {:?}: {} values, expected 7", p.moves, p.values.len()));
            }
            for a in 0..7u16 {
                if state.is_legal(a) != p.values[a as usize].is_some() {
                    return Err(format!("position {:?}: column {} legality disagrees with its value", p.moves, a + 1));
                }
            }
            out.push(LabelledPosition { state, values: p.values, phase });
        }
    }
    Ok(out)
}

/// The committed Connect4 benchmark, parsed once.
pub fn connect4_positions() -> &'static [LabelledPosition<Connect4>] {
    static P: OnceLock<Vec<LabelledPosition<Connect4>>> = OnceLock::new();
    P.get_or_init(|| parse_connect4_positions(CONNECT4_POSITIONS_JSON).expect("the committed benchmark file parses"))
}

/// The perfect-play benchmark of a game (empty where there is none: Othello).
pub trait Benchmark: Game {
    fn benchmark() -> &'static [LabelledPosition<Self>];
}

impl Benchmark for TicTacToe {
    fn benchmark() -> &'static [LabelledPosition<Self>] {
        tictactoe_positions()
    }
}

impl Benchmark for Connect4 {
    fn benchmark() -> &'static [LabelledPosition<Self>] {
        connect4_positions()
    }
}

impl Benchmark for engine_core::othello::Othello {
    fn benchmark() -> &'static [LabelledPosition<Self>] {
        &[]
    }
}

/// How the agent picks its move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The raw network: argmax of the policy over legal moves.
    Net,
    /// The full search; the most visited move.
    Search,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Net => "net",
            Mode::Search => "search",
        }
    }
}

/// Error count of one set.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AccuracyRow {
    pub phase: String,
    pub mode: &'static str,
    pub positions: u64,
    pub errors: u64,
}

/// Counts errors per phase, in the order the phases first appear.
pub fn count_errors<G>(positions: &[&LabelledPosition<G>], moves: &[Action], mode: Mode) -> Vec<AccuracyRow> {
    let mut rows: Vec<AccuracyRow> = Vec::new();
    for (p, &m) in positions.iter().zip(moves) {
        let i = match rows.iter().position(|r| r.phase == p.phase) {
            Some(i) => i,
            None => {
                rows.push(AccuracyRow { phase: p.phase.to_string(), mode: mode.name(), positions: 0, errors: 0 });
                rows.len() - 1
            }
        };
        rows[i].positions += 1;
        rows[i].errors += p.is_error(m) as u64;
    }
    rows
}

/// The first `per_phase` positions of each phase.
pub fn select<G>(positions: &[LabelledPosition<G>], per_phase: usize) -> Vec<&LabelledPosition<G>> {
    let mut taken: HashMap<&str, usize> = HashMap::new();
    positions
        .iter()
        .filter(|p| {
            let n = taken.entry(p.phase).or_default();
            *n += 1;
            *n <= per_phase
        })
        .collect()
}

/// The agent's move in each of `states`.
pub fn choose_moves<G: Game>(
    states: &[G],
    model: &NnModel,
    mode: Mode,
    search: &SearchParams,
    rng: &mut StdRng,
) -> Result<Vec<Action>, MctsError> {
    Ok(match mode {
        Mode::Net => net_moves(states, model)?,
        Mode::Search => search_many(states, model, search, rng)?
            .iter()
            .zip(states)
            .map(|(r, g)| best_visited(&r.visits, &g.legal_actions(), rng))
            .collect(),
    })
}

/// Scores `model` on `positions` (at most `per_phase` of each phase, the first ones).
pub fn evaluate<G: Game>(
    positions: &[LabelledPosition<G>],
    per_phase: usize,
    model: &NnModel,
    mode: Mode,
    search: &SearchParams,
    rng: &mut StdRng,
) -> Result<Vec<AccuracyRow>, MctsError> {
    let chosen = select(positions, per_phase);
    let states: Vec<G> = chosen.iter().map(|p| p.state.clone()).collect();
    let moves = choose_moves(&states, model, mode, search, rng)?;
    Ok(count_errors(&chosen, &moves, mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tictactoe_has_4520_positions_and_is_a_draw() {
        let p = tictactoe_positions();
        assert_eq!(p.len(), 4520);
        assert_eq!(tictactoe_values()[&TicTacToe::initial().key()], 0);
        // Every first move draws except none: all nine are draws with perfect play.
        let start = p.iter().find(|x| x.state.ply() == 0).unwrap();
        assert_eq!(start.values, vec![Some(0); 9]);
    }

    #[test]
    fn a_single_winning_move_is_the_only_non_error() {
        // X X .
        // O O .    X to move: c1 (2) wins at once.
        // . . .
        let g = TicTacToe::from_actions(&[0, 3, 1, 4]).unwrap();
        let p = tictactoe_positions().iter().find(|p| p.state == g).unwrap();
        assert_eq!(p.values[2], Some(1));
        assert_eq!(p.best_value(), 1);
        assert!(!p.is_error(2));
        // c2 (5) blocks O's row but gives up the win; the rest lose to O's c2.
        assert!(p.is_error(5) && p.values[5] > Some(-1));
        for a in [6, 7, 8] {
            assert!(p.is_error(a), "{a}");
            assert_eq!(p.values[a as usize], Some(-1));
        }
        // An occupied square counts as an error too.
        assert!(p.is_error(0));
        let rows = count_errors(&[p, p, p], &[2, 5, 2], Mode::Net);
        assert_eq!(rows, vec![AccuracyRow { phase: "all".into(), mode: "net", positions: 3, errors: 1 }]);
    }

    #[test]
    fn connect4_scoring_on_a_known_position() {
        // Red has three in column 4 and wins at once there; the solver file format.
        let json = r#"{"sets": [{"phase": "end-easy", "positions": [
            {"moves": "434343", "values": [-1, -1, 1, 1, -1, -1, -1]}]}]}"#;
        let p = parse_connect4_positions(json).unwrap();
        assert_eq!(p.len(), 1);
        assert!(!p[0].is_error(3) && p[0].is_error(0));
        // A full column must be marked null.
        let bad = r#"{"sets": [{"phase": "x", "positions": [{"moves": "444444", "values": [0,0,0,0,0,0,0]}]}]}"#;
        assert!(parse_connect4_positions(bad).unwrap_err().contains("column 4"));
    }

    #[test]
    fn the_committed_connect4_benchmark_agrees_with_the_rules() {
        let p = connect4_positions();
        assert!(p.len() >= 600, "{}", p.len());
        let mut phases: Vec<&str> = p.iter().map(|x| x.phase).collect();
        phases.dedup();
        assert_eq!(
            phases,
            ["opening-easy", "opening-medium", "opening-hard", "middle-easy", "middle-medium", "end-easy"]
        );
        for x in p {
            assert!(!x.state.is_terminal());
            // Every position has a wrong answer (the generator keeps only those).
            assert!(x.values.iter().flatten().any(|&v| v < x.best_value()));
            // A column that wins at once must be valued as a win.
            for a in x.state.legal_actions() {
                let mut c = x.state;
                c.apply_unchecked(a);
                if c.outcome().is_some_and(|o| o != engine_core::Outcome::Draw) {
                    assert_eq!(x.values[a as usize], Some(1), "{:?}", x.state);
                }
            }
        }
    }
}
