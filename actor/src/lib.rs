//! Cartridge actor. Modules in dependency order (docs/ARCHITECTURE.md):
//! [`flags`], [`profile`] → [`search`] → [`nn`] → [`telemetry`] → [`store`] → [`selfplay`] → [`eval`] → [`server`] → [`play`] →
//! [`config`], [`bench`], [`cli`].

pub mod bench;
pub mod cli;
pub mod config;
pub mod eval;
pub mod flags;
pub mod nn;
pub mod play;
pub mod profile;
pub mod search;
pub mod selfplay;
pub mod server;
pub mod store;
pub mod telemetry;
