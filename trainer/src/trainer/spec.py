"""The game spec read from replay.db's `meta` table. Must match `GameSpec` in
engine-rust/engine-core/src/spec.rs and docs/CONTRACTS.md §5. The trainer knows no
game rules: shapes, action count and symmetries all come from here."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np


class SpecError(ValueError):
    """The spec JSON is malformed or inconsistent; the message says what."""


@dataclass(frozen=True)
class GameSpec:
    name: str
    display_name: str
    rows: int
    cols: int
    obs_channels: int
    obs_version: int
    num_actions: int
    max_game_length: int
    symmetry_names: tuple[str, ...]
    sym_cells: np.ndarray  # (S, H*W) int64 gather permutations, identity first
    sym_actions: np.ndarray  # (S, A) int64 gather permutations, identity first

    @property
    def obs_shape(self) -> tuple[int, int, int]:
        return (self.obs_channels, self.rows, self.cols)

    @property
    def obs_len(self) -> int:
        return self.obs_channels * self.rows * self.cols

    @property
    def num_cells(self) -> int:
        return self.rows * self.cols

    @classmethod
    def from_json(cls, text: str) -> GameSpec:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise SpecError(f"game spec is not valid JSON: {e}") from None
        if not isinstance(d, dict):
            raise SpecError("game spec must be a JSON object")
        need = ("name", "rows", "cols", "obs_channels", "obs_version", "num_actions", "symmetries")
        missing = [k for k in need if k not in d]
        if missing:
            raise SpecError(f"game spec lacks {', '.join(missing)}")
        rows, cols, chans, na = (int(d["rows"]), int(d["cols"]), int(d["obs_channels"]), int(d["num_actions"]))
        if min(rows, cols, chans, na) < 1:
            raise SpecError(
                f"game spec has a non-positive size: rows={rows} cols={cols} obs_channels={chans} num_actions={na}"
            )
        syms = d["symmetries"]
        if not isinstance(syms, list) or not syms:
            raise SpecError("game spec needs at least the identity symmetry")
        names, cells, actions = [], [], []
        for i, s in enumerate(syms):
            c = np.asarray(s.get("cells", []), dtype=np.int64)
            a = np.asarray(s.get("actions", []), dtype=np.int64)
            name = str(s.get("name", f"#{i}"))
            if sorted(c.tolist()) != list(range(rows * cols)):
                raise SpecError(f"symmetry {name!r}: cells is not a permutation of 0..{rows * cols - 1}")
            if sorted(a.tolist()) != list(range(na)):
                raise SpecError(f"symmetry {name!r}: actions is not a permutation of 0..{na - 1}")
            names.append(name)
            cells.append(c)
            actions.append(a)
        if not (np.array_equal(cells[0], np.arange(rows * cols)) and np.array_equal(actions[0], np.arange(na))):
            raise SpecError("the first symmetry must be the identity")
        return cls(
            name=str(d["name"]),
            display_name=str(d.get("display_name", d["name"])),
            rows=rows,
            cols=cols,
            obs_channels=chans,
            obs_version=int(d["obs_version"]),
            num_actions=na,
            max_game_length=int(d.get("max_game_length", 0)),
            symmetry_names=tuple(names),
            sym_cells=np.stack(cells),
            sym_actions=np.stack(actions),
        )
