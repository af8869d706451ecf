"""The actor plays a Transformer, for real: the actor writes Connect4 self-play games
(uniform priors, no model), the trainer trains `--model transformer --n-layer 2` on them
for a few steps and publishes it, and then the actor loads that ONNX file and plays
with it: self-play games record the model's step, and whole games through /api/move
come back with legal moves and the model's step (not the random-playout fallback).
A restart of the trainer that asks for another n_layer on that folder is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import time

import onnx
import pytest

from conftest import ACTOR, ROOT, TRAINER, Proc, free_port, http, ort_lib

N_LAYER = 2
STEPS = 12


def open_columns(moves: list[int]) -> set[int]:
    """Connect4 columns that are not full after `moves`, by the rules (a column holds 6)."""
    heights = [0] * 7
    for i, m in enumerate(moves):
        assert 0 <= m < 7 and heights[m] < 6, f"move {m} at index {i} is on a full column"
        heights[m] += 1
    return {c for c in range(7) if heights[c] < 6}


def run(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A data folder whose models/latest.onnx is a trained transformer-l2."""
    tmp = tmp_path_factory.mktemp("transformer")
    data = tmp / "data"
    env = dict(os.environ, ORT_DYLIB_PATH=ort_lib(), PYTHONUNBUFFERED="1")
    # Real games in the actor's replay.db, written without any model.
    selfplay = [str(ACTOR), "selfplay", "--no-model", "--game", "connect4", "--data-dir", str(data)]
    selfplay += ["--max-games", "40", "--simulations", "8", "--max-positions-per-s", "0", "--seed", "1"]
    done = run(selfplay, env, 120)
    assert done.returncode == 0, done.stdout + done.stderr
    trainer = [str(TRAINER), "train", "--game", "connect4", "--data-dir", str(data), "--control-port", "0"]
    trainer += ["--model", "transformer", "--n-layer", str(N_LAYER), "--max-steps", str(STEPS), "--threads", "2"]
    for s in ("min_positions=100", "batch_size=32", "sample_ratio=0", "publish_interval=6", "checkpoint_interval=6"):
        trainer += ["--set", s]
    done = run(trainer, env, 300)
    assert done.returncode == 0, done.stdout + done.stderr
    return data, env


def test_the_trainer_publishes_the_transformer(trained):
    data, _ = trained
    proto = onnx.load(str(data / "models" / "latest.onnx"))
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["cartridge.arch"] == f"transformer-l{N_LAYER}"
    assert props["cartridge.step"] == str(STEPS) and props["cartridge.game"] == "connect4"
    # The network really is the slider's: 2 layers of width 128 (64 * n_layer).
    # (The exporter renames the MatMul weights; the biases and the position table keep their names.)
    shapes = {t.name: list(t.dims) for t in proto.graph.initializer}
    width = 64 * N_LAYER
    assert shapes["pos"] == [1, 42, width]
    assert sorted(k for k in shapes if k.endswith(".qkv.bias")) == [f"blocks.{i}.qkv.bias" for i in range(N_LAYER)]
    assert all(shapes[f"blocks.{i}.qkv.bias"] == [3 * width] for i in range(N_LAYER))


def test_self_play_uses_the_transformer(trained):
    data, env = trained
    db = sqlite3.connect(f"file:{data / 'replay.db'}?mode=ro", uri=True)
    try:
        (before,) = db.execute("SELECT max(id) FROM games").fetchone()
    finally:
        db.close()
    selfplay = [str(ACTOR), "selfplay", "--game", "connect4", "--data-dir", str(data), "--max-games", "8"]
    selfplay += ["--simulations", "16", "--games-in-flight", "8", "--max-positions-per-s", "0", "--seed", "2"]
    done = run(selfplay, env, 180)
    assert done.returncode == 0, done.stdout + done.stderr
    db = sqlite3.connect(f"file:{data / 'replay.db'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT model_version, moves FROM games WHERE id > ?", (before,)).fetchall()
    finally:
        db.close()
    assert len(rows) >= 8, done.stdout + done.stderr
    # Every new game was searched with the published network, not uniform priors.
    assert {v for v, _ in rows} == {STEPS}, rows
    for _, moves in rows:
        open_columns(json.loads(moves))


def test_whole_games_through_the_move_api(trained, tmp_path):
    data, env = trained
    port = free_port()
    args = [str(ACTOR), "serve", "--game", "connect4", "--data-dir", str(data), "--port", str(port)]
    actor = Proc("actor", [*args, "--web-dir", str(ROOT / "web" / "dist")], tmp_path / "actor.log", env)
    actor.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and (health or {}).get("model_version") != STEPS:
            assert actor.alive(), actor.tail()
            time.sleep(0.3)
            with contextlib.suppress(OSError):  # not listening yet
                health = http("GET", base + "/api/health", timeout=5)[1]
        assert health and health.get("model_version") == STEPS, f"{health}\n{actor.tail()}"
        for n in range(2):
            moves: list[int] = []
            bot_first = n == 0
            while True:
                status, state = http("POST", base + "/api/state", {"game": "connect4", "moves": moves})
                assert status == 200, state
                legal = set(state["legal_actions"])
                assert legal == (set() if state["outcome"] else open_columns(moves)), (moves, state)
                if state["outcome"] is not None:
                    break
                if (len(moves) % 2 == 0) == bot_first:
                    ask = {"game": "connect4", "moves": moves, "simulations": 24}
                    status, body = http("POST", base + "/api/move", ask)
                    assert status == 200, body
                    assert body["action"] in legal, f"illegal bot move {body['action']} after {moves}"
                    # Searched with the transformer: its step, from models/latest.onnx.
                    assert body["model_version"] == STEPS and body["model_source"] == "latest", body
                    assert abs(sum(body["policy"]) - 1) < 1e-3 and -1 <= body["value"] <= 1
                    moves.append(body["action"])
                else:
                    moves.append(min(legal))
            assert len(moves) >= 7
    finally:
        actor.stop()
        print(actor.tail())


def test_a_restart_with_another_n_layer_is_refused(trained):
    data, env = trained
    before = sorted(p.name for p in (data / "checkpoints").iterdir())
    args = [str(TRAINER), "train", "--game", "connect4", "--data-dir", str(data), "--control-port", "0"]
    done = run([*args, "--n-layer", str(N_LAYER + 1)], env, 120)
    assert done.returncode == 2
    said = done.stdout + done.stderr
    assert f"n_layer={N_LAYER} (transformer-l{N_LAYER}) but n_layer={N_LAYER + 1} was asked for" in said, said
    assert sorted(p.name for p in (data / "checkpoints").iterdir()) == before
