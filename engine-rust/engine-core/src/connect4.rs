//! Connect4, 7 columns × 6 rows, on two 64-bit boards (the layout of Pascal Pons's and
//! John Tromp's solvers).
//!
//! Actions 0–6 are the columns, left to right. The notation is the solvers': 1-based
//! column digits, a whole game written as one string (`"4453"` is the 4th column
//! twice, then the 5th, then the 3rd; see [`parse_moves`] and [`moves_to_string`]).
//!
//! ```text
//!  . . . . . . .
//!  . . . . . . .
//!  . . . . . . .
//!  . . . . . . .
//!  . . . O . . .
//!  . . O X X . .
//!  1 2 3 4 5 6 7      after "4453": X first (red), O second (yellow)
//! ```
//!
//! Observation (obs_version 1, `docs/CONTRACTS.md` §2): 2 planes of 6×7, plane 0 the
//! side to move's discs, plane 1 the opponent's, row 0 the *top* row.
//!
//! # Bit layout
//!
//! Bit `7 * col + row` is the cell in column `col`, `row` counted from the bottom; bit
//! `7 * col + 6` is a sentinel that is never set, so the shifts that look for four in a
//! row never wrap from one column into the next:
//!
//! ```text
//!  6 13 20 27 34 41 48   <- sentinel row
//!  5 12 19 26 33 40 47
//!  4 11 18 25 32 39 46
//!  3 10 17 24 31 38 45
//!  2  9 16 23 30 37 44
//!  1  8 15 22 29 36 43
//!  0  7 14 21 28 35 42
//! ```

use std::fmt;
use std::sync::OnceLock;

use crate::game::{Action, Game, Outcome, PlayError, Player};
use crate::spec::{GameSpec, Symmetry};

pub const COLS: usize = 7;
pub const ROWS: usize = 6;
/// Bits per column: the rows plus the sentinel.
const STRIDE: usize = ROWS + 1;

/// A set of cells in the bit layout of the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Bitboard(pub u64);

impl Bitboard {
    pub const EMPTY: Bitboard = Bitboard(0);
    /// The bottom cell of every column.
    pub const BOTTOM: Bitboard = Bitboard(bottom_mask());
    /// Every playable cell (no sentinels).
    pub const FULL: Bitboard = Bitboard(bottom_mask() * ((1 << ROWS) - 1));

    /// The cell in column `col` (0-based, from the left), `row` counted from the bottom.
    pub const fn cell(col: usize, row: usize) -> Bitboard {
        Bitboard(1 << (col * STRIDE + row))
    }

    /// The whole of column `col`.
    pub const fn column(col: usize) -> Bitboard {
        Bitboard(((1 << ROWS) - 1) << (col * STRIDE))
    }

    pub const fn top_cell(col: usize) -> Bitboard {
        Bitboard::cell(col, ROWS - 1)
    }

    pub const fn contains(self, other: Bitboard) -> bool {
        self.0 & other.0 != 0
    }

    pub const fn count(self) -> u32 {
        self.0.count_ones()
    }

    /// The cells that belong to some line of four in `self`.
    ///
    /// `m = b & b>>s & b>>2s & b>>3s` marks the lowest cell of each line of four along
    /// the direction with bit step `s`; smearing it back up gives every cell of it.
    /// Steps: 1 vertical, 7 horizontal, 6 and 8 the diagonals.
    pub const fn fours(self) -> Bitboard {
        let b = self.0;
        let mut out = 0;
        let steps = [1, STRIDE, STRIDE - 1, STRIDE + 1];
        let mut i = 0;
        while i < steps.len() {
            let s = steps[i];
            let m = b & (b >> s) & (b >> (2 * s)) & (b >> (3 * s));
            out |= m | (m << s) | (m << (2 * s)) | (m << (3 * s));
            i += 1;
        }
        Bitboard(out)
    }

    /// Whether `self` holds a line of four: the same test as [`Bitboard::fours`], with
    /// the pairs shared (the hot path of every move).
    pub const fn has_four(self) -> bool {
        let b = self.0;
        let steps = [1, STRIDE, STRIDE - 1, STRIDE + 1];
        let mut i = 0;
        while i < steps.len() {
            let s = steps[i];
            let m = b & (b >> s);
            if m & (m >> (2 * s)) != 0 {
                return true;
            }
            i += 1;
        }
        false
    }
}

const fn bottom_mask() -> u64 {
    let mut m = 0;
    let mut c = 0;
    while c < COLS {
        m |= 1 << (c * STRIDE);
        c += 1;
    }
    m
}

/// Bit of the cell at `cells()` index `i` (row-major from the top-left).
const fn cell_bit(i: usize) -> u64 {
    let (top_row, col) = (i / COLS, i % COLS);
    1 << (col * STRIDE + (ROWS - 1 - top_row))
}

/// A Connect4 position.
///
/// Only two boards are kept, as in the solvers: `current` (the side to move's discs)
/// and `mask` (all discs); the opponent's are `current ^ mask`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Connect4 {
    current: Bitboard,
    mask: Bitboard,
    /// Set when the player who just moved completed a line of four.
    won: bool,
}

impl Default for Connect4 {
    fn default() -> Self {
        Connect4 { current: Bitboard::EMPTY, mask: Bitboard::EMPTY, won: false }
    }
}

impl Connect4 {
    /// The first player's (red, X) discs.
    pub fn first_discs(&self) -> Bitboard {
        match self.to_move() {
            Player::First => self.current,
            Player::Second => Bitboard(self.current.0 ^ self.mask.0),
        }
    }

    /// The second player's (yellow, O) discs.
    pub fn second_discs(&self) -> Bitboard {
        Bitboard(self.first_discs().0 ^ self.mask.0)
    }

    /// Number of discs in column `col` (0-based, `col < 7`).
    pub fn height(&self, col: usize) -> usize {
        assert!(col < COLS, "column {col} is out of range 0..{COLS}");
        (self.mask.0 & Bitboard::column(col).0).count_ones() as usize
    }

    /// Whether a disc can still go into `col` (ignores whether the game is over).
    pub fn can_play(&self, col: usize) -> bool {
        col < COLS && !self.mask.contains(Bitboard::top_cell(col))
    }

    /// The position after a whole move string such as `"4453"`, every move checked.
    ///
    /// ```
    /// use engine_core::connect4::Connect4;
    /// let g = Connect4::from_moves("4453").unwrap();
    /// let board = g.to_string();
    /// let bottom: Vec<&str> = board.lines().skip(4).collect();
    /// assert_eq!(bottom, [
    ///     " . . . O . . .",
    ///     " . . O X X . .",
    ///     " 1 2 3 4 5 6 7",
    /// ]);
    /// assert!(Connect4::from_moves("4444444").unwrap_err().to_string().ends_with("column 4 is full"));
    /// ```
    pub fn from_moves(text: &str) -> Result<Connect4, PlayError> {
        let mut g = Connect4::initial();
        for a in parse_moves(text)? {
            g = g.apply(a as i64)?;
        }
        Ok(g)
    }

    /// This position with `sym` applied (see [`Symmetry`]). The mirror of a position
    /// is again a position (gravity does not care about left and right).
    pub fn transformed(&self, sym: &Symmetry) -> Connect4 {
        let gather = |b: Bitboard| {
            Bitboard(
                (0..ROWS * COLS)
                    .filter(|&i| b.0 & cell_bit(sym.cells[i] as usize) != 0)
                    .fold(0, |acc, i| acc | cell_bit(i)),
            )
        };
        Connect4 { current: gather(self.current), mask: gather(self.mask), won: self.won }
    }
}

/// Parses a whole move string of 1-based column digits (`"4453"`); whitespace is
/// ignored. Checks the digits only, not whether the moves can be played.
///
/// ```
/// use engine_core::connect4::{moves_to_string, parse_moves};
/// assert_eq!(parse_moves("4453").unwrap(), vec![3, 3, 4, 2]);
/// assert_eq!(moves_to_string(&[3, 3, 4, 2]), "4453");
/// assert!(parse_moves("48").is_err());
/// ```
pub fn parse_moves(text: &str) -> Result<Vec<Action>, PlayError> {
    text.chars().filter(|c| !c.is_whitespace()).map(|c| Connect4::parse_action(c.encode_utf8(&mut [0; 4]))).collect()
}

/// Writes actions as a move string of 1-based column digits: `[3, 3, 4, 2]` is `"4453"`.
pub fn moves_to_string(actions: &[Action]) -> String {
    actions.iter().map(|&a| Connect4::action_name(a)).collect()
}

/// Lines of four on the Connect4 board as `cells()` indices (row-major from the top).
fn connect4_windows() -> &'static [[usize; 4]] {
    static W: std::sync::OnceLock<Vec<[usize; 4]>> = std::sync::OnceLock::new();
    W.get_or_init(|| {
        let (rows, cols) = (6i32, 7i32);
        let mut out = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                for (dr, dc) in [(0, 1), (1, 0), (1, 1), (1, -1)] {
                    let (er, ec) = (r + 3 * dr, c + 3 * dc);
                    if er < rows && ec >= 0 && ec < cols {
                        out.push(std::array::from_fn(|k| ((r + k as i32 * dr) * cols + c + k as i32 * dc) as usize));
                    }
                }
            }
        }
        out
    })
}

impl Game for Connect4 {
    /// `current + mask` as in Pons's solver: per column the mask is `2^h - 1` for
    /// height `h`, so the sum lies in `[2^h - 1, 2^(h+1) - 2]` — disjoint ranges for
    /// different heights, and never reaching the next column's bits. It determines
    /// the board, and the disc count determines the side to move.
    type Key = u64;

    fn spec() -> &'static GameSpec {
        static SPEC: OnceLock<GameSpec> = OnceLock::new();
        SPEC.get_or_init(|| {
            let identity: Vec<u16> = (0..(ROWS * COLS) as u16).collect();
            let mirror_cells = (0..ROWS * COLS).map(|i| ((i / COLS) * COLS + (COLS - 1 - i % COLS)) as u16).collect();
            GameSpec {
                name: "connect4",
                display_name: "Connect4",
                rows: ROWS,
                cols: COLS,
                obs_channels: 2,
                obs_version: 1,
                num_actions: COLS,
                max_game_length: ROWS * COLS,
                symmetries: vec![
                    Symmetry { name: "identity".into(), cells: identity, actions: (0..COLS as u16).collect() },
                    Symmetry { name: "mirror".into(), cells: mirror_cells, actions: (0..COLS as u16).rev().collect() },
                ],
            }
        })
    }

    fn initial() -> Self {
        Connect4::default()
    }

    fn to_move(&self) -> Player {
        if self.mask.count().is_multiple_of(2) {
            Player::First
        } else {
            Player::Second
        }
    }

    fn ply(&self) -> usize {
        self.mask.count() as usize
    }

    fn legal_actions_into(&self, out: &mut Vec<Action>) {
        out.clear();
        if self.won {
            return;
        }
        // A full board has every top cell taken, so a draw needs no special case.
        out.extend((0..COLS as Action).filter(|&c| !self.mask.contains(Bitboard::top_cell(c as usize))));
    }

    fn apply_unchecked(&mut self, action: Action) {
        let col = action as usize % COLS;
        // Adding the column's bottom bit to the mask carries up to the first empty
        // cell; a full column carries into the sentinel, which is masked off.
        let grown = (self.mask.0 + Bitboard::cell(col, 0).0) & Bitboard::FULL.0;
        let mover = self.current.0 | (grown & !self.mask.0);
        self.mask = Bitboard(self.mask.0 | grown);
        self.won = Bitboard(mover).has_four();
        self.current = Bitboard(mover ^ self.mask.0);
    }

    fn outcome(&self) -> Option<Outcome> {
        if self.won {
            Some(Outcome::Win(self.to_move().opponent()))
        } else if self.mask == Bitboard::FULL {
            Some(Outcome::Draw)
        } else {
            None
        }
    }

    fn encode(&self, out: &mut [f32]) {
        let opp = self.current.0 ^ self.mask.0;
        let n = ROWS * COLS;
        for i in 0..n {
            let bit = cell_bit(i);
            out[i] = (self.current.0 & bit != 0) as u8 as f32;
            out[n + i] = (opp & bit != 0) as u8 as f32;
        }
    }

    fn cells(&self) -> Vec<u8> {
        let (first, second) = (self.first_discs().0, self.second_discs().0);
        (0..ROWS * COLS)
            .map(|i| {
                let bit = cell_bit(i);
                if first & bit != 0 {
                    1
                } else if second & bit != 0 {
                    2
                } else {
                    0
                }
            })
            .collect()
    }

    fn key(&self) -> u64 {
        self.current.0 + self.mask.0
    }

    fn action_name(action: Action) -> String {
        if (action as usize) < COLS {
            (action + 1).to_string()
        } else {
            format!("?{action}")
        }
    }

    fn parse_action(text: &str) -> Result<Action, PlayError> {
        match text.trim().parse::<u16>() {
            Ok(n) if (1..=COLS as u16).contains(&n) => Ok(n - 1),
            _ => Err(PlayError::Parse { text: text.to_string(), reason: format!("expected a column number 1-{COLS}") }),
        }
    }

    fn illegal_reason(&self, action: Action) -> String {
        format!("column {} is full", Self::action_name(action))
    }

    fn winning_cells(&self) -> Vec<usize> {
        if !self.won {
            return Vec::new();
        }
        // The player who just moved is the opponent of the side to move.
        let fours = Bitboard(self.current.0 ^ self.mask.0).fours();
        (0..ROWS * COLS).filter(|&i| fours.0 & cell_bit(i) != 0).collect()
    }

    /// Open threes (three discs and an empty square in a line of four) count most,
    /// open twos a little, and discs in the centre column a little: the usual
    /// hand-made Connect4 evaluation.
    fn heuristic(&self) -> Option<f32> {
        let cells = self.cells();
        let me = if self.to_move() == Player::First { 1 } else { 2 };
        let mut score = 0.0f32;
        for w in connect4_windows() {
            let (mut mine, mut theirs) = (0, 0);
            for &i in w {
                match cells[i] {
                    0 => {}
                    v if v == me => mine += 1,
                    _ => theirs += 1,
                }
            }
            if theirs == 0 {
                score += [0.0, 0.0, 2.0, 5.0, 0.0][mine];
            } else if mine == 0 {
                score -= [0.0, 0.0, 2.0, 5.0, 0.0][theirs];
            }
        }
        for r in 0..6 {
            match cells[r * 7 + 3] {
                0 => {}
                v if v == me => score += 3.0,
                _ => score -= 3.0,
            }
        }
        Some(0.95 * (score / 60.0).tanh())
    }

    fn ordered_moves(&self) -> Vec<Action> {
        let mut m = self.legal_actions();
        m.sort_by_key(|&c| (c as i32 - 3).abs());
        m
    }

    /// Solver notation: 1-based column digits, `"4453"`.
    fn from_notation(text: &str) -> Result<Self, PlayError> {
        Connect4::from_moves(text)
    }
}

impl fmt::Display for Connect4 {
    /// ```text
    ///  . . . . . . .
    ///  . . . . . . .
    ///  . . . . . . .
    ///  . . . . . . .
    ///  . . . O . . .
    ///  . . O X X . .
    ///  1 2 3 4 5 6 7
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cells = self.cells();
        for r in 0..ROWS {
            for c in 0..COLS {
                write!(f, " {}", ['.', 'X', 'O'][cells[r * COLS + c] as usize])?;
            }
            writeln!(f)?;
        }
        writeln!(f, " 1 2 3 4 5 6 7")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_constants() {
        assert_eq!(Bitboard::BOTTOM.count(), 7);
        assert_eq!(Bitboard::FULL.count(), 42);
        // No sentinel is part of the board.
        for c in 0..COLS {
            assert!(!Bitboard::FULL.contains(Bitboard(1 << (c * STRIDE + ROWS))));
        }
        assert_eq!(cell_bit(0), Bitboard::top_cell(0).0);
        assert_eq!(cell_bit(41), Bitboard::cell(6, 0).0);
    }

    #[test]
    fn drops_and_display() {
        let g = Connect4::from_moves("4453").unwrap();
        assert_eq!(
            g.to_string(),
            concat!(
                " . . . . . . .\n",
                " . . . . . . .\n",
                " . . . . . . .\n",
                " . . . . . . .\n",
                " . . . O . . .\n",
                " . . O X X . .\n",
                " 1 2 3 4 5 6 7\n",
            )
        );
        assert_eq!(g.height(3), 2);
        assert_eq!(g.to_move(), Player::First);
        assert_eq!(g.ply(), 4);
    }

    #[test]
    fn notation() {
        assert_eq!(parse_moves("4453").unwrap(), vec![3, 3, 4, 2]);
        assert_eq!(parse_moves(" 44 53\n").unwrap(), vec![3, 3, 4, 2]);
        assert_eq!(moves_to_string(&[3, 3, 4, 2]), "4453");
        assert_eq!(parse_moves("").unwrap(), Vec::<Action>::new());
        for bad in ["0", "8", "44a", "4-"] {
            assert!(matches!(parse_moves(bad), Err(PlayError::Parse { .. })), "{bad}");
        }
        for a in 0..7 {
            assert_eq!(Connect4::parse_action(&Connect4::action_name(a)).unwrap(), a);
        }
    }

    #[test]
    fn wins_in_every_direction() {
        // (moves, winner, winning cells row-major from the top-left)
        let cases: [(&str, Player, Vec<usize>); 5] = [
            ("1212121", Player::First, vec![14, 21, 28, 35]), // vertical in column 1
            ("1122334", Player::First, vec![35, 36, 37, 38]), // bottom row
            ("12234334744", Player::First, vec![17, 23, 29, 35]), // rising diagonal
            ("76654554144", Player::First, vec![17, 25, 33, 41]), // falling diagonal
            ("71212121", Player::Second, vec![14, 21, 28, 35]),
        ];
        for (moves, winner, cells) in cases {
            let g = Connect4::from_moves(moves).unwrap();
            assert_eq!(g.outcome(), Some(Outcome::Win(winner)), "{moves}\n{g}");
            assert!(g.legal_actions().is_empty());
            assert_eq!(g.winning_cells(), cells, "{moves}\n{g}");
            // One move earlier nobody had won.
            let before = Connect4::from_moves(&moves[..moves.len() - 1]).unwrap();
            assert_eq!(before.outcome(), None);
            assert!(before.winning_cells().is_empty());
        }
        // X on the top three cells of column 1 and the bottom of column 2: four
        // consecutive cells were the columns stacked end to end, which the sentinel
        // row keeps apart.
        let g = Connect4::from_moves("21313117171").unwrap();
        assert_eq!(g.cells().iter().filter(|&&c| c == 1).count(), 6);
        assert_eq!(g.outcome(), None, "\n{g}");
    }

    #[test]
    fn winning_cells_cover_a_line_longer_than_four() {
        // X fills the bottom row but for column 4, O the row above; X's drop into the
        // gap makes a line of seven.
        let g = Connect4::from_moves("1122335566774").unwrap();
        assert_eq!(g.outcome(), Some(Outcome::Win(Player::First)), "\n{g}");
        assert_eq!(g.winning_cells(), (35..42).collect::<Vec<_>>());
    }

    #[test]
    fn full_columns_are_rejected() {
        let g = Connect4::from_moves("444444").unwrap();
        assert!(!g.can_play(3));
        let err = g.apply(3).unwrap_err();
        assert_eq!(err.to_string(), "action 3 (4) is illegal: column 4 is full");
        assert_eq!(g.legal_actions(), vec![0, 1, 2, 4, 5, 6]);
        assert!(matches!(g.apply(7), Err(PlayError::OutOfRange { .. })));
    }

    #[test]
    fn a_full_board_without_four_is_a_draw() {
        // Columns coloured bottom-up XOXOXO (A) or OXOXOX (B) in the order A A B B A A B
        // have no four in any direction. Each pair (A, B) is filled alternately so the
        // turn order works out, then the lone A column.
        let moves = "133113311331244224422442577557755775666666";
        let mut g = Connect4::initial();
        for a in parse_moves(moves).unwrap() {
            assert_eq!(g.outcome(), None, "\n{g}");
            g = g.apply(a as i64).unwrap();
        }
        assert_eq!(g.outcome(), Some(Outcome::Draw), "\n{g}");
        assert!(g.legal_actions().is_empty());
        assert!(g.winning_cells().is_empty());
        assert!(matches!(g.apply(0), Err(PlayError::GameOver { outcome: Outcome::Draw })));
    }

    #[test]
    fn encoding_is_from_side_to_move_with_row_0_on_top() {
        let g = Connect4::from_moves("4").unwrap(); // X in the bottom of column 4, O to move
        let mut obs = [0.0; 84];
        g.encode(&mut obs);
        assert_eq!(obs.iter().sum::<f32>(), 1.0);
        assert_eq!(obs[42 + 5 * 7 + 3], 1.0);
        assert_eq!(g.cells()[5 * 7 + 3], 1);
    }

    #[test]
    fn keys_are_exact() {
        // Different boards, the same disc counts: keys differ; transpositions agree.
        let a = Connect4::from_moves("1234").unwrap();
        let b = Connect4::from_moves("3214").unwrap();
        let c = Connect4::from_moves("2134").unwrap(); // colours swapped in columns 1 and 2
        assert_eq!(a.key(), b.key());
        assert_eq!(a, b);
        assert_ne!(a.key(), c.key());
    }

    #[test]
    fn mirror_symmetry() {
        let spec = Connect4::spec();
        assert_eq!(spec.symmetries.len(), 2);
        let mirror = &spec.symmetries[1];
        let g = Connect4::from_moves("1122").unwrap();
        let m = Connect4::from_moves("7766").unwrap();
        assert_eq!(g.transformed(mirror), m);
        assert_eq!(g.transformed(&spec.symmetries[0]), g);
    }
}
