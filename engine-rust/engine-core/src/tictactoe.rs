//! TicTacToe on two 9-bit boards.
//!
//! Actions 0–8, row-major from the top-left; notation `a1`..`c3` with files a–c left
//! to right and ranks 1–3 from the *top* row (so action 0 is `a1`, 8 is `c3`):
//!
//! ```text
//!   a b c
//! 1 0 1 2
//! 2 3 4 5
//! 3 6 7 8
//! ```
//!
//! Observation (obs_version 1): 2 planes of 3×3, plane 0 the side to move's marks,
//! plane 1 the opponent's.

use std::fmt;
use std::sync::OnceLock;

use crate::game::{Action, Game, Outcome, PlayError, Player};
use crate::spec::{dihedral_cells, GameSpec, Symmetry};

#[rustfmt::skip]
const LINES: [u16; 8] = [
    0b000_000_111, 0b000_111_000, 0b111_000_000, // rows
    0b001_001_001, 0b010_010_010, 0b100_100_100, // columns
    0b100_010_001, 0b001_010_100, // diagonals
];
const FULL: u16 = 0b111_111_111;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct TicTacToe {
    /// Bit `i` set: the first player (X) has a mark on cell `i`.
    x: u16,
    /// Bit `i` set: the second player (O) has a mark on cell `i`.
    o: u16,
}

impl TicTacToe {
    fn has_line(bits: u16) -> bool {
        LINES.iter().any(|&l| l & !bits == 0)
    }

    /// The three cells of the first complete line, if any (for highlighting).
    pub fn winning_line(&self) -> Option<[usize; 3]> {
        LINES.iter().find(|&&l| self.x & l == l || self.o & l == l).map(|&l| {
            let mut out = [0; 3];
            let mut k = 0;
            for i in 0..9 {
                if l >> i & 1 == 1 {
                    out[k] = i;
                    k += 1;
                }
            }
            out
        })
    }
}

impl Game for TicTacToe {
    type Key = u32;

    fn spec() -> &'static GameSpec {
        static SPEC: OnceLock<GameSpec> = OnceLock::new();
        SPEC.get_or_init(|| GameSpec {
            name: "tictactoe",
            display_name: "TicTacToe",
            rows: 3,
            cols: 3,
            obs_channels: 2,
            obs_version: 1,
            num_actions: 9,
            max_game_length: 9,
            // Actions are cells, so each symmetry permutes both the same way.
            symmetries: dihedral_cells(3)
                .into_iter()
                .map(|(name, cells)| Symmetry { name, actions: cells.clone(), cells })
                .collect(),
        })
    }

    fn initial() -> Self {
        TicTacToe::default()
    }

    fn to_move(&self) -> Player {
        if (self.x | self.o).count_ones().is_multiple_of(2) {
            Player::First
        } else {
            Player::Second
        }
    }

    fn ply(&self) -> usize {
        (self.x | self.o).count_ones() as usize
    }

    fn legal_actions_into(&self, out: &mut Vec<Action>) {
        out.clear();
        if self.outcome().is_some() {
            return;
        }
        let empty = !(self.x | self.o) & FULL;
        out.extend((0..9).filter(|i| empty >> i & 1 == 1));
    }

    fn apply_unchecked(&mut self, action: Action) {
        let bit = 1u16 << (action % 9);
        match self.to_move() {
            Player::First => self.x |= bit,
            Player::Second => self.o |= bit,
        }
    }

    fn outcome(&self) -> Option<Outcome> {
        if Self::has_line(self.x) {
            Some(Outcome::Win(Player::First))
        } else if Self::has_line(self.o) {
            Some(Outcome::Win(Player::Second))
        } else if self.x | self.o == FULL {
            Some(Outcome::Draw)
        } else {
            None
        }
    }

    fn encode(&self, out: &mut [f32]) {
        let (own, opp) = match self.to_move() {
            Player::First => (self.x, self.o),
            Player::Second => (self.o, self.x),
        };
        for i in 0..9 {
            out[i] = (own >> i & 1) as f32;
            out[9 + i] = (opp >> i & 1) as f32;
        }
    }

    fn cells(&self) -> Vec<u8> {
        (0..9)
            .map(|i| {
                if self.x >> i & 1 == 1 {
                    1
                } else if self.o >> i & 1 == 1 {
                    2
                } else {
                    0
                }
            })
            .collect()
    }

    fn key(&self) -> u32 {
        (self.x as u32) | (self.o as u32) << 9
    }

    fn action_name(action: Action) -> String {
        if action >= 9 {
            return format!("?{action}");
        }
        let file = (b'a' + (action % 3) as u8) as char;
        format!("{file}{}", action / 3 + 1)
    }

    fn parse_action(text: &str) -> Result<Action, PlayError> {
        let t = text.trim().to_ascii_lowercase();
        let err = |reason: &str| PlayError::Parse { text: text.to_string(), reason: reason.to_string() };
        let b = t.as_bytes();
        if b.len() == 2 && (b'a'..=b'c').contains(&b[0]) && (b'1'..=b'3').contains(&b[1]) {
            return Ok(((b[1] - b'1') * 3 + (b[0] - b'a')) as Action);
        }
        if let Ok(n) = t.parse::<u16>() {
            return if n < 9 { Ok(n) } else { Err(err("cell numbers are 0-8")) };
        }
        Err(err("expected a cell like b2 (files a-c, ranks 1-3 from the top) or a number 0-8"))
    }

    fn illegal_reason(&self, action: Action) -> String {
        format!("cell {} is already taken", Self::action_name(action))
    }

    /// Every cell on a complete line: the last mark can finish two lines at once.
    fn winning_cells(&self) -> Vec<usize> {
        let lines = LINES.iter().filter(|&&l| self.x & l == l || self.o & l == l).fold(0u16, |acc, &l| acc | l);
        (0..9).filter(|i| lines >> i & 1 == 1).collect()
    }
}

impl TicTacToe {
    /// This position with `sym` applied (see [`Symmetry`]: cell `i` of the result holds
    /// what was in cell `sym.cells[i]`). Used to check that the spec's permutations
    /// agree with the rules.
    pub fn transformed(&self, sym: &Symmetry) -> TicTacToe {
        let gather = |bits: u16| (0..9).filter(|&i| bits >> sym.cells[i] & 1 == 1).fold(0u16, |acc, i| acc | 1 << i);
        TicTacToe { x: gather(self.x), o: gather(self.o) }
    }
}

impl fmt::Display for TicTacToe {
    /// ```text
    ///   a b c
    /// 1 X . .
    /// 2 . O .
    /// 3 . . X
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  a b c")?;
        let cells = self.cells();
        for r in 0..3 {
            write!(f, "{}", r + 1)?;
            for c in 0..3 {
                let ch = ['.', 'X', 'O'][cells[r * 3 + c] as usize];
                write!(f, " {ch}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Every reachable position, by ply, and the terminal ones.
    fn enumerate() -> (Vec<usize>, usize) {
        let mut per_ply = vec![0; 10];
        let mut terminal = 0;
        let mut seen = HashSet::new();
        let mut stack = vec![TicTacToe::initial()];
        while let Some(g) = stack.pop() {
            if !seen.insert(g.key()) {
                continue;
            }
            per_ply[g.ply()] += 1;
            if g.is_terminal() {
                terminal += 1;
                continue;
            }
            for a in g.legal_actions() {
                stack.push(g.apply(a as i64).unwrap());
            }
        }
        (per_ply, terminal)
    }

    fn count_games(g: &TicTacToe) -> u64 {
        if g.is_terminal() {
            return 1;
        }
        g.legal_actions().into_iter().map(|a| count_games(&g.apply(a as i64).unwrap())).sum()
    }

    #[test]
    fn reachable_positions_per_ply() {
        let (per_ply, terminal) = enumerate();
        assert_eq!(per_ply, vec![1, 9, 72, 252, 756, 1260, 1520, 1140, 390, 78]);
        assert_eq!(per_ply.iter().sum::<usize>(), 5478);
        assert_eq!(terminal, 958);
    }

    #[test]
    fn complete_games() {
        assert_eq!(count_games(&TicTacToe::initial()), 255168);
    }

    #[test]
    fn apply_rejects_bad_actions_and_keeps_position() {
        let g = TicTacToe::from_actions(&[4]).unwrap();
        let before = g;
        assert!(matches!(g.apply(4), Err(PlayError::Illegal { action: 4, .. })));
        assert!(matches!(g.apply(9), Err(PlayError::OutOfRange { .. })));
        assert!(matches!(g.apply(-1), Err(PlayError::OutOfRange { .. })));
        assert_eq!(g, before);
        let won = TicTacToe::from_actions(&[0, 3, 1, 4, 2]).unwrap();
        assert_eq!(won.outcome(), Some(Outcome::Win(Player::First)));
        assert!(matches!(won.apply(8), Err(PlayError::GameOver { .. })));
        assert_eq!(won.winning_line(), Some([0, 1, 2]));
        assert_eq!(won.winning_cells(), vec![0, 1, 2]);
        assert!(g.winning_cells().is_empty());
        // X completes row 1 and column a with its last mark on a1.
        let double = TicTacToe::from_actions(&[1, 4, 2, 5, 3, 7, 6, 8, 0]).unwrap();
        assert_eq!(double.outcome(), Some(Outcome::Win(Player::First)));
        assert_eq!(double.winning_cells(), vec![0, 1, 2, 3, 6]);
        assert_eq!(TicTacToe::from_actions(&[0, 0]).unwrap_err().0, 1);
    }

    #[test]
    fn encoding_is_from_side_to_move() {
        let g = TicTacToe::from_actions(&[0]).unwrap(); // X on a1, O to move
        let mut obs = [0.0; 18];
        g.encode(&mut obs);
        assert_eq!(obs[0], 0.0);
        assert_eq!(obs[9], 1.0);
        assert_eq!(obs.iter().sum::<f32>(), 1.0);
    }

    #[test]
    fn notation_round_trips() {
        for a in 0..9 {
            assert_eq!(TicTacToe::parse_action(&TicTacToe::action_name(a)).unwrap(), a);
        }
        assert_eq!(TicTacToe::action_name(0), "a1");
        assert_eq!(TicTacToe::action_name(5), "c2");
        assert!(TicTacToe::parse_action("d4").is_err());
    }

    #[test]
    fn symmetries_preserve_outcome() {
        // A position transformed by each symmetry keeps its outcome.
        let g = TicTacToe::from_actions(&[0, 4, 1, 5, 2]).unwrap();
        let cells = g.cells();
        for s in &TicTacToe::spec().symmetries {
            let mut t = TicTacToe::initial();
            for i in 0..9 {
                match cells[s.cells[i] as usize] {
                    1 => t.x |= 1 << i,
                    2 => t.o |= 1 << i,
                    _ => {}
                }
            }
            assert_eq!(t.outcome(), g.outcome(), "symmetry {}", s.name);
        }
    }
}
