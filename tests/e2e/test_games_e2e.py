"""Connect4 and Othello end to end, for real: for each game the actor and trainer run
briefly on a temporary data folder (a tiny model, published early); games are stored
with the game's spec, a model is published and used by the actor, whole games are
played through /api/move with every bot move checked against the engine's legal list
(/api/state) AND against rules written here independently, and starting the actor or
the trainer for another game on that data folder stops with a clear message and
changes no file.
"""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess

import onnx
import pytest

from conftest import ACTOR, ROOT, TRAINER, free_port, make_system, running

# --- rules written independently of the engine (docs/CONTRACTS.md §1) --------------------


def connect4_open_columns(moves: list[int]) -> set[int]:
    """Columns that are not full after `moves` (a column holds 6 discs)."""
    heights = [0] * 7
    for i, m in enumerate(moves):
        assert 0 <= m < 7 and heights[m] < 6, f"move {m} at index {i} is on a full column"
        heights[m] += 1
    return {c for c in range(7) if heights[c] < 6}


DIRS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def othello_flips(board: list[int], me: int, sq: int) -> list[int]:
    if board[sq]:
        return []
    r0, c0 = divmod(sq, 8)
    out = []
    for dr, dc in DIRS:
        r, c, line = r0 + dr, c0 + dc, []
        while 0 <= r < 8 and 0 <= c < 8 and board[r * 8 + c] == 3 - me:
            line.append(r * 8 + c)
            r, c = r + dr, c + dc
        if line and 0 <= r < 8 and 0 <= c < 8 and board[r * 8 + c] == me:
            out += line
    return out


def othello_position(moves: list[int]) -> tuple[list[int], int, set[int]]:
    """Board (1 black, 2 white), side to move, and its legal actions (64 = pass; empty
    when the game is over) after `moves`. d5 and e4 black, d4 and e5 white; black first."""
    board = [0] * 64
    board[27], board[36], board[28], board[35] = 2, 2, 1, 1  # d4 e5 white, e4 d5 black
    me = 1

    def legal(player):
        return {sq for sq in range(64) if othello_flips(board, player, sq)}

    for i, m in enumerate(moves):
        moves_here = legal(me)
        if m == 64:
            assert not moves_here, f"pass at index {i} while {sorted(moves_here)} were legal"
        else:
            assert m in moves_here, f"move {m} at index {i} is illegal; legal: {sorted(moves_here)}"
            for f in othello_flips(board, me, m):
                board[f] = me
            board[m] = me
        me = 3 - me
    here = legal(me)
    if here:
        return board, me, here
    if legal(3 - me):
        return board, me, {64}
    return board, me, set()  # neither side can move: over


GAMES = {
    # game: (rows, cols, num_actions, symmetries, bot games through /api/move)
    "connect4": (6, 7, 7, 2, 2),
    "othello": (8, 8, 65, 8, 1),
}


@pytest.fixture(scope="module", params=list(GAMES))
def system(request, tmp_path_factory):
    game = request.param
    sys_ = make_system(
        tmp_path_factory.mktemp(game),
        game,
        # A tiny model published often, so a model exists within a minute or two.
        trainer_sets=[
            "model=b2c32",
            "min_positions=300",
            "replay_window=50000",
            "batch_size=64",
            "sample_ratio=0",
            "publish_interval=10",
            "checkpoint_interval=20",
            "stats_interval=5",
        ],
        actor_args=["--simulations", "16", "--games-in-flight", "16", "--max-positions-per-s", "1500"],
    )
    with running(sys_):
        yield sys_


def test_games_stored_with_the_games_spec(system):
    rows, cols, num_actions, n_sym, _ = GAMES[system.game]
    system.wait_for("/api/health", lambda: system.get("/api/health")["game"] == system.game, 60)
    system.wait_for("stored self-play games", lambda: system.get("/api/stats")["actor"]["games_played"] >= 3, 180)
    db = sqlite3.connect(f"file:{system.data / 'replay.db'}?mode=ro", uri=True)
    try:
        meta = dict(db.execute("SELECT key, value FROM meta"))
        assert meta["game"] == system.game and meta["schema_version"] == "1"
        spec = json.loads(meta["spec"])
        assert (spec["name"], spec["rows"], spec["cols"], spec["num_actions"]) == (system.game, rows, cols, num_actions)
        assert spec["obs_channels"] == 2 and len(spec["symmetries"]) == n_sym
        assert spec["symmetries"][0]["cells"] == list(range(rows * cols))  # identity first
        obs, policy = db.execute("SELECT obs, policy FROM positions ORDER BY id LIMIT 1").fetchone()
        assert len(obs) == 4 * 2 * rows * cols and len(policy) == 4 * num_actions
        # Every stored game is a legal game by the rules written here.
        for (moves,) in db.execute("SELECT moves FROM games ORDER BY id LIMIT 20"):
            moves = json.loads(moves)
            if system.game == "connect4":
                connect4_open_columns(moves)
            else:
                assert othello_position(moves)[2] == set(), "an Othello game stored before its end"
    finally:
        db.close()


def test_model_is_published_and_used(system):
    latest = system.data / "models" / "latest.onnx"
    system.wait_for("models/latest.onnx", latest.exists, 300)
    props = {p.key: p.value for p in onnx.load(str(latest)).metadata_props}
    assert props["cartridge.game"] == system.game and props["cartridge.arch"] == "resnet-b2c32"
    version = system.wait_for("the actor to report the model", lambda: system.get("/api/health")["model_version"], 120)
    assert version > 0
    games = {g["name"]: g for g in system.get("/api/games")["games"]}
    assert games[system.game]["has_model"] is True and games[system.game]["training"] is True


def test_whole_games_through_the_move_api(system):
    rng = random.Random(11)
    n_games = GAMES[system.game][4]
    for n in range(n_games):
        moves: list[int] = []
        bot_first = n % 2 == 0
        while True:
            status, state = system.post("/api/state", {"game": system.game, "moves": moves})
            assert status == 200, state
            engine_legal = set(state["legal_actions"])
            if system.game == "connect4":
                mine = connect4_open_columns(moves)
                # A won game has no legal moves though columns are open; otherwise they agree.
                assert engine_legal == (set() if state["outcome"] else mine), (moves, state)
            else:
                board, me, mine = othello_position(moves)
                assert engine_legal == mine and state["to_move"] == me, (moves, state)
                assert state["cells"] == board, moves
            if state["outcome"] is not None:
                assert not engine_legal
                break
            if (len(moves) % 2 == 0) == bot_first:
                status, body = system.post("/api/move", {"game": system.game, "moves": moves, "simulations": 32})
                assert status == 200, body
                a = body["action"]
                assert a in engine_legal and a in mine, f"illegal bot move {a} after {moves}"
                assert body["model_version"] is not None
                assert abs(sum(body["policy"]) - 1) < 1e-3 and -1 <= body["value"] <= 1
                moves.append(a)
            else:
                moves.append(rng.choice(sorted(engine_legal)))
        assert len(moves) >= 7


def snapshot(folder) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_another_game_on_this_folder_is_refused_and_changes_nothing(system):
    system.trainer.stop()
    system.actor.stop()
    other = "othello" if system.game == "connect4" else "connect4"
    before = snapshot(system.data)
    assert "replay.db" in before and "models/latest.onnx" in before
    env = system.actor.env
    actor = subprocess.run(
        [
            str(ACTOR),
            "run",
            "--game",
            other,
            "--data-dir",
            str(system.data),
            "--port",
            str(free_port()),
            "--web-dir",
            str(ROOT / "web" / "dist"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert actor.returncode != 0
    said = actor.stdout + actor.stderr
    assert system.game in said and other in said, said
    trainer = subprocess.run(
        [str(TRAINER), "train", "--game", other, "--data-dir", str(system.data), "--control-port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert trainer.returncode == 2
    said = trainer.stdout + trainer.stderr
    assert system.game in said and other in said and "one game" in said, said
    after = snapshot(system.data)
    assert after.keys() == before.keys()
    for name in before:
        assert after[name] == before[name], f"{name} changed"
