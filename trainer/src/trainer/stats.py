"""stats.json: the trainer's figures for the dashboard. Must match docs/CONTRACTS.md §4
(shape, atomic temp-then-rename publication, history of at most 1000 entries)."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

from .fsutil import atomic_write

log = logging.getLogger(__name__)

STATUSES = ("waiting_for_data", "training", "paused")
HISTORY_KEYS = (
    "policy_loss",
    "value_loss",
    "total_loss",
    "policy_entropy",
    "learning_rate",
    "samples_per_s",
    "buffer_size",
    "games_in_db",
    "model_version",
)


def clean(value: Any) -> Any:
    """NaN/inf (a diverged loss) become null: JSON has no NaN, and readers would choke."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def thin(history: list[dict], limit: int) -> list[dict]:
    """Drop every other entry from the older half until `limit` fit: the recent past
    stays dense, the distant past gets sparser but keeps its shape."""
    while len(history) > limit:
        half = len(history) // 2
        history = history[:half][::2] + history[half:]
    return history


class Stats:
    """Current figures plus history; thread-safe snapshot() for the control API."""

    def __init__(self, data_dir: str | Path, game: str, history_max: int = 1000):
        self.path = Path(data_dir) / "stats.json"
        self.game = game
        self.history_max = history_max
        self.lock = threading.Lock()
        self.started_at = time.time()
        self.current: dict[str, Any] = {
            "game": game,
            "step": 0,
            "model_version": None,
            "status": "waiting_for_data",
            "policy_loss": None,
            "value_loss": None,
            "total_loss": None,
            "policy_entropy": None,
            "learning_rate": None,
            "batch_size": None,
            "samples_per_s": 0.0,
            "buffer_size": 0,
            "games_in_db": 0,
            "newest_data_age_s": None,
        }
        self.history: list[dict] = []

    def resume(self, step: int) -> None:
        """Carry the history of a previous run of this data folder over to a resumed one,
        dropping entries past the checkpoint's step (they will be trained again)."""
        if not self.path.exists():
            return
        try:
            old = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            log.warning("ignoring unreadable %s: %s", self.path, e)
            return
        if old.get("game") != self.game:
            log.warning("ignoring %s: it is for game %r", self.path, old.get("game"))
            return
        hist = [h for h in old.get("history", []) if isinstance(h, dict) and h.get("step", 1 << 62) <= step]
        with self.lock:
            self.history = thin(hist, self.history_max)
            self.current["model_version"] = old.get("model_version") if step > 0 else None

    def update(self, **figures: Any) -> None:
        with self.lock:
            self.current.update(figures)

    def record(self) -> None:
        """Append the current figures to the history."""
        with self.lock:
            entry = {"step": self.current["step"], "time": time.time()}
            entry.update({k: self.current.get(k) for k in HISTORY_KEYS})
            self.history.append(entry)
            self.history = thin(self.history, self.history_max)

    def snapshot(self, with_history: bool = True) -> dict[str, Any]:
        with self.lock:
            out = dict(self.current)
            out["updated_at"] = time.time()
            out["started_at"] = self.started_at
            if with_history:
                out["history"] = list(self.history)
            return clean(out)

    def write(self) -> None:
        data = json.dumps(self.snapshot(), allow_nan=False).encode()
        atomic_write(self.path, data, tmp_name=".stats.json.tmp")
