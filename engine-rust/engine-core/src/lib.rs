//! Game rules for Cartridge, as a pure library: no I/O, no threads.
//!
//! - [`game`]: the [`Game`] trait every game implements, with [`Player`], [`Outcome`]
//!   and [`PlayError`].
//! - [`spec`]: [`GameSpec`], the static description of a game (board, observation
//!   shape, action count, symmetries) that the actor writes into `replay.db` so the
//!   trainer needs no game rules of its own.
//! - [`registry`]: pick a game by name ([`GameKind`], [`EngineContext`], [`with_game!`]).
//! - [`perft`]: one move-generation counting harness for every game.
//! - the games: [`tictactoe`].
//!
//! Actions are integers from the initial position (see `docs/CONTRACTS.md`, which this
//! crate must match).

pub mod game;
pub mod perft;
pub mod registry;
pub mod spec;
pub mod tictactoe;

pub use game::{Action, Game, Outcome, PlayError, Player};
pub use registry::{EngineContext, GameKind, UnknownGame};
pub use spec::{GameSpec, Symmetry};
