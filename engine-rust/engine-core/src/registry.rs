//! Pick a game by name.
//!
//! Generic code (MCTS, self-play) is monomorphised per game through [`with_game!`];
//! callers that only need to step positions by name use [`EngineContext`].

use std::fmt;

use crate::game::{Action, Game, Outcome, PlayError, Player};
use crate::spec::GameSpec;
pub use crate::{GameKind, State};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown game {name:?}: known games are {known}")]
pub struct UnknownGame {
    pub name: String,
    pub known: String,
}

impl GameKind {
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

    /// The context of a game already resolved to its kind.
    pub fn from_kind(kind: GameKind) -> Self {
        EngineContext { kind }
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
        State::initial(self.kind)
    }

    /// Plays a checked action; `state` is untouched on error. A state of another game
    /// than this context's is played by its own rules.
    pub fn step(&self, state: &State, action: i64) -> Result<State, PlayError> {
        state.apply(action)
    }

    /// The position after `actions` from the start, every one checked. On error, the
    /// index of the offending action and why.
    pub fn replay(&self, actions: &[i64]) -> Result<State, (usize, PlayError)> {
        let mut s = self.reset(0);
        for (i, &a) in actions.iter().enumerate() {
            s = self.step(&s, a).map_err(|e| (i, e))?;
        }
        Ok(s)
    }

    pub fn legal_actions(&self, state: &State) -> Vec<Action> {
        with_state!(state, g => g.legal_actions())
    }

    pub fn outcome(&self, state: &State) -> Option<Outcome> {
        with_state!(state, g => g.outcome())
    }

    pub fn to_move(&self, state: &State) -> Player {
        with_state!(state, g => g.to_move())
    }

    pub fn ply(&self, state: &State) -> usize {
        with_state!(state, g => g.ply())
    }

    /// See [`Game::cells`].
    pub fn cells(&self, state: &State) -> Vec<u8> {
        with_state!(state, g => g.cells())
    }

    /// See [`Game::winning_cells`].
    pub fn winning_cells(&self, state: &State) -> Vec<usize> {
        with_state!(state, g => g.winning_cells())
    }

    /// The observation (`docs/CONTRACTS.md` §2), `spec().obs_len()` floats.
    pub fn encode(&self, state: &State) -> Vec<f32> {
        with_state!(state, g => {
            let mut out = vec![0.0; spec_of(g).obs_len()];
            g.encode(&mut out);
            out
        })
    }

    /// The action in this game's notation.
    pub fn action_name(&self, action: Action) -> String {
        with_game!(self.kind, G => G::action_name(action))
    }

    /// Parses one move in this game's notation.
    pub fn parse_action(&self, text: &str) -> Result<Action, PlayError> {
        with_game!(self.kind, G => G::parse_action(text))
    }
}

/// The spec of a position's game, for code that has a value but no type name.
fn spec_of<G: Game>(_: &G) -> &'static GameSpec {
    G::spec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve() {
        assert_eq!(GameKind::from_name("TicTacToe").unwrap(), GameKind::TicTacToe);
        assert_eq!(GameKind::from_name("tic-tac-toe").unwrap(), GameKind::TicTacToe);
        assert_eq!(GameKind::from_name("Connect4").unwrap(), GameKind::Connect4);
        assert_eq!(GameKind::from_name("connect-4").unwrap(), GameKind::Connect4);
        assert_eq!(GameKind::from_name(" othello ").unwrap(), GameKind::Othello);
        let err = GameKind::from_name("chess").unwrap_err();
        assert_eq!(err.to_string(), "unknown game \"chess\": known games are tictactoe, connect4, othello");
    }

    #[test]
    fn every_game_steps_by_name() {
        // (game, moves in its notation, cells that must be set afterwards)
        for (name, moves, first, second) in [
            ("tictactoe", &["b2", "a1"][..], 4, 0),
            ("connect4", &["4", "4"], 38, 31),
            ("othello", &["f5", "d6"], 37, 43),
        ] {
            let ctx = EngineContext::new(name).unwrap();
            assert_eq!(ctx.spec().name, name);
            assert_eq!(ctx.kind().to_string(), name);
            let mut s = ctx.reset(0);
            for m in moves {
                let a = ctx.parse_action(m).unwrap();
                assert_eq!(&ctx.action_name(a), m);
                s = ctx.step(&s, a as i64).unwrap();
            }
            let cells = ctx.cells(&s);
            assert_eq!((cells[first], cells[second]), (1, 2), "{name}");
            assert_eq!(ctx.to_move(&s), Player::First);
            assert_eq!(ctx.ply(&s), 2);
            assert_eq!(ctx.outcome(&s), None);
            assert!(ctx.winning_cells(&s).is_empty());
            let obs = ctx.encode(&s);
            assert_eq!(obs.len(), ctx.spec().obs_len());
            let n = ctx.spec().num_actions as i64;
            assert!(matches!(ctx.step(&s, n), Err(PlayError::OutOfRange { .. })));
            assert!(!ctx.legal_actions(&s).is_empty());
        }
        let ctx = EngineContext::new("connect4").unwrap();
        let s = ctx.replay(&[0, 1, 0, 1, 0, 1, 0]).unwrap();
        assert_eq!(ctx.outcome(&s), Some(Outcome::Win(Player::First)));
        assert_eq!(ctx.winning_cells(&s), vec![14, 21, 28, 35]);
        // A bad move is named by its index; the moves before it were fine.
        let (i, e) = ctx.replay(&[3, 3, 9]).unwrap_err();
        assert_eq!(i, 2);
        assert!(matches!(e, PlayError::OutOfRange { .. }), "{e}");
    }
}
