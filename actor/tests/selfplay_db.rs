//! Self-play into a real replay.db: row contents match docs/CONTRACTS.md §5, and
//! games played with a model carry its version.

mod common;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use actor::nn::ModelWatcher;
use actor::search::SearchConfig;
use actor::selfplay::{run_worker, ModelSource, SelfPlayConfig};
use actor::store::{blob_to_f32s, spawn_writer, Store};
use actor::telemetry::Telemetry;
use common::{fixture, ort_available, publish};
use engine_core::tictactoe::TicTacToe;
use engine_core::{Game, GameKind};
use rusqlite::Connection;

fn cfg(max_games: u64) -> SelfPlayConfig {
    SelfPlayConfig {
        search: SearchConfig::puct_defaults(engine_core::GameKind::TicTacToe, 24, 4, true),
        games_in_flight: 8,
        temperature: 1.0,
        temperature_moves: 2,
        final_temperature: 0.0,
        random_opening_plies: 0,
        bootstrap_positions: 0,
        reuse_tree: false,
        eval_cache: 0,
        intra_threads: 1,
        model_poll: Duration::from_millis(50),
        max_games: Some(max_games),
        seed: 42,
        max_positions_per_s: 0.0,
    }
}

/// Plays `n` games with one worker and the real writer thread into `dir/replay.db`.
fn play(dir: &Path, n: u64, source: ModelSource) -> Arc<Telemetry> {
    let spec = GameKind::TicTacToe.spec();
    let store = Store::open(&dir.join("replay.db"), spec).unwrap();
    let t = Arc::new(Telemetry::new(spec.name));
    let (tx, rx) = crossbeam_channel::bounded(16);
    let writer = spawn_writer(store, rx, t.clone());
    run_worker::<TicTacToe>(0, &cfg(n), source, tx, t.clone(), Arc::new(AtomicBool::new(false))).unwrap();
    writer.join().unwrap();
    t
}

/// One self-play worker watching `dir/models`, with the real writer into
/// `dir/replay.db`, running on its own thread until `stop` is set.
struct Watching {
    t: Arc<Telemetry>,
    stop: Arc<AtomicBool>,
    worker: std::thread::JoinHandle<Result<(), actor::selfplay::SelfPlayError>>,
    writer: std::thread::JoinHandle<()>,
}

impl Watching {
    fn start(dir: &Path, c: SelfPlayConfig) -> Watching {
        let spec = GameKind::TicTacToe.spec();
        let store = Store::open(&dir.join("replay.db"), spec).unwrap();
        let t = Arc::new(Telemetry::new(spec.name));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = crossbeam_channel::bounded(16);
        let writer = spawn_writer(store, rx, t.clone());
        let watcher = ModelWatcher::new(&dir.join("models"), spec, 1, Duration::from_millis(20));
        let worker = {
            let (t, stop) = (t.clone(), stop.clone());
            std::thread::spawn(move || run_worker::<TicTacToe>(0, &c, ModelSource::Watch(watcher), tx, t, stop))
        };
        Watching { t, stop, worker, writer }
    }

    fn finish(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.worker.join().unwrap().unwrap();
        self.writer.join().unwrap();
    }
}

/// ply, obs, policy, value, root_value of one `positions` row.
type PositionRow = (i64, Vec<u8>, Vec<u8>, f64, f64);

/// Checks every game and position row against the rules.
fn check_rows(conn: &Connection) -> Vec<Option<i64>> {
    let mut versions = Vec::new();
    let mut games = conn.prepare("SELECT id, model_version, num_moves, outcome, moves FROM games ORDER BY id").unwrap();
    let rows: Vec<(i64, Option<i64>, i64, i64, String)> = games
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert!(!rows.is_empty());
    for (id, version, num_moves, outcome, moves) in rows {
        versions.push(version);
        let moves: Vec<i64> = serde_json::from_str(&moves).unwrap();
        assert_eq!(moves.len() as i64, num_moves);
        let end = TicTacToe::from_actions(&moves).expect("recorded moves are legal");
        assert_eq!(end.outcome().expect("game finished").as_i8() as i64, outcome, "game {id}");

        let mut stmt = conn
            .prepare("SELECT ply, obs, policy, value, root_value FROM positions WHERE game_id = ?1 ORDER BY ply")
            .unwrap();
        let positions: Vec<PositionRow> = stmt
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(positions.len(), moves.len(), "one position per move in game {id}");
        for (ply, obs, policy, value, root_value) in positions {
            let pos = TicTacToe::from_actions(&moves[..ply as usize]).unwrap();
            // Observation: the engine's encoding of that position, float32 LE.
            let mut want = vec![0.0; 18];
            pos.encode(&mut want);
            assert_eq!(blob_to_f32s(&obs), want, "obs of game {id} ply {ply}");
            // Policy: a distribution over the 9 actions, zero on occupied cells, and
            // the move played was searched.
            let p = blob_to_f32s(&policy);
            assert_eq!(p.len(), 9);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5, "policy sums to {}", p.iter().sum::<f32>());
            for a in 0..9u16 {
                if !pos.is_legal(a) {
                    assert_eq!(p[a as usize], 0.0, "illegal action {a} has visits");
                }
            }
            assert!(p[moves[ply as usize] as usize] > 0.0);
            // Value: the final outcome from the side to move.
            let want_value = end.outcome().unwrap().value_for(pos.to_move()) as f64;
            assert_eq!(value, want_value, "value of game {id} ply {ply}");
            assert!((-1.0..=1.0).contains(&root_value));
        }
    }
    // Ids are dense and ascending, as samplers assume.
    let (min, max, count): (i64, i64, i64) = conn
        .query_row("SELECT MIN(id), MAX(id), COUNT(*) FROM positions", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    assert_eq!(max - min + 1, count);
    versions
}

#[test]
fn uniform_selfplay_writes_valid_games() {
    let dir = tempfile::tempdir().unwrap();
    let t = play(dir.path(), 30, ModelSource::Uniform);
    let conn = Connection::open(dir.path().join("replay.db")).unwrap();
    let versions = check_rows(&conn);
    assert_eq!(versions.len(), 30);
    assert!(versions.iter().all(Option::is_none), "no model: NULL model_version");
    let s = t.snapshot();
    assert_eq!(s.games_played, 30);
    assert!(s.mean_batch_fill > 0.0 && s.mean_batch_fill <= 1.0, "{}", s.mean_batch_fill);
    // Both players win some and lose some over 30 noisy games? Not guaranteed; but
    // the outcomes must not all be identical draws of a single line.
    let distinct: i64 = conn.query_row("SELECT COUNT(DISTINCT moves) FROM games", [], |r| r.get(0)).unwrap();
    assert!(distinct > 5, "self-play with noise and temperature explores ({distinct} distinct games)");
}

#[test]
fn selfplay_with_a_model_records_its_version() {
    if !ort_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    publish(&models, &fixture("tictactoe_step100.onnx"));
    let spec = GameKind::TicTacToe.spec();
    let watcher = ModelWatcher::new(&models, spec, 1, Duration::from_millis(50));
    let t = play(dir.path(), 12, ModelSource::Watch(watcher));
    let conn = Connection::open(dir.path().join("replay.db")).unwrap();
    let versions = check_rows(&conn);
    assert!(versions.iter().all(|v| *v == Some(100)), "{versions:?}");
    assert_eq!(t.snapshot().model_version, Some(100));
}

#[test]
fn a_rejected_model_is_reported_and_selfplay_goes_on() {
    if !ort_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    publish(&models, &fixture("connect4_step5.onnx"));
    let spec = GameKind::TicTacToe.spec();
    let watcher = ModelWatcher::new(&models, spec, 1, Duration::from_millis(50));
    let t = play(dir.path(), 5, ModelSource::Watch(watcher));
    let s = t.snapshot();
    assert_eq!(s.games_played, 5);
    assert_eq!(s.model_version, None);
    let r = s.last_rejected_model.expect("rejection recorded");
    assert!(r.path.ends_with("latest.onnx") && r.reason.contains("connect4"), "{r:?}");
}

#[test]
fn a_running_worker_swaps_to_a_newly_published_model() {
    if !ort_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    publish(&models, &fixture("tictactoe_step100.onnx"));
    let mut c = cfg(u64::MAX);
    // Slow enough that the swap lands mid-run.
    c.max_positions_per_s = 2000.0;
    let run = Watching::start(dir.path(), c);
    let t = run.t.clone();
    let wait_for = |what: &str, f: &dyn Fn() -> bool| {
        let start = std::time::Instant::now();
        while !f() {
            assert!(start.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for("games with model 100", &|| t.games_written() >= 10);
    // A bad file first: rejected, the worker carries on with step 100.
    publish(&models, &fixture("corrupt.onnx"));
    wait_for("the rejection", &|| t.snapshot().last_rejected_model.is_some());
    assert_eq!(t.model_version(), Some(100));
    let before = t.games_written();
    wait_for("more games after the rejection", &|| t.games_written() >= before + 10);
    publish(&models, &fixture("tictactoe_step200.onnx"));
    wait_for("model 200", &|| t.model_version() == Some(200));
    let swapped_at = t.games_written();
    wait_for("games with model 200", &|| t.games_written() >= swapped_at + 3 * 8 + 10);
    run.finish();

    let conn = Connection::open(dir.path().join("replay.db")).unwrap();
    let versions = check_rows(&conn);
    assert!(versions.iter().all(|v| *v == Some(100) || *v == Some(200)), "{versions:?}");
    // Versions never go back: a game records the model in use when it started.
    let first_200 = versions.iter().position(|v| *v == Some(200)).expect("games with model 200");
    assert!(versions[..first_200].iter().all(|v| *v == Some(100)));
    assert!(
        versions[first_200..].iter().filter(|v| **v == Some(100)).count() <= 8,
        "only games already in flight finish on the old version"
    );
}

/// With no model yet, self-play writes `bootstrap_positions` with uniform priors and
/// then waits, instead of flooding the replay window; a published model lets it go on.
#[test]
fn without_a_model_selfplay_stops_after_the_bootstrap_positions() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    let mut c = cfg(u64::MAX);
    c.bootstrap_positions = 200;
    let run = Watching::start(dir.path(), c);
    let t = run.t.clone();
    let start = std::time::Instant::now();
    while t.counters().positions < 200 {
        assert!(start.elapsed() < Duration::from_secs(20), "bootstrap positions not written");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Uniform self-play makes hundreds of positions in well under this; it must not.
    std::thread::sleep(Duration::from_millis(500));
    let held = t.counters().positions;
    // The count is of positions the writer has committed, so games already handed to
    // it (the channel holds 16) and the 8 in flight, 9 plies at most each, may follow.
    assert!(held <= 200 + (16 + 8) * 9, "{held} positions written without a model");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(t.counters().positions, held, "self-play went on without a model");
    if ort_available() {
        publish(&models, &fixture("tictactoe_step100.onnx"));
        while t.counters().positions < held + 50 {
            assert!(start.elapsed() < Duration::from_secs(30), "self-play did not resume with the model");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    run.finish();
}
