//! The "Defaults per game" table in actor/README.md documents `game_defaults`; a
//! default changed in one place and not the other fails here.

use actor::mcts::game_defaults;
use engine_core::GameKind;

#[test]
fn readme_defaults_table_matches_game_defaults() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme.split("### Defaults per game").nth(1).expect("README has a Defaults per game section");
    let rows: Vec<Vec<String>> = section
        .lines()
        .skip_while(|l| !l.starts_with("| game"))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // header and separator
        .map(|l| l.trim_matches('|').split('|').map(|c| c.trim().to_string()).collect())
        .collect();
    assert_eq!(rows.len(), GameKind::ALL.len(), "one row per game: {rows:?}");
    for row in rows {
        let kind = GameKind::from_name(&row[0]).unwrap();
        let d = game_defaults(kind.spec());
        let num = |i: usize| row[i].parse::<f32>().unwrap_or_else(|_| panic!("{row:?} column {i}"));
        let avg_legal = num(1);
        assert!((d.dirichlet_alpha - 10.0 / avg_legal).abs() < 1e-4, "{row:?}: alpha is {}", d.dirichlet_alpha);
        assert!((d.dirichlet_alpha - num(2)).abs() < 0.005, "{row:?}: alpha is {}", d.dirichlet_alpha);
        assert_eq!(d.selfplay_simulations as f32, num(3), "{row:?}");
        assert_eq!(d.play_simulations as f32, num(4), "{row:?}");
        assert_eq!(d.temperature_moves as f32, num(5), "{row:?}");
        assert_eq!(d.max_positions_per_s as f32, num(6), "{row:?}");
        assert_eq!(d.random_opening_plies as f32, num(7), "{row:?}");
        assert_eq!(d.threads as f32, num(8), "{row:?}");
        assert_eq!(d.bootstrap_positions as f32, num(9), "{row:?}");
    }
}
