"""`trainer train --data-dir data --game tictactoe [--config f.toml] [--set key=value ...]`"""

from __future__ import annotations

import argparse
import logging
import sys

from .config import ConfigError, TrainConfig, known_games, load_toml, parse_set_args

TRANSFORMER = "transformer"  # model.TRANSFORMER, without importing torch for --help


def games_help() -> str:
    """The known games for --help; the games folder is read here, not at import, and a
    missing one makes `trainer report` no less usable."""
    try:
        return "one of " + ", ".join(known_games()) + " (the folders of games/ with a profile.toml)"
    except ConfigError as e:
        return f"a folder of games/ with a profile.toml ({e})"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="trainer", description="Cartridge trainer (docs/CONTRACTS.md)")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser(
        "train",
        help="train on the actor's replay.db and publish ONNX models",
        description="Settings: per-game defaults ([trainer] of games/GAME/profile.toml) < --config "
        "TOML < --set and the flags "
        "below. When a checkpoint is resumed, its saved settings replace "
        "the per-game defaults.",
    )
    t.add_argument("--data-dir", default="data", help="data folder shared with the actor (default: data)")
    t.add_argument("--game", required=True, help=f"the game to train: {games_help()}")
    t.add_argument("--config", help="TOML file of config keys")
    t.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config key (repeatable), e.g. --set batch_size=512",
    )
    # Shortcuts for common keys; None = not given, so they never mask a resumed setting.
    t.add_argument("--control-port", type=int, help="control API port (default 8081; 0 disables)")
    t.add_argument("--control-host", help="control API bind address (default 127.0.0.1)")
    t.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default auto")
    t.add_argument("--threads", type=int, help="torch intra-op threads (default 1)")
    t.add_argument(
        "--model",
        help="the network: transformer (with --n-layer), or a ResNet preset bXcY (X blocks of Y channels: "
        "b2c32, b4c32, b4c64, b6c64, b10c128), or an earlier transformer preset t2, t4, t6 (default per game)",
    )
    t.add_argument(
        "--n-layer",
        type=int,
        metavar="L",
        help="with --model transformer: layers, 1 to 16 (the one size slider: width 64*L, 4 heads; "
        "L up to 4 suits a CPU)",
    )
    t.add_argument("--max-steps", type=int, help="stop after this many steps (default: run until stopped)")
    r = sub.add_parser(
        "report",
        help="write a Markdown report with PNG plots of a data folder's run",
        description="Loss, Elo against step and wall-clock time, scores against the "
        "baselines and perfect-play error rates, from stats.json, "
        "evaluation.json and eval.db.",
    )
    r.add_argument("data_dir", help="the run's data folder")
    r.add_argument("--out", help="output folder (default: DATA_DIR/report)")
    q = sub.add_parser(
        "quantize",
        help="write the checked int8 model of an ONNX model file (what training publishes as latest.int8.onnx)",
        description="Static int8 quantization (QDQ, u8 activations, per-channel s8 weights, fp32 heads), "
        "calibrated on positions of a replay.db of the model's game and compared with the fp32 model on "
        "other positions of it. Writes MODEL.int8.onnx beside MODEL unless --out is given; exits 1 "
        "without writing when the check fails.",
    )
    q.add_argument("model", help="the fp32 model file (a published .onnx)")
    q.add_argument("--db", required=True, help="a replay.db of the model's game")
    q.add_argument("--out", help="output file (default: MODEL with .int8.onnx)")
    d = TrainConfig()  # the trainer's own bar, so the command checks what training publishes
    q.add_argument(
        "--calibration-positions", type=int, default=d.int8_calibration_positions, help="default %(default)s"
    )
    q.add_argument("--check-positions", type=int, default=d.int8_check_positions, help="default %(default)s")
    q.add_argument(
        "--min-agreement",
        type=float,
        default=d.int8_min_agreement,
        help="least share of positions where the int8 top move is one the fp32 policy rates within "
        "--tie-margin of its own top move (default %(default)s)",
    )
    q.add_argument(
        "--tie-margin",
        type=float,
        default=d.int8_tie_margin,
        help="probability margin of a near tie (default %(default)s)",
    )
    q.add_argument(
        "--max-value-error",
        type=float,
        default=d.int8_max_value_error,
        help="largest mean |value difference| (default %(default)s)",
    )
    q.add_argument("--seed", type=int, default=1, help="seed of the position sampling (default 1)")
    return p


def quantize_command(args: argparse.Namespace) -> int:
    """`trainer quantize`: the int8 model of one file, with the trainer's check."""
    from pathlib import Path

    import numpy as np
    import onnx

    from .data import ReplayDB, ReplayError
    from .fsutil import atomic_write
    from .quantize import QuantizeError, int8_name, quantize_checked

    log = logging.getLogger("trainer")
    src = Path(args.model)
    out = Path(args.out) if args.out else src.with_name(int8_name(src.name))
    try:
        fp32 = src.read_bytes()
        game = {p.key: p.value for p in onnx.load_from_string(fp32).metadata_props}.get("cartridge.game")
    except Exception as e:
        log.error("cannot read the model %s: %s", src, e)
        return 2
    if game is None:
        log.error("%s has no cartridge.game metadata: not a published model (docs/CONTRACTS.md §3)", src)
        return 2
    try:
        db = ReplayDB(args.db, game)
        rng = np.random.default_rng(args.seed)
        calibration = db.sample(args.calibration_positions, rng, augment=True).obs
        held_out = db.sample(args.check_positions, rng, augment=False).obs
        db.close()
        int8, check = quantize_checked(fp32, calibration, held_out, args.tie_margin)
    except (ReplayError, QuantizeError) as e:
        log.error("%s", e)
        return 2
    print(f"{src}: {check.describe()} ({check.seconds:.2f} s)")
    if not check.passes(args.min_agreement, args.max_value_error):
        log.error(
            "not written: needs near-top agreement >= %.2f%% and value difference <= %g",
            100 * args.min_agreement,
            args.max_value_error,
        )
        return 1
    atomic_write(out, int8)
    print(f"wrote {out} ({len(int8)} bytes)")
    return 0


def setup_logging():
    from rich.console import Console
    from rich.logging import RichHandler

    console = Console(stderr=True)
    if console.is_terminal:
        handler = RichHandler(console=console, show_path=False, log_time_format="%H:%M:%S")
        fmt = "%(message)s"
    else:
        handler = logging.StreamHandler(sys.stderr)
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.INFO, format=fmt, handlers=[handler], force=True)
    return console


def train_overrides(args: argparse.Namespace) -> dict:
    """The settings `trainer train` was given: --config, then --set, then the flags."""
    overrides = load_toml(args.config) if args.config else {}
    overrides.update(parse_set_args(args.set))
    flags = {
        "control_port": args.control_port,
        "control_host": args.control_host,
        "device": args.device,
        "threads": args.threads,
        "model": args.model,
        "n_layer": args.n_layer,
        "max_steps": args.max_steps,
    }
    overrides.update({k: v for k, v in flags.items() if v is not None})
    if args.model is not None and args.model != TRANSFORMER and "n_layer" not in overrides:
        # --model names the whole architecture: a preset drops an n_layer the profile set.
        overrides["n_layer"] = 0
    return overrides


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = setup_logging()
    log = logging.getLogger("trainer")
    if args.command == "report":
        from .report import ReportError, load_run, write_report

        try:
            md = write_report(load_run(args.data_dir), args.out or f"{args.data_dir}/report")
        except ReportError as e:
            log.error("%s", e)
            return 2
        print(md)
        return 0
    if args.command == "quantize":
        return quantize_command(args)
    from .checkpoint import CheckpointError
    from .data import ReplayError
    from .train import Trainer

    try:
        overrides = train_overrides(args)
        if "game" in overrides and overrides["game"] != args.game:
            raise ConfigError(f"the config says game={overrides['game']!r} but --game is {args.game!r}")
        if "data_dir" in overrides and overrides["data_dir"] != args.data_dir:
            log.warning("data_dir in the config is ignored; --data-dir %s is used", args.data_dir)
        overrides.pop("data_dir", None)
        overrides.pop("game", None)
        return Trainer(args.game, args.data_dir, overrides, console=console).run()
    except (ConfigError, ReplayError, CheckpointError) as e:
        log.error("%s", e)
        return 2
    except KeyboardInterrupt:
        log.warning("interrupted twice: exiting without a final checkpoint")
        return 130


if __name__ == "__main__":
    sys.exit(main())
