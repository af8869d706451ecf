//! Matches between two players, many games at once.
//!
//! A match keeps up to `parallel` games in flight. Each step, the baselines (random,
//! MCTS with playouts, alpha-beta) move at once wherever it is their turn; then, for
//! each network player, every game where it is to move is searched *together*
//! ([`crate::search::search_many`], the batched driver): the leaves of all those
//! searches go to the network in one batch, as in self-play. Colours alternate; with `opening_plies > 0` each game starts from
//! a random opening of that many uniformly random plies, and each opening is played
//! twice with the colours swapped, so that deterministic players do not repeat one
//! game and neither side is favoured by the openings drawn.

use std::sync::Arc;

use engine_core::{Action, Game, Outcome, Player};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::eval::players::{baseline_move, PlayerSpec};
use crate::nn::{NnEvaluator, NnModel};
use crate::search::{check_output, search_many, Algorithm, SearchConfig, SearchError};

/// One side of a match.
#[derive(Clone, Debug)]
pub struct Contestant {
    pub spec: PlayerSpec,
    /// Name in reports and `eval.db` (`model:1200`, `mcts:50`, ...).
    pub label: String,
    /// The loaded network of a [`PlayerSpec::Model`].
    pub model: Option<Arc<NnModel>>,
    /// The network's own search (`latest:ttts`); `None` plays the match's.
    pub search: Option<Algorithm>,
}

/// How a match is played.
#[derive(Clone, Debug)]
pub struct MatchConfig {
    /// Games in the match.
    pub games: u32,
    /// Uniformly random plies of each opening (0 = every game from the start).
    pub opening_plies: u32,
    /// Plies (counted from the start of the game) in which searching players sample
    /// their move from the visit shares instead of taking the most visited one.
    pub sample_plies: u32,
    /// Search of network players (no root noise).
    pub search: SearchConfig,
    /// Games in flight at once; their network leaves share a batch.
    pub parallel: usize,
    pub seed: u64,
}

/// One finished game.
#[derive(Clone, Debug, PartialEq)]
pub struct GameRecord {
    /// Whether player A moved first.
    pub a_first: bool,
    /// 1 win, 0.5 draw, 0 loss, for A.
    pub score_a: f64,
    /// Every action from the initial position, the opening included.
    pub moves: Vec<Action>,
}

/// A's score in a finished game.
pub fn score_for_a(outcome: Outcome, a_first: bool) -> f64 {
    match outcome {
        Outcome::Draw => 0.5,
        Outcome::Win(p) if (p == Player::First) == a_first => 1.0,
        Outcome::Win(_) => 0.0,
    }
}

/// `plies` uniformly random moves from the start that leave the game unfinished
/// (fewer if the game cannot be kept going that long).
pub fn random_opening<G: Game, R: Rng + ?Sized>(plies: u32, rng: &mut R) -> Vec<Action> {
    for _ in 0..100 {
        let mut g = G::initial();
        let mut moves = Vec::new();
        for _ in 0..plies {
            let legal = g.legal_actions();
            let a = legal[rng.random_range(0..legal.len())];
            g.apply_unchecked(a);
            moves.push(a);
            if g.is_terminal() {
                break;
            }
        }
        if !g.is_terminal() {
            return moves;
        }
    }
    Vec::new()
}

/// The games of a match: (opening, A moves first).
pub fn schedule<G: Game, R: Rng + ?Sized>(games: u32, opening_plies: u32, rng: &mut R) -> Vec<(Vec<Action>, bool)> {
    let mut out = Vec::with_capacity(games as usize);
    while out.len() < games as usize {
        let opening = if opening_plies > 0 { random_opening::<G, R>(opening_plies, rng) } else { Vec::new() };
        out.push((opening.clone(), true));
        out.push((opening, false));
    }
    out.truncate(games as usize);
    out
}

/// The raw network's move in each position: the legal action with the largest
/// policy logit (no search), in batches.
pub fn net_moves<G: Game>(positions: &[G], model: &NnModel) -> Result<Vec<Action>, SearchError> {
    let a = G::spec().num_actions;
    let len = G::spec().obs_len();
    let mut out = Vec::with_capacity(positions.len());
    for chunk in positions.chunks(1024) {
        let mut obs = vec![0.0; chunk.len() * len];
        for (g, o) in chunk.iter().zip(obs.chunks_mut(len)) {
            g.encode(o);
        }
        let res = model.run(&obs, chunk.len()).map_err(|e| SearchError::Evaluator(e.to_string()))?;
        check_output::<G>(&res, chunk.len())?;
        for (i, g) in chunk.iter().enumerate() {
            let logits = &res.logits[i * a..(i + 1) * a];
            let best = g
                .legal_actions()
                .into_iter()
                .max_by(|&x, &y| logits[x as usize].total_cmp(&logits[y as usize]))
                .expect("positions are not finished");
            out.push(best);
        }
    }
    Ok(out)
}

struct Live<G> {
    a_first: bool,
    state: G,
    moves: Vec<Action>,
}

/// Plays a match between `a` and `b`. After each step `on_step` gets the games that
/// finished in it; returning `false` stops the match (the games done so far are
/// returned).
pub fn play_match<G: Game>(
    a: &Contestant,
    b: &Contestant,
    cfg: &MatchConfig,
    on_step: &mut dyn FnMut(&[GameRecord]) -> bool,
) -> Result<Vec<GameRecord>, SearchError> {
    for c in [a, b] {
        if matches!(c.spec, PlayerSpec::Model(_)) && c.model.is_none() {
            return Err(SearchError::Evaluator(format!("player {} has no loaded model", c.label)));
        }
    }
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut pending = schedule::<G, _>(cfg.games, cfg.opening_plies, &mut rng).into_iter();
    let mut live: Vec<Live<G>> = Vec::new();
    let mut done = Vec::new();
    loop {
        while live.len() < cfg.parallel.max(1) {
            let Some((opening, a_first)) = pending.next() else { break };
            let mut state = G::initial();
            for &m in &opening {
                state.apply_unchecked(m);
            }
            live.push(Live { a_first, state, moves: opening });
        }
        if live.is_empty() {
            break;
        }
        // Baselines move wherever it is their turn, until a network is to move.
        for g in live.iter_mut() {
            while !g.state.is_terminal() {
                let side = if (g.state.to_move() == Player::First) == g.a_first { a } else { b };
                let Some(m) = baseline_move(&side.spec, &g.state, &mut rng)? else { break };
                g.state.apply_unchecked(m);
                g.moves.push(m);
            }
        }
        // Each network searches all the games where it is to move, in one lockstep.
        for (is_a, side) in [(true, a), (false, b)] {
            let Some(model) = &side.model else { continue };
            let idx: Vec<usize> = (0..live.len())
                .filter(|&i| {
                    let g = &live[i];
                    !g.state.is_terminal() && ((g.state.to_move() == Player::First) == g.a_first) == is_a
                })
                .collect();
            if idx.is_empty() {
                continue;
            }
            let roots: Vec<G> = idx.iter().map(|&i| live[i].state.clone()).collect();
            let own;
            let search = match &side.search {
                Some(algorithm) => {
                    own = SearchConfig { algorithm: algorithm.clone(), params: cfg.search.params.clone() };
                    &own
                }
                None => &cfg.search,
            };
            let results = search_many(&roots, search, &mut NnEvaluator(model.clone()), &mut rng)?;
            for (&i, r) in idx.iter().zip(results) {
                let g = &mut live[i];
                let legal = g.state.legal_actions();
                let temperature = if (g.state.ply() as u32) < cfg.sample_plies { 1.0 } else { 0.0 };
                let m = r.choose(&legal, temperature, &mut rng);
                g.state.apply_unchecked(m);
                g.moves.push(m);
            }
        }
        let mut finished = Vec::new();
        live.retain_mut(|g| match g.state.outcome() {
            Some(o) => {
                finished.push(GameRecord {
                    a_first: g.a_first,
                    score_a: score_for_a(o, g.a_first),
                    moves: std::mem::take(&mut g.moves),
                });
                false
            }
            None => true,
        });
        let go_on = on_step(&finished);
        done.extend(finished);
        if !go_on {
            break;
        }
    }
    Ok(done)
}

/// (wins, draws, losses) for A.
pub fn tally(records: &[GameRecord]) -> (u32, u32, u32) {
    let mut t = (0, 0, 0);
    for r in records {
        if r.score_a == 1.0 {
            t.0 += 1;
        } else if r.score_a == 0.5 {
            t.1 += 1;
        } else {
            t.2 += 1;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::connect4::Connect4;
    use engine_core::tictactoe::TicTacToe;

    fn cfg(games: u32, opening_plies: u32) -> MatchConfig {
        MatchConfig {
            games,
            opening_plies,
            sample_plies: 0,
            search: SearchConfig::puct_defaults(engine_core::GameKind::TicTacToe, 32, 4, false),
            parallel: 8,
            seed: 11,
        }
    }

    fn baseline(spec: PlayerSpec) -> Contestant {
        Contestant { label: spec.label(None), spec, model: None, search: None }
    }

    #[test]
    fn openings_are_played_twice_with_colours_swapped() {
        let mut rng = StdRng::seed_from_u64(2);
        let s = schedule::<Connect4, _>(10, 4, &mut rng);
        assert_eq!(s.len(), 10);
        for pair in s.chunks(2) {
            assert_eq!(pair[0].0, pair[1].0);
            assert_eq!(pair[0].0.len(), 4);
            assert!(pair[0].1 && !pair[1].1);
        }
        assert!(s.iter().any(|x| x.0 != s[0].0), "openings differ");
        let plain = schedule::<Connect4, _>(3, 0, &mut rng);
        assert_eq!(plain.iter().map(|x| x.1).collect::<Vec<_>>(), [true, false, true]);
        assert!(plain.iter().all(|x| x.0.is_empty()));
    }

    #[test]
    fn a_match_replays_to_its_recorded_results() {
        let a = baseline(PlayerSpec::Mcts(64));
        let b = baseline(PlayerSpec::Random);
        let mut steps = 0;
        let recs = play_match::<TicTacToe>(&a, &b, &cfg(20, 1), &mut |_| {
            steps += 1;
            true
        })
        .unwrap();
        assert_eq!(recs.len(), 20);
        assert!(steps >= 1);
        for r in &recs {
            let moves: Vec<i64> = r.moves.iter().map(|&m| m as i64).collect();
            let end = TicTacToe::from_actions(&moves).unwrap();
            assert_eq!(score_for_a(end.outcome().unwrap(), r.a_first), r.score_a);
        }
        assert_eq!(recs.iter().filter(|r| r.a_first).count(), 10);
        let (w, _d, l) = tally(&recs);
        assert!(w > l + 5, "MCTS should beat random: {w} wins {l} losses");
    }

    #[test]
    fn a_match_stops_when_asked() {
        let a = baseline(PlayerSpec::Random);
        let recs = play_match::<TicTacToe>(&a, &a.clone(), &cfg(1000, 0), &mut |_| false).unwrap();
        assert!(recs.len() < 1000);
    }

    #[test]
    fn model_players_need_a_model() {
        let a = baseline(PlayerSpec::Model("x.onnx".into()));
        let b = baseline(PlayerSpec::Random);
        assert!(play_match::<TicTacToe>(&a, &b, &cfg(2, 0), &mut |_| true).is_err());
    }
}
