//! The [`Game`] trait: a few required methods, the rest built on them.

use std::fmt;

/// An action: an integer from the initial position, `0..spec().num_actions`.
pub type Action = u16;

/// The two players. `First` moves first (X in TicTacToe, black in Othello).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Player {
    First,
    Second,
}

impl Player {
    pub const fn opponent(self) -> Player {
        match self {
            Player::First => Player::Second,
            Player::Second => Player::First,
        }
    }

    /// 0 for `First`, 1 for `Second`.
    pub const fn index(self) -> usize {
        match self {
            Player::First => 0,
            Player::Second => 1,
        }
    }
}

/// How a finished game ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Win(Player),
    Draw,
}

impl Outcome {
    /// +1 if `player` won, -1 if they lost, 0 for a draw.
    pub fn value_for(self, player: Player) -> f32 {
        match self {
            Outcome::Draw => 0.0,
            Outcome::Win(p) if p == player => 1.0,
            Outcome::Win(_) => -1.0,
        }
    }

    /// +1 first player won, -1 second player won, 0 draw (the form stored in replay.db).
    pub fn as_i8(self) -> i8 {
        match self {
            Outcome::Win(Player::First) => 1,
            Outcome::Win(Player::Second) => -1,
            Outcome::Draw => 0,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Win(Player::First) => f.write_str("first player won"),
            Outcome::Win(Player::Second) => f.write_str("second player won"),
            Outcome::Draw => f.write_str("draw"),
        }
    }
}

/// Why an action could not be played. The position it was tried on is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlayError {
    #[error("action {action} is out of range: {game} actions are 0..{num_actions}")]
    OutOfRange { game: &'static str, action: i64, num_actions: usize },
    #[error("action {action} ({notation}) is illegal: {reason}")]
    Illegal { action: Action, notation: String, reason: String },
    #[error("the game is already over ({outcome})")]
    GameOver { outcome: Outcome },
    #[error("cannot parse move {text:?}: {reason}")]
    Parse { text: String, reason: String },
}

/// A two-player, zero-sum, perfect-information game position.
///
/// Implementors provide `spec`, `initial`, `to_move`, `legal_actions_into`,
/// `apply_unchecked`, `outcome`, `encode`, `cells`, `action_name` and `parse_action`;
/// everything else has a default built on those. Optional capabilities (a static
/// evaluation for alpha-beta, a move order, a compact move-list notation) are provided
/// methods too, so a new game compiles with its rules alone.
pub trait Game: Clone + Send + Sync + fmt::Debug + fmt::Display + 'static {
    /// An exact key of the position (board and side to move), for counting distinct
    /// positions and for caches.
    type Key: Copy + Eq + Ord + std::hash::Hash + Send + Sync + fmt::Debug;

    /// The static description of this game.
    fn spec() -> &'static crate::GameSpec;

    /// The initial position.
    fn initial() -> Self;

    /// Whose turn it is.
    fn to_move(&self) -> Player;

    /// Number of actions played from the initial position (a pass counts).
    fn ply(&self) -> usize;

    /// Appends the legal actions, ascending, to `out` (which is cleared first).
    /// Empty exactly when the game is over.
    fn legal_actions_into(&self, out: &mut Vec<Action>);

    /// Plays `action`, which must be legal. Behaviour for an illegal action is
    /// unspecified (but memory safe); use [`Game::apply`] for untrusted input.
    fn apply_unchecked(&mut self, action: Action);

    /// `Some` once the game is over.
    fn outcome(&self) -> Option<Outcome>;

    /// Writes the observation, `C × rows × cols` floats in row-major `[C][H][W]`
    /// order, from the point of view of the side to move.
    fn encode(&self, out: &mut [f32]);

    /// The board for display, row-major from the top-left: 0 empty, 1 first
    /// player's piece, 2 second player's piece.
    fn cells(&self) -> Vec<u8>;

    /// The exact key of this position.
    fn key(&self) -> Self::Key;

    /// The move in the game's notation (`"b2"`, `"4"`, `"f5"`, `"pass"`).
    fn action_name(action: Action) -> String;

    /// Parses one move in the game's notation.
    fn parse_action(text: &str) -> Result<Action, PlayError>;

    // ---- provided ----

    fn is_terminal(&self) -> bool {
        self.outcome().is_some()
    }

    fn legal_actions(&self) -> Vec<Action> {
        let mut out = Vec::new();
        self.legal_actions_into(&mut out);
        out
    }

    fn is_legal(&self, action: Action) -> bool {
        self.legal_actions().contains(&action)
    }

    /// Checks `action` and explains why it is not allowed.
    fn check(&self, action: i64) -> Result<Action, PlayError> {
        let spec = Self::spec();
        if action < 0 || action >= spec.num_actions as i64 {
            return Err(PlayError::OutOfRange { game: spec.name, action, num_actions: spec.num_actions });
        }
        if let Some(outcome) = self.outcome() {
            return Err(PlayError::GameOver { outcome });
        }
        let action = action as Action;
        if !self.is_legal(action) {
            return Err(PlayError::Illegal {
                action,
                notation: Self::action_name(action),
                reason: self.illegal_reason(action),
            });
        }
        Ok(action)
    }

    /// The cells (row-major from the top-left, as in [`Game::cells`]) of the winning
    /// line or lines, ascending, for highlighting; empty unless the game was won by
    /// completing a line. Games without lines (Othello) keep this default.
    fn winning_cells(&self) -> Vec<usize> {
        Vec::new()
    }

    /// Why a legal-range action is illegal here; games override this with specifics.
    fn illegal_reason(&self, _action: Action) -> String {
        "it is not among the legal moves in this position".to_string()
    }

    /// A static evaluation of the position for its side to move, strictly inside
    /// (-1, 1) so that it never outranks a proven result; `None` for games without
    /// one (then the alpha-beta baseline is not offered for the game).
    fn heuristic(&self) -> Option<f32> {
        None
    }

    /// The legal moves in the order alpha-beta should try them (best guesses first).
    fn ordered_moves(&self) -> Vec<Action> {
        self.legal_actions()
    }

    /// The position after a move list in the game's notation, as benchmark files and
    /// terminal play write it. The default reads moves separated by whitespace or
    /// commas; games with a compact notation (Connect4's `4453`) override it.
    fn from_notation(text: &str) -> Result<Self, PlayError> {
        let mut g = Self::initial();
        for word in text.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()) {
            let a = Self::parse_action(word)?;
            g = g.apply(a as i64)?;
        }
        Ok(g)
    }

    /// Plays a checked action on a copy; `self` is untouched on error.
    fn apply(&self, action: i64) -> Result<Self, PlayError> {
        let action = self.check(action)?;
        let mut next = self.clone();
        next.apply_unchecked(action);
        Ok(next)
    }

    /// The position after playing `actions` from the start. On error, returns the
    /// index of the offending action and why.
    fn from_actions(actions: &[i64]) -> Result<Self, (usize, PlayError)> {
        let mut g = Self::initial();
        for (i, &a) in actions.iter().enumerate() {
            let a = g.check(a).map_err(|e| (i, e))?;
            g.apply_unchecked(a);
        }
        Ok(g)
    }
}
