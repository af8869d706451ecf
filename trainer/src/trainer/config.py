"""The one training config: a dataclass with a comment per field, per-game defaults
from the `[trainer]` table of `games/<name>/profile.toml`, TOML file overrides,
`--set key=value` overrides. Printed at start, saved in every checkpoint (so a resumed
run keeps the settings it had, live changes included)."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

# Where the game profiles are: this variable, else the games/ folder of the checkout
# this file sits in (trainer/src/trainer/config.py -> the repository root). An installed,
# non-editable package (the Docker image) has no checkout around it and sets the variable.
GAMES_DIR_ENV = "CARTRIDGE_GAMES_DIR"
CHECKOUT_GAMES_DIR = Path(__file__).resolve().parents[3] / "games"


@dataclass
class TrainConfig:
    # --- run ---
    game: str = "tictactoe"  # registry name; must equal meta.game of replay.db
    data_dir: str = "data"  # the data folder shared with the actor (docs/CONTRACTS.md §4)
    seed: int = 1337  # seeds torch, numpy (sampling) and the model init
    device: str = "auto"  # auto | cpu | cuda; auto picks cuda when available
    threads: int = 1  # torch intra-op threads; 1 leaves the other core to the actor
    max_steps: int = 0  # stop after this many steps (0 = train until stopped)

    # --- model ---
    model: str = "b2c32"  # "transformer" (with n_layer), or a preset of model.MODEL_SIZES: resnet "bXcY", earlier "tN"
    n_layer: int = 0  # model=transformer: layers, 1 to 16; width 64·n_layer, 4 heads (NanoZero). 0 for the presets

    # --- optimisation ---
    batch_size: int = 256  # positions per step (live)
    learning_rate: float = 2e-3  # peak LR after warmup (live)
    lr_schedule: str = (
        "cosine"  # after warmup: cosine (smooth, to the floor) | step (x lr_step_gamma every lr_step_size)
    )
    min_lr_ratio: float = 0.1  # the LR never goes below learning_rate * min_lr_ratio (both schedules)
    warmup_steps: int = 200  # linear warmup from ~0 to learning_rate
    decay_steps: int = 100_000  # cosine length after warmup; the LR stays at the floor after it
    lr_step_size: int = 20_000  # step schedule: steps between decays, counted after warmup
    lr_step_gamma: float = 0.3  # step schedule: factor applied at each decay
    weight_decay: float = 1e-4  # AdamW decoupled weight decay (weights only, not norms/biases)
    grad_clip: float = 1.0  # max global grad norm (0 = no clipping)
    grad_accum_steps: int = 1  # micro-batches per step: batch_size is split into this many, gradients summed
    value_loss_weight: float = 1.0  # total = policy CE + value_loss_weight * value MSE
    bf16: bool = True  # bf16 autocast for forward and loss on CUDA (no loss scaling needed); CPU stays fp32
    compile: bool = False  # torch.compile the training forward; exports always use the plain module

    # --- replay data ---
    replay_window: int = 50_000  # keep the newest N positions; older ones are deleted
    min_positions: int = 2_000  # no training before the DB holds this many positions
    sample_ratio: float = 8.0  # cap on samples drawn / positions added since start (0 = no cap) (live)
    augment: bool = True  # apply a random symmetry from the game spec to every sample
    trim_interval: int = 100  # steps between replay window trims
    trim_batch: int = 5_000  # rows per DELETE, so the actor never waits long on the write lock
    wait_timeout_s: float = 5.0  # fallback poll when no file event arrives while waiting for data

    # --- publishing / checkpoints / stats ---
    publish_interval: int = 100  # steps between ONNX exports to models/latest.onnx (live)
    keep_snapshots: int = 10  # most recent model_step_*.onnx kept
    milestone_interval: int = 5_000  # snapshots at multiples of this are kept for good
    onnx_exporter: str = "legacy"  # legacy (TorchScript, ~0.1 s) | dynamo (torch.export, ~1 s per publish)
    export_tolerance: float = 1e-3  # max |torch - onnxruntime| accepted before publishing
    quantize: str = "int8"  # int8: also publish models/latest.int8.onnx (static int8, checked) | off
    int8_calibration_positions: int = 1024  # replay positions that calibrate the int8 activation ranges
    int8_check_positions: int = 2048  # other replay positions the int8 model is compared on
    int8_min_agreement: float = 0.99  # least share of positions where int8's top move is near fp32's top
    int8_tie_margin: float = 0.02  # "near": fp32 rates int8's top move within this probability of its own
    int8_max_value_error: float = 0.05  # largest mean |value_int8 - value_fp32|
    checkpoint_interval: int = 500  # steps between full checkpoints
    keep_checkpoints: int = 3  # most recent checkpoints kept (older ones deleted)
    stats_interval: int = 20  # steps between stats.json updates and history entries
    history_max: int = 1000  # stats.json history bound (docs/CONTRACTS.md §4)

    # --- control API (docs/CONTRACTS.md §7) ---
    control_host: str = "127.0.0.1"  # bind address of the control API
    control_port: int = 8081  # 0 disables the control API


# Settings the control API may change while training runs, with their allowed range.
LIVE_SETTINGS: dict[str, tuple[type, float, float]] = {
    "learning_rate": (float, 1e-6, 1.0),
    "batch_size": (int, 1, 65_536),
    "sample_ratio": (float, 0.0, 1_000.0),
    "publish_interval": (int, 1, 1_000_000),
}

# Keys about this invocation, not the run: a resumed run takes them from the command
# line (or the defaults), never from the checkpoint, so `--max-steps 300` once does not
# stop every later restart at step 300.
INVOCATION_KEYS = ("data_dir", "device", "threads", "max_steps", "control_host", "control_port")

# Keys that fix the shape of a run: a checkpoint written under other values cannot resume.
RUN_IDENTITY_KEYS = ("game", "model", "n_layer")


class ConfigError(ValueError):
    """A config key or value that cannot be used; the message says which and why."""


def field_types() -> dict[str, type]:
    return {f.name: type(f.default) for f in fields(TrainConfig)}


def coerce(key: str, value: Any) -> Any:
    """Convert a TOML or command-line value to the field's type, or raise ConfigError."""
    types = field_types()
    if key not in types:
        raise ConfigError(f"unknown config key {key!r}; known keys: {', '.join(types)}")
    t = types[key]
    try:
        if t is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
                return True
            if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if t is int:
            if isinstance(value, bool):
                raise ValueError(value)
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError(value)
                return int(value)
            return int(str(value).replace("_", ""))
        if t is float:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        return str(value)
    except ValueError:
        raise ConfigError(f"config key {key!r} needs a {t.__name__}, got {value!r}") from None


def parse_set_args(items: list[str]) -> dict[str, Any]:
    """`["batch_size=512", "augment=false"]` -> `{"batch_size": 512, "augment": False}`."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        key = key.strip()
        out[key] = coerce(key, value.strip())
    return out


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a flat TOML file of config keys (sections are flattened, so `[replay]` may
    group keys for readability)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist")
    try:
        raw = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {p} is not valid TOML: {e}") from None
    flat: dict[str, Any] = {}
    for k, v in raw.items():
        if isinstance(v, dict):
            flat.update(v)
        else:
            flat[k] = v
    return {k: coerce(k, v) for k, v in flat.items()}


def games_dir() -> Path:
    """The folder of game profiles: `$CARTRIDGE_GAMES_DIR` if set, else the checkout's
    games/. A variable that names no folder is an error, not a reason to fall back: the
    user asked for that folder."""
    env = os.environ.get(GAMES_DIR_ENV)
    if env:
        if not Path(env).is_dir():
            raise ConfigError(
                f"{GAMES_DIR_ENV}={env} is not a folder; point it at the games/ folder of a "
                f"Cartridge checkout, or unset it to use {CHECKOUT_GAMES_DIR}"
            )
        return Path(env)
    if not CHECKOUT_GAMES_DIR.is_dir():
        raise ConfigError(
            f"cannot find the game profiles: {GAMES_DIR_ENV} is not set and {CHECKOUT_GAMES_DIR} "
            f"does not exist; set {GAMES_DIR_ENV} to the games/ folder of a Cartridge checkout"
        )
    return CHECKOUT_GAMES_DIR


def known_games() -> list[str]:
    """The games: the folders of games/ that hold a profile.toml, sorted by name."""
    root = games_dir()
    return sorted(d.name for d in root.iterdir() if (d / "profile.toml").is_file())


def profile_path(game: str) -> Path:
    """games/<game>/profile.toml, or a ConfigError naming the games there are."""
    root = games_dir()
    games = known_games()
    if game not in games:
        raise ConfigError(
            f"unknown game {game!r}; known games: {', '.join(games) or 'none'} "
            f"(the folders of {root} with a profile.toml)"
        )
    return root / game / "profile.toml"


def game_defaults(game: str) -> dict[str, Any]:
    """The `[trainer]` table of games/<game>/profile.toml, checked and converted to the
    fields' types: what differs for this game from the dataclass defaults."""
    path = profile_path(game)
    try:
        profile = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"game profile {path} cannot be read: {e}") from None
    name = profile.get("name", game)
    if name != game:
        raise ConfigError(f"game profile {path} says name = {name!r}, but its folder is {game!r}")
    table = profile.get("trainer", {})
    if not isinstance(table, dict):
        raise ConfigError(f"game profile {path}: `trainer` must be a table ([trainer]), got {table!r}")
    if "game" in table:
        raise ConfigError(f"game profile {path}, [trainer]: `game` cannot be set here; the folder names the game")
    try:
        return {k: coerce(k, v) for k, v in table.items()}
    except ConfigError as e:
        raise ConfigError(f"game profile {path}, [trainer]: {e}") from None


def validate(cfg: TrainConfig) -> TrainConfig:
    from .model import resolve  # local import: model pulls in torch

    try:
        resolve(cfg.model, cfg.n_layer)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if cfg.onnx_exporter not in ("legacy", "dynamo"):
        raise ConfigError(f"onnx_exporter must be legacy or dynamo, got {cfg.onnx_exporter!r}")
    if cfg.quantize not in ("int8", "off"):
        raise ConfigError(f"quantize must be int8 or off, got {cfg.quantize!r}")
    if not 0.0 <= cfg.int8_min_agreement <= 1.0:
        raise ConfigError(f"int8_min_agreement must be in [0, 1], got {cfg.int8_min_agreement}")
    if not 0.0 <= cfg.int8_tie_margin <= 1.0:
        raise ConfigError(f"int8_tie_margin must be in [0, 1], got {cfg.int8_tie_margin}")
    if not 0.0 <= cfg.int8_max_value_error <= 2.0:
        raise ConfigError(f"int8_max_value_error must be in [0, 2], got {cfg.int8_max_value_error}")
    if cfg.device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, got {cfg.device!r}")
    if cfg.lr_schedule not in ("cosine", "step"):
        raise ConfigError(f"lr_schedule must be cosine or step, got {cfg.lr_schedule!r}")
    if not 0.0 < cfg.lr_step_gamma <= 1.0:
        raise ConfigError(f"lr_step_gamma must be in (0, 1], got {cfg.lr_step_gamma}")
    if not 1 <= cfg.grad_accum_steps <= 1024:
        raise ConfigError(f"grad_accum_steps must be in [1, 1024], got {cfg.grad_accum_steps}")
    for key, (_, lo, hi) in LIVE_SETTINGS.items():
        v = getattr(cfg, key)
        if not lo <= v <= hi:
            raise ConfigError(f"{key} must be in [{lo}, {hi}], got {v}")
    positive = (
        "threads",
        "lr_step_size",
        "replay_window",
        "trim_interval",
        "trim_batch",
        "keep_snapshots",
        "milestone_interval",
        "int8_calibration_positions",
        "int8_check_positions",
        "checkpoint_interval",
        "keep_checkpoints",
        "stats_interval",
        "history_max",
    )
    for key in positive:
        if getattr(cfg, key) < 1:
            raise ConfigError(f"{key} must be at least 1, got {getattr(cfg, key)}")
    if cfg.min_positions < 1 or cfg.min_positions > cfg.replay_window:
        raise ConfigError(f"min_positions must be in [1, replay_window={cfg.replay_window}], got {cfg.min_positions}")
    if cfg.max_steps < 0 or cfg.warmup_steps < 0 or cfg.decay_steps < 0:
        raise ConfigError("max_steps, warmup_steps and decay_steps must be >= 0")
    if not 0.0 <= cfg.min_lr_ratio <= 1.0:
        raise ConfigError(f"min_lr_ratio must be in [0, 1], got {cfg.min_lr_ratio}")
    if not 0 <= cfg.control_port <= 65535:
        raise ConfigError(f"control_port must be in [0, 65535], got {cfg.control_port}")
    return cfg


def build_config(game: str, overrides: dict[str, Any], base: dict[str, Any] | None = None) -> TrainConfig:
    """Defaults < the game profile's [trainer] table (or `base`, a resumed checkpoint's
    config) < overrides (a --config file, then --set and the flags)."""
    values: dict[str, Any] = {}
    if base is None:
        values.update(game_defaults(game))
    else:
        profile_path(game)  # the game must still exist; its profile's defaults are not used
        known = field_types()
        # A checkpoint from an older trainer may lack newer keys (dataclass default
        # then) or carry removed ones (dropped).
        values.update({k: v for k, v in base.items() if k in known and k not in INVOCATION_KEYS})
    values.update(overrides)
    values["game"] = game
    return validate(TrainConfig(**values))


def to_dict(cfg: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def format_config(cfg: TrainConfig) -> str:
    width = max(len(f.name) for f in fields(cfg))
    return "\n".join(f"  {f.name:<{width}} = {getattr(cfg, f.name)!r}" for f in fields(cfg))
