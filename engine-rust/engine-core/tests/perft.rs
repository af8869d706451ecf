//! The perft specification: every line of `tests/data/perft.txt` checked with the
//! generic harness (`engine_core::perft`), whatever the game.

use std::collections::HashMap;

use engine_core::perft::{distinct_positions_by_ply, perft};
use engine_core::{with_game, Game, GameKind};

const DATA: &str = include_str!("data/perft.txt");

#[derive(Debug)]
struct Case {
    line: usize,
    game: GameKind,
    start: Vec<String>,
    count: String,
    depth: usize,
    expected: u64,
}

fn cases() -> Vec<Case> {
    DATA.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 5, "line {}: expected 5 fields: {l}", i + 1);
            let start = if f[1] == "-" { Vec::new() } else { f[1].split(',').map(str::to_string).collect() };
            Case {
                line: i + 1,
                game: GameKind::from_name(f[0]).unwrap(),
                start,
                count: f[2].to_string(),
                depth: f[3].parse().unwrap(),
                expected: f[4].parse().unwrap(),
            }
        })
        .collect()
}

fn start<G: Game>(case: &Case) -> G {
    let mut pos = G::initial();
    for m in &case.start {
        let a = G::parse_action(m).unwrap_or_else(|e| panic!("line {}: {e}", case.line));
        pos = pos.apply(a as i64).unwrap_or_else(|e| panic!("line {}: {e}", case.line));
    }
    pos
}

/// One test per game, so they run in parallel and a failure names the game.
fn check(game: GameKind) {
    let cases: Vec<Case> = cases().into_iter().filter(|c| c.game == game).collect();
    assert!(!cases.is_empty(), "no perft data for {game}");
    // Distinct-position counts come out for every ply at once: one breadth-first
    // search per start, as deep as its deepest line.
    let mut by_ply: HashMap<Vec<String>, Vec<u64>> = HashMap::new();
    for case in cases.iter().filter(|c| c.count == "positions") {
        let deepest = cases.iter().filter(|c| c.count == "positions" && c.start == case.start).map(|c| c.depth).max();
        by_ply
            .entry(case.start.clone())
            .or_insert_with(|| with_game!(game, G => distinct_positions_by_ply(&start::<G>(case), deepest.unwrap())));
    }
    let mut failures = Vec::new();
    for case in &cases {
        let got = match case.count.as_str() {
            "perft" => with_game!(game, G => perft(&start::<G>(case), case.depth)),
            "positions" => by_ply[&case.start][case.depth],
            other => panic!("line {}: unknown count {other:?}", case.line),
        };
        if got != case.expected {
            failures.push(format!("line {}: {case:?} gave {got}", case.line));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn tictactoe() {
    check(GameKind::TicTacToe);
}

#[test]
fn connect4() {
    check(GameKind::Connect4);
}

#[test]
fn othello() {
    check(GameKind::Othello);
}

#[test]
fn every_game_has_data() {
    for &g in GameKind::ALL {
        assert!(cases().iter().any(|c| c.game == g), "{g}");
    }
}
