#!/usr/bin/env python3
"""How long the bot takes to answer: p50/p95 of `POST /api/move`, as the web page asks.

    .venv/bin/python scripts/move_latency.py --game connect4 --model c4.onnx [--precision int8]
        [--simulations 400] [--requests 200] [--selfplay] [--keep-trees | --no-keep-trees]

Figures of this machine are in docs/BENCHMARKS.md.

It starts the real actor on a temporary data folder holding `--model` as
models/latest.onnx (and the model's `.int8.onnx` file beside it as latest.int8.onnx,
when there is one), waits until the move API plays the model, then plays games the
way a user does: the bot's move (timed, as the HTTP round trip from this client) and a
random reply (not timed), until `--requests` moves have been asked for. Consecutive
requests of a game extend each other by two moves, as in the web page, so the server
can keep the search tree from one request to the next.

`--selfplay` runs `actor run` (self-play on the same cores, as during training, with
the background evaluator off) instead of `actor serve` (an idle machine). The actor is
the release build (cargo build --release -p actor); ONNX Runtime is found as the
actor finds it (.venv, or ORT_DYLIB_PATH).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port: int, method: str, path: str, body: dict | None = None, timeout: float = 60.0) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{method} {path} answered {e.code}: {e.read().decode(errors='replace')}") from None


def int8_sibling(model: Path) -> Path:
    stem = model.name[: -len(".onnx")] if model.name.endswith(".onnx") else model.name
    return model.with_name(f"{stem}.int8.onnx")


def percentile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--game", required=True)
    ap.add_argument("--model", required=True, type=Path, help="the fp32 model file")
    ap.add_argument("--precision", default="auto", choices=("fp32", "int8", "auto"))
    ap.add_argument("--simulations", type=int, default=400)
    ap.add_argument("--requests", type=int, default=200, help="timed move requests (default 200)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed requests first (default 5)")
    ap.add_argument("--selfplay", action="store_true", help="self-play runs on the same cores (actor run)")
    ap.add_argument(
        "--keep-trees",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="pass --keep-trees true/false to the actor (default: the actor's default)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--actor", type=Path, default=ROOT / "target" / "release" / "actor")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    if not args.actor.is_file():
        raise SystemExit(f"{args.actor} is missing: cargo build --release -p actor")
    if not args.model.is_file():
        raise SystemExit(f"--model {args.model}: no such file")

    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="move-latency-"))
    models = work / "data" / "models"
    models.mkdir(parents=True)
    int8 = int8_sibling(args.model)
    if int8.is_file():
        shutil.copy(int8, models / "latest.int8.onnx")
    shutil.copy(args.model, models / "latest.onnx")
    port = free_port()
    command = "run" if args.selfplay else "serve"
    cmd = [str(args.actor), command, "--game", args.game, "--data-dir", str(work / "data")]
    cmd += ["--port", str(port), "--precision", args.precision, "--web-dir", str(work / "no-web")]
    if args.selfplay:
        cmd += ["--eval-share", "0"]
    if args.keep_trees is not None:
        cmd += ["--keep-trees", "true" if args.keep_trees else "false"]
    log = open(work / "actor.log", "w")
    actor = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        t0 = time.monotonic()
        while True:
            if actor.poll() is not None:
                raise SystemExit(f"the actor exited ({actor.returncode}):\n{(work / 'actor.log').read_text()[-3000:]}")
            try:
                if call(port, "GET", "/api/health", timeout=2)["model_version"] is not None:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() - t0 > 60:
                raise SystemExit("the actor did not play the model within 60 s")
            time.sleep(0.2)
        if args.selfplay:
            # Until self-play has its model and is busy.
            while call(port, "GET", "/api/stats")["actor"]["nn_evals_per_s"] <= 0:
                time.sleep(0.5)
        precision = call(port, "GET", "/api/stats")["actor"].get("model_precision")

        latencies: list[float] = []
        moves: list[int] = []
        asked = 0
        games = 0
        while len(latencies) < args.requests:
            body = {"game": args.game, "moves": moves, "simulations": args.simulations}
            t = time.perf_counter()
            answer = call(port, "POST", "/api/move", body)
            took = time.perf_counter() - t
            asked += 1
            if asked > args.warmup:
                latencies.append(took)
            moves.append(answer["action"])
            state = call(port, "POST", "/api/state", {"game": args.game, "moves": moves})
            if state["outcome"] is None:  # a random reply
                moves.append(rng.choice(state["legal_actions"]))
                state = call(port, "POST", "/api/state", {"game": args.game, "moves": moves})
            if state["outcome"] is not None:
                moves, games = [], games + 1
        stats = call(port, "GET", "/api/stats")["actor"]
    finally:
        actor.terminate()
        try:
            actor.wait(timeout=20)
        except subprocess.TimeoutExpired:
            actor.kill()
        log.close()

    ms = [x * 1000 for x in latencies]
    figures = {
        "game": args.game,
        "model": str(args.model),
        "precision": precision,
        "simulations": args.simulations,
        "selfplay": args.selfplay,
        "keep_trees": args.keep_trees,
        "requests": len(ms),
        "games_finished": games,
        "p50_ms": round(percentile(ms, 0.5), 1),
        "p95_ms": round(percentile(ms, 0.95), 1),
        "mean_ms": round(statistics.fmean(ms), 1),
        "max_ms": round(max(ms), 1),
        "selfplay_evals_per_s": round(stats["nn_evals_per_s"]) if args.selfplay else None,
    }
    print(
        f"{args.game} /api/move at {args.simulations} simulations, {precision} model, "
        f"{'self-play on the same cores' if args.selfplay else 'idle machine'}, "
        f"keep trees {'actor default' if args.keep_trees is None else args.keep_trees}: "
        f"p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, mean {figures['mean_ms']} ms, "
        f"max {figures['max_ms']} ms over {len(ms)} requests ({games} games finished)"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
