#!/usr/bin/env python3
"""HTTP load test of the actor: N concurrent clients for D seconds against /api/move
(TicTacToe positions from random play, a realistic simulation count) and /api/health.
Prints count, errors, p50/p90/p99 latency and throughput per route; exits 1 on any error
(a non-2xx answer, a timeout, a connection failure) or an illegal answer.

Against a running actor:
    .venv/bin/python tests/load/load_test.py --url http://127.0.0.1:8080
Or let it start one on a free port and a temporary data folder (self-play running, as in
training), optionally with a model as models/latest.onnx:
    .venv/bin/python tests/load/load_test.py --start-actor [--model m.onnx] --clients 32 --duration 60

The Python client checks every answer but costs a few ms of CPU per request, which on a
small machine limits the rate before the server does. `--wrk` drives the same mix with
wrk (Debian: apt install wrk; C, about 1 µs a request): half the connections POST
/api/move with the same positions, half GET /api/health; it reports wrk's latency
percentiles, and any non-2xx answer or socket error counts as an error.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def over(moves: list[int]) -> bool:
    b = [0] * 9
    for i, m in enumerate(moves):
        b[m] = 1 + i % 2
    return any(b[x] and b[x] == b[y] == b[z] for x, y, z in LINES) or len(moves) == 9


def positions(n: int, rng: random.Random) -> list[list[int]]:
    """`n` unfinished TicTacToe positions reached by random play (the empty board too)."""
    out = []
    while len(out) < n:
        moves: list[int] = []
        depth = rng.randrange(0, 8)
        while len(moves) < depth:
            m = rng.choice([c for c in range(9) if c not in moves])
            if over(moves + [m]):
                break
            moves.append(m)
        out.append(moves)
    return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


async def client(
    c: httpx.AsyncClient,
    stop_at: float,
    sims: int,
    health_share: float,
    rng: random.Random,
    pos: list[list[int]],
    lat: dict,
    errors: list[str],
) -> None:
    while time.monotonic() < stop_at:
        if rng.random() < health_share:
            route, req = "health", c.get("/api/health")
            moves = None
        else:
            moves = rng.choice(pos)
            route, req = "move", c.post("/api/move", json={"game": "tictactoe", "moves": moves, "simulations": sims})
        t = time.perf_counter()
        try:
            r = await req
            dt = time.perf_counter() - t
            if r.status_code != 200:
                errors.append(f"{route}: {r.status_code} {r.text[:200]}")
                continue
            if moves is not None:
                a = r.json()["action"]
                if not (0 <= a < 9) or a in moves:
                    errors.append(f"move: illegal action {a} after {moves}")
                    continue
            lat[route].append(dt)
        except httpx.HTTPError as e:
            errors.append(f"{route}: {type(e).__name__}: {e}")


async def run(url: str, clients: int, duration: float, sims: int, health_share: float, seed: int) -> dict:
    rng = random.Random(seed)
    pos = positions(500, rng)
    lat: dict[str, list[float]] = {"move": [], "health": []}
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as c:
        (await c.get("/api/health")).raise_for_status()
        t0 = time.monotonic()
        stop_at = t0 + duration
        await asyncio.gather(
            *[
                client(c, stop_at, sims, health_share, random.Random(rng.random()), pos, lat, errors)
                for _ in range(clients)
            ]
        )
        wall = time.monotonic() - t0
        stats = (await c.get("/api/stats")).json()["actor"]
    report = {
        "clients": clients,
        "duration_s": round(wall, 1),
        "simulations": sims,
        "errors": len(errors),
        "error_samples": errors[:5],
        "selfplay_games_per_min": stats.get("games_per_min"),
        "model_version": stats.get("model_version"),
    }
    for route, xs in lat.items():
        report[route] = {
            "requests": len(xs),
            "per_s": round(len(xs) / wall, 1),
            "p50_ms": round(pct(xs, 0.50) * 1000, 2),
            "p90_ms": round(pct(xs, 0.90) * 1000, 2),
            "p99_ms": round(pct(xs, 0.99) * 1000, 2),
            "max_ms": round(max(xs, default=0) * 1000, 2),
        }
    return report


def parse_wrk(out: str) -> dict:
    """Requests/s, latency percentiles and error counts from `wrk --latency` output."""

    def ms(v: str) -> float:
        for unit, f in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
            if v.endswith(unit):
                return round(float(v[: -len(unit)]) * f, 2)
        return float("nan")

    r: dict = {"errors": 0}
    for line in out.splitlines():
        w = line.split()
        if len(w) == 2 and w[0] in ("50%", "90%", "99%"):
            r[f"p{w[0][:-1]}_ms"] = ms(w[1])
        elif line.strip().startswith("Requests/sec:"):
            r["per_s"] = float(w[1])
        elif "requests in" in line:
            r["requests"] = int(w[0])
        elif line.strip().startswith("Latency") and len(w) >= 4:
            r["max_ms"] = ms(w[3])
        elif "Non-2xx or 3xx responses:" in line:
            r["errors"] += int(w[-1])
        elif line.strip().startswith("Socket errors:"):
            r["errors"] += sum(int(x.strip(",")) for x in w if x.strip(",").isdigit())
    return r


def run_wrk(url: str, clients: int, duration: float, sims: int, seed: int) -> dict:
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="cartridge-wrk-"))
    bodies = [
        json.dumps({"game": "tictactoe", "moves": m, "simulations": sims}) for m in positions(500, random.Random(seed))
    ]
    lua = tmp / "move.lua"
    lua.write_text(
        "local bodies = {" + ",".join(json.dumps(b) for b in bodies) + "}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #bodies + 1\n"
        "  return wrk.format('POST', '/api/move', {['Content-Type'] = 'application/json'}, bodies[i])\n"
        "end\n"
    )
    half = max(1, clients // 2)
    d = f"{int(duration)}s"
    procs = {
        "move": subprocess.Popen(
            ["wrk", "-t1", f"-c{half}", f"-d{d}", "--latency", "--timeout", "30s", "-s", str(lua), url],
            stdout=subprocess.PIPE,
            text=True,
        ),
        "health": subprocess.Popen(
            ["wrk", "-t1", f"-c{clients - half}", f"-d{d}", "--latency", "--timeout", "30s", f"{url}/api/health"],
            stdout=subprocess.PIPE,
            text=True,
        ),
    }
    report: dict = {"tool": "wrk", "clients": clients, "duration_s": duration, "simulations": sims}
    for route, p in procs.items():
        out, _ = p.communicate(timeout=duration + 60)
        report[route] = parse_wrk(out)
        report[route + "_raw"] = out
    shutil.rmtree(tmp, ignore_errors=True)
    stats = httpx.get(f"{url}/api/stats", timeout=30).json()["actor"]
    report.update(
        errors=report["move"]["errors"] + report["health"]["errors"],
        error_samples=[],
        selfplay_games_per_min=stats.get("games_per_min"),
        model_version=stats.get("model_version"),
    )
    return report


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_actor(model: str | None, extra: list[str]) -> tuple[subprocess.Popen, str, Path]:
    tmp = Path(tempfile.mkdtemp(prefix="cartridge-load-"))
    data = tmp / "data"
    (data / "models").mkdir(parents=True)
    if model:
        shutil.copy(model, data / "models" / "latest.onnx")
    port = free_port()
    env = dict(os.environ)
    libs = sorted(glob.glob(str(ROOT / ".venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1.*")))
    if libs:
        env.setdefault("ORT_DYLIB_PATH", libs[-1])
    args = [
        str(ROOT / "target/release/actor"),
        "run",
        "--game",
        "tictactoe",
        "--data-dir",
        str(data),
        "--port",
        str(port),
        "--trainer-url",
        f"http://127.0.0.1:{free_port()}",
        *extra,
    ]
    if not model:
        args.append("--no-model")
    p = subprocess.Popen(args, stdout=open(tmp / "actor.log", "wb"), stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if p.poll() is not None:
            sys.exit(f"the actor exited: see {tmp / 'actor.log'}")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200 and (
                not model or httpx.get(f"{url}/api/health").json()["model_version"] is not None
            ):
                return p, url, tmp
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    p.kill()
    sys.exit("the actor did not come up within 60 s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running actor (default: start one with --start-actor)")
    ap.add_argument("--start-actor", action="store_true", help="start an actor on a free port and a temp folder")
    ap.add_argument("--model", help="with --start-actor: an ONNX model to install as models/latest.onnx")
    ap.add_argument("--actor-args", default="", help="with --start-actor: extra `actor run` flags")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--simulations", type=int, default=200, help="per move (TicTacToe's play default is 200)")
    ap.add_argument("--health-share", type=float, default=0.5, help="share of requests that are /api/health")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print the report as JSON only")
    ap.add_argument("--wrk", action="store_true", help="drive the load with wrk instead of the Python client")
    a = ap.parse_args()
    if not a.url and not a.start_actor:
        ap.error("give --url or --start-actor")
    proc = tmp = None
    url = a.url
    if a.start_actor:
        proc, url, tmp = start_actor(a.model, a.actor_args.split())
    try:
        if a.wrk:
            report = run_wrk(url, a.clients, a.duration, a.simulations, a.seed)
        else:
            report = asyncio.run(run(url, a.clients, a.duration, a.simulations, a.health_share, a.seed))
    finally:
        if proc:
            proc.terminate()
            proc.wait(30)
            shutil.rmtree(tmp, ignore_errors=True)
    report["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"
    if a.json:
        print(json.dumps(report))
    else:
        tool = "wrk" if a.wrk else "python/httpx"
        print(
            f"{a.clients} clients ({tool}) for {report['duration_s']} s against {url} ({report['machine']}), "
            f"/api/move with {a.simulations} simulations, model version {report['model_version']}"
        )
        for route in ("move", "health"):
            r = report[route]
            print(
                f"  /api/{route:6} {r.get('requests', 0):7d} requests  {r.get('per_s', 0):8.1f}/s  "
                f"p50 {r.get('p50_ms', float('nan')):7.2f} ms  p90 {r.get('p90_ms', float('nan')):7.2f} ms  "
                f"p99 {r.get('p99_ms', float('nan')):7.2f} ms  max {r.get('max_ms', float('nan')):7.2f} ms"
            )
        print(f"  errors: {report['errors']}  self-play meanwhile: {report['selfplay_games_per_min']} games/min")
        for e in report["error_samples"]:
            print("   ", e)
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
