//! `actor play` end to end: whole games against the bot with moves piped on stdin.
//! The scripted player offers candidate moves in a fixed order; the illegal ones must
//! be rejected with a reason (and the question asked again) until the game ends.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixture, ort_available};

/// Runs `actor play ARGS` with `input` on stdin; returns (success, stdout + stderr).
fn play(args: &[&str], input: String) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_actor"))
        .arg("play")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The game may end before all input is read: a broken pipe here is expected.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(started.elapsed() < Duration::from_secs(120), "a piped game took too long");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// `rounds` passes over every move name, in order.
fn candidates(names: &[String], rounds: usize) -> String {
    let mut s = String::new();
    for _ in 0..rounds {
        for n in names {
            s.push_str(n);
            s.push('\n');
        }
    }
    s
}

fn assert_finished(text: &str) {
    let last = text.lines().filter(|l| l.starts_with("Game over after")).collect::<Vec<_>>();
    assert_eq!(last.len(), 1, "exactly one result line expected:\n{text}");
    let l = last[0];
    assert!(l.ends_with("you win!") || l.ends_with("the bot wins.") || l.ends_with("It's a draw."), "{l}");
}

#[test]
fn tictactoe_rejects_bad_input_undoes_and_reaches_a_result() {
    let cells: Vec<String> =
        ["a1", "b1", "c1", "a2", "b2", "c2", "a3", "b3", "c3"].iter().map(|s| s.to_string()).collect();
    let input = format!("zz\nb2\nb2\nundo\nmoves\n{}", candidates(&cells, 3));
    let (ok, text) = play(&["--game", "tictactoe", "--model", "none", "--sims", "30", "--seed", "3"], input);
    assert!(ok, "{text}");
    assert!(text.contains("Bot: search with random playouts"), "{text}");
    assert!(text.contains(r#"Not played: cannot parse move "zz": expected a cell like b2"#), "{text}");
    assert!(text.contains("Not played: action 4 (b2) is illegal: cell b2 is already taken."), "{text}");
    assert!(text.contains("Undone: back to move 1."), "{text}");
    assert!(text.contains("Legal moves: a1 b1 c1 a2 b2 c2 a3 b3 c3"), "{text}");
    assert_finished(&text);
    // Every move the bot announced was on an empty cell: at most 5 bot moves, all distinct.
    let bot: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("Bot (O) plays ")).map(|l| &l[..2]).collect();
    assert!(!bot.is_empty() && bot.len() <= 5, "{text}");
}

#[test]
fn othello_bot_first_with_passes_reaches_a_result() {
    // Every square and `pass`, in order: exactly one legal choice exists at each turn.
    let mut names: Vec<String> = (0..64).map(|i| format!("{}{}", (b'a' + (i % 8) as u8) as char, i / 8 + 1)).collect();
    names.push("pass".into());
    let input = format!("pass\na1\nd4\n{}", candidates(&names, 40));
    let (ok, text) =
        play(&["--game", "othello", "--model", "none", "--sims", "4", "--first", "bot", "--seed", "5"], input);
    assert!(ok, "{text}");
    assert!(text.starts_with("Othello: you are O (second), the bot is X."), "{text}");
    assert!(text.contains("Not played: action 64 (pass) is illegal: pass is only legal when no move is"), "{text}");
    assert!(text.contains("Not played: action 0 (a1) is illegal: a1 flips no discs"), "{text}");
    assert!(text.contains("Not played: action 27 (d4) is illegal: d4 is occupied"), "{text}");
    assert_finished(&text);
}

#[test]
fn connect4_with_a_model_file_and_bad_columns() {
    if !ort_available() {
        return;
    }
    let model = fixture("connect4_step5.onnx");
    let cols: Vec<String> = (1..=7).map(|c| c.to_string()).collect();
    let input = format!("0\n8\nfour\n{}", candidates(&cols, 8));
    let (ok, text) =
        play(&["--game", "connect4", "--model", model.to_str().unwrap(), "--sims", "16", "--seed", "1"], input);
    assert!(ok, "{text}");
    assert!(text.contains("(step 5), puct search with 16 simulations per move"), "{text}");
    for bad in ["\"0\"", "\"8\"", "\"four\""] {
        assert!(text.contains(&format!("Not played: cannot parse move {bad}: expected a column number 1-7")), "{text}");
    }
    assert_finished(&text);
}

#[test]
fn quit_and_bad_flags() {
    let (ok, text) = play(&["--game", "connect4", "--model", "none", "--sims", "8"], "4\nquit\n".into());
    assert!(ok && text.contains("Quit after 2 moves."), "{text}");
    let (ok, text) = play(&["--game", "connect4", "--model", "/nonexistent/model.onnx"], String::new());
    assert!(!ok && text.contains("/nonexistent/model.onnx does not exist"), "{text}");
    let (ok, text) = play(&["--game", "chess", "--model", "none"], String::new());
    assert!(!ok && text.contains("unknown game"), "{text}");
    let (ok, text) = play(&["--game", "tictactoe", "--model", "none", "--sims", "0"], String::new());
    assert!(!ok && text.contains("--sims must be between 1 and 1000000"), "{text}");
    let (ok, text) = play(&["--game", "tictactoe", "--model", "none", "--c-puct", "NaN"], String::new());
    assert!(!ok && text.contains("--c-puct must be between 0.01 and 100"), "{text}");
}
