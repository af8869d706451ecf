"""`trainer report`: a data folder in the shapes of docs/CONTRACTS.md §4 and §8 becomes
REPORT.md with its plots, and the figures in the tables are the ones in the inputs."""

import json
import sqlite3

import pytest
from trainer.cli import main
from trainer.report import ReportError, load_run, write_report


def make_run(d):
    hist = [
        {
            "step": s,
            "time": 1000.0 + s,
            "policy_loss": 2.0 / (1 + s / 100),
            "value_loss": 0.5,
            "total_loss": 2.5 / (1 + s / 100),
            "model_version": s,
        }
        for s in range(0, 1001, 100)
    ]
    (d / "stats.json").write_text(
        json.dumps(
            {
                "game": "tictactoe",
                "step": 1000,
                "model_version": 1000,
                "started_at": 1000.0,
                "updated_at": 2000.0,
                "games_in_db": 321,
                "samples_per_s": 5000.0,
                "history": hist,
            }
        )
    )
    (d / "evaluation.json").write_text(
        json.dumps(
            {
                "ratings": [
                    {"player": "random", "version": None, "elo": 0, "elo_lo": 0, "elo_hi": 0, "games": 40},
                    {"player": "model:500", "version": 500, "elo": 150, "elo_lo": 100, "elo_hi": 200, "games": 20},
                    {"player": "model:1000", "version": 1000, "elo": 420, "elo_lo": 350, "elo_hi": 490, "games": 20},
                ]
            }
        )
    )
    db = sqlite3.connect(d / "eval.db")
    db.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE matches (id INTEGER PRIMARY KEY, created_at REAL NOT NULL, player_a TEXT NOT NULL,
            player_b TEXT NOT NULL, a_first INTEGER NOT NULL, score_a REAL NOT NULL, moves TEXT NOT NULL);
        CREATE TABLE accuracy (id INTEGER PRIMARY KEY, created_at REAL NOT NULL, model_version INTEGER NOT NULL,
            phase TEXT NOT NULL, mode TEXT NOT NULL, positions INTEGER NOT NULL, errors INTEGER NOT NULL);
    """)
    rows = [("model:1000", "random", 1.0)] * 7 + [("random", "model:1000", 0.5)] * 2 + [("model:1000", "random", 0.0)]
    rows += [("model:500", "model:1000", 0.0)]  # model pairs feed the ratings, not the baseline table
    db.executemany(
        "INSERT INTO matches (created_at, player_a, player_b, a_first, score_a, moves) VALUES (0, ?, ?, 1, ?, '[]')",
        rows,
    )
    db.executemany(
        "INSERT INTO accuracy (created_at, model_version, phase, mode, positions, errors) "
        "VALUES (0, ?, 'all', ?, 4520, ?)",
        [(500, "search", 452), (1000, "search", 0), (1000, "net", 45)],
    )
    db.commit()
    db.close()


def test_report_tables_and_plots(tmp_path):
    make_run(tmp_path)
    md = write_report(load_run(tmp_path), tmp_path / "out")
    text = md.read_text()
    assert "# Training report: tictactoe" in text
    assert "| random | 1000 | 7 | 2 | 1 | 0.800 |" in text
    assert "| all | search | 1000 | 4520 | 0.0% |" in text
    assert "| all | net | 1000 | 4520 | 1.0% |" in text
    assert "version 1000, Elo 420 [350, 490]" in text
    assert "16.7 min" in text
    for png in ("loss.png", "elo.png", "baselines.png", "accuracy.png"):
        data = (tmp_path / "out" / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, png


def test_report_without_evaluation_says_so(tmp_path):
    (tmp_path / "stats.json").write_text(json.dumps({"game": "connect4", "step": 0, "history": []}))
    text = write_report(load_run(tmp_path), tmp_path / "out").read_text()
    assert "No ratings yet" in text and "No evaluation games yet" in text and "No training history" in text


def test_report_errors_are_clear(tmp_path, capsys):
    with pytest.raises(ReportError, match="no stats.json"):
        load_run(tmp_path)
    (tmp_path / "stats.json").write_text("{broken")
    with pytest.raises(ReportError, match="not readable JSON"):
        load_run(tmp_path)
    assert main(["report", str(tmp_path / "missing")]) == 2


def test_report_command(tmp_path, capsys):
    make_run(tmp_path)
    assert main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "report" / "REPORT.md").exists()
