#!/usr/bin/env python3
"""Watches a training run until the agent plays perfectly, then exits 0.

Used by `./start_training.sh --speedrun`: it polls the actor's /api/stats and reads the
perfect-play accuracy the actor's evaluator measures for each new snapshot
(docs/CONTRACTS.md §8). Perfect play means no errors over every decision position of
the game's "all" phase (TicTacToe: all 4520 non-terminal reachable positions) with the
full search at default play strength.

    speedrun_watch.py --url http://127.0.0.1:8080 --started UNIX_TIME [--timeout S]

Prints one line per new measurement; exits 0 when perfect, 1 on timeout, 2 when the
actor stops answering for long.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request


def perfect(accuracy: list[dict], seen: set) -> tuple[int | None, list[str]]:
    """Returns (the step of a snapshot whose search over the whole "all" phase made no
    error, or None; lines for new measurements)."""
    lines, done = [], None
    for a in accuracy:
        key = (a.get("version"), a.get("phase"), a.get("mode"))
        if key in seen:
            continue
        seen.add(key)
        lines.append(
            f"snapshot {a['version']}: {a['phase']}/{a['mode']}: {a['errors']} errors in {a['positions']} positions"
        )
        if a.get("phase") == "all" and a.get("mode") == "search" and a.get("errors") == 0 and a.get("positions", 0) > 0:
            done = a["version"]
    return done, lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8080")
    p.add_argument("--started", type=float, default=time.time(), help="unix time the run started")
    p.add_argument("--timeout", type=float, default=3600, help="give up after this many seconds")
    args = p.parse_args(argv)

    seen: set = set()
    last_ok = time.time()
    while time.time() - args.started < args.timeout:
        try:
            with urllib.request.urlopen(args.url + "/api/stats", timeout=10) as r:
                stats = json.loads(r.read())
            last_ok = time.time()
        except (urllib.error.URLError, OSError, ValueError):
            if time.time() - last_ok > 120:
                print("speedrun: the actor has not answered for 2 minutes", flush=True)
                return 2
            time.sleep(2)
            continue
        evaluation = stats.get("evaluation") or {}
        done, lines = perfect(evaluation.get("accuracy") or [], seen)
        elapsed = time.time() - args.started
        for line in lines:
            print(f"speedrun: {elapsed:6.1f} s  {line}", flush=True)
        if done is not None:
            step = (stats.get("trainer") or {}).get("step")
            # The trainer has moved on meanwhile; the snapshot that was measured is kept.
            print(
                f"speedrun: perfect play after {elapsed:.1f} s: the snapshot of step {done} "
                f"(models/model_step_{done:08d}.onnx; the trainer is at step {step})",
                flush=True,
            )
            return 0
        time.sleep(1)
    print(f"speedrun: no perfect play within {args.timeout:.0f} s", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
