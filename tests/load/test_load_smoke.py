"""A short run of the HTTP load test (the full 60 s, 32-client run is in
docs/BENCHMARKS.md): concurrent /api/move and /api/health against a real actor that is
self-playing at the same time, with no errors and every answer legal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_load_smoke():
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests/load/load_test.py"),
            "--start-actor",
            "--model",
            str(ROOT / "actor/tests/fixtures/tictactoe_step100.onnx"),
            "--clients",
            "16",
            "--duration",
            "8",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    print(report)
    assert report["errors"] == 0
    assert report["model_version"] == 100, "the moves were searched with the model"
    assert report["move"]["requests"] > 50 and report["health"]["requests"] > 50
    # Play requests are capped (--max-concurrent-searches): self-play kept going meanwhile.
    assert report["selfplay_games_per_min"] > 0
