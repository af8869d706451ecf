"""The trainer against the real actor: resume after `kill -9`, and live control through
the actor's proxy (`/api/trainer/*`) and directly (docs/CONTRACTS.md §7).

The actor plays TicTacToe self-play into a temporary data folder; the trainer trains on
it with a short, steep LR schedule so that the LR differs from step to step and a
resumed run that got the step or the schedule wrong would show it.
"""

from __future__ import annotations

import json
import random
import re
import time
import urllib.error
import urllib.request

import numpy as np
import onnxruntime as ort
import pytest
from trainer.checkpoint import list_checkpoints
from trainer.config import TrainConfig
from trainer.optim import lr_at

from conftest import make_system, running

SCHEDULE_KEYS = (
    "learning_rate",
    "lr_schedule",
    "warmup_steps",
    "decay_steps",
    "min_lr_ratio",
    "lr_step_size",
    "lr_step_gamma",
)


def request(method: str, url: str, body=None, timeout: float = 30) -> tuple[int, dict]:
    """(status, json) for any status, so 4xx answers can be checked."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    sys_ = make_system(
        tmp_path_factory.mktemp("trainer"),
        "tictactoe",
        trainer_sets=[
            "min_positions=200",
            "batch_size=64",
            "sample_ratio=0",
            "warmup_steps=20",
            "decay_steps=300",
            "publish_interval=10",
            "checkpoint_interval=25",
            "stats_interval=5",
        ],
        # Paced, so the trainer keeps a core on a 2-core machine.
        actor_args=["--simulations", "32", "--max-positions-per-s", "2000"],
    )
    with running(sys_):
        yield sys_


def trainer_status(system) -> dict:
    return system.get("/api/trainer/status")


def config_of(system) -> TrainConfig:
    return TrainConfig(**system.get("/api/trainer/config")["config"])


def test_resume_after_kill_9(system):
    ckpts = system.data / "checkpoints"
    system.wait_for("/api/health", lambda: system.get("/api/health")["status"] == "ok", 60)
    system.wait_for("a first checkpoint", lambda: list_checkpoints(ckpts), 300)
    system.wait_for("models/latest.onnx", (system.data / "models" / "latest.onnx").exists, 120)
    before = config_of(system)
    time.sleep(random.uniform(0.0, 3.0))  # a random moment: mid-step, mid-publish, mid-checkpoint
    assert system.trainer.stop("kill") == -9

    last_step = list_checkpoints(ckpts)[-1][0]
    # The published model is whole: onnxruntime loads it and runs a batch.
    sess = ort.InferenceSession(str(system.data / "models" / "latest.onnx"), providers=["CPUExecutionProvider"])
    policy, value = sess.run(["policy", "value"], {"obs": np.zeros((4, 2, 3, 3), np.float32)})
    assert policy.shape == (4, 9) and value.shape == (4, 1) and np.isfinite(policy).all()

    log_start = system.trainer.log.stat().st_size
    system.trainer.start()
    # The first figures with a step are the checkpoint's, never a restart from 0.
    first = system.wait_for(
        "the restarted trainer's status", lambda: (s := trainer_status(system))["step"] > 0 and s, 120
    )
    assert first["step"] >= last_step, (first, last_step)
    log = system.trainer.log.read_bytes()[log_start:].decode(errors="replace")
    assert re.search(rf"resumed \S*ckpt_{last_step:08d}\.pt at step {last_step}\b", log), log[-3000:]

    after = config_of(system)
    for key in SCHEDULE_KEYS:
        assert getattr(after, key) == getattr(before, key), key
    # The LR it reports is the schedule's value at its step, now and after more training.
    assert first["learning_rate"] == pytest.approx(lr_at(first["step"], after), rel=1e-9)
    later = system.wait_for(
        "training to go on after the resume",
        lambda: (s := trainer_status(system))["step"] >= first["step"] + 10 and s,
        180,
    )
    assert later["learning_rate"] == pytest.approx(lr_at(later["step"], after), rel=1e-9)
    assert lr_at(later["step"], after) != lr_at(0, after)  # the schedule is not at its start


def test_live_config_through_the_proxy_and_directly(system):
    system.wait_for("training", lambda: trainer_status(system)["status"] == "training", 180)
    proxy = system.base + "/api/trainer/config"
    direct = f"http://127.0.0.1:{system.trainer_port}/config"

    status, body = request("PATCH", proxy, {"learning_rate": 0.0005, "batch_size": 48})
    assert status == 200, body
    assert body["config"]["learning_rate"] == 0.0005 and body["config"]["batch_size"] == 48
    start = trainer_status(system)["step"]
    s = system.wait_for(
        "steps with the new settings", lambda: (s := trainer_status(system))["step"] >= start + 5 and s, 120
    )
    assert s["batch_size"] == 48
    cfg = config_of(system)
    assert cfg.learning_rate == 0.0005
    assert s["learning_rate"] == pytest.approx(lr_at(s["step"], cfg), rel=1e-9)

    status, body = request("PATCH", direct, {"batch_size": 32})
    assert status == 200 and body["config"]["batch_size"] == 32
    system.wait_for("batch_size 32 in use", lambda: trainer_status(system)["batch_size"] == 32, 120)

    for url in (proxy, direct):
        for bad, field, words in [
            ({"batch_size": 0}, "batch_size", "[1, 65536]"),
            ({"learning_rate": 5}, "learning_rate", "[1e-06, 1]"),
            ({"sample_ratio": -1}, "sample_ratio", "[0, 1000]"),
            ({"learning_rate": 0.0007, "publish_interval": 0}, "publish_interval", "[1, 1e+06]"),
        ]:
            status, body = request("PATCH", url, bad)
            assert status == 422, (url, bad, status, body)
            assert body["field"] == field and field in body["error"] and words in body["error"], body
            assert "min" in body["allowed"] and "max" in body["allowed"]
    # All or nothing: the valid learning_rate next to the bad publish_interval was not applied.
    assert config_of(system).learning_rate == 0.0005


def test_pause_and_resume_through_the_proxy(system):
    status, body = request("POST", system.base + "/api/trainer/pause")
    assert status == 200 and body == {"paused": True}
    s = system.wait_for("the paused status", lambda: (s := trainer_status(system))["status"] == "paused" and s, 60)
    assert s["paused"] is True
    held = s["step"]
    time.sleep(3.0)
    assert trainer_status(system)["step"] == held, "steps went on while paused"

    status, body = request("POST", system.base + "/api/trainer/resume")
    assert status == 200 and body == {"paused": False}
    s = system.wait_for("steps after resuming", lambda: (s := trainer_status(system))["step"] >= held + 5 and s, 120)
    assert s["paused"] is False and s["status"] in ("training", "waiting_for_data")
