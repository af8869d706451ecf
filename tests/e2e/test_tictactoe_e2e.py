"""End to end, for real: the actor and trainer train TicTacToe on a temporary data
folder; games are stored, a model is published and picked up by the actor, whole
games are played through /api/move with every bot move checked against the rules,
and the browser tests play on the real pages.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess

import pytest

from conftest import ROOT, make_system, raw_request, running

LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def ttt_state(moves: list[int]) -> tuple[list[int], bool]:
    """Board (0 empty, 1 X, 2 O) and whether the game is over — written here from the
    rules, independently of the engine, so the test checks the actor rather than
    trusting it."""
    board = [0] * 9
    for i, m in enumerate(moves):
        assert board[m] == 0, f"move {m} at index {i} is on a taken cell"
        board[m] = 1 + i % 2
    won = any(board[a] and board[a] == board[b] == board[c] for a, b, c in LINES)
    return board, won or all(board)


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    sys_ = make_system(
        tmp_path_factory.mktemp("ttt"),
        "tictactoe",
        # Publish early and often so the test sees a model within a minute or two.
        trainer_sets=["publish_interval=25", "min_positions=200", "checkpoint_interval=50"],
    )
    with running(sys_):
        yield sys_


def test_games_are_stored(system):
    system.wait_for("/api/health", lambda: system.get("/api/health")["status"] == "ok", 60)
    system.wait_for("stored self-play games", lambda: system.get("/api/stats")["actor"]["games_played"] >= 5, 120)
    db = sqlite3.connect(f"file:{system.data / 'replay.db'}?mode=ro", uri=True)
    try:
        meta = dict(db.execute("SELECT key, value FROM meta"))
        assert meta["game"] == "tictactoe"
        assert meta["schema_version"] == "1"
        spec = json.loads(meta["spec"])
        assert spec["num_actions"] == 9 and len(spec["symmetries"]) == 8
        n_games, n_pos = db.execute("SELECT (SELECT COUNT(*) FROM games), (SELECT COUNT(*) FROM positions)").fetchone()
        assert n_games >= 1
        # Every game lasts at least 5 plies. Its positions are its searched plies: all
        # after the random opening (at most 4 plies for TicTacToe), up to the last move.
        bad = db.execute(
            "SELECT count(*) FROM games g JOIN (SELECT game_id, count(*) AS n, max(ply) AS hi "
            "FROM positions GROUP BY game_id) p ON p.game_id = g.id "
            "WHERE g.num_moves < 5 OR p.hi != g.num_moves - 1 OR p.n < g.num_moves - 4"
        ).fetchone()[0]
        assert bad == 0
        assert n_pos >= n_games
    finally:
        db.close()


def test_model_is_published_and_used(system):
    latest = system.data / "models" / "latest.onnx"
    system.wait_for("models/latest.onnx", latest.exists, 240)
    assert not (system.data / "models" / "latest.onnx.data").exists(), "the model must be one self-contained file"
    version = system.wait_for(
        "the actor to report the published model", lambda: system.get("/api/health")["model_version"], 120
    )
    assert version > 0
    stats = system.wait_for("trainer stats", lambda: system.get("/api/stats")["trainer"], 60)
    assert stats["step"] >= version and stats["game"] == "tictactoe"
    games = {g["name"]: g for g in system.get("/api/games")["games"]}
    assert games["tictactoe"]["has_model"] is True


def test_whole_games_through_the_move_api(system):
    rng = random.Random(7)
    for n in range(8):
        moves: list[int] = []
        bot_first = n % 2 == 0
        while True:
            board, over = ttt_state(moves)
            if over:
                break
            if (len(moves) % 2 == 0) == bot_first:
                status, body = system.post("/api/move", {"game": "tictactoe", "moves": moves, "simulations": 50})
                assert status == 200, body
                a = body["action"]
                assert 0 <= a < 9 and board[a] == 0, f"illegal bot move {a} after {moves}"
                assert len(body["policy"]) == 9 and abs(sum(body["policy"]) - 1) < 1e-3
                assert -1 <= body["value"] <= 1
                assert body["model_version"] is not None
                moves.append(a)
            else:
                moves.append(rng.choice([i for i in range(9) if board[i] == 0]))


def test_bad_requests_get_clear_4xx(system):
    cases = [
        ({"game": "chess", "moves": []}, "chess"),
        ({"game": "tictactoe", "moves": [4, 4]}, "1"),  # names the offending index
        ({"game": "tictactoe", "moves": [9]}, "range"),
        ({"game": "tictactoe", "moves": [0, 3, 1, 4, 2]}, "over"),
        ({"game": "tictactoe", "moves": [], "simulations": 10**9}, "simulations"),
    ]
    for body, word in cases:
        status, answer = system.post("/api/move", body)
        assert 400 <= status < 500, (body, status, answer)
        assert word in json.dumps(answer).lower(), (body, answer)
    status, answer = system.post("/api/move", b"{not json")
    assert 400 <= status < 500
    # Raw: the server answers 413 and may close before a 2 MiB body is all sent.
    big = b"x" * (2 * 1024 * 1024)
    status, _ = raw_request(system.actor_port, "/api/move", "POST", big, "Content-Type: application/json\r\n")
    assert status == 413, status
    # ...and the server carries on.
    assert system.get("/api/health")["status"] == "ok"


def test_browser_plays_on_the_pages(system):
    # "all" includes the evaluation charts, which this run's evaluator fills within
    # seconds of the first model.
    env = dict(
        os.environ,
        BASE_URL=system.base,
        BROWSER_TESTS="all",
        SCREENSHOT_DIR=str(ROOT / "web" / "test-results" / "screenshots"),
    )
    run = subprocess.run(
        ["npm", "run", "--silent", "test:browser"],
        cwd=ROOT / "web",
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(run.stdout[-6000:], run.stderr[-3000:])
    assert run.returncode == 0, f"browser tests failed:\n{run.stdout[-6000:]}\n{run.stderr[-3000:]}"


def test_web_rules_agree_with_the_engine(system):
    """The web app's TypeScript rules replay random games and compare every position
    with the engine's answer from /api/state."""
    env = dict(os.environ, ACTOR_URL=system.base)
    run = subprocess.run(
        ["npx", "vitest", "run", "src/lib/games/engine.test.ts"],
        cwd=ROOT / "web",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(run.stdout[-3000:])
    assert run.returncode == 0, f"{run.stdout[-4000:]}\n{run.stderr[-2000:]}"
    assert "skipped" not in run.stdout.split("Tests")[-1], "the engine comparison must run, not skip"
