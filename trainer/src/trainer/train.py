"""The training loop: wait for data, sample, step, publish, checkpoint, repeat.

Read top to bottom: `Trainer.__init__` resolves the config (resuming a checkpoint's
settings when there is one), `run()` opens the database once the actor has made it,
builds or restores the model, then loops until stopped (SIGINT/SIGTERM, max_steps),
checkpointing on the way out.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .api import ApiServer, Control
from .checkpoint import CheckpointError, load_latest, restore_rng, rng_state, save_checkpoint
from .config import RUN_IDENTITY_KEYS, ConfigError, TrainConfig, build_config, format_config, to_dict
from .data import DB_NAME, DataWatcher, ReplayDB, ReplayError, open_when_ready
from .export import Int8Inputs, Publisher
from .losses import alphazero_loss
from .model import arch_name, build_model, count_params, model_config_dict
from .optim import lr_at, make_optimizer, set_lr
from .stats import Stats

log = logging.getLogger(__name__)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda asked for, but torch sees no CUDA device; use --device cpu or auto")
    return torch.device(name)


def resolve_config(game: str, data_dir: str, overrides: dict[str, Any]) -> tuple[TrainConfig, tuple | None]:
    """Config for this run plus the checkpoint to resume (payload, path) or None.

    A fresh run: defaults < the game profile's [trainer] table < overrides. A resumed run: the
    checkpoint's config (live changes included) < overrides, so a restart keeps its
    settings unless told otherwise; the game and the architecture (model, n_layer) cannot change."""
    ckpt = load_latest(Path(data_dir) / "checkpoints")
    overrides = {**overrides, "data_dir": data_dir}
    if ckpt is None:
        return build_config(game, overrides), None
    payload, path = ckpt
    saved = payload["config"]
    if saved.get("game") != game:
        raise CheckpointError(
            f"{path} belongs to a {saved.get('game')!r} run but --game is {game!r}; a data folder belongs to one game"
        )
    defaults = TrainConfig()
    for key in RUN_IDENTITY_KEYS:
        # A checkpoint from before a key existed ran with its default (n_layer 0: a preset).
        was = saved.get(key, getattr(defaults, key))
        if key in overrides and overrides[key] != was:
            raise CheckpointError(
                f"{path} was trained with {key}={was!r} ({saved_arch(saved)}) but {key}={overrides[key]!r} "
                f"was asked for; a run keeps its architecture: use a new --data-dir for a new {key}, or "
                f"drop the override to resume"
            )
    return build_config(game, overrides, base=saved), ckpt


def saved_arch(saved: dict[str, Any]) -> str:
    """The architecture a checkpoint's config names, for messages."""
    try:
        return arch_name(saved.get("model", TrainConfig.model), saved.get("n_layer", 0))
    except (ValueError, TypeError):
        return f"model={saved.get('model')!r}, n_layer={saved.get('n_layer')!r}"


class Trainer:
    def __init__(self, game: str, data_dir: str, overrides: dict[str, Any], console=None):
        self.cfg, self._resume = resolve_config(game, data_dir, overrides)
        self.data_dir = Path(self.cfg.data_dir)
        self.console = console
        self.stop_requested = threading.Event()
        self.force_exit = False
        self.device = pick_device(self.cfg.device)

        self.stats = Stats(self.data_dir, game, self.cfg.history_max)
        self.watcher = DataWatcher(self.data_dir)
        self.control = Control(self.cfg, self.stats, wake=self.watcher.wake)
        self.api: ApiServer | None = None

        self.db: ReplayDB | None = None
        self.model: torch.nn.Module | None = None  # the plain module: checkpoints and exports use it
        self.train_forward = None  # what the training step calls: the model, or torch.compile of it
        self.use_bf16 = False
        self.optimizer: torch.optim.Optimizer | None = None
        self.publisher: Publisher | None = None
        self.np_rng = np.random.default_rng(self.cfg.seed)
        # Its own stream, so quantizing or not leaves the training samples unchanged.
        self.quant_rng = np.random.default_rng(self.cfg.seed + 1)
        self.step = 0
        self.samples_drawn = 0  # since this process started; the sample ratio's numerator
        self.last_checkpoint_step = -1
        self.last_published_step = -1
        self._status = None
        self._last_stats_write = 0.0
        self._last_wait_log = -math.inf  # when "waiting for data / sample ratio" was last logged
        self._last_obs: np.ndarray | None = None  # a recent batch, to check exports against
        self.progress = None  # rich progress display, on a terminal only

    # --- lifecycle ------------------------------------------------------------------
    def request_stop(self, *_args) -> None:
        if self.stop_requested.is_set():
            self.force_exit = True
            raise KeyboardInterrupt  # a second Ctrl-C means now: no final checkpoint
        log.info("stop requested: checkpointing, then exiting")
        self.stop_requested.set()
        self.watcher.wake()

    def run(self) -> int:
        cfg = self.cfg
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log.info(
            "training %s in %s on %s with %d torch thread(s); config:\n%s",
            cfg.game,
            self.data_dir.resolve(),
            self.device,
            cfg.threads,
            format_config(cfg),
        )
        torch.set_num_threads(cfg.threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set, or parallel work already ran (tests, a second run)
            pass
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, self.request_stop)
        try:
            self.watcher.start()
            if cfg.control_port:
                self.api = ApiServer(self.control, cfg.control_host, cfg.control_port)
                self.api.start()
            self.db = open_when_ready(
                self.data_dir / DB_NAME,
                cfg.game,
                self.watcher,
                self.stop_requested.is_set,
                cfg.wait_timeout_s,
                on_wait=self._idle_while_no_db,
            )
            if self.db is None:
                return 0
            self._build()
            self._loop()
        finally:
            try:
                self._shutdown()
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
        return 0

    def _idle_while_no_db(self) -> None:
        for req in self.control.take_checkpoint_requests():
            self.control.answer(req, {"error": "no model yet: waiting for the actor to create replay.db"})
        self._set_status("waiting_for_data")

    def _build(self) -> None:
        cfg, spec = self.cfg, self.db.spec
        log.info(
            "replay.db: %s, obs %s, %d actions, %d symmetries",
            spec.name,
            spec.obs_shape,
            spec.num_actions,
            len(spec.sym_cells),
        )
        self.arch = arch_name(cfg.model, cfg.n_layer)
        self.model_config = model_config_dict(cfg.model, spec.obs_shape, spec.num_actions, cfg.n_layer)
        torch.manual_seed(cfg.seed)
        random.seed(cfg.seed)
        self.model = build_model(cfg.model, spec.obs_shape, spec.num_actions, cfg.n_layer).to(self.device)
        self.optimizer = make_optimizer(self.model, cfg)
        log.info("model %s: %s parameters", self.arch, f"{count_params(self.model):,}")
        if self._resume is not None:
            payload, path = self._resume
            saved_mc = payload["model_config"]
            if saved_mc.get("obs_shape") != list(spec.obs_shape) or saved_mc.get("num_actions") != spec.num_actions:
                raise CheckpointError(
                    f"{path} is stale: it was trained for {saved_mc} but replay.db has obs "
                    f"{list(spec.obs_shape)} and {spec.num_actions} actions. Move the checkpoints "
                    f"folder away to start afresh."
                )
            if (saved_mc.get("size"), saved_mc.get("n_layer", 0)) != (cfg.model, cfg.n_layer):
                raise CheckpointError(
                    f"{path} holds a {saved_mc.get('arch', saved_mc.get('size'))!r} network but the config asks "
                    f"for {self.arch!r}; a run keeps its architecture: use a new --data-dir for another one"
                )
            self.model.load_state_dict(payload["model"])
            self.optimizer.load_state_dict(payload["optimizer"])
            restore_rng(payload["rng"], self.np_rng)
            self.step = self.last_checkpoint_step = int(payload["step"])
            log.info("resumed %s at step %d (lr %.3g)", path, self.step, lr_at(self.step, cfg))
        else:
            log.info("no checkpoint in %s: starting at step 0", self.data_dir / "checkpoints")
        self.use_bf16 = cfg.bf16 and self.device.type == "cuda"
        if self.use_bf16 and not torch.cuda.is_bf16_supported():
            log.warning("this GPU has no bf16 support: training in fp32")
            self.use_bf16 = False
        # The compiled module shares its parameters with self.model, so the optimizer,
        # checkpoints and ONNX export keep working on the plain module (exporting a
        # compiled wrapper would trace through dynamo's guards, or fail outright).
        self.train_forward = torch.compile(self.model) if cfg.compile else self.model
        log.info(
            "precision: %s; torch.compile: %s; gradient accumulation: %d micro-batch(es) per step",
            "bf16 autocast" if self.use_bf16 else "fp32",
            "on" if cfg.compile else "off",
            cfg.grad_accum_steps,
        )
        self.publisher = Publisher(
            self.data_dir,
            spec,
            self.arch,
            cfg.export_tolerance,
            cfg.keep_snapshots,
            cfg.milestone_interval,
            cfg.onnx_exporter,
        )
        published = self.publisher.published_step()
        if published is not None:
            self.last_published_step = published if published <= self.step else -1
            if published > self.step:
                log.warning(
                    "models/latest.onnx is at step %d but training resumes at step %d: the "
                    "next published model will carry a lower step",
                    published,
                    self.step,
                )
        self.stats.resume(self.step)
        self.stats.update(
            step=self.step,
            learning_rate=lr_at(self.step, cfg),
            model_version=published if published is not None and published <= self.step else None,
        )

    def _shutdown(self) -> None:
        if self.progress is not None:
            self.progress.stop()
        try:
            if self.model is not None and self.step > 0 and not self.force_exit:
                if self.step != self.last_checkpoint_step:
                    try:
                        self.save_checkpoint()
                    except OSError as e:
                        log.error(
                            "final checkpoint at step %d failed; the next run resumes from the newest "
                            "one on disk (step %s): %s",
                            self.step,
                            self.last_checkpoint_step if self.last_checkpoint_step >= 0 else "none",
                            e,
                        )
                if self.step != self.last_published_step and self._last_obs is not None:
                    self.publish(self._last_obs)
                self.stats.update(step=self.step)
                self._write_stats()
        finally:
            if self.api is not None:
                self.api.stop()
            self.watcher.stop()
            if self.db is not None:
                self.db.close()
            log.info("stopped at step %d", self.step)

    # --- the loop -------------------------------------------------------------------
    def _loop(self) -> None:
        cfg, db = self.cfg, self.db
        st = db.stats()
        # Positions in the database at start count as "added" (up to the window), so a
        # restarted trainer can train on what is there; after that only new ones do.
        start_max_id = st.max_id or 0
        credit = min(st.buffer_size, cfg.replay_window)
        self.samples_drawn = 0
        last_trim = self.step
        rate_t, rate_samples = time.monotonic(), 0
        last_log = 0.0
        db_stats = st
        progress = self.progress = self._progress()

        while not self.stop_requested.is_set():
            for req in self.control.take_checkpoint_requests():
                try:
                    path = self.save_checkpoint()
                    self.control.answer(req, {"step": self.step, "path": str(path)})
                except Exception as e:
                    log.exception("checkpoint on request failed")
                    self.control.answer(req, {"error": f"checkpoint failed: {e}"})
            if cfg.max_steps and self.step >= cfg.max_steps:
                log.info("reached max_steps=%d", cfg.max_steps)
                break
            if self.control.is_paused():
                self._set_status("paused")
                self.watcher.wait(cfg.wait_timeout_s)
                continue

            try:
                lo, hi = db.id_range()
            except sqlite3.OperationalError as e:  # locked past busy_timeout: try again
                log.warning("replay.db busy: %s", e)
                self.watcher.wait(cfg.wait_timeout_s)
                continue
            buffer = 0 if lo is None else hi - lo + 1
            added = credit + max(0, (hi or 0) - start_max_id)
            batch_size = cfg.batch_size
            if buffer < cfg.min_positions or (
                cfg.sample_ratio > 0 and self.samples_drawn + batch_size > cfg.sample_ratio * added
            ):
                # Once a minute at most: held to its sample ratio, the trainer waits after
                # every game's worth of steps, and a line each time would bury the log.
                if self._status != "waiting_for_data" and time.monotonic() - self._last_wait_log > 60:
                    self._last_wait_log = time.monotonic()
                    if buffer >= cfg.min_positions:
                        log.info(
                            "sample ratio %.3g reached (%d samples / %d positions): waiting for new games",
                            cfg.sample_ratio,
                            self.samples_drawn,
                            added,
                        )
                    else:
                        log.info("waiting for data: %d of min_positions=%d", buffer, cfg.min_positions)
                self.stats.update(buffer_size=buffer)
                self._set_status("waiting_for_data")
                if time.monotonic() - self._last_stats_write > 10:
                    self._refresh_db_stats()
                self.watcher.wait(cfg.wait_timeout_s)
                continue
            self._set_status("training")

            try:
                batch = db.sample(batch_size, self.np_rng, cfg.augment)
            except sqlite3.OperationalError as e:
                log.warning("replay.db busy: %s", e)
                self.watcher.wait(cfg.wait_timeout_s)
                continue
            losses, lr = self.train_step(batch)
            # learning_rate is always the LR of the next update, lr_at(step): a reader of
            # /status can check it against the schedule, and a resumed run reports the same.
            self.stats.update(
                step=self.step,
                learning_rate=lr_at(self.step, cfg),  # model_version never runs ahead of step
                batch_size=batch_size,
            )
            self.samples_drawn += batch_size
            rate_samples += batch_size
            self._last_obs = batch.obs[:64]

            if self.step - last_trim >= cfg.trim_interval:
                last_trim = self.step
                try:
                    db.trim(cfg.replay_window, cfg.trim_batch)
                except sqlite3.OperationalError as e:
                    log.warning("trim postponed, replay.db busy: %s", e)
            if self.step % cfg.publish_interval == 0:
                self.publish(self._last_obs)
            if self.step % cfg.checkpoint_interval == 0:
                try:
                    self.save_checkpoint()
                except OSError as e:
                    # A full or read-only disk: checkpoints are written atomically, so the
                    # previous one stays whole. Losing the run over it would be worse than
                    # training on and trying again at the next interval.
                    log.error(
                        "checkpoint at step %d failed, the previous one (step %s) stays valid; "
                        "retrying at the next interval: %s",
                        self.step,
                        self.last_checkpoint_step if self.last_checkpoint_step >= 0 else "none",
                        e,
                    )
            if self.step % cfg.stats_interval == 0:
                elapsed = time.monotonic() - rate_t
                sps = rate_samples / elapsed if elapsed > 0 else 0.0
                rate_t, rate_samples = time.monotonic(), 0
                self.stats.update(
                    step=self.step,
                    policy_loss=losses["policy"],
                    value_loss=losses["value"],
                    total_loss=losses["total"],
                    policy_entropy=losses["entropy"],
                    samples_per_s=round(sps, 1),
                )
                db_stats = self._refresh_db_stats(write=False)
                self.stats.record()
                self._write_stats()
                if progress is None and time.monotonic() - last_log > 10:
                    last_log = time.monotonic()
                    log.info(self._progress_line(losses, sps, db_stats))
            if progress is not None:
                progress.update(
                    progress.task_ids[0],
                    description=self._progress_line(losses, self.stats.current["samples_per_s"], db_stats),
                )

    def train_step(self, batch) -> tuple[dict[str, float], float]:
        """One optimizer update on `batch`, split into `grad_accum_steps` micro-batches.

        Each micro-batch loss is weighted by its share of the batch, so the summed
        gradient is the gradient of the whole batch's mean loss (exactly so for
        per-sample layers; BatchNorm sees micro-batch statistics, as it would on a
        smaller batch). Returns the batch's losses and the LR used."""
        cfg, opt = self.cfg, self.optimizer
        self.model.train()
        lr = lr_at(self.step, cfg)
        set_lr(opt, lr)
        obs = torch.from_numpy(batch.obs).to(self.device, non_blocking=True)  # (B, C, H, W)
        target_policy = torch.from_numpy(batch.policy).to(self.device, non_blocking=True)  # (B, A)
        target_value = torch.from_numpy(batch.value).to(self.device, non_blocking=True)  # (B,)
        n = obs.shape[0]
        parts = min(cfg.grad_accum_steps, n)
        opt.zero_grad(set_to_none=True)
        totals: dict[str, torch.Tensor] = {}
        finite = True
        for o, p, v in zip(
            obs.tensor_split(parts), target_policy.tensor_split(parts), target_value.tensor_split(parts), strict=True
        ):
            with self._autocast():
                policy_logits, value = self.train_forward(o)
            # The loss in fp32: a bf16 log_softmax rounds away the small probabilities
            # that the visit-count targets care about.
            losses = alphazero_loss(policy_logits.float(), value.float(), p, v, cfg.value_loss_weight)
            share = o.shape[0] / n
            for k, val in losses.items():
                totals[k] = totals.get(k, 0.0) + val.detach() * share
            if not torch.isfinite(losses["total"]):
                finite = False
                break
            (losses["total"] * share).backward()
        if not finite:
            # One bad batch should not poison the weights; a diverged run shows in the log.
            opt.zero_grad(set_to_none=True)
            log.error("non-finite loss at step %d; update skipped", self.step)
        else:
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            opt.step()
        self.step += 1
        return {k: float(v) for k, v in totals.items()}, lr

    def _autocast(self):
        if self.use_bf16:
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # --- outputs --------------------------------------------------------------------
    def publish(self, sample_obs: np.ndarray) -> None:
        # int8 is measured (and pays) for the convolutional networks; the quantizer
        # leaves a transformer's matrix products in fp32 anyway.
        quantize = self.cfg.quantize == "int8" and self.arch.startswith("resnet")
        int8 = self.int8_inputs() if quantize else None
        try:
            self.publisher.publish(self.model, self.step, sample_obs, int8)
        except Exception as e:
            log.error("publish of step %d aborted, latest.onnx unchanged: %s", self.step, e)
            return
        self.last_published_step = self.step
        self.stats.update(model_version=self.step)

    def int8_inputs(self) -> Int8Inputs | None:
        """Positions for the int8 model of this publish: calibration ones with random
        symmetries (the inputs self-play meets), and others, as stored, to check it on.
        None (fp32 only this time) when replay.db cannot give them."""
        cfg = self.cfg
        try:
            calibration = self.db.sample(cfg.int8_calibration_positions, self.quant_rng, augment=cfg.augment).obs
            held_out = self.db.sample(cfg.int8_check_positions, self.quant_rng, augment=False).obs
        except (ReplayError, sqlite3.OperationalError) as e:
            log.warning("no int8 model this publish: cannot sample replay.db: %s", e)
            return None
        return Int8Inputs(calibration, held_out, cfg.int8_min_agreement, cfg.int8_max_value_error, cfg.int8_tie_margin)

    def save_checkpoint(self) -> Path:
        if self.model is None:
            raise CheckpointError("no model yet")
        payload = {
            "step": self.step,
            "config": to_dict(self.cfg),
            "model_config": self.model_config,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            # The LR is lr_at(step, config): both are stored, so nothing else to keep.
            "scheduler": {"kind": f"warmup_{self.cfg.lr_schedule}", "lr": lr_at(self.step, self.cfg)},
            "rng": rng_state(self.np_rng),
            "saved_at": time.time(),
        }
        path = save_checkpoint(self.data_dir / "checkpoints", payload, self.cfg.keep_checkpoints)
        self.last_checkpoint_step = self.step
        log.info("checkpoint %s", path)
        return path

    def _refresh_db_stats(self, write: bool = True):
        try:
            st = self.db.stats()
        except sqlite3.OperationalError as e:
            log.warning("replay.db busy: %s", e)
            return None
        age = None if st.newest_created_at is None else max(0.0, time.time() - st.newest_created_at)
        self.stats.update(
            buffer_size=st.buffer_size, games_in_db=st.games, newest_data_age_s=None if age is None else round(age, 2)
        )
        if write:
            self._write_stats()
        return st

    def _set_status(self, status: str) -> None:
        if status != self._status:
            self._status = status
            self.stats.update(status=status, step=self.step)
            self._write_stats()

    def _write_stats(self) -> None:
        try:
            self.stats.write()
            self._last_stats_write = time.monotonic()
        except OSError as e:
            log.warning("cannot write stats.json: %s", e)

    # --- terminal -------------------------------------------------------------------
    def _progress(self):
        if self.console is None or not self.console.is_terminal:
            return None
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        progress.add_task("starting", total=None)
        progress.start()
        return progress

    def _progress_line(self, losses: dict[str, float], sps: float, db_stats) -> str:
        buf = db_stats.buffer_size if db_stats is not None else 0
        version = self.stats.current["model_version"]
        return (
            f"step {self.step} | lr {lr_at(self.step, self.cfg):.2e} | {sps:,.0f} samples/s | buffer {buf:,} | "
            f"loss {losses['total']:.3f} "
            f"(policy {losses['policy']:.3f}, value {losses['value']:.3f}, entropy "
            f"{losses['entropy']:.2f}) | published {'-' if version is None else version}"
        )
