//! Continuous evaluation end to end: the evaluator thread on fixture snapshots (rows
//! in a real eval.db, gating to best.onnx, the summary of docs/CONTRACTS.md §8), and
//! `actor run` serving that summary under `/api/stats` → `evaluation`.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actor::eval::evaluator::{spawn_evaluator, EvalConfig, GatingMode, SharedSummary};
use actor::eval::players::PlayerSpec;
use actor::search::SearchConfig;
use actor::telemetry::Telemetry;
use engine_core::GameKind;
use rusqlite::Connection;
use serde_json::Value;

use common::{fixture, ort_available};

fn count(db: &Path, sql: &str) -> i64 {
    let c = Connection::open(db).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Checks the `evaluation` object against docs/CONTRACTS.md §8.
fn check_shape(v: &Value) {
    let g = &v["gating"];
    assert!(g["mode"] == "continuous" || g["mode"] == "gated", "{v}");
    assert!(g.get("best_version").is_some() && g.get("self_play_version").is_some(), "{v}");
    let ratings = v["ratings"].as_array().unwrap();
    let random = ratings.iter().find(|r| r["player"] == "random").expect("random is rated");
    assert_eq!(
        (random["elo"].as_f64(), random["elo_lo"].as_f64(), random["elo_hi"].as_f64()),
        (Some(0.0), Some(0.0), Some(0.0))
    );
    assert!(random["version"].is_null());
    for r in ratings {
        for k in ["elo", "elo_lo", "elo_hi"] {
            assert!(r[k].is_f64(), "{r}");
        }
        assert!(r["games"].as_u64().unwrap() > 0);
        assert!(r["elo_lo"].as_f64() <= r["elo"].as_f64() && r["elo"].as_f64() <= r["elo_hi"].as_f64(), "{r}");
        if r["player"].as_str().unwrap().starts_with("model:") {
            assert!(r["version"].is_i64(), "{r}");
        }
    }
    for b in v["baselines"].as_array().unwrap() {
        let (w, d, l) = (b["wins"].as_u64().unwrap(), b["draws"].as_u64().unwrap(), b["losses"].as_u64().unwrap());
        let score = b["score"].as_f64().unwrap();
        assert!((score - (w as f64 + 0.5 * d as f64) / (w + d + l) as f64).abs() < 1e-9, "{b}");
        assert!(b["version"].is_i64() && b["opponent"].is_string());
    }
    for a in v["accuracy"].as_array().unwrap() {
        let (p, e) = (a["positions"].as_u64().unwrap(), a["errors"].as_u64().unwrap());
        assert!(e <= p && p > 0);
        assert!((a["error_rate"].as_f64().unwrap() - e as f64 / p as f64).abs() < 1e-12);
        assert!(a["mode"] == "net" || a["mode"] == "search");
    }
}

fn config(gating: GatingMode, gate_threshold: f64) -> EvalConfig {
    EvalConfig {
        share: 1.0,
        games: 6,
        gating,
        gate_threshold,
        gate_games: 4,
        baselines: vec![PlayerSpec::Random, PlayerSpec::Mcts(16)],
        search: SearchConfig::puct_defaults(GameKind::TicTacToe, 16, 4, false),
        opening_plies: 2,
        accuracy_positions: 30,
        poll: Duration::from_millis(100),
        seed: 3,
    }
}

#[test]
fn evaluator_records_matches_accuracy_and_promotes_the_best() {
    if !ort_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let models = data.join("models");
    std::fs::create_dir_all(&models).unwrap();
    std::fs::copy(fixture("tictactoe_step100.onnx"), models.join("model_step_00000100.onnx")).unwrap();
    let summary: SharedSummary = Default::default();
    let stop = Arc::new(AtomicBool::new(false));
    let telemetry = Arc::new(Telemetry::new("tictactoe"));
    // Threshold below any score: every candidate that completes its match is promoted.
    let handle = spawn_evaluator(
        GameKind::TicTacToe,
        data.clone(),
        config(GatingMode::Gated, -1.0),
        telemetry,
        summary.clone(),
        stop.clone(),
    )
    .unwrap();
    let db = data.join("eval.db");
    let result = std::panic::catch_unwind(|| {
        // Step 100: the first model is the best at once, then the ladder and accuracy.
        wait_for("step 100's accuracy", Duration::from_secs(120), || {
            db.is_file() && count(&db, "SELECT COUNT(*) FROM accuracy WHERE model_version = 100") == 2
        });
        assert_eq!(
            std::fs::read(models.join("best.onnx")).unwrap(),
            std::fs::read(fixture("tictactoe_step100.onnx")).unwrap()
        );
        for opp in ["random", "mcts:16"] {
            let sql = format!("SELECT COUNT(*) FROM matches WHERE player_a = 'model:100' AND player_b = '{opp}'");
            assert_eq!(count(&db, &sql), 6, "{opp}");
        }
        // Colours alternate: half the games with the model first.
        assert_eq!(count(&db, "SELECT SUM(a_first) FROM matches WHERE player_b = 'random'"), 3);
        assert_eq!(count(&db, "SELECT positions FROM accuracy WHERE mode = 'net' AND phase = 'all'"), 4520);
        assert_eq!(count(&db, "SELECT positions FROM accuracy WHERE mode = 'search' AND phase = 'all'"), 30);
        // Every stored game replays legally to its recorded score.
        let c = Connection::open(&db).unwrap();
        let mut st = c.prepare("SELECT a_first, score_a, moves FROM matches").unwrap();
        let rows: Vec<(bool, f64, String)> =
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
        for (a_first, score, moves) in rows {
            use engine_core::Game;
            let moves: Vec<i64> = serde_json::from_str(&moves).unwrap();
            let end = engine_core::tictactoe::TicTacToe::from_actions(&moves).unwrap();
            assert_eq!(actor::eval::arena::score_for_a(end.outcome().unwrap(), a_first), score);
        }

        // Step 200 arrives: it plays the best (max(6, 4) games), is promoted, then the ladder.
        std::fs::copy(fixture("tictactoe_step200.onnx"), models.join("model_step_00000200.onnx")).unwrap();
        wait_for("step 200's accuracy", Duration::from_secs(120), || {
            count(&db, "SELECT COUNT(*) FROM accuracy WHERE model_version = 200") == 2
        });
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM matches WHERE player_a = 'model:200' AND player_b = 'model:100'"),
            6
        );
        assert_eq!(
            std::fs::read(models.join("best.onnx")).unwrap(),
            std::fs::read(fixture("tictactoe_step200.onnx")).unwrap()
        );
        let v = summary.lock().unwrap().clone().expect("a summary is published");
        check_shape(&v);
        // The same summary is published to the data folder for offline readers.
        // (Compared as text: parsing floats back can differ in the last digit.)
        assert_eq!(std::fs::read_to_string(data.join("evaluation.json")).unwrap(), v.to_string());
        assert_eq!(v["gating"]["mode"], "gated");
        assert_eq!(v["gating"]["best_version"], 200);
        assert_eq!(v["gating"]["self_play_version"], 200);
        let players: Vec<&str> =
            v["ratings"].as_array().unwrap().iter().map(|r| r["player"].as_str().unwrap()).collect();
        assert_eq!(players, ["random", "mcts:16", "model:100", "model:200"]);
        let baselines = v["baselines"].as_array().unwrap();
        assert_eq!(baselines.len(), 4, "{v}");
        assert!(baselines
            .iter()
            .all(|b| b["wins"].as_u64().unwrap() + b["draws"].as_u64().unwrap() + b["losses"].as_u64().unwrap() == 6));
    });
    stop.store(true, Ordering::Relaxed);
    handle.join().unwrap();
    result.unwrap();
    // A restart does not evaluate the same snapshot again.
    let before = count(&db, "SELECT COUNT(*) FROM matches");
    let stop = Arc::new(AtomicBool::new(false));
    let summary: SharedSummary = Default::default();
    let h = spawn_evaluator(
        GameKind::TicTacToe,
        data.clone(),
        config(GatingMode::Continuous, 0.55),
        Arc::new(Telemetry::new("tictactoe")),
        summary.clone(),
        stop.clone(),
    )
    .unwrap();
    wait_for("the stored summary", Duration::from_secs(10), || summary.lock().unwrap().is_some());
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM matches"), before);
    let v = summary.lock().unwrap().clone().unwrap();
    assert_eq!(v["gating"]["mode"], "continuous");
    assert_eq!(v["gating"]["best_version"], 200, "the best survives a restart");
}

fn http_get(port: u16, path: &str) -> Value {
    let (status, body) = common::http(port, "GET", path, "");
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn actor_run_serves_the_evaluation_in_stats() {
    if !ort_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::publish(&data.join("models"), &fixture("tictactoe_step100.onnx"));
    let port = common::free_port();
    let args = [
        "run",
        "--simulations",
        "16",
        "--games-in-flight",
        "8",
        "--eval-games",
        "4",
        "--eval-sims",
        "16",
        "--eval-accuracy-positions",
        "20",
        "--eval-share",
        "0.5",
        "--gating",
        "gated",
    ];
    let mut child = common::spawn_actor(&args, port, &data, dir.path());
    let result = std::panic::catch_unwind(|| {
        common::wait_for_port(port);
        // No snapshot, only latest.onnx: that is evaluated. Wait for its accuracy rows.
        let mut last = Value::Null;
        wait_for("evaluation in /api/stats", Duration::from_secs(120), || {
            last = http_get(port, "/api/stats");
            last["evaluation"]["accuracy"].as_array().is_some_and(|a| a.len() == 2)
        });
        let v = &last["evaluation"];
        check_shape(v);
        assert_eq!(v["gating"]["mode"], "gated");
        assert_eq!(v["gating"]["best_version"], 100);
        assert!(data.join("models/best.onnx").is_file());
        let opponents: Vec<&str> =
            v["baselines"].as_array().unwrap().iter().map(|b| b["opponent"].as_str().unwrap()).collect();
        assert_eq!(opponents, ["mcts:50", "random"], "the tictactoe ladder");
    });
    child.kill().unwrap();
    child.wait().unwrap();
    result.unwrap();
}

/// `actor accuracy` scores a model file against perfect play, per set, and refuses
/// what it cannot score with the reason.
#[test]
fn accuracy_command_prints_error_rates_per_set() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_actor")).arg("accuracy").args(args).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
    };
    let (ok, text) = run(&["--game", "othello", "--model", "/nonexistent.onnx"]);
    assert!(!ok && text.contains("no perfect-play benchmark"), "{text}");
    let (ok, text) = run(&["--game", "connect4", "--model", "random"]);
    assert!(!ok && text.contains("--model must be a model file"), "{text}");
    if !ort_available() {
        return;
    }
    let model = fixture("connect4_step5.onnx");
    let (ok, text) = run(&["--game", "tictactoe", "--model", model.to_str().unwrap()]);
    assert!(!ok && text.contains("connect4"), "a Connect4 model scored on TicTacToe: {text}");
    let (ok, text) = run(&[
        "--game",
        "connect4",
        "--model",
        model.to_str().unwrap(),
        "--sims",
        "8",
        "--positions",
        "3",
        "--seed",
        "1",
    ]);
    assert!(ok, "{text}");
    // Six solver-labelled sets, each once for the raw network (all 200) and once for the search (3).
    for set in ["opening-easy", "opening-medium", "opening-hard", "middle-easy", "middle-medium", "end-easy"] {
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with(set)).collect();
        assert_eq!(rows.len(), 2, "{set}: {text}");
        let net: Vec<&str> = rows[0].split_whitespace().collect();
        let search: Vec<&str> = rows[1].split_whitespace().collect();
        assert_eq!((net[1], net[2]), ("net", "200"), "{text}");
        assert_eq!((search[1], search[2]), ("search", "3"), "{text}");
        let errors: u64 = search[3].parse().unwrap();
        assert!(errors <= 3);
    }
}
