#!/usr/bin/env python3
"""No-decay benchmark: does self-play stay as fast after many model reloads and with a
large replay.db as it was at the start?

Runs the real actor (`actor run`: self-play, replay writer, HTTP server with its own
model watcher) on a fresh data folder while this script
  * republishes models/latest.onnx every --republish-s seconds the way the trainer does
    (temp file in the same folder, fsync, os.replace; docs/CONTRACTS.md §4), alternating
    two valid models with different `cartridge.step`, so every republish is a reload;
  * pre-fills replay.db with --prefill synthetic positions (rows shaped per
    docs/CONTRACTS.md §5) so the database is past --target-positions early.
Once a minute it prints positions/min and NN evals/s (from /api/stats), the actor's
resident memory (VmRSS from /proc) and the database size; at the end it compares the
first and the last minutes (5 of each, or half the run when it is shorter than 10 min).

What it looks for: memory that grows with every reload (sessions or ONNX Runtime
arenas never freed), and throughput that falls as the tables grow (a query that scans).

    .venv/bin/python scripts/bench_no_decay.py                         # 30 min, tictactoe
    .venv/bin/python scripts/bench_no_decay.py --game connect4 --minutes 5
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def db_mib(data: Path) -> float:
    return sum(p.stat().st_size for p in data.glob("replay.db*") if p.is_file()) / 2**20


def publish(models: Path, data: bytes) -> None:
    """The trainer's way (§4): temp file in the same folder, fsync, rename, fsync dir."""
    tmp = models / ".latest.onnx.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, models / "latest.onnx")
    fd = os.open(models, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prefill(db: Path, positions: int, game_len: int = 20, seed: int = 0) -> None:
    """Adds `positions` synthetic rows (and their games) to an existing replay.db in a
    few large transactions. Observation and policy blobs come from a small pool: their
    content does not matter to the actor, only their size and the row count."""
    con = sqlite3.connect(db)
    spec = json.loads(con.execute("SELECT value FROM meta WHERE key = 'spec'").fetchone()[0])
    obs_len = spec["obs_channels"] * spec["rows"] * spec["cols"]
    na = spec["num_actions"]
    rng = random.Random(seed)
    pool_obs = [struct.pack(f"<{obs_len}f", *(float(rng.random() < 0.3) for _ in range(obs_len))) for _ in range(256)]
    pool_pol = []
    for _ in range(256):
        w = [rng.random() for _ in range(na)]
        s = sum(w)
        pool_pol.append(struct.pack(f"<{na}f", *(x / s for x in w)))
    next_game = (con.execute("SELECT COALESCE(MAX(id), 0) FROM games").fetchone()[0]) + 1
    done = 0
    now = time.time()
    while done < positions:
        games, rows = [], []
        while done < positions and len(rows) < 200_000:
            n = min(game_len, positions - done)
            outcome = rng.choice((-1, 0, 1))
            moves = [rng.randrange(na) for _ in range(n)]
            games.append((next_game, now, None, n, outcome, json.dumps(moves)))
            for ply in range(n):
                v = float(outcome if ply % 2 == 0 else -outcome)
                rows.append((next_game, ply, rng.choice(pool_obs), rng.choice(pool_pol), v, 0.0))
            next_game += 1
            done += n
        with con:
            con.executemany(
                "INSERT INTO games (id, created_at, model_version, num_moves, outcome, moves) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                games,
            )
            con.executemany(
                "INSERT INTO positions (game_id, ply, obs, policy, value, root_value) VALUES (?, ?, ?, ?, ?, ?)", rows
            )
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)


def mean(xs):
    xs = [x for x in xs if x == x]
    return sum(xs) / len(xs) if xs else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--game", default="tictactoe", choices=("tictactoe", "connect4"))
    ap.add_argument("--minutes", type=int, default=30, help="how long to run, whole minutes (default 30)")
    ap.add_argument("--republish-s", type=float, default=30.0, help="seconds between model republishes")
    ap.add_argument(
        "--target-positions",
        type=int,
        default=1_000_000,
        help="the DB should hold more positions than this during the run",
    )
    ap.add_argument(
        "--prefill",
        type=int,
        default=None,
        help="synthetic positions written before the start (default: --target-positions)",
    )
    ap.add_argument("--actor", type=Path, default=ROOT / "target/release/actor")
    ap.add_argument("--data-dir", type=Path, help="data folder (default: a temp folder, deleted afterwards)")
    ap.add_argument(
        "--actor-args",
        default="--max-positions-per-s 0",
        help="extra `actor run` arguments (default: no position cap, so any slow-down shows)",
    )
    ap.add_argument("--size", help="model size (default: the trainer's per-game default)")
    a = ap.parse_args()

    tmp = None
    if a.data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="no-decay-")
        data = Path(tmp.name)
    else:
        data = a.data_dir
        data.mkdir(parents=True, exist_ok=True)
    models = data / "models"
    models.mkdir(exist_ok=True)
    try:
        # Schema and meta come from the actor itself (it owns §5).
        subprocess.run(
            [str(a.actor), "selfplay", "--no-model", "--game", a.game, "--max-games", "1", "--data-dir", str(data)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        n_pre = a.target_positions if a.prefill is None else a.prefill
        t = time.time()
        prefill(data / "replay.db", n_pre)
        print(
            f"pre-filled {n_pre} synthetic positions in {time.time() - t:.0f} s; db {db_mib(data):.0f} MiB", flush=True
        )

        import bench_make_model as bm  # torch is slow to import; only now
        import torch
        from trainer.config import build_config
        from trainer.export import export_onnx
        from trainer.model import arch_name, build_model

        spec = bm.spec_from_db(data / "replay.db")
        size = a.size or build_config(a.game, {}).model
        files = []
        for step, seed in ((1000, 1), (2000, 2)):
            torch.manual_seed(seed)
            files.append(export_onnx(build_model(size, spec.obs_shape, spec.num_actions), spec, arch_name(size), step))
        publish(models, files[0])

        port = free_port()
        cmd = [
            str(a.actor),
            "run",
            "--game",
            a.game,
            "--data-dir",
            str(data),
            "--port",
            str(port),
            "--model-poll-ms",
            "200",
            "--log-interval",
            "60",
            *a.actor_args.split(),
        ]
        log = open(data / "actor.log", "w")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if get_json(base + "/api/health")["model_version"] is not None:
                        break
                except OSError:
                    pass
                if proc.poll() is not None:
                    raise SystemExit(f"the actor exited: see {data / 'actor.log'}")
                time.sleep(0.2)
            print(f"actor pid {proc.pid}: {' '.join(cmd)}", flush=True)
            print(
                f"{'min':>4} {'positions/min':>14} {'evals/s':>9} {'rss MiB':>8} {'db MiB':>8} "
                f"{'db positions':>13} {'reloads':>8} {'model':>6}",
                flush=True,
            )
            start = time.monotonic()
            next_pub = start + a.republish_s
            last_pos = get_json(base + "/api/stats")["actor"]["positions"]
            last_t = start
            which, reloads, rows = 0, 0, []
            minute = 1
            minutes = max(1, int(a.minutes))
            while minute <= minutes:
                now = time.monotonic()
                if now >= next_pub:
                    which ^= 1
                    publish(models, files[which])
                    reloads += 1
                    next_pub += a.republish_s
                if now >= start + minute * 60:
                    st = get_json(base + "/api/stats")["actor"]
                    pos_min = (st["positions"] - last_pos) * 60 / (now - last_t)
                    last_pos, last_t = st["positions"], now
                    con = sqlite3.connect(f"file:{data / 'replay.db'}?mode=ro", uri=True)
                    try:
                        db_rows = con.execute("SELECT MAX(id) FROM positions").fetchone()[0]
                    finally:
                        con.close()
                    row = dict(
                        minute=minute,
                        positions_per_min=pos_min,
                        evals_per_s=st["nn_evals_per_s"],
                        rss_mib=rss_mib(proc.pid),
                        db_mib=db_mib(data),
                        db_positions=db_rows,
                        reloads=reloads,
                        model=st["model_version"],
                    )
                    rows.append(row)
                    print(
                        f"{minute:>4} {pos_min:>14.0f} {row['evals_per_s']:>9.0f} {row['rss_mib']:>8.1f} "
                        f"{row['db_mib']:>8.0f} {db_rows:>13} {reloads:>8} {row['model']:>6}",
                        flush=True,
                    )
                    minute += 1
                if proc.poll() is not None:
                    raise SystemExit(f"the actor exited early: see {data / 'actor.log'}")
                time.sleep(0.2)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()

        if len(rows) < 2:
            print("too short to compare (needs at least 2 minutes)")
            return 0
        k = min(5, len(rows) // 2)
        first, last = rows[:k], rows[-k:]
        print(
            f"\nfirst {k} min vs last {k} min ({len(rows)} min, {reloads} reloads, "
            f"db {rows[0]['db_positions']} -> {rows[-1]['db_positions']} positions):"
        )
        verdicts = []
        for key, label in (
            ("positions_per_min", "positions/min"),
            ("evals_per_s", "NN evals/s"),
            ("rss_mib", "RSS MiB"),
        ):
            start, end = mean(r[key] for r in first), mean(r[key] for r in last)
            change = (end / start - 1) * 100 if start else float("nan")
            print(f"  {label:>14}: {start:10.1f} -> {end:10.1f} ({change:+.1f}%)")
            verdicts.append((key, change))
        loads = (data / "actor.log").read_text(errors="replace").count("loaded model")
        d_reloads = rows[-1]["reloads"] - rows[0]["reloads"]
        if d_reloads > 0:
            slope = (rows[-1]["rss_mib"] - rows[0]["rss_mib"]) * 1024 / d_reloads
            print(
                f"  RSS change per republish between the first and last sample: {slope:+.0f} KiB "
                f"({loads} model loads in the actor log: self-play and the HTTP server each load every file)"
            )
        slow = [k for k, c in verdicts if k != "rss_mib" and c < -10]
        grew = [k for k, c in verdicts if k == "rss_mib" and c > 20]
        if slow or grew:
            print(
                f"  DECAY: {', '.join(slow + grew)} changed beyond 10% (throughput) / 20% (memory); "
                "on a shared machine, check the load before blaming the actor"
            )
        else:
            print("  no decay beyond 10% in throughput or 20% in memory")
        return 0
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
