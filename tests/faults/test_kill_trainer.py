"""kill -9 the trainer while it exports models: models/latest.onnx is always a whole,
loadable model, the actor never sees a half-written one, and training resumes from the
newest checkpoint."""

from __future__ import annotations

import random
import re
import time

import numpy as np
import onnxruntime as ort

from conftest import TRAINER, Proc, actor_proc, env, http, wait_until


def load_and_run(path) -> int:
    """Loads the model with onnxruntime, runs one position, returns its step."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    assert meta["cartridge.game"] == "tictactoe", meta
    policy, value = sess.run(["policy", "value"], {"obs": np.zeros((1, 2, 3, 3), np.float32)})
    assert policy.shape == (1, 9) and np.isfinite(policy).all()
    assert value.reshape(-1).shape == (1,) and -1 <= float(value.reshape(-1)[0]) <= 1
    return int(meta["cartridge.step"])


def ckpt_steps(data) -> list[int]:
    return sorted(int(p.stem.split("_")[1]) for p in (data / "checkpoints").glob("ckpt_*.pt"))


def test_kill_9_during_exports(tmp_path, procs):
    data = tmp_path / "data"
    latest = data / "models" / "latest.onnx"
    actor = actor_proc(tmp_path, data, "--model-poll-ms", "50", "--max-positions-per-s", "3000")
    procs.append(actor)
    actor.start()
    rng = random.Random(11)
    last_step = 0
    resumed_steps = []
    for round_ in range(4):
        log = tmp_path / f"trainer{round_}.log"
        t = Proc(
            f"trainer{round_}",
            [
                str(TRAINER),
                "train",
                "--game",
                "tictactoe",
                "--data-dir",
                str(data),
                "--control-port",
                "0",
                # An export every step and a checkpoint every 10: kills land in both.
                "--set",
                "publish_interval=1",
                "--set",
                "checkpoint_interval=10",
                "--set",
                "min_positions=200",
                "--set",
                "sample_ratio=0",
                "--set",
                "stats_interval=5",
                "--set",
                "batch_size=64",
            ],
            log,
            env(),
        )
        procs.append(t)
        before_ckpts = ckpt_steps(data) if (data / "checkpoints").exists() else []
        t.start()
        if before_ckpts:
            m = wait_until(
                "the resume line", lambda log=log: re.search(r"resumed \S+ at step (\d+)", log.read_text()), 60, (t,)
            )
            resumed = int(m.group(1))
            assert resumed == before_ckpts[-1], f"resumed at {resumed}, newest checkpoint was {before_ckpts[-1]}"
            resumed_steps.append(resumed)
        # Past the next checkpoint, so every restart has a newer one to resume.
        target = max(last_step, 10 * (round_ + 1))
        wait_until(
            f"a model newer than step {target}",
            lambda target=target: latest.exists() and load_and_run(latest) > target,
            120,
            (t, actor),
        )
        time.sleep(rng.uniform(0.0, 1.0))
        t.stop("kill")
        assert t.popen.returncode == -9
        # Whatever instant the kill hit, latest.onnx is a whole model.
        last_step = load_and_run(latest)
    assert len(resumed_steps) == 3 and resumed_steps[0] >= 10, resumed_steps
    assert resumed_steps == sorted(set(resumed_steps)), f"training did not move forward: {resumed_steps}"
    # The actor polled every 50 ms through all of it and never met a partial file.
    _, stats = http("GET", f"http://127.0.0.1:{actor.port}/api/stats")
    assert stats["actor"]["last_rejected_model"] is None, stats["actor"]["last_rejected_model"]
    assert stats["actor"]["model_version"] is not None
    assert actor.alive()
