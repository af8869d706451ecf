"""Shares the fault suite's helpers (which load the end-to-end suite's process helpers)."""

import importlib.util
import sys
from pathlib import Path

_path = Path(__file__).resolve().parents[1] / "faults" / "conftest.py"
_spec = importlib.util.spec_from_file_location("faults_helpers", _path)
helpers = importlib.util.module_from_spec(_spec)
sys.modules["faults_helpers"] = helpers
_spec.loader.exec_module(helpers)
procs = helpers.procs  # the fixture
