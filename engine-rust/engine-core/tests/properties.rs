//! Properties every game must have, checked over random games with proptest.
//!
//! One generic harness ([`check_game`]) runs per game; a random game is a vector of
//! choices, each picking among the legal actions of the position it reaches, so every
//! generated game is a real one and shrinking keeps it one.
//!
//! Along each game:
//! - the legal actions are ascending, in range, empty exactly when the game is over;
//!   each one is accepted by `apply`, every other action is rejected with the right
//!   error and the position is left as it was;
//! - the game ends within `max_game_length` plies;
//! - the observation agrees with `cells()` and the side to move (`docs/CONTRACTS.md` §2);
//! - for each symmetry of the spec, playing the transformed actions from the
//!   transformed start gives the transformed position at every ply — same legal
//!   actions under the spec's action permutation, same observation under its cell
//!   permutation, same outcome and winning cells. This is what the trainer relies on
//!   when it augments data with the spec's permutations.

use engine_core::connect4::{self, Connect4};
use engine_core::othello::{self, Othello};
use engine_core::tictactoe::TicTacToe;
use engine_core::{Action, Game, PlayError, Symmetry};
use proptest::prelude::*;

/// `inv[p[i]] = i`.
fn inverse(p: &[u16]) -> Vec<usize> {
    let mut inv = vec![0; p.len()];
    for (i, &x) in p.iter().enumerate() {
        inv[x as usize] = i;
    }
    inv
}

fn observation<G: Game>(g: &G) -> Vec<f32> {
    let mut obs = vec![f32::NAN; G::spec().obs_len()];
    g.encode(&mut obs);
    obs
}

/// Plays the random game given by `picks` and checks everything in the module docs.
/// `transform` applies a symmetry of the spec to a position. Returns the actions.
fn check_game<G: Game>(picks: &[u32], transform: impl Fn(&G, &Symmetry) -> G) -> Result<Vec<Action>, TestCaseError> {
    let spec = G::spec();
    let n = spec.num_actions;
    let area = spec.rows * spec.cols;

    // The game itself.
    let mut g = G::initial();
    let mut positions = vec![g.clone()];
    let mut actions = Vec::new();
    for &pick in picks {
        check_position(&g)?;
        let legal = g.legal_actions();
        if legal.is_empty() {
            break;
        }
        let a = legal[pick as usize % legal.len()];
        let next = g.apply(a as i64).map_err(|e| TestCaseError::fail(format!("legal {a} refused: {e}")))?;
        prop_assert_eq!(next.ply(), g.ply() + 1);
        prop_assert_eq!(next.to_move(), g.to_move().opponent());
        g = next;
        actions.push(a);
        positions.push(g.clone());
    }
    check_position(&g)?;
    prop_assert!(g.is_terminal(), "not over after {} plies (max_game_length)\n{}", g.ply(), g);
    prop_assert!(g.ply() <= spec.max_game_length);
    for a in 0..n as i64 {
        let is_game_over = matches!(g.apply(a), Err(PlayError::GameOver { .. }));
        prop_assert!(is_game_over);
    }

    // The same game under each symmetry.
    let g_cells_sorted = |g: &G| {
        let mut w = g.winning_cells();
        w.sort();
        w
    };
    for sym in &spec.symmetries {
        let inv_actions = inverse(&sym.actions);
        let inv_cells = inverse(&sym.cells);
        let mut t = transform(&G::initial(), sym);
        for (k, p) in positions.iter().enumerate() {
            if k > 0 {
                let a = actions[k - 1] as usize;
                t = t
                    .apply(inv_actions[a] as i64)
                    .map_err(|e| TestCaseError::fail(format!("{}: mapped move of {a} refused: {e}", sym.name)))?;
            }
            prop_assert_eq!(t.key(), transform(p, sym).key(), "{} at ply {}", &sym.name, k);
            // Action j of the transformed position is action actions[j] of the original.
            let mapped: Vec<Action> = (0..n as Action).filter(|&j| p.is_legal(sym.actions[j as usize])).collect();
            prop_assert_eq!(t.legal_actions(), mapped, "{} at ply {}", &sym.name, k);
            let (obs, obs_t) = (observation(p), observation(&t));
            for c in 0..spec.obs_channels {
                for i in 0..area {
                    prop_assert_eq!(obs_t[c * area + i], obs[c * area + sym.cells[i] as usize]);
                }
            }
            prop_assert_eq!(t.outcome(), p.outcome());
            let mut moved: Vec<usize> = p.winning_cells().iter().map(|&c| inv_cells[c]).collect();
            moved.sort();
            prop_assert_eq!(g_cells_sorted(&t), moved);
        }
    }
    Ok(actions)
}

/// Checks one position on its own: legal actions, rejections, observation.
fn check_position<G: Game>(g: &G) -> Result<(), TestCaseError> {
    let spec = G::spec();
    let n = spec.num_actions;
    let legal = g.legal_actions();
    prop_assert_eq!(legal.is_empty(), g.is_terminal());
    prop_assert!(legal.windows(2).all(|w| w[0] < w[1]), "not ascending: {:?}", legal);
    prop_assert!(legal.iter().all(|&a| (a as usize) < n));

    let (key, cells) = (g.key(), g.cells());
    for a in 0..n as Action {
        let result = g.apply(a as i64);
        if legal.contains(&a) {
            prop_assert!(g.is_legal(a));
            let mut unchecked = g.clone();
            unchecked.apply_unchecked(a);
            prop_assert_eq!(result.map(|n| n.key()).ok(), Some(unchecked.key()));
        } else {
            prop_assert!(!g.is_legal(a));
            match (result, g.outcome()) {
                (Err(PlayError::GameOver { outcome }), Some(o)) => prop_assert_eq!(outcome, o),
                (Err(PlayError::Illegal { action, notation, reason }), None) => {
                    prop_assert_eq!(action, a);
                    prop_assert_eq!(notation, G::action_name(a));
                    prop_assert!(!reason.is_empty());
                }
                (other, outcome) => {
                    return Err(TestCaseError::fail(format!("action {a} gave {other:?} (outcome {outcome:?})\n{g}")))
                }
            }
        }
        // `apply` works on a copy; the position is what it was.
        prop_assert_eq!(g.key(), key);
        prop_assert_eq!(&g.cells(), &cells);
    }
    for a in [-1, n as i64, i64::MAX] {
        let out_of_range = matches!(g.apply(a), Err(PlayError::OutOfRange { .. }));
        prop_assert!(out_of_range);
    }

    // Observation: plane 0 the side to move's pieces, plane 1 the opponent's.
    prop_assert_eq!(spec.obs_channels, 2);
    let area = spec.rows * spec.cols;
    prop_assert_eq!(cells.len(), area);
    let obs = observation(g);
    let (own, opp) = (g.to_move().index() as u8 + 1, g.to_move().opponent().index() as u8 + 1);
    for (i, &c) in cells.iter().enumerate() {
        prop_assert!(c <= 2);
        prop_assert_eq!(obs[i], (c == own) as u8 as f32, "plane 0 cell {}", i);
        prop_assert_eq!(obs[area + i], (c == opp) as u8 as f32, "plane 1 cell {}", i);
    }
    Ok(())
}

fn picks<G: Game>() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(any::<u32>(), G::spec().max_game_length)
}

proptest! {
    #[test]
    fn tictactoe_random_games(p in picks::<TicTacToe>()) {
        check_game::<TicTacToe>(&p, TicTacToe::transformed)?;
    }

    #[test]
    fn connect4_random_games(p in picks::<Connect4>()) {
        let actions = check_game::<Connect4>(&p, Connect4::transformed)?;
        // The move string round-trips.
        let text = connect4::moves_to_string(&actions);
        prop_assert_eq!(connect4::parse_moves(&text).unwrap(), actions);
        prop_assert!(Connect4::from_moves(&text).unwrap().is_terminal());
    }

    #[test]
    fn othello_random_games(p in picks::<Othello>()) {
        let actions = check_game::<Othello>(&p, Othello::transformed)?;
        let text = othello::moves_to_string(&actions);
        prop_assert_eq!(othello::parse_moves(&text).unwrap(), actions.clone());
        // Each move changes exactly the discs `flips` names, plus the new one.
        let mut g = Othello::initial();
        for &a in &actions {
            let flipped = g.flips(a);
            let next = g.apply(a as i64).unwrap();
            let changed = (g.black().0 ^ next.black().0) | (g.white().0 ^ next.white().0);
            if a == othello::PASS {
                prop_assert_eq!(changed, 0);
            } else {
                prop_assert!(!flipped.is_empty());
                prop_assert_eq!(changed, flipped.0 | 1 << a);
            }
            g = next;
        }
    }
}
