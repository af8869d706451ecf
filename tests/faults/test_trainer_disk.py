"""The trainer on a full disk: publishing and checkpointing fail with a clear error,
latest.onnx stays a whole model (or absent), no temp file is left to eat the space,
training goes on, and both resume by themselves once there is room again."""

from __future__ import annotations

import os
import time

from test_db_faults import fill_db
from test_kill_trainer import load_and_run

from conftest import TRAINER, Proc, env, free_port, http, tmpfs, wait_until


def test_trainer_on_a_full_disk(tmp_path, procs):
    data = tmp_path / "data"
    with tmpfs(data, "24m"):
        fill_db(tmp_path, data, 600)
        # Leave less room than one checkpoint (model + optimizer state, ~0.5 MB) needs.
        free = os.statvfs(data).f_bavail * os.statvfs(data).f_frsize
        filler = data / "filler"
        with open(filler, "wb") as f:
            f.write(b"\0" * (free - 64 * 1024))
        log = tmp_path / "trainer.log"
        port = free_port()
        t = Proc(
            "trainer",
            [
                str(TRAINER),
                "train",
                "--game",
                "tictactoe",
                "--data-dir",
                str(data),
                "--control-port",
                str(port),
                "--set",
                "publish_interval=2",
                "--set",
                "checkpoint_interval=4",
                "--set",
                "min_positions=200",
                "--set",
                "sample_ratio=0",
                "--set",
                "stats_interval=2",
                "--set",
                "batch_size=64",
            ],
            log,
            env(),
        )
        procs.append(t)
        t.start()
        wait_until(
            "a failed checkpoint",
            lambda: "checkpoint at step" in log.read_text() and "No space left on device" in log.read_text(),
            120,
            (t,),
        )
        assert t.alive(), f"the trainer must carry on without room for a checkpoint\n{t.tail()}"
        # Paused between steps, nothing is being written: no temp file may be left over.
        assert http("POST", f"http://127.0.0.1:{port}/pause")[1] == {"paused": True}
        time.sleep(2)
        latest = data / "models" / "latest.onnx"
        if latest.exists():
            load_and_run(latest)
        leftovers = [p.name for p in data.rglob("*") if p.name.endswith(".tmp")]
        assert leftovers == [], f"temp files left on a full disk: {leftovers}"
        assert http("POST", f"http://127.0.0.1:{port}/resume")[1] == {"paused": False}
        filler.unlink()
        wait_until("a checkpoint once there is room", lambda: list((data / "checkpoints").glob("ckpt_*.pt")), 60, (t,))
        wait_until(
            "a published model once there is room", lambda: latest.exists() and load_and_run(latest) > 0, 60, (t,)
        )
        assert t.stop("term") == 0, t.tail()
        assert "Traceback" not in log.read_text(), t.tail(80)
