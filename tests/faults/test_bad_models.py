"""Garbage, truncated and wrong-game files dropped onto models/latest.onnx: the actor
keeps playing the model it has, and /api/stats names the rejected file and why."""

from __future__ import annotations

import shutil

import pytest

from conftest import FIXTURES, actor_proc, http, wait_until


def stats(port: int) -> dict:
    return http("GET", f"http://127.0.0.1:{port}/api/stats")[1]["actor"]


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"this is not an ONNX model\n" * 100, "not a loadable ONNX model"),
        ("truncated", "not a loadable ONNX model"),
        ("connect4", "does not match"),
        (b"", None),
    ],
)
def test_bad_model_file_is_rejected_and_the_old_one_keeps_playing(tmp_path, procs, payload, reason):
    data = tmp_path / "data"
    models = data / "models"
    models.mkdir(parents=True)
    latest = models / "latest.onnx"
    shutil.copy(FIXTURES / "tictactoe_step100.onnx", latest)
    a = actor_proc(tmp_path, data, "--model-poll-ms", "100", "--max-positions-per-s", "2000")
    procs.append(a)
    a.start()
    base = f"http://127.0.0.1:{a.port}"
    wait_until("model 100 in use", lambda: stats(a.port)["model_version"] == 100, 60, (a,))
    games_before = wait_until("self-play games", lambda: stats(a.port)["games_played"], 60, (a,))

    # Written in place, the way a careless copy would: no temp file and rename.
    if payload == "truncated":
        good = (FIXTURES / "tictactoe_step200.onnx").read_bytes()
        latest.write_bytes(good[: len(good) // 2])
    elif payload == "connect4":
        latest.write_bytes((FIXTURES / "connect4_step5.onnx").read_bytes())
    else:
        latest.write_bytes(payload)

    if reason is None:
        # An empty file is what a half-finished copy looks like at first: it is also refused.
        reason = "model"
    rejected = wait_until("the rejection in /api/stats", lambda: stats(a.port)["last_rejected_model"], 30, (a,))
    assert rejected["path"].endswith("latest.onnx"), rejected
    assert reason in rejected["reason"], rejected
    assert rejected["at"] > 0

    # The previous model keeps playing: self-play goes on and /api/move uses version 100.
    wait_until("more self-play games", lambda: stats(a.port)["games_played"] > games_before + 20, 30, (a,))
    assert stats(a.port)["model_version"] == 100
    status, move = http("POST", f"{base}/api/move", {"game": "tictactoe", "moves": [4], "simulations": 50})
    assert status == 200, move
    assert move["model_version"] == 100
    assert move["action"] != 4
    status, health = http("GET", f"{base}/api/health")
    assert health["model_version"] == 100

    # A good file published the proper way (temp, rename) is picked up afterwards.
    tmp = models / ".latest.onnx.tmp"
    shutil.copy(FIXTURES / "tictactoe_step200.onnx", tmp)
    tmp.replace(latest)
    wait_until("model 200 in use", lambda: stats(a.port)["model_version"] == 200, 30, (a,))
    assert a.alive()
    assert "rejected" in a.tail(400), "the rejection is logged"
