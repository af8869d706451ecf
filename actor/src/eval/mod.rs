//! Evaluation: who is stronger, by how much, and how close to perfect play.
//!
//! In dependency order:
//! - [`elo`]: a match's score with its Elo difference, interval and p-value; the
//!   maximum-likelihood Bradley–Terry fit over many players.
//! - [`players`]: [`players::PlayerSpec`] (`latest`, `best`, a model file, `random`,
//!   `mcts:R`, `alphabeta:D`) and the baselines' moves (alpha-beta with the game's
//!   own static evaluation, `Game::heuristic`).
//! - [`arena`]: matches, many games at once with the network leaves of all of them in
//!   one batch; balanced random openings.
//! - [`accuracy`]: perfect-play error rates on the benchmark the game's profile names
//!   (TicTacToe solved exactly, Connect4's solver-labelled sets in `games/connect4/`).
//! - [`store`]: `eval.db` and the `/api/stats` `evaluation` summary
//!   (docs/CONTRACTS.md §8).
//! - [`evaluator`]: the background thread of `actor run` (new snapshots, gating,
//!   `models/best.onnx`).

pub mod accuracy;
pub mod arena;
pub mod commands;
pub mod elo;
pub mod evaluator;
pub mod players;
pub mod store;
