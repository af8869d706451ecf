"""`trainer report DATA_DIR`: a Markdown report with PNG plots of one training run.

Reads only the data folder (docs/CONTRACTS.md §4 stats.json, §8 eval.db and
evaluation.json), so it works on a finished run, a running one, or a copy of either:

- loss curves (policy, value, total) against step, from stats.json's history;
- Elo against step and against wall-clock time, with the 95% band, from the actor's
  rating fit in evaluation.json (the fit itself lives in the actor, once);
- score against each baseline per snapshot, from the matches in eval.db;
- perfect-play error rates per phase and mode, from the accuracy table in eval.db.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class ReportError(Exception):
    pass


@dataclass
class RunData:
    data_dir: Path
    stats: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None
    # (model version, opponent) -> [wins, draws, losses] from the model's side
    matches: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    # (phase, mode) -> [(version, error_rate, positions)]
    accuracy: dict[tuple[str, str], list[tuple[int, float, int]]] = field(default_factory=dict)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ReportError(f"{path} is not readable JSON: {e}") from e


def _model_version(player: str) -> int | None:
    if player.startswith("model:"):
        try:
            return int(player.split(":", 1)[1])
        except ValueError:
            return None
    return None


def load_run(data_dir: str | Path) -> RunData:
    d = Path(data_dir)
    if not d.is_dir():
        raise ReportError(f"no data folder at {d}")
    run = RunData(d, _read_json(d / "stats.json"), _read_json(d / "evaluation.json"))
    if run.stats is None:
        raise ReportError(f"{d} has no stats.json: has the trainer run on this folder?")
    db_path = d / "eval.db"
    if db_path.exists():
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
        try:
            for a, b, score in db.execute("SELECT player_a, player_b, score_a FROM matches"):
                for me, other, s in ((a, b, score), (b, a, 1.0 - score)):
                    v = _model_version(me)
                    if v is None or _model_version(other) is not None:
                        continue  # model-vs-baseline games only; model pairs feed the ratings
                    wdl = run.matches.setdefault((v, other), [0, 0, 0])
                    wdl[0 if s > 0.75 else 1 if s > 0.25 else 2] += 1
            for version, phase, mode, positions, errors in db.execute(
                "SELECT model_version, phase, mode, positions, errors FROM accuracy ORDER BY model_version"
            ):
                if positions > 0:
                    run.accuracy.setdefault((phase, mode), []).append((version, errors / positions, positions))
        except sqlite3.DatabaseError as e:
            raise ReportError(f"{db_path} could not be read: {e}") from e
        finally:
            db.close()
    return run


def _step_to_time(history: list[dict]) -> tuple[list[float], list[float]]:
    pts = sorted((h["step"], h["time"]) for h in history if h.get("step") is not None and h.get("time"))
    return [p[0] for p in pts], [p[1] for p in pts]


def _interp(x: float, xs: list[float], ys: list[float]) -> float | None:
    if not xs:
        return None
    if x <= xs[0]:
        return ys[0]
    for i in range(1, len(xs)):
        if x <= xs[i]:
            t = (x - xs[i - 1]) / max(xs[i] - xs[i - 1], 1e-9)
            return ys[i - 1] + t * (ys[i] - ys[i - 1])
    return ys[-1]


def write_report(run: RunData, out_dir: str | Path) -> Path:
    """Writes REPORT.md and its PNGs into `out_dir`; returns the Markdown path."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stats = run.stats or {}
    history = [h for h in stats.get("history", []) if isinstance(h, dict)]
    game = stats.get("game", "?")
    lines = [f"# Training report: {game}", ""]

    started = stats.get("started_at") or (history[0]["time"] if history else None)
    updated = stats.get("updated_at")
    hours = (updated - started) / 3600 if started and updated else None
    lines += [
        "| figure | value |",
        "|---|---|",
        f"| data folder | `{run.data_dir}` |",
        f"| trainer step | {stats.get('step')} |",
        f"| model version | {stats.get('model_version')} |",
        f"| games in the database | {stats.get('games_in_db')} |",
        f"| wall-clock time | {hours * 60:.1f} min |" if hours is not None else "| wall-clock time | unknown |",
        f"| samples/s (last) | {stats.get('samples_per_s')} |",
        "",
    ]

    # Loss.
    if history:
        steps = [h["step"] for h in history]
        fig, ax = plt.subplots(figsize=(7, 3.5))
        for key in ("policy_loss", "value_loss", "total_loss"):
            ys = [h.get(key) for h in history]
            if any(y is not None for y in ys):
                ax.plot(steps, [float("nan") if y is None else y for y in ys], label=key.replace("_", " "))
        ax.set_xlabel("training step")
        ax.set_ylabel("loss")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "loss.png", dpi=110)
        plt.close(fig)
        lines += ["## Loss", "", "![loss against step](loss.png)", ""]
    else:
        lines += ["## Loss", "", "No training history yet.", ""]

    # Elo.
    ratings = [r for r in (run.evaluation or {}).get("ratings", []) if r.get("version") is not None]
    ratings.sort(key=lambda r: r["version"])
    if ratings:
        xs, ts = _step_to_time(history)
        vs = [r["version"] for r in ratings]
        elo = [r["elo"] for r in ratings]
        lo = [r["elo_lo"] for r in ratings]
        hi = [r["elo_hi"] for r in ratings]
        t0 = started or (ts[0] if ts else 0.0)
        mins = [(_interp(v, xs, ts) or t0) - t0 for v in vs]
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
        for ax, x, label in ((axes[0], vs, "training step"), (axes[1], [m / 60 for m in mins], "wall-clock minutes")):
            ax.fill_between(x, lo, hi, alpha=0.25, label="95% interval")
            ax.plot(x, elo, marker="o", ms=3, label="Elo (random = 0)")
            ax.set_xlabel(label)
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("Elo")
        axes[0].legend()
        fig.tight_layout()
        fig.savefig(out / "elo.png", dpi=110)
        plt.close(fig)
        best = max(ratings, key=lambda r: r["elo"])
        lines += [
            "## Elo",
            "",
            "![Elo against step and time](elo.png)",
            "",
            f"Highest rated snapshot: version {best['version']}, Elo {best['elo']:.0f} "
            f"[{best['elo_lo']:.0f}, {best['elo_hi']:.0f}] over {best.get('games', '?')} games.",
            "",
        ]
    else:
        lines += ["## Elo", "", "No ratings yet (evaluation.json is missing or empty).", ""]

    # Baselines.
    if run.matches:
        opponents = sorted({o for _, o in run.matches})
        fig, ax = plt.subplots(figsize=(7, 3.5))
        table = ["| opponent | latest version | W | D | L | score |", "|---|---|---|---|---|---|"]
        for o in opponents:
            pts = sorted((v, w) for (v, oo), w in run.matches.items() if oo == o)
            ax.plot(
                [v for v, _ in pts],
                [(w + d / 2) / max(w + d + lost, 1) for _, (w, d, lost) in pts],
                marker="o",
                ms=3,
                label=o,
            )
            v, (w, d, lost) = pts[-1]
            table.append(f"| {o} | {v} | {w} | {d} | {lost} | {(w + d / 2) / max(w + d + lost, 1):.3f} |")
        ax.set_xlabel("model version (step)")
        ax.set_ylabel("score (draw = ½)")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "baselines.png", dpi=110)
        plt.close(fig)
        lines += ["## Against baselines", "", "![score against each baseline](baselines.png)", "", *table, ""]
    else:
        lines += ["## Against baselines", "", "No evaluation games yet.", ""]

    # Perfect play.
    if run.accuracy:
        fig, ax = plt.subplots(figsize=(8.5, 3.8))
        table = ["| phase | mode | latest version | positions | error rate |", "|---|---|---|---|---|"]
        # One colour per set, solid for the search and dashed for the raw network, so
        # the two curves of a set read as a pair (the default cycle repeats after 10).
        phases = sorted({phase for phase, _ in run.accuracy})
        colour = {ph: plt.get_cmap("tab10")(i % 10) for i, ph in enumerate(phases)}
        for (phase, mode), pts in sorted(run.accuracy.items()):
            ax.plot(
                [p[0] for p in pts],
                [100 * p[1] for p in pts],
                marker="o",
                ms=3,
                color=colour[phase],
                linestyle="-" if mode == "search" else "--",
                label=f"{phase} ({mode})",
            )
            v, rate, n = pts[-1]
            table.append(f"| {phase} | {mode} | {v} | {n} | {100 * rate:.1f}% |")
        ax.set_xlabel("model version (step)")
        ax.set_ylabel("errors against perfect play (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
        fig.savefig(out / "accuracy.png", dpi=110)
        plt.close(fig)
        lines += ["## Perfect-play error rates", "", "![error rates](accuracy.png)", "", *table, ""]
    else:
        why = (
            "Othello is not solved, so it has no perfect-play benchmark."
            if game == "othello"
            else "No accuracy measurements yet."
        )
        lines += ["## Perfect-play error rates", "", why, ""]

    md = out / "REPORT.md"
    md.write_text("\n".join(lines))
    return md
