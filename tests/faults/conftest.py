"""Helpers for the fault tests: the real actor and trainer, killed and starved on purpose.

The process helpers (`Proc`, `make_system`, `free_port`, `ort_lib`) are the end-to-end
suite's, loaded from tests/e2e/conftest.py so both suites start the binaries the same way.
Everything runs on temporary data folders and free ports.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "e2e_helpers", Path(__file__).resolve().parents[1] / "e2e" / "conftest.py"
)
e2e = importlib.util.module_from_spec(_spec)
sys.modules["e2e_helpers"] = e2e  # dataclasses look their module up there
_spec.loader.exec_module(e2e)

ROOT = e2e.ROOT
ACTOR = e2e.ACTOR
TRAINER = e2e.TRAINER
Proc = e2e.Proc
free_port = e2e.free_port
ort_lib = e2e.ort_lib
make_system = e2e.make_system
http = e2e.http
raw_request = e2e.raw_request
FIXTURES = ROOT / "actor" / "tests" / "fixtures"


def env() -> dict[str, str]:
    return dict(os.environ, ORT_DYLIB_PATH=ort_lib(), PYTHONUNBUFFERED="1", RUST_LOG="info")


def actor_proc(tmp: Path, data: Path, *extra: str, name: str = "actor", port: int | None = None) -> Proc:
    """An `actor run` on `data` (tictactoe unless `extra` says otherwise), its log in tmp."""
    port = port or free_port()
    p = Proc(
        name,
        [
            str(ACTOR),
            "run",
            "--data-dir",
            str(data),
            "--port",
            str(port),
            "--trainer-url",
            f"http://127.0.0.1:{free_port()}",
            "--web-dir",
            str(tmp / "no-web"),
            "--log-interval",
            "1",
            *extra,
        ],
        tmp / f"{name}.log",
        env(),
    )
    p.port = port  # type: ignore[attr-defined]
    return p


def wait_until(what: str, check, timeout: float, procs: tuple[Proc, ...] = ()):
    """Polls `check()` until truthy; fails naming `what`, with the logs of `procs`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        for p in procs:
            if p.popen is not None and not p.alive():
                pytest.fail(f"{p.name} exited with {p.popen.returncode} while waiting for {what}\n{p.tail()}")
        try:
            got = check()
            if got:
                return got
        except Exception as e:  # not up yet, or the file is being created
            last = e
        time.sleep(0.1)
    logs = "\n".join(f"--- {p.name} ---\n{p.tail()}" for p in procs)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last!r})\n{logs}")


def ro_connect(db: Path) -> sqlite3.Connection:
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    c.execute("PRAGMA busy_timeout = 10000")
    return c


def game_count(db: Path) -> int:
    with contextlib.closing(ro_connect(db)) as c:
        return c.execute("SELECT count(*) FROM games").fetchone()[0]


def check_db(db: Path) -> tuple[int, int]:
    """Asserts `PRAGMA integrity_check` is ok and every game has its positions (one
    transaction per game, contract §5): one row per ply from the end of its random
    opening to its last move, with no gap; returns (games, positions)."""
    with contextlib.closing(ro_connect(db)) as c:
        assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        (games,) = c.execute("SELECT count(*) FROM games").fetchone()
        (positions,) = c.execute("SELECT count(*) FROM positions").fetchone()
        partial = c.execute(
            "SELECT count(*) FROM games g LEFT JOIN (SELECT game_id, count(*) AS n, min(ply) AS lo, max(ply) AS hi "
            "FROM positions GROUP BY game_id) p ON p.game_id = g.id "
            "WHERE p.n IS NULL OR p.hi != g.num_moves - 1 OR p.hi - p.lo + 1 != p.n"
        ).fetchone()[0]
        assert partial == 0, f"{partial} games are missing positions: a game was committed in pieces"
        orphans = c.execute("SELECT count(*) FROM positions WHERE game_id NOT IN (SELECT id FROM games)").fetchone()[0]
        assert orphans == 0, f"{orphans} positions belong to no game"
        return games, positions


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    """Mounts a tmpfs of `size` at `path` (root only); skips the test, saying why, when
    mounting is impossible (not root, or no CAP_SYS_ADMIN in a container)."""
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)], capture_output=True, text=True
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs at {path} ({r.stderr.strip() or 'mount failed'}); needs root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount(path: Path, opts: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{opts}", str(path)], check=True, capture_output=True)


@pytest.fixture
def procs():
    """Processes a test starts; all are killed at the end whatever happened."""
    started: list[Proc] = []
    yield started
    for p in started:
        p.stop("kill" if p.alive() else "term")
