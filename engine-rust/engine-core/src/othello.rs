//! Othello (Reversi) on two 64-bit boards.
//!
//! Squares are numbered row-major from the top-left, `a1 = 0`, `h1 = 7`, `a8 = 56`,
//! `h8 = 63`: files a–h left to right, ranks 1–8 from the top row, as Othello
//! transcripts write them. Action `i < 64` puts a disc on square `i`; action 64 is a
//! pass, legal only when the side to move has no other move. The game is over when
//! neither side can move, and the side with more discs wins.
//!
//! Black moves first from
//!
//! ```text
//!   a b c d e f g h
//! 1 . . . . . . . .
//! 2 . . . . . . . .
//! 3 . . . . . . . .
//! 4 . . . O X . . .
//! 5 . . . X O . . .
//! 6 . . . . . . . .
//! 7 . . . . . . . .
//! 8 . . . . . . . .
//! ```
//!
//! (X black, O white: d5 and e4 black, d4 and e5 white). Transcripts concatenate the
//! moves, `"f5d6c3"`, with `pass` where a side had to pass; see [`parse_moves`] and
//! [`moves_to_string`].
//!
//! Observation (obs_version 1, `docs/CONTRACTS.md` §2): 2 planes of 8×8, plane 0 the
//! side to move's discs, plane 1 the opponent's.
//!
//! Move generation shifts whole boards at a time (Kogge-Stone style, as in Edax and
//! Zebra): no loop over squares.

use std::fmt;
use std::sync::OnceLock;

use crate::game::{Action, Game, Outcome, PlayError, Player};
use crate::spec::{dihedral_cells, GameSpec, Symmetry};

/// The pass action.
pub const PASS: Action = 64;

/// A set of squares, bit `i` for square `i` (`a1 = 0`, row-major from the top-left).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bitboard(pub u64);

/// Every square but file a (the leftmost column).
const NOT_A: u64 = 0xfefe_fefe_fefe_fefe;
/// Every square but file h (the rightmost column).
const NOT_H: u64 = 0x7f7f_7f7f_7f7f_7f7f;

impl Bitboard {
    pub const EMPTY: Bitboard = Bitboard(0);

    pub const fn square(sq: usize) -> Bitboard {
        Bitboard(1 << sq)
    }

    pub const fn contains(self, sq: usize) -> bool {
        self.0 >> sq & 1 == 1
    }

    pub const fn count(self) -> u32 {
        self.0.count_ones()
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The squares, ascending.
    pub fn squares(self) -> impl Iterator<Item = usize> {
        let mut b = self.0;
        std::iter::from_fn(move || {
            if b == 0 {
                return None;
            }
            let sq = b.trailing_zeros() as usize;
            b &= b - 1;
            Some(sq)
        })
    }
}

/// The eight directions as one-step shifts of a whole board. Steps east or west are
/// masked so that a disc on one edge never reappears on the other.
const DIRECTIONS: [fn(u64) -> u64; 8] = [
    |b| (b << 1) & NOT_A, // east
    |b| (b >> 1) & NOT_H, // west
    |b| b << 8,           // south
    |b| b >> 8,           // north
    |b| (b << 9) & NOT_A, // south-east
    |b| (b << 7) & NOT_H, // south-west
    |b| (b >> 7) & NOT_A, // north-east
    |b| (b >> 9) & NOT_H, // north-west
];

/// The empty squares where the owner of `own` may play against `opp`.
///
/// For each line direction both ways at once: grow runs of `opp` discs out of `own`
/// (one step, one more, then doubling with the pairs `pre` twice: runs up to 6 long),
/// and the square one past a run, if empty, is a move. Horizontal and diagonal runs
/// may only pass through files b–g, which also stops them wrapping round the edges.
pub const fn moves(own: u64, opp: u64) -> u64 {
    const fn runs(own: u64, m: u64, d: u32) -> u64 {
        let mut up = m & (own << d);
        up |= m & (up << d);
        let pre_up = m & (m << d);
        up |= pre_up & (up << (2 * d));
        up |= pre_up & (up << (2 * d));
        let mut down = m & (own >> d);
        down |= m & (down >> d);
        let pre_down = m & (m >> d);
        down |= pre_down & (down >> (2 * d));
        down |= pre_down & (down >> (2 * d));
        (up << d) | (down >> d)
    }
    let inner = opp & 0x7e7e_7e7e_7e7e_7e7e;
    let empty = !(own | opp);
    (runs(own, inner, 1) | runs(own, opp, 8) | runs(own, inner, 7) | runs(own, inner, 9)) & empty
}

/// The `opp` discs that a disc of `own` on square `sq` would flip (empty if none,
/// which makes the move illegal).
pub fn flips(own: u64, opp: u64, sq: usize) -> u64 {
    let start = 1u64 << sq;
    let mut flipped = 0;
    for step in DIRECTIONS {
        let mut run = 0;
        let mut x = step(start);
        while x & opp != 0 {
            run |= x;
            x = step(x);
        }
        if x & own != 0 {
            flipped |= run;
        }
    }
    flipped
}

/// An Othello position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Othello {
    black: Bitboard,
    white: Bitboard,
    to_move: Player,
    /// Plies played, passes included.
    ply: u16,
}

impl Othello {
    pub fn black(&self) -> Bitboard {
        self.black
    }

    pub fn white(&self) -> Bitboard {
        self.white
    }

    /// (side to move's discs, opponent's discs)
    fn own_opp(&self) -> (u64, u64) {
        match self.to_move {
            Player::First => (self.black.0, self.white.0),
            Player::Second => (self.white.0, self.black.0),
        }
    }

    /// The squares where the side to move can put a disc (empty when it must pass
    /// or the game is over).
    pub fn move_squares(&self) -> Bitboard {
        let (own, opp) = self.own_opp();
        Bitboard(moves(own, opp))
    }

    /// The discs that `action` would flip for the side to move: empty for a pass, an
    /// occupied square or a move that flips nothing. For the web app to animate.
    ///
    /// ```
    /// use engine_core::othello::{Othello, Bitboard};
    /// use engine_core::Game;
    /// let g = Othello::initial();
    /// let f5 = Othello::parse_action("f5").unwrap();
    /// // Black on f5 flips e5.
    /// assert_eq!(g.flips(f5), Bitboard::square(Othello::parse_action("e5").unwrap() as usize));
    /// ```
    pub fn flips(&self, action: Action) -> Bitboard {
        let sq = action as usize;
        if sq >= 64 || (self.black.0 | self.white.0) >> sq & 1 == 1 {
            return Bitboard::EMPTY;
        }
        let (own, opp) = self.own_opp();
        Bitboard(flips(own, opp, sq))
    }

    /// The position after a transcript such as `"f5d6c3"`, every move checked.
    pub fn from_moves(text: &str) -> Result<Othello, PlayError> {
        let mut g = Othello::initial();
        for a in parse_moves(text)? {
            g = g.apply(a as i64)?;
        }
        Ok(g)
    }

    /// This position with `sym` applied (see [`Symmetry`]: square `i` of the result
    /// holds what was on square `sym.cells[i]`). Side to move and ply are kept. Half
    /// of the maps swap the colours of the start position, so the result need not be
    /// reachable from [`Game::initial`]; the rules apply to it all the same.
    pub fn transformed(&self, sym: &Symmetry) -> Othello {
        let gather = |b: Bitboard| {
            Bitboard((0..64).filter(|&i| b.contains(sym.cells[i] as usize)).fold(0, |acc, i| acc | 1 << i))
        };
        Othello { black: gather(self.black), white: gather(self.white), ..*self }
    }
}

/// Parses a transcript: squares `a1`..`h8` and `pass`, concatenated (`"f5d6c3"`),
/// any case, whitespace ignored. Checks the notation only, not the moves.
///
/// ```
/// use engine_core::othello::{moves_to_string, parse_moves, PASS};
/// assert_eq!(parse_moves("f5d6c3").unwrap(), vec![37, 43, 18]);
/// assert_eq!(moves_to_string(&[37, PASS]), "f5pass");
/// ```
pub fn parse_moves(text: &str) -> Result<Vec<Action>, PlayError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    let mut rest = compact.as_str();
    let mut out = Vec::new();
    while !rest.is_empty() {
        let len = if rest.starts_with("pass") { 4 } else { rest.char_indices().nth(2).map_or(rest.len(), |(i, _)| i) };
        let (token, tail) = rest.split_at(len);
        out.push(Othello::parse_action(token).map_err(|e| match e {
            PlayError::Parse { reason, .. } => PlayError::Parse {
                text: text.to_string(),
                reason: format!("move {} ({token:?}): {reason}", out.len() + 1),
            },
            other => other,
        })?);
        rest = tail;
    }
    Ok(out)
}

/// Writes actions as a transcript: `[37, 43, 18]` is `"f5d6c3"`.
pub fn moves_to_string(actions: &[Action]) -> String {
    actions.iter().map(|&a| Othello::action_name(a)).collect()
}

const CORNERS: u64 = 1 | 1 << 7 | 1 << 56 | 1 << 63;

impl Game for Othello {
    /// Black's discs, white's discs and the side to move: the same discs can occur
    /// with either side to move, after a pass.
    type Key = (Bitboard, Bitboard, Player);

    fn spec() -> &'static GameSpec {
        static SPEC: OnceLock<GameSpec> = OnceLock::new();
        SPEC.get_or_init(|| GameSpec {
            name: "othello",
            display_name: "Othello",
            rows: 8,
            cols: 8,
            obs_channels: 2,
            obs_version: 1,
            num_actions: 65,
            // 60 discs to place; a pass always sits between two placements (two
            // passes in a row would mean neither side can move), so at most 59 more.
            max_game_length: 119,
            // Actions are squares, and the pass maps to itself.
            symmetries: dihedral_cells(8)
                .into_iter()
                .map(|(name, cells)| {
                    let mut actions = cells.clone();
                    actions.push(PASS);
                    Symmetry { name, cells, actions }
                })
                .collect(),
        })
    }

    fn initial() -> Self {
        let sq = |name: &str| 1u64 << Othello::parse_action(name).expect("a square");
        Othello {
            black: Bitboard(sq("d5") | sq("e4")),
            white: Bitboard(sq("d4") | sq("e5")),
            to_move: Player::First,
            ply: 0,
        }
    }

    fn to_move(&self) -> Player {
        self.to_move
    }

    fn ply(&self) -> usize {
        self.ply as usize
    }

    fn legal_actions_into(&self, out: &mut Vec<Action>) {
        out.clear();
        let (own, opp) = self.own_opp();
        let m = moves(own, opp);
        if m != 0 {
            out.extend(Bitboard(m).squares().map(|sq| sq as Action));
        } else if moves(opp, own) != 0 {
            out.push(PASS);
        }
    }

    fn apply_unchecked(&mut self, action: Action) {
        if action < PASS {
            let sq = action as usize;
            let (own, opp) = self.own_opp();
            let f = flips(own, opp, sq);
            let (own, opp) = (own | f | 1 << sq, opp & !f);
            (self.black, self.white) = match self.to_move {
                Player::First => (Bitboard(own), Bitboard(opp)),
                Player::Second => (Bitboard(opp), Bitboard(own)),
            };
        }
        self.to_move = self.to_move.opponent();
        self.ply += 1;
    }

    fn outcome(&self) -> Option<Outcome> {
        let (own, opp) = self.own_opp();
        if moves(own, opp) != 0 || moves(opp, own) != 0 {
            return None;
        }
        let (b, w) = (self.black.count(), self.white.count());
        Some(match b.cmp(&w) {
            std::cmp::Ordering::Greater => Outcome::Win(Player::First),
            std::cmp::Ordering::Less => Outcome::Win(Player::Second),
            std::cmp::Ordering::Equal => Outcome::Draw,
        })
    }

    fn encode(&self, out: &mut [f32]) {
        let (own, opp) = self.own_opp();
        for i in 0..64 {
            out[i] = (own >> i & 1) as f32;
            out[64 + i] = (opp >> i & 1) as f32;
        }
    }

    fn cells(&self) -> Vec<u8> {
        (0..64)
            .map(|i| {
                if self.black.contains(i) {
                    1
                } else if self.white.contains(i) {
                    2
                } else {
                    0
                }
            })
            .collect()
    }

    fn key(&self) -> Self::Key {
        (self.black, self.white, self.to_move)
    }

    fn action_name(action: Action) -> String {
        match action {
            PASS => "pass".to_string(),
            a if a < PASS => {
                let file = (b'a' + (a % 8) as u8) as char;
                format!("{file}{}", a / 8 + 1)
            }
            a => format!("?{a}"),
        }
    }

    fn parse_action(text: &str) -> Result<Action, PlayError> {
        let t = text.trim().to_ascii_lowercase();
        if t == "pass" {
            return Ok(PASS);
        }
        let b = t.as_bytes();
        if b.len() == 2 && (b'a'..=b'h').contains(&b[0]) && (b'1'..=b'8').contains(&b[1]) {
            return Ok(((b[1] - b'1') * 8 + (b[0] - b'a')) as Action);
        }
        Err(PlayError::Parse {
            text: text.to_string(),
            reason: "expected a square a1-h8 (files a-h, ranks 1-8 from the top) or pass".to_string(),
        })
    }

    fn illegal_reason(&self, action: Action) -> String {
        let must_pass = self.move_squares().is_empty();
        if action == PASS {
            return "pass is only legal when no move is".to_string();
        }
        let name = Self::action_name(action);
        let why = if (self.black.0 | self.white.0) >> action & 1 == 1 {
            format!("{name} is occupied")
        } else {
            format!("{name} flips no discs")
        };
        if must_pass {
            let side = ["black", "white"][self.to_move.index()];
            format!("{why}; {side} has no move and must pass")
        } else {
            why
        }
    }

    /// Mobility (the share of legal moves) and corners all game; disc parity gains
    /// weight as the board fills, and decides alone in the last dozen empties.
    fn heuristic(&self) -> Option<f32> {
        let (b, w) = (self.black().0, self.white().0);
        let (own, opp) = if self.to_move() == Player::First { (b, w) } else { (w, b) };
        let (m_own, m_opp) = (moves(own, opp).count_ones() as f32, moves(opp, own).count_ones() as f32);
        let mobility = (m_own - m_opp) / (m_own + m_opp + 1.0);
        let corners = ((own & CORNERS).count_ones() as f32 - (opp & CORNERS).count_ones() as f32) / 4.0;
        let (d_own, d_opp) = (own.count_ones() as f32, opp.count_ones() as f32);
        let parity = (d_own - d_opp) / (d_own + d_opp);
        let empties = 64.0 - d_own - d_opp;
        let e = if empties <= 12.0 {
            parity
        } else {
            let late = 1.0 - empties / 60.0;
            0.4 * mobility + 0.5 * corners + 0.1 * (0.2 + late) * parity
        };
        Some(0.95 * e.clamp(-1.0, 1.0))
    }

    fn ordered_moves(&self) -> Vec<Action> {
        let mut m = self.legal_actions();
        // Corners first: they cut the most.
        m.sort_by_key(|&a| if a < 64 && CORNERS >> a & 1 == 1 { 0 } else { 1 });
        m
    }

    /// Transcripts such as `"f5d6c3"` (whitespace allowed).
    fn from_notation(text: &str) -> Result<Self, PlayError> {
        Othello::from_moves(text)
    }
}

impl fmt::Display for Othello {
    /// ```text
    ///   a b c d e f g h
    /// 1 . . . . . . . .
    /// 2 . . . . . . . .
    /// 3 . . . . . . . .
    /// 4 . . . O X . . .
    /// 5 . . . X X X . .
    /// 6 . . . . . . . .
    /// 7 . . . . . . . .
    /// 8 . . . . . . . .
    /// ```
    /// (after f5; X black, O white)
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  a b c d e f g h")?;
        let cells = self.cells();
        for r in 0..8 {
            write!(f, "{}", r + 1)?;
            for c in 0..8 {
                write!(f, " {}", ['.', 'X', 'O'][cells[r * 8 + c] as usize])?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sq(name: &str) -> Action {
        Othello::parse_action(name).unwrap()
    }

    /// Square-by-square move generation and flipping, slow and obviously right: the
    /// reference the shifting code is checked against.
    fn reference_flips(own: u64, opp: u64, s: usize) -> u64 {
        if (own | opp) >> s & 1 == 1 {
            return 0;
        }
        let (r, c) = ((s / 8) as i32, (s % 8) as i32);
        let mut out = 0;
        for (dr, dc) in [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)] {
            let mut run = 0;
            let (mut rr, mut cc) = (r + dr, c + dc);
            while (0..8).contains(&rr) && (0..8).contains(&cc) {
                let b = 1u64 << (rr * 8 + cc);
                if opp & b != 0 {
                    run |= b;
                } else {
                    if own & b != 0 {
                        out |= run;
                    }
                    break;
                }
                rr += dr;
                cc += dc;
            }
        }
        out
    }

    #[test]
    fn start_position_and_display() {
        let g = Othello::initial();
        assert_eq!(
            g.to_string(),
            concat!(
                "  a b c d e f g h\n",
                "1 . . . . . . . .\n",
                "2 . . . . . . . .\n",
                "3 . . . . . . . .\n",
                "4 . . . O X . . .\n",
                "5 . . . X O . . .\n",
                "6 . . . . . . . .\n",
                "7 . . . . . . . .\n",
                "8 . . . . . . . .\n",
            )
        );
        let names: Vec<String> = g.legal_actions().into_iter().map(Othello::action_name).collect();
        assert_eq!(names, ["d3", "c4", "f5", "e6"]);
        let g = g.apply(sq("f5") as i64).unwrap();
        assert_eq!((g.black().count(), g.white().count()), (4, 1));
        assert!(g.to_string().contains("5 . . . X X X . .\n"));
        assert_eq!(g.to_move(), Player::Second);
    }

    #[test]
    fn notation() {
        assert_eq!(Othello::action_name(0), "a1");
        assert_eq!(Othello::action_name(7), "h1");
        assert_eq!(Othello::action_name(63), "h8");
        assert_eq!(Othello::action_name(PASS), "pass");
        for a in 0..=PASS {
            assert_eq!(Othello::parse_action(&Othello::action_name(a)).unwrap(), a);
        }
        assert_eq!(parse_moves("f5d6c3").unwrap(), vec![37, 43, 18]);
        assert_eq!(parse_moves("F5 d6\nC3pass").unwrap(), vec![37, 43, 18, PASS]);
        assert_eq!(moves_to_string(&[37, 43, 18, PASS, 0]), "f5d6c3passa1");
        for bad in ["i1", "a9", "f5d", "pas", "f5é6"] {
            assert!(matches!(parse_moves(bad), Err(PlayError::Parse { .. })), "{bad}");
        }
        assert!(parse_moves("f5x6").unwrap_err().to_string().contains("move 2"));
    }

    #[test]
    fn shifting_move_generation_matches_the_reference() {
        // Random-ish boards from a fixed xorshift: move sets and flips must agree
        // with the square-by-square reference everywhere, edges included.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..2000 {
            let (a, b) = (next(), next());
            let own = a & !b;
            let opp = b & !a & next();
            let expected_moves = (0..64).filter(|&s| reference_flips(own, opp, s) != 0).fold(0, |m, s| m | 1 << s);
            assert_eq!(moves(own, opp), expected_moves, "own {own:#x} opp {opp:#x}");
            for s in 0..64 {
                if (own | opp) >> s & 1 == 0 {
                    assert_eq!(flips(own, opp, s), reference_flips(own, opp, s));
                }
            }
        }
    }

    #[test]
    fn illegal_moves_are_explained() {
        let g = Othello::initial();
        let msg = |a: Action| g.apply(a as i64).unwrap_err().to_string();
        assert_eq!(msg(sq("d4")), "action 27 (d4) is illegal: d4 is occupied");
        assert_eq!(msg(sq("a1")), "action 0 (a1) is illegal: a1 flips no discs");
        assert_eq!(msg(PASS), "action 64 (pass) is illegal: pass is only legal when no move is");
        assert!(matches!(g.apply(65), Err(PlayError::OutOfRange { .. })));
    }

    #[test]
    fn the_shortest_games() {
        let g = Othello::from_moves("d3c3b3d2e1d6d7e3f4").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((g.black().count(), g.white().count()), (13, 0), "\n{g}");
        assert_eq!(g.outcome(), Some(Outcome::Win(Player::First)));
        assert!(g.legal_actions().is_empty());
        assert!(g.winning_cells().is_empty());
        assert!(matches!(g.apply(PASS as i64), Err(PlayError::GameOver { .. })));

        // No game ends before ply 9, and 228 end there, all black wipe-outs. These
        // are exactly the sequences that perft(10) leaves out and that counts which
        // treat a finished game as a leaf include (24571056 + 228 = 24571284).
        fn finished(g: &Othello, depth: usize, found: &mut Vec<Othello>) {
            if g.is_terminal() {
                found.push(*g);
            } else if depth > 0 {
                for a in g.legal_actions() {
                    let mut next = *g;
                    next.apply_unchecked(a);
                    finished(&next, depth - 1, found);
                }
            }
        }
        let mut found = Vec::new();
        finished(&Othello::initial(), 9, &mut found);
        assert_eq!(found.len(), 228);
        assert!(found.iter().all(|g| g.ply() == 9 && g.white().is_empty() && g.black().count() == 13));
    }

    #[test]
    fn a_forced_pass() {
        // White to move with no move while black can still play: only pass is legal,
        // and after it black moves again.
        let mut g = Othello::initial();
        g.black = Bitboard(1 << sq("a1") | 1 << sq("b1"));
        g.white = Bitboard(1 << sq("c1"));
        g.to_move = Player::Second;
        assert_eq!(g.outcome(), None);
        assert_eq!(g.legal_actions(), vec![PASS]);
        assert_eq!(
            g.apply(sq("d1") as i64).unwrap_err().to_string(),
            "action 3 (d1) is illegal: d1 flips no discs; white has no move and must pass"
        );
        let after = g.apply(PASS as i64).unwrap();
        assert_eq!(after.to_move(), Player::First);
        assert_eq!(after.ply(), g.ply() + 1);
        assert_eq!((after.black, after.white), (g.black, g.white));
        assert_eq!(after.legal_actions(), vec![sq("d1")]);
        // Same discs, other side to move: a different key.
        assert_ne!(after.key(), g.key());
        let end = after.apply(sq("d1") as i64).unwrap();
        assert_eq!(end.outcome(), Some(Outcome::Win(Player::First)));
    }

    #[test]
    fn encoding_is_from_side_to_move() {
        let g = Othello::from_moves("f5").unwrap(); // white to move
        let mut obs = [0.0; 128];
        g.encode(&mut obs);
        assert_eq!(obs[..64].iter().sum::<f32>(), 1.0); // white's one disc
        assert_eq!(obs[64..].iter().sum::<f32>(), 4.0);
        assert_eq!(obs[sq("d4") as usize], 1.0);
        assert_eq!(obs[64 + sq("f5") as usize], 1.0);
    }

    #[test]
    fn symmetries() {
        let spec = Othello::spec();
        assert_eq!(spec.symmetries.len(), 8);
        for s in &spec.symmetries {
            assert_eq!(s.actions.len(), 65);
            assert_eq!(s.actions[64], PASS);
        }
        // The start is symmetric under transposition but rot90 swaps its colours.
        let start = Othello::initial();
        let by_name = |n: &str| spec.symmetries.iter().find(|s| s.name == n).unwrap();
        assert_eq!(start.transformed(by_name("transpose")), start);
        let r = start.transformed(by_name("rot90"));
        assert_eq!((r.black, r.white), (start.white, start.black));
    }
}
