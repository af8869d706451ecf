//! Perft: count the leaf nodes of the game tree to a depth. One harness for every
//! game; a finished game is a leaf (it is not expanded further).

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
}
