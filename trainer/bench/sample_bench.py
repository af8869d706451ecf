"""Sampling benchmark: build a Connect4-shaped replay.db of 1,000,000 positions (schema of
docs/CONTRACTS.md §5) and time `ReplayDB.sample(1024)` with symmetry augmentation.
Target: under 50 ms per batch.

    .venv/bin/python trainer/bench/sample_bench.py [--positions 1000000] [--dir /tmp/cartridge-bench]

The database is built once and reused on later runs (delete the folder to rebuild)."""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import time
from pathlib import Path

import numpy as np
from trainer.data import ReplayDB

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE games (id INTEGER PRIMARY KEY, created_at REAL NOT NULL, model_version INTEGER,
                    num_moves INTEGER NOT NULL, outcome INTEGER NOT NULL, moves TEXT NOT NULL);
CREATE TABLE positions (id INTEGER PRIMARY KEY, game_id INTEGER NOT NULL, ply INTEGER NOT NULL,
                        obs BLOB NOT NULL, policy BLOB NOT NULL, value REAL NOT NULL,
                        root_value REAL NOT NULL);
CREATE INDEX positions_game ON positions(game_id);
"""

ROWS, COLS, CH, A = 6, 7, 2, 7


def connect4_spec() -> dict:
    mirror = [r * COLS + (COLS - 1 - c) for r in range(ROWS) for c in range(COLS)]
    return {
        "name": "connect4",
        "display_name": "Connect4",
        "rows": ROWS,
        "cols": COLS,
        "obs_channels": CH,
        "obs_version": 1,
        "num_actions": A,
        "max_game_length": 42,
        "symmetries": [
            {"name": "identity", "cells": list(range(ROWS * COLS)), "actions": list(range(A))},
            {"name": "flip_h", "cells": mirror, "actions": list(range(A - 1, -1, -1))},
        ],
    }


def build(path: Path, positions: int, per_game: int = 30, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SCHEMA)
    conn.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [("schema_version", "1"), ("game", "connect4"), ("spec", json.dumps(connect4_spec()))],
    )
    chunk = 100_000
    pid = 0
    t0 = time.time()
    while pid < positions:
        n = min(chunk, positions - pid)
        owner = rng.integers(0, 3, size=(n, ROWS * COLS))
        obs = np.stack([owner == 1, owner == 2], axis=1).astype("<f4").reshape(n, -1)
        pol = rng.random((n, A)).astype("<f4")
        pol /= pol.sum(axis=1, keepdims=True)
        val = rng.integers(-1, 2, size=n).astype(float)
        obs_b, pol_b = obs.tobytes(), pol.tobytes()
        ob, pb = obs.shape[1] * 4, A * 4
        ids = np.arange(pid + 1, pid + n + 1)
        games = (ids - 1) // per_game + 1
        conn.execute("BEGIN")
        new_games = sorted(set(games.tolist()))
        conn.executemany(
            "INSERT OR IGNORE INTO games VALUES (?, ?, NULL, ?, 0, '[]')",
            [(g, time.time(), per_game) for g in new_games],
        )
        conn.executemany(
            "INSERT INTO positions VALUES (?, ?, ?, ?, ?, ?, 0.0)",
            (
                (
                    int(ids[i]),
                    int(games[i]),
                    int((ids[i] - 1) % per_game),
                    obs_b[i * ob : (i + 1) * ob],
                    pol_b[i * pb : (i + 1) * pb],
                    float(val[i]),
                )
                for i in range(n)
            ),
        )
        conn.execute("COMMIT")
        pid += n
        print(f"  {pid:,} positions ({time.time() - t0:.0f} s)", flush=True)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--positions", type=int, default=1_000_000)
    ap.add_argument("--dir", default="/tmp/cartridge-bench")
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--iters", type=int, default=200)
    args = ap.parse_args()

    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "replay.db"
    if path.exists():
        with sqlite3.connect(path) as c:
            have = c.execute("SELECT MAX(id) FROM positions").fetchone()[0] or 0
        if have != args.positions:
            path.unlink()
            for side in ("-wal", "-shm"):
                Path(str(path) + side).unlink(missing_ok=True)
    if not path.exists():
        print(f"building {path} with {args.positions:,} Connect4-shaped positions ...")
        build(path, args.positions)
    print(f"{path}: {path.stat().st_size / 1e6:.0f} MB")

    db = ReplayDB(path, "connect4")
    rng = np.random.default_rng(1)
    for _ in range(5):  # warm the page cache and the statement cache
        db.sample(args.batch, rng)
    times = []
    for _ in range(args.iters):
        t = time.perf_counter()
        b = db.sample(args.batch, rng, augment=True)
        times.append((time.perf_counter() - t) * 1000)
    assert b.obs.shape == (args.batch, CH, ROWS, COLS)
    times.sort()
    print(
        f"sample({args.batch}) with augmentation over {args.iters} batches: "
        f"mean {statistics.mean(times):.1f} ms, median {times[len(times) // 2]:.1f} ms, "
        f"p95 {times[int(len(times) * 0.95)]:.1f} ms, max {times[-1]:.1f} ms "
        f"({args.batch * 1000 / statistics.mean(times):,.0f} positions/s); target < 50 ms"
    )


if __name__ == "__main__":
    main()
