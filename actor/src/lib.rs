//! Cartridge actor. Modules in dependency order (see README.md):
//! [`mcts`] → [`nn`] → [`telemetry`] → [`store`] → [`selfplay`] → [`eval`] → [`server`] → [`play`] → [`config`],
//! [`bench`], [`cli`].

pub mod bench;
pub mod cli;
pub mod config;
pub mod eval;
pub mod mcts;
pub mod nn;
pub mod play;
pub mod selfplay;
pub mod server;
pub mod store;
pub mod telemetry;
