//! [`GameSpec`]: what the trainer and the web app need to know about a game without
//! its rules. Serialised into the `meta` table of `replay.db` (see
//! `docs/CONTRACTS.md`, contract "Replay database"; the trainer's `trainer/spec.py`
//! must match).

use serde::Serialize;

/// A board symmetry as two *gather* permutations: after the transform, cell `i`
/// holds what was in cell `cells[i]`, and action `j` gets the policy of action
/// `actions[j]`. Every spec lists the identity first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Symmetry {
    pub name: String,
    pub cells: Vec<u16>,
    pub actions: Vec<u16>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GameSpec {
    /// Registry name, lower case: "tictactoe", "connect4", "othello".
    pub name: &'static str,
    pub display_name: &'static str,
    pub rows: usize,
    pub cols: usize,
    /// Observation is `[obs_channels, rows, cols]` float32.
    pub obs_channels: usize,
    /// Bumped whenever the observation encoding changes; models carry it.
    pub obs_version: u32,
    pub num_actions: usize,
    /// Upper bound on the number of plies in a game.
    pub max_game_length: usize,
    pub symmetries: Vec<Symmetry>,
}

impl GameSpec {
    /// Length of one observation in floats.
    pub fn obs_len(&self) -> usize {
        self.obs_channels * self.rows * self.cols
    }

    /// `[C, H, W]`.
    pub fn obs_shape(&self) -> [usize; 3] {
        [self.obs_channels, self.rows, self.cols]
    }
}

/// The 8 symmetries of a square `n × n` board as cell gather permutations, identity first.
/// Names: identity, rot90, rot180, rot270, flip_h, flip_v, transpose, anti_transpose.
pub fn dihedral_cells(n: usize) -> Vec<(String, Vec<u16>)> {
    // Each map sends destination (r, c) to the source cell it reads from.
    type Map = fn(usize, usize, usize) -> (usize, usize);
    let maps: [(&str, Map); 8] = [
        ("identity", |_, r, c| (r, c)),
        ("rot90", |n, r, c| (n - 1 - c, r)),
        ("rot180", |n, r, c| (n - 1 - r, n - 1 - c)),
        ("rot270", |n, r, c| (c, n - 1 - r)),
        ("flip_h", |n, r, c| (r, n - 1 - c)),
        ("flip_v", |n, r, c| (n - 1 - r, c)),
        ("transpose", |_, r, c| (c, r)),
        ("anti_transpose", |n, r, c| (n - 1 - c, n - 1 - r)),
    ];
    maps.iter()
        .map(|(name, f)| {
            let perm = (0..n * n)
                .map(|i| {
                    let (r, c) = f(n, i / n, i % n);
                    (r * n + c) as u16
                })
                .collect();
            (name.to_string(), perm)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dihedral_maps_are_distinct_permutations() {
        let maps = dihedral_cells(3);
        assert_eq!(maps[0].1, (0..9).collect::<Vec<u16>>());
        for (_, p) in &maps {
            let mut s = p.clone();
            s.sort();
            assert_eq!(s, (0..9).collect::<Vec<u16>>());
        }
        let mut all: Vec<_> = maps.iter().map(|m| m.1.clone()).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 8);
    }
}
