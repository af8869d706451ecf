"""How closely the int8 models of published fp32 models agree with them: plain top-move
agreement and near-top agreement at several margins (the trainer's check uses one,
`int8_tie_margin`), with the trainer's own quantizer and comparison.

    .venv/bin/python scripts/int8_agreement.py --game othello --db data/replay.db data/models/model_step_*.onnx

Calibrates on 1024 replay positions (random symmetries) and compares on 2048 others, as
training does; prints one line per model.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
from trainer.data import ReplayDB
from trainer.quantize import compare, quantize_int8

MARGINS = (0.005, 0.01, 0.02, 0.05)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", help="fp32 model files (published .onnx)")
    p.add_argument("--game", required=True)
    p.add_argument("--db", required=True, help="a replay.db of the game")
    p.add_argument("--seed", type=int, default=0, help="seed of the position sampling (default 0)")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    db = ReplayDB(args.db, args.game)
    rng = np.random.default_rng(args.seed)
    calibration = db.sample(1024, rng, augment=True).obs
    held_out = db.sample(2048, rng, augment=False).obs
    db.close()
    for path in args.models:
        fp32 = Path(path).read_bytes()
        int8 = quantize_int8(fp32, calibration)
        checks = [compare(fp32, int8, held_out, m) for m in MARGINS]
        near = ", ".join(f"near@{m:g} {c.near_top_agreement:.2%}" for m, c in zip(MARGINS, checks, strict=True))
        c = checks[0]
        print(
            f"{Path(path).name}: plain {c.top_move_agreement:.2%}, {near}, largest gap {c.worst_gap:.4f}, "
            f"mean |value difference| {c.value_mae:.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
