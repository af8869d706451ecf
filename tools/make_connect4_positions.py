#!/usr/bin/env python3
"""Builds games/connect4/positions.json: Connect4 benchmark positions whose every
move is labelled win/draw/loss by a perfect solver (the PyPI package `bitbully`).

    .venv/bin/pip install bitbully
    .venv/bin/python tools/make_connect4_positions.py [--per-set 200] [--seed 1]

The sets follow the classes of Pascal Pons' solver benchmark (also used by
AlphaZero.jl's Connect Four benchmark): the phase by the number of moves already
played, the difficulty by the number of moves left until the end under perfect play.

| set             | moves played | moves left |
|-----------------|--------------|------------|
| opening-easy    | <= 14        | < 14       |
| opening-medium  | <= 14        | 14 .. 27   |
| opening-hard    | <= 14        | >= 28      |
| middle-easy     | 15 .. 28     | < 14       |
| middle-medium   | 15 .. 28     | 14 .. 27   |
| end-easy        | > 28         | < 14       |

(The other combinations cannot happen: 42 squares in all.) Positions come from
uniformly random games, like the benchmark's; for the middle and end sets the random
games skip moves that complete a four (when another move exists), since uniformly
random games rarely last past 28 moves. Two choices of ours: a position must not
be over and must have at least one move whose value is worse than the best move's
(otherwise no answer could be an error, and it would only dilute the rate); and each
position appears once (exact move string).

Values are from the side to move: 1 win, 0 draw, -1 loss, for each column 0..6 (null
when the column is full). The actor counts an error when the chosen column's value is
below the best column's (actor/src/eval/accuracy.rs).
"""

import argparse
import json
import random
import sys
import time
from pathlib import Path

import bitbully as bb

SETS = [
    # name, (min played, max played), (min left, max left)
    ("opening-easy", (0, 14), (0, 13)),
    ("opening-medium", (0, 14), (14, 27)),
    ("opening-hard", (0, 14), (28, 42)),
    ("middle-easy", (15, 28), (0, 13)),
    ("middle-medium", (15, 28), (14, 27)),
    ("end-easy", (29, 41), (0, 13)),
]


def random_position(rng, plies, avoid_fours):
    """A random game cut at `plies` moves, or None if it ended before. With
    `avoid_fours`, a move that would complete a four is played only when every move
    does; otherwise moves are uniform."""
    board = bb.Board()
    moves = []
    for _ in range(plies):
        if board.is_game_over():
            return None
        legal = board.legal_moves()
        if avoid_fours:
            quiet = [c for c in legal if not board.play_on_copy(c).has_win()]
            legal = quiet or legal
        col = rng.choice(legal)
        board.play(col)
        moves.append(col)
    if board.is_game_over():
        return None
    return board, moves


def sign(x):
    return (x > 0) - (x < 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-set", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "games/connect4/positions.json")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    agent = bb.BitBully()
    sets = {name: [] for name, _, _ in SETS}
    seen = set()
    t0 = time.time()
    tries = 0
    while any(len(v) < args.per_set for v in sets.values()):
        tries += 1
        # Aim at a set that still needs positions, then draw a ply count for it.
        name, (lo, hi), _ = rng.choice([s for s in SETS if len(sets[s[0]]) < args.per_set])
        got = random_position(rng, rng.randint(lo, hi), avoid_fours=lo > 14)
        if got is None:
            continue
        board, moves = got
        key = "".join(str(m + 1) for m in moves)
        if key in seen:
            continue
        scores = agent.score_all_moves(board)
        best = max(scores.values())
        wdl = {c: sign(s) for c, s in scores.items()}
        if min(wdl.values()) == max(wdl.values()):
            continue
        left = agent.score_to_moves_left(best, board)
        played = len(moves)
        for n, (plo, phi), (llo, lhi) in SETS:
            if plo <= played <= phi and llo <= left <= lhi and len(sets[n]) < args.per_set:
                seen.add(key)
                sets[n].append(
                    {
                        "moves": key,
                        "moves_left": left,
                        "values": [wdl.get(c) for c in range(7)],
                        "scores": [scores.get(c) for c in range(7)],
                    }
                )
                break
        if tries % 2000 == 0:
            print(
                f"{tries} tries, {time.time() - t0:.0f} s: " + ", ".join(f"{k} {len(v)}" for k, v in sets.items()),
                file=sys.stderr,
            )

    out = {
        "source": f"tools/make_connect4_positions.py (bitbully {bb.__version__}, seed {args.seed})",
        "notation": (
            "moves: 1-based columns from the start (docs/CONTRACTS.md §1); values per column 0..6 "
            "from the side to move: 1 win, 0 draw, -1 loss, null full; scores: the solver's (Pons) scores"
        ),
        "sets": [{"phase": name, "positions": sets[name]} for name, _, _ in SETS],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # One position per line: small diffs, still plain JSON.
    with open(args.out, "w") as f:
        f.write("{\n")
        f.write(f'"source": {json.dumps(out["source"])},\n"notation": {json.dumps(out["notation"])},\n"sets": [\n')
        for i, s in enumerate(out["sets"]):
            f.write(f'{{"phase": {json.dumps(s["phase"])}, "positions": [\n')
            f.write(",\n".join(json.dumps(p, separators=(",", ":")) for p in s["positions"]))
            f.write("\n]}" + ("," if i + 1 < len(out["sets"]) else "") + "\n")
        f.write("]}\n")
    print(
        f"wrote {args.out} ({sum(len(v) for v in sets.values())} positions, {tries} tries, {time.time() - t0:.0f} s)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
