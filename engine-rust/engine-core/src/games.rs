//! The generator of the one list of games (invoked in `lib.rs`).

/// Declares the games from one list: their rules modules, [`GameKind`] and its `ALL`,
/// the [`with_game!`] dispatch macro, the [`State`] enum and its by-name dispatch
/// (used by [`EngineContext`]).
/// `$d` is a literal `$`, passed in so that the generated `with_game!` can have
/// metavariables of its own.
macro_rules! games {
    ($d:tt $($Kind:ident => $module:ident :: $Type:ident),+ $(,)?) => {
        $(pub mod $module;)+

        /// The games this build knows (the `games!` list in lib.rs).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum GameKind {
            $($Kind),+
        }

        impl GameKind {
            pub const ALL: &'static [GameKind] = &[$(GameKind::$Kind),+];
        }

        /// Runs `$body` with `$G` bound to the game type of `$kind`.
        ///
        /// ```
        /// use engine_core::{with_game, Game, GameKind};
        /// let n = with_game!(GameKind::TicTacToe, G => G::spec().num_actions);
        /// assert_eq!(n, 9);
        /// let sizes: Vec<usize> = GameKind::ALL.iter().map(|&k| with_game!(k, G => G::spec().num_actions)).collect();
        /// assert_eq!(sizes, [9, 7, 65]);
        /// ```
        #[macro_export]
        macro_rules! with_game {
            ($d kind:expr, $d G:ident => $d body:expr) => {
                match $d kind {
                    $($d crate::GameKind::$Kind => {
                        #[allow(dead_code)]
                        type $d G = $d crate::$module::$Type;
                        $d body
                    })+
                }
            };
        }

        /// A position of any known game.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum State {
            $($Kind(crate::$module::$Type)),+
        }

        /// Runs `$body` with `$g` bound to the position inside `$state`, whatever its game.
        #[allow(unused_macros)]
        macro_rules! with_state {
            ($d state:expr, $d g:ident => $d body:expr) => {
                match $d state {
                    $(State::$Kind($d g) => $d body),+
                }
            };
        }

        impl State {
            /// The initial position of `kind`.
            pub(crate) fn initial(kind: GameKind) -> State {
                match kind {
                    $(GameKind::$Kind => State::$Kind(<crate::$module::$Type as crate::Game>::initial())),+
                }
            }

            /// Plays a checked action by the position's own rules.
            pub(crate) fn apply(&self, action: i64) -> Result<State, crate::PlayError> {
                match self {
                    $(State::$Kind(g) => crate::Game::apply(g, action).map(State::$Kind)),+
                }
            }
        }
    };
}
