//! Game rules for Cartridge, as a pure library: no I/O, no threads.
//!
//! - [`game`]: the [`Game`] trait every game implements, with [`Player`], [`Outcome`]
//!   and [`PlayError`].
//! - [`spec`]: [`GameSpec`], the static description of a game (board, observation
//!   shape, action count, symmetries) that the actor writes into `replay.db` so the
//!   trainer needs no game rules of its own.
//! - [`registry`]: pick a game by name ([`GameKind`], [`EngineContext`], [`with_game!`]);
//!   the games themselves are one list in this file (`games!`).
//! - [`perft`]: one move-generation counting harness for every game (and distinct
//!   positions by ply); `tests/data/perft.txt` holds the published counts it is held to.
//! - the games, each on bitboards with its notation, symmetries and observation:
//!   [`tictactoe`] (3×3), [`connect4`] (7 columns × 6 rows, the solvers' bit layout)
//!   and [`othello`] (8×8, shift-based move generation).
//!
//! Actions are integers from the initial position (see `docs/CONTRACTS.md`, which this
//! crate must match).

#[macro_use]
mod games;

// The one list of games: a new game is its rules module (`src/<name>.rs`) and one line
// here, plus its folder under games/ (profile) and its web module.
games! {$
    TicTacToe => tictactoe::TicTacToe,
    Connect4 => connect4::Connect4,
    Othello => othello::Othello,
}

pub mod game;
pub mod perft;
pub mod registry;
pub mod spec;

pub use game::{Action, Game, Outcome, PlayError, Player};
pub use registry::{EngineContext, UnknownGame};
pub use spec::{GameSpec, Symmetry};
