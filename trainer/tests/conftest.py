"""A small replay.db writer that follows docs/CONTRACTS.md §5 to the letter, standing in
for the actor. Rows are random but well-formed: disjoint 0/1 planes, a visit
distribution over empty cells, outcomes in {-1, 0, 1}."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE games (
  id            INTEGER PRIMARY KEY,
  created_at    REAL    NOT NULL,
  model_version INTEGER,
  num_moves     INTEGER NOT NULL,
  outcome       INTEGER NOT NULL,
  moves         TEXT    NOT NULL
);
CREATE TABLE positions (
  id          INTEGER PRIMARY KEY,
  game_id     INTEGER NOT NULL,
  ply         INTEGER NOT NULL,
  obs         BLOB    NOT NULL,
  policy      BLOB    NOT NULL,
  value       REAL    NOT NULL,
  root_value  REAL    NOT NULL
);
CREATE INDEX positions_game ON positions(game_id);
"""


def dihedral(n: int) -> list[tuple[str, list[int]]]:
    """The 8 square symmetries as gather permutations, as engine-core's spec.rs lists
    them: destination (r, c) reads source cell f(r, c)."""
    maps = [
        ("identity", lambda r, c: (r, c)),
        ("rot90", lambda r, c: (n - 1 - c, r)),
        ("rot180", lambda r, c: (n - 1 - r, n - 1 - c)),
        ("rot270", lambda r, c: (c, n - 1 - r)),
        ("flip_h", lambda r, c: (r, n - 1 - c)),
        ("flip_v", lambda r, c: (n - 1 - r, c)),
        ("transpose", lambda r, c: (c, r)),
        ("anti_transpose", lambda r, c: (n - 1 - c, n - 1 - r)),
    ]
    out = []
    for name, f in maps:
        perm = []
        for i in range(n * n):
            r, c = f(i // n, i % n)
            perm.append(r * n + c)
        out.append((name, perm))
    return out


def tictactoe_spec() -> dict:
    return {
        "name": "tictactoe",
        "display_name": "TicTacToe",
        "rows": 3,
        "cols": 3,
        "obs_channels": 2,
        "obs_version": 1,
        "num_actions": 9,
        "max_game_length": 9,
        "symmetries": [{"name": n, "cells": p, "actions": p} for n, p in dihedral(3)],
    }


def connect4_spec() -> dict:
    mirror_cells = [r * 7 + (6 - c) for r in range(6) for c in range(7)]
    return {
        "name": "connect4",
        "display_name": "Connect4",
        "rows": 6,
        "cols": 7,
        "obs_channels": 2,
        "obs_version": 1,
        "num_actions": 7,
        "max_game_length": 42,
        "symmetries": [
            {"name": "identity", "cells": list(range(42)), "actions": list(range(7))},
            {"name": "flip_h", "cells": mirror_cells, "actions": list(range(6, -1, -1))},
        ],
    }


def othello_spec() -> dict:
    # 64 board actions plus pass (64), which every symmetry maps to itself.
    return {
        "name": "othello",
        "display_name": "Othello",
        "rows": 8,
        "cols": 8,
        "obs_channels": 2,
        "obs_version": 1,
        "num_actions": 65,
        "max_game_length": 128,
        "symmetries": [{"name": n, "cells": p, "actions": p + [64]} for n, p in dihedral(8)],
    }


SPECS = {"tictactoe": tictactoe_spec, "connect4": connect4_spec, "othello": othello_spec}


def f32(a) -> bytes:
    return np.asarray(a, dtype="<f4").tobytes()


def create_db(path: Path, spec: dict, schema_version: str = "1", game: str | None = None) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("BEGIN")
    for stmt in SCHEMA.split(";"):
        if stmt.strip():
            conn.execute(stmt)
    conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)",
        [("schema_version", schema_version), ("game", game or spec["name"]), ("spec", json.dumps(spec))],
    )
    conn.execute("COMMIT")
    return conn


def random_position(spec: dict, rng: np.random.Generator, ply: int) -> tuple[bytes, bytes, float]:
    cells = spec["rows"] * spec["cols"]
    A = spec["num_actions"]
    owner = rng.integers(0, 3, size=cells)  # 0 empty, 1 side to move, 2 opponent
    obs = np.zeros((spec["obs_channels"], cells), dtype=np.float32)
    obs[0, owner == 1] = 1.0
    obs[1, owner == 2] = 1.0
    visits = rng.random(A).astype(np.float32)
    if A == cells:  # tictactoe-like: visits only on empty cells (at least one)
        visits[owner != 0] = 0.0
        if visits.sum() == 0:
            visits[int(rng.integers(0, A))] = 1.0
    policy = visits / visits.sum()
    return f32(obs), f32(policy), float(rng.integers(-1, 2))


def append_games(
    conn: sqlite3.Connection,
    spec: dict,
    n_games: int,
    rng: np.random.Generator,
    moves_per_game: int = 6,
    model_version: int | None = None,
) -> None:
    """Each game in one transaction, as the actor writes them."""
    for _ in range(n_games):
        conn.execute("BEGIN IMMEDIATE")
        outcome = int(rng.integers(-1, 2))
        moves = [int(m) for m in rng.integers(0, spec["num_actions"], size=moves_per_game)]
        cur = conn.execute(
            "INSERT INTO games (created_at, model_version, num_moves, outcome, moves) VALUES (?, ?, ?, ?, ?)",
            (time.time(), model_version, len(moves), outcome, json.dumps(moves)),
        )
        gid = cur.lastrowid
        rows = []
        for ply in range(moves_per_game):
            obs, pol, val = random_position(spec, rng, ply)
            rows.append((gid, ply, obs, pol, val, float(rng.uniform(-1, 1))))
        conn.executemany(
            "INSERT INTO positions (game_id, ply, obs, policy, value, root_value) VALUES (?, ?, ?, ?, ?, ?)", rows
        )
        conn.execute("COMMIT")


def make_replay_db(
    data_dir: Path,
    game: str = "tictactoe",
    n_games: int = 100,
    moves_per_game: int = 6,
    seed: int = 0,
    schema_version: str = "1",
) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "replay.db"
    spec = SPECS[game]()
    conn = create_db(path, spec, schema_version)
    append_games(conn, spec, n_games, np.random.default_rng(seed), moves_per_game)
    conn.close()
    return path


@pytest.fixture
def ttt_db(tmp_path) -> Path:
    return make_replay_db(tmp_path / "data", "tictactoe", n_games=100)


@pytest.fixture(autouse=True)
def _checkout_games(monkeypatch):
    """The tests read the game profiles of this checkout's games/, whatever
    CARTRIDGE_GAMES_DIR the shell running them has; a test that wants another folder
    sets the variable itself."""
    monkeypatch.delenv("CARTRIDGE_GAMES_DIR", raising=False)
