"""replay.db under stress: locked by another process, read-only, corrupt, on a full
disk. Each gives a clear error, loses no committed game, and corrupts nothing."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import ACTOR, TRAINER, Proc, actor_proc, check_db, env, game_count, http, remount, tmpfs, wait_until


def games_played(a: Proc) -> int:
    return http("GET", f"http://127.0.0.1:{a.port}/api/stats")[1]["actor"]["games_played"]


def fill_db(tmp_path, data, games: int = 300) -> int:
    """Creates data/replay.db with at least `games` self-play games; returns the count."""
    r = subprocess.run(
        [str(ACTOR), "selfplay", "--no-model", "--data-dir", str(data), "--max-games", str(games)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env(),
    )
    assert r.returncode == 0, r.stderr
    return game_count(data / "replay.db")


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def hold_lock(db, seconds: float) -> subprocess.Popen:
    """Another process takes the write lock of `db` and keeps it for `seconds`."""
    code = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
        "c.execute('ROLLBACK')\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code, str(db), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


@pytest.mark.parametrize("seconds", [3, 14])
def test_locked_database(tmp_path, procs, seconds):
    """Shorter than the busy timeout (10 s) the writer just waits; longer, it reports
    the lock and keeps the games it could not write yet until the lock is gone."""
    data = tmp_path / "data"
    db = data / "replay.db"
    a = actor_proc(tmp_path, data, "--no-model", "--max-positions-per-s", "2000")
    procs.append(a)
    a.start()
    wait_until("games", lambda: game_count(db) > 20, 30, (a,))
    locker = hold_lock(db, seconds)
    during = game_count(db)
    locker.wait(seconds + 30)
    after_lock = game_count(db)
    assert after_lock >= during
    played_at_release = games_played(a)
    wait_until("games after the lock is released", lambda: game_count(db) > after_lock + 50, 30, (a,))
    assert a.alive()
    games, _ = check_db(db)
    assert games >= after_lock
    log = a.tail(500)
    if seconds > 10:
        assert "locked" in log, log
    # No finished game was thrown away while the lock was held: the writer kept it and
    # retried (the log would say "dropped" otherwise).
    assert "dropped" not in log, log
    a.stop("term")
    assert a.popen.returncode == 0, a.tail()
    assert game_count(db) >= played_at_release


def test_corrupt_database_is_refused_and_left_alone(tmp_path, procs):
    data = tmp_path / "data"
    data.mkdir()
    db = data / "replay.db"
    db.write_bytes(random.Random(3).randbytes(64 * 1024))
    digest = sha(db)
    r = subprocess.run(
        [str(ACTOR), "run", "--no-model", "--data-dir", str(data), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env(),
    )
    assert r.returncode != 0
    assert "replay.db" in r.stderr and "not a database" in r.stderr, r.stderr
    assert sha(db) == digest, "the actor changed a file it could not read"
    r = subprocess.run(
        [str(TRAINER), "train", "--game", "tictactoe", "--data-dir", str(data), "--control-port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env(),
    )
    assert r.returncode != 0
    assert "replay.db" in r.stderr + r.stdout and "not a SQLite database" in r.stderr + r.stdout, r.stderr
    assert sha(db) == digest, "the trainer changed a file it could not read"


def test_truncated_database_is_refused_and_left_alone(tmp_path, procs):
    data = tmp_path / "data"
    fill_db(tmp_path, data, 2000)
    db = data / "replay.db"
    with open(db, "r+b") as f:
        f.truncate(db.stat().st_size // 2)
    digest = sha(db)
    r = subprocess.run(
        [str(ACTOR), "run", "--no-model", "--data-dir", str(data), "--port", "0", "--max-games", "50"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env(),
    )
    assert r.returncode != 0, r.stderr[-2000:]
    assert "replay.db" in r.stderr and "corrupt" in r.stderr, r.stderr[-2000:]
    assert sha(db) == digest


def test_read_only_folder(tmp_path, procs):
    data = tmp_path / "data"
    with tmpfs(data, "64m"):
        n = fill_db(tmp_path, data, 200)
        (data / "models").mkdir(exist_ok=True)
        remount(data, "ro")
        try:
            r = subprocess.run(
                [str(ACTOR), "run", "--no-model", "--data-dir", str(data), "--port", "0"],
                capture_output=True,
                text=True,
                timeout=60,
                env=env(),
            )
            assert r.returncode != 0
            assert "replay.db" in r.stderr and "read-only" in r.stderr.lower(), r.stderr
        finally:
            remount(data, "rw")
        assert check_db(data / "replay.db")[0] == n


def test_read_only_database_file(procs):
    """Root ignores file modes, so the actor runs as nobody here, in a folder nobody
    can reach (pytest's own tmp folders are private to root)."""
    base = Path(tempfile.mkdtemp(prefix="cartridge-ro-", dir="/tmp"))
    try:
        base.chmod(0o755)
        data = base / "data"
        n = fill_db(base, data, 200)
        db = data / "replay.db"
        for p in [data, *data.rglob("*")]:
            os.chown(p, 65534, 65534)
        db.chmod(0o444)
        r = subprocess.run(
            [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                str(ACTOR),
                "run",
                "--no-model",
                "--data-dir",
                str(data),
                "--port",
                "0",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=env(),
        )
        assert r.returncode != 0
        assert "replay.db" in r.stderr and "read-only" in r.stderr.lower(), r.stderr
        assert check_db(db)[0] == n
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_full_disk(tmp_path, procs):
    data = tmp_path / "data"
    with tmpfs(data, "3m"):
        db = data / "replay.db"
        a = actor_proc(tmp_path, data, "--no-model")
        procs.append(a)
        a.start()
        wait_until("the disk to fill", lambda: "full" in a.tail(200), 60, (a,))
        time.sleep(2)
        assert a.alive(), "the actor must wait for space, not die"
        full = check_db(db)[0]
        log_lines = len(a.log.read_text().splitlines())
        time.sleep(3)
        assert len(a.log.read_text().splitlines()) - log_lines < 40, "a full disk must not flood the log"
        assert game_count(db) == full
        remount(data, "size=64m")
        wait_until("games after space was freed", lambda: game_count(db) > full + 100, 30, (a,))
        a.stop("term")
        assert a.popen.returncode == 0, a.tail()
        games, _ = check_db(db)
        assert games > full
