#!/usr/bin/env python3
"""The search study: PUCT, TTTS and Gumbel, each with 1, 4 and 8 leaves per game in
flight, trained on Connect4 from nothing for the same wall time, then measured.

    .venv/bin/python scripts/search_study.py [--minutes 4] [--out docs/reports/search]

For every configuration it starts the real actor (`actor run`, self-play with that
search, the in-run evaluator off so both cores train) and the real trainer on a new
data folder under --work, polls /api/stats for self-play speed, and keeps a copy of
models/latest.onnx at four points of the run. When every run is done (one at a time:
they would share the cores otherwise) it measures, with the actor's own commands:

- error rates against perfect play (`actor accuracy` on the solver-labelled Connect4
  sets) of every kept model, for the raw network and for the run's own search at the
  play strength;
- head-to-head arenas (`actor arena`, balanced random openings) of each final model,
  playing its own search, against the reference (the default: PUCT, 4 leaves), with
  Elo intervals;
- a ladder per run: each kept model against the next one.

It writes results.json, the figures and RESULTS.md (tables) into --out. The written
conclusion is docs/reports/search/REPORT.md. Runs that already have a results entry in
--work/runs.json are not trained again (--fresh starts over), so an interrupted study
resumes.

Extra configurations: `--extra NAME:SEARCH:LEAVES[:SIMS]`, e.g. `gumbel32:gumbel:4:32`.
The Transformer pass (`--transformer-layers 4`) trains each search once more with
`--model transformer --n-layer L` at `--transformer-leaves`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACTOR = ROOT / "target" / "release" / "actor"
TRAINER = ROOT / ".venv" / "bin" / "trainer"
GAME = "connect4"
REFERENCE = "puct-x4"


@dataclass
class Config:
    name: str
    search: str
    leaves: int
    simulations: int | None = None  # None: the game's profile
    model: list[str] = field(default_factory=list)  # trainer --model arguments


@dataclass
class Run:
    config: Config
    seconds: float
    # (elapsed s, games/min, nn evals/s, simulations/s, trainer step) per poll
    speed: list[tuple[float, float, float, float, int]] = field(default_factory=list)
    # (elapsed s, trainer step, path) of each kept model
    checkpoints: list[tuple[float, int, str]] = field(default_factory=list)
    games: int = 0
    positions: int = 0


def ort_env() -> dict[str, str]:
    env = dict(os.environ)
    if "ORT_DYLIB_PATH" not in env:
        libs = sorted((ROOT / ".venv").glob("lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1.*"))
        if not libs:
            sys.exit("search_study: ONNX Runtime is missing from .venv; run scripts/setup.sh first")
        env["ORT_DYLIB_PATH"] = str(libs[0])
    return env


def get_json(url: str, timeout: float = 5.0) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return json.loads(r.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def stop(proc: subprocess.Popen, name: str) -> None:
    """SIGINT (both programs stop cleanly on it), then SIGKILL after 30 s."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        print(f"search_study: {name} did not stop on SIGINT; killing it", flush=True)
        proc.kill()
        proc.wait()


def train(cfg: Config, work: Path, minutes: float, port: int) -> Run:
    data = work / cfg.name
    if data.exists():
        shutil.rmtree(data)
    (data / "logs").mkdir(parents=True)
    (data / "kept").mkdir()
    trainer_port = port + 1
    actor_cmd = [
        str(ACTOR),
        "run",
        "--game",
        GAME,
        "--data-dir",
        str(data),
        "--port",
        str(port),
        "--trainer-url",
        f"http://127.0.0.1:{trainer_port}",
        "--search",
        cfg.search,
        "--leaves-per-game",
        str(cfg.leaves),
        "--eval-share",
        "0",
    ]
    if cfg.simulations:
        actor_cmd += ["--simulations", str(cfg.simulations)]
    trainer_cmd = [
        str(TRAINER),
        "train",
        "--game",
        GAME,
        "--data-dir",
        str(data),
        "--control-port",
        str(trainer_port),
        *cfg.model,
    ]
    env = ort_env()
    print(f"search_study: {cfg.name}: training {minutes:g} min: {' '.join(actor_cmd[1:])}", flush=True)
    with open(data / "logs" / "actor.log", "w") as alog, open(data / "logs" / "trainer.log", "w") as tlog:
        started = time.time()
        actor = subprocess.Popen(actor_cmd, stdout=alog, stderr=subprocess.STDOUT, env=env)
        trainer = subprocess.Popen(trainer_cmd, stdout=tlog, stderr=subprocess.STDOUT, env=env)
        run = Run(cfg, minutes * 60)
        keep_at = [minutes * 60 * k / 4 for k in (1, 2, 3, 4)]
        try:
            while True:
                elapsed = time.time() - started
                for p, n in ((actor, "actor"), (trainer, "trainer")):
                    if p.poll() is not None:
                        raise RuntimeError(f"{cfg.name}: the {n} exited with {p.returncode}; see {data / 'logs'}")
                stats = get_json(f"http://127.0.0.1:{port}/api/stats")
                if stats and stats.get("actor"):
                    a, t = stats["actor"], stats.get("trainer") or {}
                    step = int(t.get("step") or 0)
                    run.speed.append((elapsed, a["games_per_min"], a["nn_evals_per_s"], a["simulations_per_s"], step))
                    run.games, run.positions = a["games_played"], a["positions"]
                while keep_at and elapsed >= keep_at[0]:
                    latest = data / "models" / "latest.onnx"
                    if latest.exists():
                        dst = data / "kept" / f"at_{int(keep_at[0]):04d}s.onnx"
                        shutil.copyfile(latest, dst)
                        step = run.speed[-1][4] if run.speed else 0
                        run.checkpoints.append((round(elapsed, 1), step, str(dst)))
                    keep_at.pop(0)
                if not keep_at:
                    break
                time.sleep(5)
        finally:
            stop(trainer, "trainer")
            stop(actor, "actor")
    print(f"search_study: {cfg.name}: {run.games} games, {len(run.checkpoints)} models kept", flush=True)
    return run


ROW = re.compile(r"^(\S+)\s+(net|search)\s+(\d+)\s+(\d+)\s+[\d.]+%$")


def accuracy(model: str, search: str, positions: int, sims: int) -> list[dict]:
    out = subprocess.run(
        [
            str(ACTOR),
            "accuracy",
            "--game",
            GAME,
            "--model",
            model,
            "--search",
            search,
            "--sims",
            str(sims),
            "--positions",
            str(positions),
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        env=ort_env(),
        check=True,
    ).stdout
    rows = []
    for line in out.splitlines():
        m = ROW.match(line.strip())
        if m:
            rows.append({"set": m[1], "mode": m[2], "positions": int(m[3]), "errors": int(m[4])})
    if not rows:
        raise RuntimeError(f"actor accuracy printed no table for {model}:\n{out}")
    return rows


ARENA = re.compile(
    r"A: (\d+) wins, (\d+) draws, (\d+) losses; score ([\d.]+), Elo difference (\S+) \(95% interval (\S+) to (\S+)\)"
)


def arena(a: str, b: str, games: int, sims: int, seed: int = 1) -> dict:
    cmd = [str(ACTOR), "arena", "--game", GAME, "--a", a, "--b", b, "--games", str(games)]
    cmd += ["--openings", "4", "--sims", str(sims), "--seed", str(seed)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=ort_env(), check=True).stdout
    m = ARENA.search(out)
    if not m:
        raise RuntimeError(f"actor arena printed no result:\n{out}")

    def elo(s: str) -> float:
        return float(s.replace("inf", "Infinity"))

    return {
        "wins": int(m[1]),
        "draws": int(m[2]),
        "losses": int(m[3]),
        "score": float(m[4]),
        "elo": elo(m[5]),
        "lo": elo(m[6]),
        "hi": elo(m[7]),
    }


def error_rate(rows: list[dict], mode: str) -> float:
    pos = sum(r["positions"] for r in rows if r["mode"] == mode)
    err = sum(r["errors"] for r in rows if r["mode"] == mode)
    return err / pos if pos else float("nan")


def configs(args) -> list[Config]:
    out = [Config(f"{s}-x{k}", s, k) for s in args.searches.split(",") for k in map(int, args.leaves.split(","))]
    for e in args.extra:
        parts = e.split(":")
        out.append(Config(parts[0], parts[1], int(parts[2]), int(parts[3]) if len(parts) > 3 else None))
    if args.transformer_layers:
        L = args.transformer_layers
        for s in args.searches.split(","):
            model = ["--model", "transformer", "--n-layer", str(L)]
            out.append(Config(f"{s}-x{args.transformer_leaves}-t{L}", s, args.transformer_leaves, None, model))
    return out


def plots(results: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results["runs"]
    colors = {"puct": "tab:blue", "ttts": "tab:orange", "gumbel": "tab:green"}
    styles = {1: ":", 4: "-", 8: "--"}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, r in runs.items():
        c = r["config"]
        xs = [k["elapsed"] / 60 for k in r["kept"]]
        for ax, mode in zip(axes, ("net", "search"), strict=True):
            ys = [100 * k[f"{mode}_error"] for k in r["kept"]]
            ls = "-." if c["model"] else styles.get(c["leaves"], "-")
            ax.plot(xs, ys, ls, marker="o", ms=3, color=colors.get(c["search"], "gray"), label=name)
    for ax, title in zip(axes, ("raw network", "network + its own search"), strict=True):
        ax.set_title(f"Connect4 error rate against perfect play: {title}")
        ax.set_xlabel("training wall time (min)")
        ax.set_ylabel("errors (%)")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "error_rates.png", dpi=110)
    plt.close(fig)

    names = list(runs)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    bar_colors = [colors.get(runs[n]["config"]["search"], "gray") for n in names]
    axes[0].bar(names, [runs[n]["evals_per_s"] for n in names], color=bar_colors)
    axes[0].set_title("self-play network evaluations/s (mean after the first minute)")
    axes[1].bar(names, [runs[n]["games_per_min"] for n in names], color=bar_colors)
    axes[1].set_title("self-play games/min")
    for ax in axes:
        ax.tick_params(axis="x", rotation=60, labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "speed.png", dpi=110)
    plt.close(fig)

    arenas = results["arena"]
    if arenas:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        ns = list(arenas)
        elo = [max(-800, min(800, arenas[n]["elo"])) for n in ns]
        lo = [max(-800, min(800, arenas[n]["lo"])) for n in ns]
        hi = [max(-800, min(800, arenas[n]["hi"])) for n in ns]
        below = [e - low for e, low in zip(elo, lo, strict=True)]
        above = [h - e for e, h in zip(elo, hi, strict=True)]
        ax.errorbar(range(len(ns)), elo, yerr=[below, above], fmt="o")
        ax.axhline(0, color="gray", lw=0.8)
        ax.set_xticks(range(len(ns)), ns, rotation=60, fontsize=7)
        ax.set_ylabel(f"Elo against {REFERENCE} (95% interval)")
        ax.set_title("final models, each with its own search")
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / "arena.png", dpi=110)
        plt.close(fig)


def tables(results: dict) -> str:
    lines = [
        "# Search study: results",
        "",
        f"Generated by `{results['command']}` on {results['machine']}, {results['date']}.",
        f"Each run: Connect4 from nothing for {results['minutes']:g} min of wall time "
        "(actor and trainer on the same cores).",
        f"Errors: `actor accuracy` on the solver-labelled Connect4 sets, the raw network on every position, "
        f"the run's own search at {results['sims']} simulations on {results['positions']} positions per set "
        f"(Transformer runs: {results['transformer_eval_share']:g} of the positions and of the arena and "
        "ladder games, their network being far slower on a CPU).",
        "",
        "## Self-play speed and error rates",
        "",
        "| run | search | leaves | sims | model | games | evals/s | games/min | step at end "
        "| net errors | search errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["runs"].items():
        c = r["config"]
        last = r["kept"][-1] if r["kept"] else {}
        if not last:
            lines.append(
                f"| {name} | {c['search']} | {c['leaves']} | {c['simulations'] or 'profile'} | "
                f"{' '.join(c['model'][1:]) or 'resnet (default)'} | {r['games']} | {r['evals_per_s']:.0f} | "
                f"{r['games_per_min']:.1f} | no model published | - | - |"
            )
            continue
        lines.append(
            f"| {name} | {c['search']} | {c['leaves']} | {c['simulations'] or 'profile'} | "
            f"{' '.join(c['model'][1:]) or 'resnet (default)'} | {r['games']} | {r['evals_per_s']:.0f} | "
            f"{r['games_per_min']:.1f} | {last.get('step', '-')} | {100 * last.get('net_error', float('nan')):.1f}% | "
            f"{100 * last.get('search_error', float('nan')):.1f}% |"
        )
    lines += ["", "## Error rates over time (net / search, %)", ""]
    for name, r in results["runs"].items():
        if not r["kept"]:
            lines.append(f"- **{name}**: no model was published within the run")
            continue
        pts = ", ".join(
            f"{k['elapsed'] / 60:.1f} min (step {k['step']}): "
            f"{100 * k['net_error']:.1f} / {100 * k['search_error']:.1f}"
            for k in r["kept"]
        )
        lines.append(f"- **{name}**: {pts}")
    lines += ["", f"## Final models against {REFERENCE} (each with its own search)", ""]
    lines += ["| run | W-D-L | score | Elo | 95% interval |", "|---|---|---|---|---|"]
    for name, a in results["arena"].items():
        lines.append(
            f"| {name} | {a['wins']}-{a['draws']}-{a['losses']} | {a['score']:.3f} | "
            f"{a['elo']:+.0f} | {a['lo']:+.0f} to {a['hi']:+.0f} |"
        )
    lines += ["", "## Ladders: each kept model against the next (later model's score)", ""]
    for name, steps in results["ladder"].items():
        if not steps:
            continue
        pts = ", ".join(f"{s['from']}→{s['to']}: {s['score']:.2f} ({s['elo']:+.0f})" for s in steps)
        lines.append(f"- **{name}**: {pts}")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=4.0, help="training wall time of each run")
    p.add_argument("--searches", default="puct,ttts,gumbel")
    p.add_argument("--leaves", default="1,4,8", help="leaves per game in flight")
    p.add_argument("--extra", action="append", default=[], help="NAME:SEARCH:LEAVES[:SIMS], repeatable")
    p.add_argument("--transformer-layers", type=int, default=4, help="0 skips the Transformer pass")
    p.add_argument("--transformer-leaves", type=int, default=4)
    p.add_argument("--positions", type=int, default=100, help="positions per set for the search's accuracy")
    p.add_argument("--sims", type=int, default=200, help="simulations of the accuracy and arena searches")
    p.add_argument("--arena-games", type=int, default=100)
    p.add_argument("--ladder-games", type=int, default=40)
    p.add_argument(
        "--transformer-eval-share",
        type=float,
        default=0.25,
        help="the Transformer runs' share of --positions, --arena-games and --ladder-games (their network is "
        "tens of times slower to evaluate on a CPU)",
    )
    p.add_argument("--work", type=Path, default=Path("/tmp/search-study"))
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "reports" / "search")
    p.add_argument("--port", type=int, default=18480)
    p.add_argument("--fresh", action="store_true", help="train every run again")
    p.add_argument("--tables-only", action="store_true", help="rewrite RESULTS.md and the figures from results.json")
    args = p.parse_args(argv)
    if args.tables_only:
        results = json.loads((args.out / "results.json").read_text())
        (args.out / "RESULTS.md").write_text(tables(results))
        plots(results, args.out)
        return 0
    for exe in (ACTOR, TRAINER):
        if not exe.exists():
            sys.exit(f"search_study: {exe} is missing; run scripts/setup.sh first")
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    state_file = args.work / "runs.json"
    done: dict = {} if args.fresh or not state_file.exists() else json.loads(state_file.read_text())

    for cfg in configs(args):
        if cfg.name in done:
            print(f"search_study: {cfg.name}: trained before, kept", flush=True)
            continue
        run = train(cfg, args.work, args.minutes, args.port)
        done[cfg.name] = asdict(run)
        state_file.write_text(json.dumps(done, indent=1))

    results: dict = {
        "command": "python scripts/search_study.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{os.cpu_count()} cores, {os.uname().machine}, {os.uname().release}",
        "date": time.strftime("%Y-%m-%d"),
        "minutes": args.minutes,
        "transformer_eval_share": args.transformer_eval_share,
        "positions": args.positions,
        "sims": args.sims,
        "runs": {},
        "arena": {},
        "ladder": {},
    }
    for name, r in done.items():
        c = r["config"]
        speed = [s for s in r["speed"] if s[0] >= 60] or r["speed"]
        share = args.transformer_eval_share if c["model"] else 1.0
        kept = []
        for elapsed, step, path in r["checkpoints"]:
            rows = accuracy(path, c["search"], max(1, round(args.positions * share)), args.sims)
            kept.append(
                {
                    "elapsed": elapsed,
                    "step": step,
                    "path": path,
                    "net_error": error_rate(rows, "net"),
                    "search_error": error_rate(rows, "search"),
                    "rows": rows,
                }
            )
            k = kept[-1]
            print(f"search_study: {name} at {elapsed / 60:.1f} min: {k['net_error']:.3f} / {k['search_error']:.3f}")
        results["runs"][name] = {
            "config": c,
            "games": r["games"],
            "positions": r["positions"],
            "evals_per_s": sum(s[2] for s in speed) / max(1, len(speed)),
            "games_per_min": sum(s[1] for s in speed) / max(1, len(speed)),
            "kept": kept,
        }

    def share_of(r: dict) -> float:
        return args.transformer_eval_share if r["config"]["model"] else 1.0

    ref = results["runs"].get(REFERENCE)
    if ref and ref["kept"]:
        ref_model = ref["kept"][-1]["path"] + ":puct"
        for name, r in results["runs"].items():
            if name == REFERENCE or not r["kept"]:
                continue
            a = f"{r['kept'][-1]['path']}:{r['config']['search']}"
            games = max(2, round(args.arena_games * share_of(r)))
            results["arena"][name] = arena(a, ref_model, games, args.sims)
            print(f"search_study: arena {name} vs {REFERENCE}: {results['arena'][name]}", flush=True)
    for name, r in results["runs"].items():
        steps = []
        for k0, k1 in zip(r["kept"], r["kept"][1:], strict=False):
            s = r["config"]["search"]
            games = max(2, round(args.ladder_games * share_of(r)))
            res = arena(f"{k1['path']}:{s}", f"{k0['path']}:{s}", games, args.sims // 2)
            steps.append({"from": f"{k0['elapsed'] / 60:.1f}m", "to": f"{k1['elapsed'] / 60:.1f}m", **res})
        results["ladder"][name] = steps
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    (args.out / "RESULTS.md").write_text(tables(results))
    plots(results, args.out)
    print(f"search_study: wrote {args.out}/results.json, RESULTS.md and the figures", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
