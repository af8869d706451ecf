#!/usr/bin/env python3
"""Writes an untrained model of the trainer's default (or a chosen) size for a game, as
a self-contained ONNX file with the docs/CONTRACTS.md §3 metadata, for benchmarks.

The game spec comes from a replay.db (the actor writes it, §5): pass --db, or let the
script make one with `actor selfplay --no-model --max-games 1` in a temp folder.

    .venv/bin/python scripts/bench_make_model.py --game connect4 --out /tmp/c4.onnx
    .venv/bin/python scripts/bench_make_model.py --game tictactoe --out m.onnx --size b2c32 --step 7
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

# The trainer package, installed into .venv by scripts/setup.sh.
from trainer.config import build_config
from trainer.export import export_onnx
from trainer.model import arch_name, build_model
from trainer.spec import GameSpec

ROOT = Path(__file__).resolve().parent.parent


def spec_from_db(db: Path) -> GameSpec:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        (text,) = con.execute("SELECT value FROM meta WHERE key = 'spec'").fetchone()
    finally:
        con.close()
    return GameSpec.from_json(text)


def spec_from_actor(game: str, actor: Path) -> GameSpec:
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(
            [
                str(actor),
                "selfplay",
                "--no-model",
                "--game",
                game,
                "--max-games",
                "1",
                "--data-dir",
                d,
                "--log-interval",
                "60",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return spec_from_db(Path(d) / "replay.db")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--game", required=True)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--size", help="a key of trainer.model.MODEL_SIZES (default: the trainer's per-game default)")
    ap.add_argument("--step", type=int, default=1, help="cartridge.step written into the file")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--db", type=Path, help="replay.db to read the game spec from")
    ap.add_argument("--actor", type=Path, default=ROOT / "target/release/actor")
    a = ap.parse_args()

    spec = spec_from_db(a.db) if a.db else spec_from_actor(a.game, a.actor)
    if spec.name != a.game:
        sys.exit(f"{a.db} holds {spec.name}, not {a.game}")
    size = a.size or build_config(a.game, {}).model
    torch.manual_seed(a.seed)
    model = build_model(size, spec.obs_shape, spec.num_actions)
    data = export_onnx(model, spec, arch_name(size), a.step)
    tmp = a.out.with_name(f".{a.out.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(a.out)
    print(f"{a.out}: {spec.name} {arch_name(size)} step {a.step}, {len(data)} bytes")


if __name__ == "__main__":
    main()
