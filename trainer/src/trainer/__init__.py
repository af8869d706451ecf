"""Cartridge trainer: learns policy/value nets from the actor's replay.db and publishes
ONNX models (docs/CONTRACTS.md §3–§5, §7)."""
