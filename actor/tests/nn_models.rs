//! ONNX models: loading, batch evaluation, refusing wrong or corrupt files, and hot
//! reload through `ModelWatcher` (docs/CONTRACTS.md §3, §4).

mod common;

use std::time::Duration;

use actor::nn::{ModelWatcher, NnModel, Precision, WatchEvent};
use common::{fixture, ort_available, publish};
use engine_core::{Game, GameKind};

fn ttt() -> &'static engine_core::GameSpec {
    GameKind::TicTacToe.spec()
}

#[test]
fn model_loads_and_evaluates_a_batch() {
    if !ort_available() {
        return;
    }
    let m = NnModel::load(&fixture("tictactoe_step100.onnx"), ttt(), 1).unwrap();
    assert_eq!(m.info.step, 100);
    assert_eq!(m.info.game, "tictactoe");
    assert_eq!(m.info.arch.as_deref(), Some("linear"));
    // Three positions: start, after X b2, after X b2 O a1 X c3.
    let positions: Vec<engine_core::tictactoe::TicTacToe> =
        [&[][..], &[4][..], &[4, 0, 8][..]].iter().map(|m| Game::from_actions(m).unwrap()).collect();
    let mut obs = vec![0.0f32; 3 * 18];
    for (p, chunk) in positions.iter().zip(obs.chunks_mut(18)) {
        p.encode(chunk);
    }
    let out = m.run(&obs, 3).unwrap();
    assert_eq!(out.logits.len(), 27);
    assert_eq!(out.values.len(), 3);
    // The fixture computes policy[i] = 2 own[i] - 3 opp[i] + 0.1 i and
    // value = tanh(0.5 (own - opp)).
    for (k, chunk) in obs.chunks(18).enumerate() {
        for i in 0..9 {
            let want = 2.0 * chunk[i] - 3.0 * chunk[9 + i] + 0.1 * i as f32;
            assert!((out.logits[k * 9 + i] - want).abs() < 1e-5, "position {k} action {i}");
        }
        let diff: f32 = chunk[..9].iter().sum::<f32>() - chunk[9..].iter().sum::<f32>();
        assert!((out.values[k] - (0.5 * diff).tanh()).abs() < 1e-5);
    }
    // After X b2 it is O's move: O has nothing, X one mark, so O's value is negative.
    assert!(out.values[1] < 0.0);
    // A wrong-length input is an error, not a crash.
    assert!(m.run(&obs[..10], 1).is_err());
}

#[test]
fn wrong_game_obs_version_and_corrupt_files_are_refused() {
    if !ort_available() {
        return;
    }
    let err = NnModel::load(&fixture("connect4_step5.onnx"), ttt(), 1).unwrap_err().to_string();
    assert!(err.contains("\"connect4\"") && err.contains("\"tictactoe\""), "{err}");
    let err = NnModel::load(&fixture("tictactoe_obs_v2.onnx"), ttt(), 1).unwrap_err().to_string();
    assert!(err.contains("obs_version 2"), "{err}");
    let err = NnModel::load(&fixture("corrupt.onnx"), ttt(), 1).unwrap_err().to_string();
    assert!(err.contains("corrupt.onnx") && err.contains("not a loadable ONNX model"), "{err}");
    let err = NnModel::load(&fixture("missing.onnx"), ttt(), 1).unwrap_err().to_string();
    assert!(err.contains("cannot read model"), "{err}");
    // The connect4 model is fine for a connect4 actor, if this build has connect4.
    if let Ok(c4) = GameKind::from_name("connect4") {
        let m = NnModel::load(&fixture("connect4_step5.onnx"), c4.spec(), 1).unwrap();
        assert_eq!(m.info.step, 5);
    }
}

#[test]
fn hot_reload_swaps_to_new_models_and_keeps_the_old_on_bad_ones() {
    if !ort_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    let mut w = ModelWatcher::new(&models, ttt(), 1, Duration::from_secs(3600));
    assert!(matches!(w.poll_now(), WatchEvent::Unchanged));
    assert!(w.current().is_none());

    publish(&models, &fixture("tictactoe_step100.onnx"));
    match w.poll_now() {
        WatchEvent::Loaded(info) => assert_eq!(info.step, 100),
        e => panic!("expected a load, got {e:?}"),
    }
    // Rate limit: a plain poll right after does not even look.
    publish(&models, &fixture("tictactoe_step200.onnx"));
    assert!(matches!(w.poll(), WatchEvent::Unchanged));
    match w.poll_now() {
        WatchEvent::Loaded(info) => assert_eq!(info.step, 200),
        e => panic!("expected a load, got {e:?}"),
    }

    for bad in ["corrupt.onnx", "connect4_step5.onnx", "tictactoe_obs_v2.onnx"] {
        publish(&models, &fixture(bad));
        match w.poll_now() {
            WatchEvent::Rejected { reason, .. } => assert!(!reason.is_empty()),
            e => panic!("{bad}: expected a rejection, got {e:?}"),
        }
        assert_eq!(w.current().unwrap().info.step, 200, "{bad} must not replace the model in use");
        // Not retried while the file is unchanged.
        assert!(matches!(w.poll_now(), WatchEvent::Unchanged));
    }
    publish(&models, &fixture("tictactoe_step100.onnx"));
    assert!(matches!(w.poll_now(), WatchEvent::Loaded(_)));
    assert_eq!(w.current().unwrap().info.step, 100);
}

/// Copies `src` to `models/<name>` by temp file and rename, as the trainer publishes.
fn publish_as(models: &std::path::Path, src: &std::path::Path, name: &str) {
    let tmp = models.join(format!(".{name}.tmp"));
    std::fs::copy(src, &tmp).unwrap();
    std::fs::rename(&tmp, models.join(name)).unwrap();
}

fn played(w: &ModelWatcher) -> (i64, String) {
    let m = w.current().unwrap();
    (m.info.step, m.info.precision.clone())
}

#[test]
fn a_watcher_plays_the_int8_file_of_the_same_step_and_falls_back_to_fp32() {
    if !ort_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    let mut w = ModelWatcher::new(&models, ttt(), 1, Duration::from_secs(3600)).with_precision(Precision::Int8);

    // No int8 file: fp32, and the reason is said.
    publish(&models, &fixture("tictactoe_step100.onnx"));
    match w.poll_now() {
        WatchEvent::Fallback { info, reason } => {
            assert_eq!((info.step, info.precision.as_str()), (100, "fp32"));
            assert!(reason.contains("latest.int8.onnx"), "{reason}");
        }
        e => panic!("expected a fallback, got {e:?}"),
    }
    // The int8 file of the same step arrives: it replaces the fp32 model.
    publish_as(&models, &fixture("tictactoe_step100.int8.onnx"), "latest.int8.onnx");
    assert!(matches!(w.poll_now(), WatchEvent::Loaded(_)));
    assert_eq!(played(&w), (100, "int8".into()));
    assert!(matches!(w.poll_now(), WatchEvent::Unchanged));

    // The trainer writes the next int8 file first: on its own it does not fit the fp32
    // file of step 100, so the model played stays.
    publish_as(&models, &fixture("tictactoe_step200.int8.onnx"), "latest.int8.onnx");
    assert!(matches!(w.poll_now(), WatchEvent::Unchanged));
    assert_eq!(played(&w), (100, "int8".into()));
    // Then the fp32 file of step 200: the int8 one of step 200 is played.
    publish(&models, &fixture("tictactoe_step200.onnx"));
    match w.poll_now() {
        WatchEvent::Loaded(info) => assert_eq!((info.step, info.precision.as_str()), (200, "int8")),
        e => panic!("expected a load, got {e:?}"),
    }

    // A newer fp32 file beside a stale int8 file (the trainer's check failed and it
    // could not remove the old one): fp32, never the int8 model of another step.
    publish(&models, &fixture("tictactoe_step100.onnx"));
    match w.poll_now() {
        WatchEvent::Fallback { info, reason } => {
            assert_eq!((info.step, info.precision.as_str()), (100, "fp32"));
            assert!(reason.contains("step 200") && reason.contains("step 100"), "{reason}");
        }
        e => panic!("expected a fallback, got {e:?}"),
    }
    // A corrupt int8 file: fp32 stays, with the loader's reason.
    publish_as(&models, &fixture("corrupt.onnx"), "latest.int8.onnx");
    assert!(matches!(w.poll_now(), WatchEvent::Unchanged));
    publish(&models, &fixture("tictactoe_step200.onnx"));
    match w.poll_now() {
        WatchEvent::Fallback { info, reason } => {
            assert_eq!((info.step, info.precision.as_str()), (200, "fp32"));
            assert!(reason.contains("not a loadable ONNX model"), "{reason}");
        }
        e => panic!("expected a fallback, got {e:?}"),
    }

    // fp32 never looks at the int8 file.
    publish_as(&models, &fixture("tictactoe_step200.int8.onnx"), "latest.int8.onnx");
    let mut plain = ModelWatcher::new(&models, ttt(), 1, Duration::from_secs(3600)).with_precision(Precision::Fp32);
    assert!(matches!(plain.poll_now(), WatchEvent::Loaded(_)));
    assert_eq!(played(&plain), (200, "fp32".into()));
    // auto is int8 on the CPU.
    let mut auto = ModelWatcher::new(&models, ttt(), 1, Duration::from_secs(3600)).with_precision(Precision::Auto);
    assert!(matches!(auto.poll_now(), WatchEvent::Loaded(_)));
    assert_eq!(played(&auto), (200, "int8".into()));
}
