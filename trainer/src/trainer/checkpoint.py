"""Full training checkpoints: model, optimizer, step, config and RNG states, written
atomically to data/checkpoints/ckpt_XXXXXXXX.pt. On start the newest readable one is
resumed; a corrupt newest file is logged and the previous one used instead."""

from __future__ import annotations

import io
import logging
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .fsutil import atomic_write

log = logging.getLogger(__name__)

FORMAT_VERSION = 1  # bump when the payload layout changes; add a migration in _migrate
CKPT_RE = re.compile(r"^ckpt_(\d{8})\.pt$")
REQUIRED = ("format_version", "step", "config", "model_config", "model", "optimizer", "rng")


class CheckpointError(RuntimeError):
    """A checkpoint exists but cannot be used for this run; the message says why."""


def ckpt_name(step: int) -> str:
    return f"ckpt_{step:08d}.pt"


def rng_state(np_rng: np.random.Generator) -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "numpy": np_rng.bit_generator.state, "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], np_rng: np.random.Generator) -> None:
    torch.set_rng_state(state["torch"])
    np_rng.bit_generator.state = state["numpy"]
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def list_checkpoints(ckpt_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) pairs, oldest first."""
    if not ckpt_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in ckpt_dir.iterdir() if (m := CKPT_RE.match(p.name))]
    return sorted(found)


def save_checkpoint(ckpt_dir: Path, payload: dict[str, Any], keep: int) -> Path:
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    payload = {"format_version": FORMAT_VERSION, **payload}
    buf = io.BytesIO()
    torch.save(payload, buf)
    path = ckpt_dir / ckpt_name(payload["step"])
    atomic_write(path, buf.getvalue(), tmp_name=f".{path.name}.tmp")
    for _, old in list_checkpoints(ckpt_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def _migrate(payload: dict[str, Any], path: Path) -> dict[str, Any]:
    v = payload.get("format_version")
    if v != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {v!r}; this trainer reads format "
            f"{FORMAT_VERSION}. Move it away to start afresh."
        )
    return payload


def load_latest(ckpt_dir: Path, map_location: str | torch.device = "cpu") -> tuple[dict[str, Any], Path] | None:
    """The newest checkpoint that loads and has every key, or None when there is none.
    Unreadable files are skipped with a log line (a crash cannot leave a half-written
    one, but a disk can corrupt one); an unknown format version raises CheckpointError."""
    for step, path in reversed(list_checkpoints(ckpt_dir)):
        try:
            # weights_only: a checkpoint is data, never code to run.
            payload = torch.load(path, map_location=map_location, weights_only=True)
        except Exception as e:
            log.warning(
                "checkpoint %s is unreadable (%s: %s); trying the previous one",
                path,
                type(e).__name__,
                str(e).splitlines()[0] if str(e) else "",
            )
            continue
        if not isinstance(payload, dict) or any(k not in payload for k in REQUIRED):
            missing = [k for k in REQUIRED if not isinstance(payload, dict) or k not in payload]
            log.warning("checkpoint %s lacks %s; trying the previous one", path, ", ".join(missing))
            continue
        payload = _migrate(payload, path)
        if payload["step"] != step:
            log.warning("checkpoint %s says step %s; trying the previous one", path, payload["step"])
            continue
        return payload, path
    return None
