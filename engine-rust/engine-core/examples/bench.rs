//! Move generation and random playout speed, per game, on one thread.
//!
//! ```text
//! cargo run --release -p engine-core --example bench
//! ```
//!
//! Perft uses the generic harness (`engine_core::perft::perft`), the same code the
//! tests pin the published counts with, so the figures are for the `Game` trait as
//! the actor sees it, not for a hand-tuned counter.

use std::time::{Duration, Instant};

use engine_core::connect4::Connect4;
use engine_core::othello::Othello;
use engine_core::perft::perft;
use engine_core::tictactoe::TicTacToe;
use engine_core::{Action, Game, Outcome, Player};

/// xorshift64*: enough randomness for playouts, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        // Multiply-shift instead of `%`: unbiased enough and branch-free.
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
}

/// Perft from the start, repeated until at least `min` has passed so that small trees
/// are timed over many runs; returns (leaves of one run, time of one run).
fn time_perft<G: Game>(depth: usize, min: Duration) -> (u64, Duration) {
    let start = Instant::now();
    let mut runs = 0;
    let mut n = 0;
    while runs == 0 || start.elapsed() < min {
        n = perft(&G::initial(), depth);
        runs += 1;
    }
    (n, start.elapsed() / runs)
}

/// Random games from the start for about `budget`; returns (games, plies, outcomes
/// first/second/draw, elapsed).
fn playouts<G: Game>(budget: Duration) -> (u64, u64, [u64; 3], Duration) {
    let mut rng = Rng(0x853c_49e6_748f_ea9b);
    let mut buf: Vec<Action> = Vec::new();
    let (mut games, mut plies, mut results) = (0u64, 0u64, [0u64; 3]);
    let start = Instant::now();
    while start.elapsed() < budget {
        // Batches of 256 keep the clock out of the measurement.
        for _ in 0..256 {
            let mut g = G::initial();
            loop {
                g.legal_actions_into(&mut buf);
                if buf.is_empty() {
                    break;
                }
                g.apply_unchecked(buf[rng.below(buf.len())]);
                plies += 1;
            }
            let i = match g.outcome().expect("no legal action means the game is over") {
                Outcome::Win(Player::First) => 0,
                Outcome::Win(Player::Second) => 1,
                Outcome::Draw => 2,
            };
            results[i] += 1;
            games += 1;
        }
    }
    (games, plies, results, start.elapsed())
}

fn report<G: Game>(depth: usize) {
    let name = G::spec().display_name;
    let (n, t) = time_perft::<G>(depth, Duration::from_millis(300));
    println!(
        "{name:<10} perft({depth}) = {n:>11} in {:>7.4} s  {:>7.1} M leaves/s",
        t.as_secs_f64(),
        n as f64 / t.as_secs_f64() / 1e6
    );
    let (games, plies, [first, second, draw], t) = playouts::<G>(Duration::from_secs(1));
    println!(
        "{name:<10} random playouts: {:>9.0} games/s, {:>5.1} plies/game, {:>5.1} M plies/s  (first {:.1}%, second {:.1}%, draw {:.1}%)",
        games as f64 / t.as_secs_f64(),
        plies as f64 / games as f64,
        plies as f64 / t.as_secs_f64() / 1e6,
        100.0 * first as f64 / games as f64,
        100.0 * second as f64 / games as f64,
        100.0 * draw as f64 / games as f64,
    );
}

fn main() {
    report::<TicTacToe>(9);
    report::<Connect4>(9);
    report::<Othello>(9);
    // The headline figure: deep enough that per-call overheads do not matter.
    let (n, t) = time_perft::<Othello>(10, Duration::ZERO);
    println!(
        "Othello    perft(10) = {n} in {:.3} s ({:.1} M leaves/s, one thread)",
        t.as_secs_f64(),
        n as f64 / t.as_secs_f64() / 1e6
    );
}
