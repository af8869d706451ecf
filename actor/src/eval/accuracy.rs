//! Perfect-play accuracy: how often an agent's move is worse than the best move by
//! game-theoretic value (win > draw > loss).
//!
//! Where the positions come from is the game's profile (`[eval] benchmark`):
//! - `solve`: an exact minimax over every reachable position; the benchmark is every
//!   reachable, unfinished position (TicTacToe: 4520);
//! - a positions file in the game's folder: sets of positions with the value of every
//!   move (Connect4: `games/connect4/positions.json`, built by
//!   `tools/make_connect4_positions.py` with a perfect solver, bitbully, in the
//!   opening/middle/end × easy/medium/hard classes of Pascal Pons' benchmark; that
//!   script's docstring says how each class is defined);
//! - none (Othello is not solved).
//!
//! A move is an error when its value is below the best move's value: a drawing move in
//! a won position, a losing move in a drawn one. Slower wins are not errors.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use engine_core::{Action, Game, GameKind};
use rand::rngs::StdRng;

use crate::eval::arena::net_moves;
use crate::nn::{NnEvaluator, NnModel};
use crate::profile::{benchmark as benchmark_source, BenchmarkSource};
use crate::search::{search_many, SearchConfig, SearchError};

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

/// Value of every reachable position for its side to move (exact minimax), for
/// games small enough to solve whole.
fn solve_values<G: Game>() -> HashMap<G::Key, i8> {
    fn solve<G: Game>(g: &G, memo: &mut HashMap<G::Key, i8>) -> i8 {
        if let Some(&v) = memo.get(&g.key()) {
            return v;
        }
        let v = match g.outcome() {
            Some(o) => o.value_for(g.to_move()) as i8,
            None => g
                .legal_actions()
                .into_iter()
                .map(|a| {
                    let mut c = g.clone();
                    c.apply_unchecked(a);
                    // A pass keeps the same side to move: no sign flip then.
                    if c.to_move() == g.to_move() {
                        solve(&c, memo)
                    } else {
                        -solve(&c, memo)
                    }
                })
                .max()
                .expect("an unfinished position has a move"),
        };
        memo.insert(g.key(), v);
        v
    }
    let mut memo = HashMap::new();
    solve(&G::initial(), &mut memo);
    memo
}

/// Every reachable, unfinished position with its moves' values, in key order (so
/// that limits and reports do not depend on hashing).
pub fn solved_positions<G: Game>() -> Vec<LabelledPosition<G>> {
    let values = solve_values::<G>();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![G::initial()];
    let mut out = Vec::new();
    while let Some(g) = stack.pop() {
        if g.is_terminal() || !seen.insert(g.key()) {
            continue;
        }
        let mut v = vec![None; G::spec().num_actions];
        for a in g.legal_actions() {
            let mut c = g.clone();
            c.apply_unchecked(a);
            let value = values[&c.key()];
            v[a as usize] = Some(if c.to_move() == g.to_move() { value } else { -value });
            stack.push(c);
        }
        out.push(LabelledPosition { state: g, values: v, phase: "all" });
    }
    out.sort_by_key(|p| p.state.key());
    out
}

#[derive(serde::Deserialize)]
struct PositionsFile {
    sets: Vec<PositionSet>,
}

#[derive(serde::Deserialize)]
struct PositionSet {
    phase: String,
    positions: Vec<FilePosition>,
}

#[derive(serde::Deserialize)]
struct FilePosition {
    moves: String,
    values: Vec<Option<i8>>,
}

/// Parses a positions file: sets of positions (move lists in the game's notation,
/// [`Game::from_notation`]) with a win/draw/loss value per action (`null` where the
/// action is illegal).
pub fn parse_positions<G: Game>(json: &str) -> Result<Vec<LabelledPosition<G>>, String> {
    let name = G::spec().name;
    let f: PositionsFile = serde_json::from_str(json).map_err(|e| format!("bad {name} benchmark file: {e}"))?;
    let a = G::spec().num_actions;
    let mut out = Vec::new();
    for set in f.sets {
        // Leaked once per process: phases are a handful of short names.
        let phase: &'static str = Box::leak(set.phase.into_boxed_str());
        for p in set.positions {
            let state = G::from_notation(&p.moves).map_err(|e| format!("position {:?}: {e}", p.moves))?;
            if p.values.len() != a {
                return Err(format!("position {:?}: {} values, expected {a}", p.moves, p.values.len()));
            }
            for act in 0..a as Action {
                if state.is_legal(act) != p.values[act as usize].is_some() {
                    return Err(format!(
                        "position {:?}: move {} legality disagrees with its value",
                        p.moves,
                        G::action_name(act)
                    ));
                }
            }
            out.push(LabelledPosition { state, values: p.values, phase });
        }
    }
    Ok(out)
}

/// The perfect-play benchmark of `G` as its profile names it (empty where there is
/// none), built or parsed once per process.
pub fn benchmark<G: Game>() -> &'static [LabelledPosition<G>] {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, &'static (dyn Any + Send + Sync)>>> = OnceLock::new();
    let name = G::spec().name;
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    let entry = *cache.entry(name).or_insert_with(|| {
        let kind = GameKind::from_name(name).expect("every game is in the games! list");
        let positions: Vec<LabelledPosition<G>> = match benchmark_source(kind) {
            BenchmarkSource::None => Vec::new(),
            BenchmarkSource::Solve => solved_positions::<G>(),
            BenchmarkSource::File(text) => parse_positions::<G>(text)
                .unwrap_or_else(|e| panic!("the committed benchmark of {name} does not parse: {e}")),
        };
        Box::leak(Box::new(positions))
    });
    entry.downcast_ref::<Vec<LabelledPosition<G>>>().expect("one entry per game type")
}

/// How the agent picks its move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The raw network: argmax of the policy over legal moves.
    Net,
    /// The full search; the move it chooses (the most visited for PUCT).
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
    model: &Arc<NnModel>,
    mode: Mode,
    search: &SearchConfig,
    rng: &mut StdRng,
) -> Result<Vec<Action>, SearchError> {
    Ok(match mode {
        Mode::Net => net_moves(states, model)?,
        Mode::Search => search_many(states, search, &mut NnEvaluator(model.clone()), rng)?
            .iter()
            .zip(states)
            .map(|(r, g)| r.choose(&g.legal_actions(), 0.0, rng))
            .collect(),
    })
}

/// Scores `model` on `positions` (at most `per_phase` of each phase, the first ones).
pub fn evaluate<G: Game>(
    positions: &[LabelledPosition<G>],
    per_phase: usize,
    model: &Arc<NnModel>,
    mode: Mode,
    search: &SearchConfig,
    rng: &mut StdRng,
) -> Result<Vec<AccuracyRow>, SearchError> {
    let chosen = select(positions, per_phase);
    let states: Vec<G> = chosen.iter().map(|p| p.state.clone()).collect();
    let moves = choose_moves(&states, model, mode, search, rng)?;
    Ok(count_errors(&chosen, &moves, mode))
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::connect4::Connect4;
    use engine_core::othello::Othello;
    use engine_core::tictactoe::TicTacToe;

    #[test]
    fn tictactoe_has_4520_positions_and_is_a_draw() {
        let p = benchmark::<TicTacToe>();
        assert_eq!(p.len(), 4520);
        assert_eq!(solve_values::<TicTacToe>()[&TicTacToe::initial().key()], 0);
        // Othello has no benchmark; the cache keeps the games apart.
        assert!(benchmark::<Othello>().is_empty());
        assert_eq!(benchmark::<TicTacToe>().len(), 4520);
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
        let p = benchmark::<TicTacToe>().iter().find(|p| p.state == g).unwrap();
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
        let p = parse_positions::<Connect4>(json).unwrap();
        assert_eq!(p.len(), 1);
        assert!(!p[0].is_error(3) && p[0].is_error(0));
        // A full column must be marked null.
        let bad = r#"{"sets": [{"phase": "x", "positions": [{"moves": "444444", "values": [0,0,0,0,0,0,0]}]}]}"#;
        assert!(parse_positions::<Connect4>(bad).unwrap_err().contains("move 4"));
    }

    #[test]
    fn the_committed_connect4_benchmark_agrees_with_the_rules() {
        let p = benchmark::<Connect4>();
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
