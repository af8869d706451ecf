#![recursion_limit = "512"]
//! Cartridge actor. Modules in dependency order (see README.md):
//! [`mcts`] → [`nn`] → [`selfplay`] → [`store`] → [`server`] → [`config`], [`cli`].

pub mod cli;
pub mod config;
pub mod mcts;
pub mod nn;
pub mod selfplay;
pub mod server;
pub mod store;
