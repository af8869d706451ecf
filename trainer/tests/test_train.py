"""End-to-end: real training runs on a generated replay.db (no actor, no mocks)."""

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from trainer.checkpoint import CheckpointError, list_checkpoints, load_latest
from trainer.data import ReplayError
from trainer.optim import lr_at
from trainer.train import Trainer

from conftest import append_games, make_replay_db, tictactoe_spec

FAST = {
    "batch_size": 32,
    "min_positions": 100,
    "warmup_steps": 5,
    "decay_steps": 50,
    "publish_interval": 20,
    "checkpoint_interval": 20,
    "stats_interval": 5,
    "sample_ratio": 0.0,
    "control_port": 0,
    "wait_timeout_s": 0.5,
    # The int8 model has tests of its own (test_quantize.py); here it would only add a
    # file whose presence depends on how well a few steps of training quantize.
    "quantize": "off",
}


def run_in_thread(trainer: Trainer) -> threading.Thread:
    t = threading.Thread(target=trainer.run, daemon=True)
    t.start()
    return t


def test_short_run_publishes_model_and_stats(tmp_path):
    data = tmp_path / "data"
    make_replay_db(data, "tictactoe", n_games=80)
    trainer = Trainer("tictactoe", str(data), {**FAST, "max_steps": 40})
    assert trainer.run() == 0

    latest = data / "models" / "latest.onnx"
    proto = onnx.load(str(latest))
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["cartridge.step"] == "40" and props["cartridge.game"] == "tictactoe"
    assert props["cartridge.arch"] == "resnet-b2c32"
    assert not (data / "models" / ".latest.onnx.tmp").exists()
    assert {p.name for p in (data / "models").iterdir()} == {
        "latest.onnx",
        "model_step_00000020.onnx",
        "model_step_00000040.onnx",
    }
    sess = ort.InferenceSession(str(latest), providers=["CPUExecutionProvider"])
    policy, value = sess.run(None, {"obs": np.zeros((3, 2, 3, 3), np.float32)})
    assert policy.shape == (3, 9) and value.shape == (3, 1)

    stats = json.loads((data / "stats.json").read_text())
    assert stats["game"] == "tictactoe" and stats["step"] == 40 and stats["model_version"] == 40
    assert stats["status"] == "training" and stats["buffer_size"] == 480 and stats["games_in_db"] == 80
    for key in (
        "policy_loss",
        "value_loss",
        "total_loss",
        "policy_entropy",
        "learning_rate",
        "samples_per_s",
        "newest_data_age_s",
        "updated_at",
        "started_at",
    ):
        assert isinstance(stats[key], float), key
    assert [h["step"] for h in stats["history"]] == list(range(5, 41, 5))
    assert not (data / ".stats.json.tmp").exists()
    assert [s for s, _ in list_checkpoints(data / "checkpoints")] == [20, 40]


@pytest.mark.parametrize("game,model", [("connect4", None), ("othello", None), ("othello", "t2")])
def test_other_games_train_and_publish(tmp_path, game, model):
    data = tmp_path / "data"
    make_replay_db(data, game, n_games=10, moves_per_game=10)
    overrides = {**FAST, "batch_size": 16, "max_steps": 3, "publish_interval": 3, "replay_window": 1000}
    if model:
        overrides["model"] = model
    t = Trainer(game, str(data), overrides)
    t.run()
    props = {p.key: p.value for p in onnx.load(str(data / "models" / "latest.onnx")).metadata_props}
    spec = t.db.spec
    assert props["cartridge.game"] == game and props["cartridge.step"] == "3"
    assert props["cartridge.num_actions"] == str(spec.num_actions)
    assert props["cartridge.obs_shape"] == ",".join(map(str, spec.obs_shape))
    assert props["cartridge.arch"] == (
        "transformer-t2" if model else {"connect4": "resnet-b4c32", "othello": "resnet-b4c32"}[game]
    )


def test_loss_goes_down_on_learnable_data(tmp_path):
    # Every position: policy all on cell 4, value +1. A working learner fits it quickly.
    data = tmp_path / "data"
    db = make_replay_db(data, "tictactoe", n_games=30)
    import sqlite3

    conn = sqlite3.connect(db)
    pol = np.zeros(9, np.float32)
    pol[4] = 1
    conn.execute("UPDATE positions SET policy = ?, value = 1.0", (pol.astype("<f4").tobytes(),))
    conn.commit()
    conn.close()
    trainer = Trainer(
        "tictactoe", str(data), {**FAST, "max_steps": 60, "publish_interval": 1000, "learning_rate": 0.01}
    )
    trainer.run()
    hist = json.loads((data / "stats.json").read_text())["history"]
    assert hist[-1]["policy_loss"] < 0.3 * hist[0]["policy_loss"]
    assert hist[-1]["value_loss"] < 0.3 * hist[0]["value_loss"]


def test_resume_restores_step_lr_and_weights(tmp_path):
    data = tmp_path / "data"
    make_replay_db(data, "tictactoe", n_games=80)
    t1 = Trainer("tictactoe", str(data), {**FAST, "max_steps": 30, "checkpoint_interval": 1000})
    t1.run()  # stops at 30: the shutdown checkpoint
    saved = {k: v.clone() for k, v in t1.model.state_dict().items()}
    opt_lr = t1.optimizer.param_groups[0]["lr"]

    t_default = Trainer("tictactoe", str(data), {})
    assert t_default.cfg.batch_size == 32 and t_default.cfg.decay_steps == 50  # from the checkpoint
    assert t_default.cfg.max_steps == 0 and t_default.cfg.control_port == 8081  # invocation keys are not
    t2 = Trainer("tictactoe", str(data), {"max_steps": 30, "control_port": 0})
    t2.run()  # already at max_steps: builds, resumes, stops
    assert t2.step == 30
    for k, v in t2.model.state_dict().items():
        assert torch.equal(v, saved[k]), k
    # The next update uses the LR the first run would have used at step 30.
    assert lr_at(t2.step, t2.cfg) == lr_at(30, t1.cfg)
    assert opt_lr == lr_at(29, t1.cfg)  # the LR of the last update done
    assert t2.optimizer.state_dict()["state"][0]["step"] == 30  # AdamW moments restored too


def test_corrupt_newest_checkpoint_falls_back(tmp_path, caplog):
    data = tmp_path / "data"
    make_replay_db(data, "tictactoe", n_games=80)
    Trainer("tictactoe", str(data), {**FAST, "max_steps": 40}).run()
    newest = data / "checkpoints" / "ckpt_00000040.pt"
    newest.write_bytes(newest.read_bytes()[:1000])  # truncated
    payload, path = load_latest(data / "checkpoints")
    assert payload["step"] == 20 and path.name == "ckpt_00000020.pt"
    assert "ckpt_00000040.pt is unreadable" in caplog.text
    t = Trainer("tictactoe", str(data), {"max_steps": 20, "control_port": 0})
    t.run()
    assert t.step == 20


def test_checkpoint_of_another_model_size_is_refused(tmp_path):
    data = tmp_path / "data"
    make_replay_db(data, "tictactoe", n_games=80)
    Trainer("tictactoe", str(data), {**FAST, "max_steps": 5}).run()
    with pytest.raises(CheckpointError, match="model='b2c32'.*model='b4c64'"):
        Trainer("tictactoe", str(data), {"model": "b4c64"})


def test_another_games_database_stops_with_nothing_written(tmp_path):
    data = tmp_path / "data"
    make_replay_db(data, "connect4", n_games=5)
    before = sorted(p.name for p in data.iterdir())
    with pytest.raises(ReplayError, match="'connect4'.*'tictactoe'"):
        Trainer("tictactoe", str(data), {**FAST, "max_steps": 5}).run()
    assert sorted(p.name for p in data.iterdir()) == before


def test_waits_for_database_then_for_new_data_under_sample_ratio(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    # wait_timeout_s is long: only file events can wake the loop in time.
    trainer = Trainer("tictactoe", str(data), {**FAST, "sample_ratio": 1.0, "max_steps": 0, "wait_timeout_s": 30.0})
    thread = run_in_thread(trainer)
    time.sleep(1.0)
    assert trainer.db is None and trainer.stats.current["status"] == "waiting_for_data"

    make_replay_db(data, "tictactoe", n_games=20)  # 120 positions: 3 batches of 32 at ratio 1
    deadline = time.time() + 20
    while trainer.step < 3 and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    assert trainer.step == 3  # 4 * 32 > 1.0 * 120: capped
    assert trainer.stats.current["status"] == "waiting_for_data"

    import sqlite3

    conn = sqlite3.connect(data / "replay.db", isolation_level=None)
    append_games(conn, tictactoe_spec(), 10, np.random.default_rng(5))  # +60 positions
    conn.close()
    deadline = time.time() + 10
    while trainer.step < 5 and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    assert trainer.step == 5  # 180 positions allow 5 batches of 32
    trainer.request_stop()
    thread.join(20)
    assert not thread.is_alive()
    assert [s for s, _ in list_checkpoints(data / "checkpoints")] == [5]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_control_api_drives_the_loop(tmp_path):
    data = tmp_path / "data"
    make_replay_db(data, "tictactoe", n_games=80)
    port = free_port()
    trainer = Trainer("tictactoe", str(data), {**FAST, "control_port": port, "publish_interval": 1000})
    thread = run_in_thread(trainer)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 20
        while trainer.step < 5 and time.time() < deadline:
            time.sleep(0.05)
        assert httpx.post(base + "/pause").json() == {"paused": True}
        time.sleep(0.5)
        paused_at = trainer.step
        time.sleep(0.5)
        assert trainer.step == paused_at
        status = httpx.get(base + "/status").json()
        assert status["paused"] is True and status["status"] == "paused"

        r = httpx.post(base + "/checkpoint", timeout=30)
        assert r.status_code == 200 and r.json()["step"] == paused_at
        assert Path(r.json()["path"]).exists()

        r = httpx.patch(base + "/config", json={"batch_size": 16})
        assert r.status_code == 200 and trainer.cfg.batch_size == 16
        r = httpx.patch(base + "/config", json={"batch_size": -3})
        assert r.status_code == 422 and r.json()["field"] == "batch_size"

        drawn_at_pause = trainer.samples_drawn
        assert drawn_at_pause == 32 * paused_at
        httpx.post(base + "/resume")
        deadline = time.time() + 20
        while trainer.step < paused_at + 5 and time.time() < deadline:
            time.sleep(0.05)
        httpx.post(base + "/pause")
        time.sleep(0.5)
        assert trainer.step >= paused_at + 5
        # The live batch_size=16 is what the loop used after resuming.
        assert trainer.samples_drawn - drawn_at_pause == 16 * (trainer.step - paused_at)
    finally:
        trainer.request_stop()
        thread.join(20)
    assert not thread.is_alive()


def test_sigterm_checkpoints_and_exits_cleanly(tmp_path):
    data = tmp_path / "data"
    make_replay_db(data, "tictactoe", n_games=80)
    cmd = [
        sys.executable,
        "-m",
        "trainer",
        "train",
        "--data-dir",
        str(data),
        "--game",
        "tictactoe",
        "--control-port",
        "0",
        "--set",
        "batch_size=32",
        "--set",
        "min_positions=100",
        "--set",
        "sample_ratio=0",
        "--set",
        "checkpoint_interval=100000",
        "--set",
        "publish_interval=100000",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 60
        while not (data / "stats.json").exists() or json.loads((data / "stats.json").read_text())["step"] < 20:
            assert time.time() < deadline and proc.poll() is None
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "stop requested" in out
    steps = [s for s, _ in list_checkpoints(data / "checkpoints")]
    assert len(steps) == 1 and steps[0] >= 20
    # The final model is published at the checkpointed step, for the actor to pick up.
    props = {p.key: p.value for p in onnx.load(str(data / "models" / "latest.onnx")).metadata_props}
    assert props["cartridge.step"] == str(steps[0])
