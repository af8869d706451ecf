//! Pick a game by name.
//!
//! Generic code (MCTS, self-play) is monomorphised per game through [`with_game!`];
//! callers that only need to step positions by name use [`EngineContext`].

use std::fmt;

use crate::game::{Action, Game, Outcome, PlayError, Player};
use crate::spec::GameSpec;
use crate::tictactoe::TicTacToe;
use crate::with_game;

/// The games this build knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GameKind {
    TicTacToe,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown game {name:?}: known games are {known}")]
pub struct UnknownGame {
    pub name: String,
    pub known: String,
}

impl GameKind {
    pub const ALL: &'static [GameKind] = &[GameKind::TicTacToe];

    pub fn from_name(name: &str) -> Result<GameKind, UnknownGame> {
        let wanted = name.trim().to_ascii_lowercase().replace(['-', '_', ' '], "");
        GameKind::ALL.iter().copied().find(|k| k.name() == wanted).ok_or_else(|| UnknownGame {
            name: name.to_string(),
            known: GameKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>().join(", "),
        })
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn spec(self) -> &'static GameSpec {
        with_game!(self, G => G::spec())
    }
}

impl fmt::Display for GameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Runs `$body` with `$G` bound to the game type of `$kind`.
///
/// ```
/// use engine_core::{with_game, Game, GameKind};
/// let n = with_game!(GameKind::TicTacToe, G => G::spec().num_actions);
/// assert_eq!(n, 9);
/// ```
#[macro_export]
macro_rules! with_game {
    ($kind:expr, $G:ident => $body:expr) => {
        match $kind {
            $crate::GameKind::TicTacToe => {
                #[allow(dead_code)]
                type $G = $crate::tictactoe::TicTacToe;
                $body
            }
        }
    };
}

/// A position of any known game.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    TicTacToe(TicTacToe),
}

/// Steps positions of a game chosen by name:
///
/// ```
/// use engine_core::EngineContext;
/// let ctx = EngineContext::new("tictactoe").unwrap();
/// let s = ctx.reset(0);
/// let s = ctx.step(&s, 4).unwrap();
/// assert_eq!(ctx.legal_actions(&s).len(), 8);
/// assert!(ctx.step(&s, 4).is_err());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct EngineContext {
    kind: GameKind,
}

impl EngineContext {
    pub fn new(name: &str) -> Result<Self, UnknownGame> {
        Ok(EngineContext { kind: GameKind::from_name(name)? })
    }

    pub fn kind(&self) -> GameKind {
        self.kind
    }

    pub fn spec(&self) -> &'static GameSpec {
        self.kind.spec()
    }

    /// The initial position. The games have fixed starts; `seed` is accepted so that
    /// randomised openings can be added without changing callers.
    pub fn reset(&self, _seed: u64) -> State {
        match self.kind {
            GameKind::TicTacToe => State::TicTacToe(TicTacToe::initial()),
        }
    }

    pub fn step(&self, state: &State, action: i64) -> Result<State, PlayError> {
        match state {
            State::TicTacToe(g) => g.apply(action).map(State::TicTacToe),
        }
    }

    pub fn legal_actions(&self, state: &State) -> Vec<Action> {
        match state {
            State::TicTacToe(g) => g.legal_actions(),
        }
    }

    pub fn outcome(&self, state: &State) -> Option<Outcome> {
        match state {
            State::TicTacToe(g) => g.outcome(),
        }
    }

    pub fn to_move(&self, state: &State) -> Player {
        match state {
            State::TicTacToe(g) => g.to_move(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve() {
        assert_eq!(GameKind::from_name("TicTacToe").unwrap(), GameKind::TicTacToe);
        assert_eq!(GameKind::from_name("tic-tac-toe").unwrap(), GameKind::TicTacToe);
        let err = GameKind::from_name("chess").unwrap_err();
        assert!(err.to_string().contains("tictactoe"), "{err}");
    }
}
