//! The `actor` binary end to end: self-play with a published model, the server of
//! `actor run`, refusing another game's data folder, perft, arena, bad flags.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{fixture, free_port, http, ort_available, publish, spawn_actor, wait_for_port};

fn actor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_actor"))
}

fn output(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn count_games(db: &Path, filter: &str) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(&format!("SELECT COUNT(*) FROM games {filter}"), [], |r| r.get(0)).unwrap()
}

#[test]
fn selfplay_with_a_published_model_then_another_game_is_refused() {
    if !ort_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    publish(&data.join("models"), &fixture("tictactoe_step100.onnx"));
    let (ok, text) = output(
        actor()
            .args(["selfplay", "--max-games", "20", "--simulations", "16", "--games-in-flight", "8"])
            .arg("--data-dir")
            .arg(&data),
    );
    assert!(ok, "{text}");
    assert!(text.contains("loaded model"), "{text}");
    assert_eq!(count_games(&data.join("replay.db"), "WHERE model_version = 100"), 20);

    std::fs::remove_dir_all(data.join("models")).unwrap();
    for cmd in ["selfplay", "serve"] {
        let (ok, text) = output(
            actor().args([cmd, "--game", "connect4", "--no-model", "--max-games", "1"]).arg("--data-dir").arg(&data),
        );
        assert!(!ok);
        assert!(text.contains("tictactoe") && text.contains("connect4"), "{text}");
        assert_eq!(count_games(&data.join("replay.db"), ""), 20, "nothing overwritten");
        assert!(!data.join("models").exists(), "{cmd} created models/ in another game's folder");
    }
}

#[test]
fn run_serves_the_api_while_playing() {
    if !ort_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    publish(&data.join("models"), &fixture("tictactoe_step100.onnx"));
    let port = free_port();
    let mut child = spawn_actor(&["run", "--simulations", "16", "--games-in-flight", "8"], port, &data, dir.path());
    let result = std::panic::catch_unwind(|| {
        wait_for_port(port);
        let (s, body) = http(port, "GET", "/api/health", "");
        assert_eq!(s, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["game"], "tictactoe");
        // The server's model watcher loads within a second or so.
        let t = Instant::now();
        loop {
            let (_, body) =
                http(port, "POST", "/api/move", r#"{"game":"tictactoe","moves":[0,3,1,4],"simulations":64}"#);
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            if v["model_version"] == 100 {
                assert_eq!(v["action"], 2, "{v}");
                assert_eq!(v["model_source"], "latest", "{v}");
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "model never used: {v}");
            std::thread::sleep(Duration::from_millis(200));
        }
        // Self-play is running and written.
        let t = Instant::now();
        loop {
            let (_, body) = http(port, "GET", "/api/replays?limit=5", "");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            if !v["games"].as_array().unwrap().is_empty() {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(20), "no games written");
            std::thread::sleep(Duration::from_millis(200));
        }
        let (s, body) = http(port, "GET", "/api/stats", "");
        assert_eq!(s, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(v["actor"]["games_played"].as_u64().unwrap() > 0, "{v}");
        let (s, body) = http(port, "GET", "/", "");
        assert_eq!(s, 200);
        assert!(body.contains("not built"));
    });
    child.kill().unwrap();
    child.wait().unwrap();
    result.unwrap();
}

/// Under `--gating gated` the move API plays `best.onnx`, as self-play does, even when
/// `latest.onnx` is newer; both `/api/health` and `/api/move` say so.
#[test]
fn serve_under_gating_plays_the_best_model() {
    if !ort_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let models = data.join("models");
    publish(&models, &fixture("tictactoe_step200.onnx"));
    std::fs::copy(fixture("tictactoe_step100.onnx"), models.join(".best.onnx.tmp")).unwrap();
    std::fs::rename(models.join(".best.onnx.tmp"), models.join("best.onnx")).unwrap();
    let port = free_port();
    let mut child = spawn_actor(&["serve", "--gating", "gated"], port, &data, dir.path());
    let result = std::panic::catch_unwind(|| {
        wait_for_port(port);
        // The server's model watcher loads within a second or so.
        let t = Instant::now();
        loop {
            let (s, body) = http(port, "GET", "/api/health", "");
            assert_eq!(s, 200, "{body}");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["model_source"], "best", "{v}");
            if !v["model_version"].is_null() {
                assert_eq!(v["model_version"], 100, "{v}");
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "model never loaded: {v}");
            std::thread::sleep(Duration::from_millis(200));
        }
        let (s, body) = http(port, "POST", "/api/move", r#"{"game":"tictactoe","moves":[0,3,1,4],"simulations":64}"#);
        assert_eq!(s, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!((v["model_version"].clone(), v["model_source"].clone()), (100.into(), "best".into()), "{v}");
    });
    child.kill().unwrap();
    child.wait().unwrap();
    result.unwrap();
}

#[test]
fn perft_arena_and_bad_flags() {
    let (ok, text) = output(actor().args(["perft", "--game", "tictactoe", "--depth", "4"]));
    assert!(ok && text.contains("3024 leaves"), "{text}");
    let (ok, text) = output(actor().args([
        "arena",
        "--game",
        "tictactoe",
        "--a",
        "mcts",
        "--b",
        "random",
        "--games",
        "6",
        "--sims",
        "200",
        "--seed",
        "1",
    ]));
    assert!(ok, "{text}");
    assert!(text.contains("A: ") && text.contains("score"), "{text}");
    let (ok, text) = output(actor().args(["arena", "--a", "/nonexistent.onnx", "--b", "random"]));
    assert!(!ok && text.contains("/nonexistent.onnx"), "{text}");
    let (ok, text) = output(actor().args(["run", "--threads", "0", "--no-model"]));
    assert!(!ok && text.contains("--threads must be between 1 and 1024"), "{text}");
    let (ok, text) = output(actor().args(["selfplay", "--game", "chess"]));
    assert!(!ok && text.contains("unknown game"), "{text}");
    let (ok, text) = output(actor().arg("--help"));
    assert!(ok && ["run", "selfplay", "serve", "perft", "arena"].iter().all(|c| text.contains(c)), "{text}");
}
