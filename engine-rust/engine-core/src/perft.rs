//! Perft: count the leaf nodes of the game tree to a depth. One harness for every
//! game; a finished game is a leaf (it is not expanded further).

use std::collections::HashSet;

use crate::game::{Action, Game};

/// Number of move sequences of exactly `depth` plies from `pos`. A sequence that ends
/// the game before `depth` is not counted (the usual perft convention; Connect4 and
/// Othello published counts use it too).
pub fn perft<G: Game>(pos: &G, depth: usize) -> u64 {
    let mut bufs = vec![Vec::new(); depth + 1];
    perft_inner(pos, depth, &mut bufs)
}

fn perft_inner<G: Game>(pos: &G, depth: usize, bufs: &mut [Vec<Action>]) -> u64 {
    if depth == 0 {
        return 1;
    }
    let (buf, rest) = bufs.split_first_mut().expect("a buffer per ply");
    pos.legal_actions_into(buf);
    if depth == 1 {
        return buf.len() as u64;
    }
    let mut total = 0;
    for &a in buf.iter() {
        let mut next = pos.clone();
        next.apply_unchecked(a);
        total += perft_inner(&next, depth - 1, rest);
    }
    total
}

/// Number of distinct positions (by [`Game::key`]) reachable from `start` in exactly
/// `n` plies, for `n` in `0..=max_ply`. Breadth-first by ply; a finished position is
/// counted but not expanded. (Every game here has its ply fixed by the position, so
/// "reachable in exactly `n` plies" needs no care about transpositions of different
/// lengths.)
pub fn distinct_positions_by_ply<G: Game>(start: &G, max_ply: usize) -> Vec<u64> {
    let mut counts = vec![1];
    let mut frontier = vec![start.clone()];
    let mut actions = Vec::new();
    for ply in 1..=max_ply {
        let mut seen = HashSet::new();
        let mut next = Vec::new();
        // The last layer is only counted, so its positions need not be kept.
        let keep = ply < max_ply;
        for pos in &frontier {
            pos.legal_actions_into(&mut actions);
            for &a in &actions {
                let mut child = pos.clone();
                child.apply_unchecked(a);
                if seen.insert(child.key()) && keep {
                    next.push(child);
                }
            }
        }
        counts.push(seen.len() as u64);
        frontier = next;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tictactoe::TicTacToe;

    #[test]
    fn tictactoe_perft() {
        // 9, 9*8, 9*8*7, ... until wins start at ply 5.
        assert_eq!(perft(&TicTacToe::initial(), 1), 9);
        assert_eq!(perft(&TicTacToe::initial(), 2), 72);
        assert_eq!(perft(&TicTacToe::initial(), 4), 3024);
    }

    #[test]
    fn tictactoe_distinct_positions() {
        // The same figures as the depth-first enumeration in the tictactoe module.
        let counts = distinct_positions_by_ply(&TicTacToe::initial(), 9);
        assert_eq!(counts, vec![1, 9, 72, 252, 756, 1260, 1520, 1140, 390, 78]);
    }
}
