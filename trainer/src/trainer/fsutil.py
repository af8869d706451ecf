"""Atomic file replacement: readers (the actor, the web app) see the old file or the
new one, never half of one, even across a crash (docs/CONTRACTS.md §4)."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | Path, data: bytes, tmp_name: str | None = None) -> None:
    """Write `data` to a temp file in the same folder, flush and fsync it, os.replace it
    onto `path`, then fsync the folder so the rename itself survives a power cut."""
    path = Path(path)
    tmp = path.with_name(tmp_name or f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
