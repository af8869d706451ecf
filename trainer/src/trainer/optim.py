"""AdamW and the learning-rate schedule: linear warmup, then either cosine to a floor
(`lr_schedule = "cosine"`, the default: no cliffs to tune) or step decay
(`lr_schedule = "step"`: x `lr_step_gamma` every `lr_step_size` steps, floored at the
same `learning_rate * min_lr_ratio`; the classic AlphaZero recipe).

The schedule is a pure function of (step, config): a resumed run gets the same LR at
the same step from the checkpoint's step and config, and a live change of
`learning_rate` rescales the whole curve from the next step on."""

from __future__ import annotations

import math

import torch

from .config import TrainConfig


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    # No weight decay on biases and norm gains: decaying them only fights BatchNorm.
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr_at(0, cfg), betas=(0.9, 0.999))


def lr_at(step: int, cfg: TrainConfig) -> float:
    """LR for the update that produces step `step + 1`."""
    peak = cfg.learning_rate
    if step < cfg.warmup_steps:
        return peak * (step + 1) / cfg.warmup_steps
    floor = peak * cfg.min_lr_ratio
    after = step - cfg.warmup_steps  # steps since the peak
    if cfg.lr_schedule == "step":
        return max(floor, peak * cfg.lr_step_gamma ** (after // cfg.lr_step_size))
    if cfg.decay_steps <= 0:
        return peak
    t = min(1.0, after / cfg.decay_steps)
    return floor + 0.5 * (peak - floor) * (1.0 + math.cos(math.pi * t))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for g in optimizer.param_groups:
        g["lr"] = lr
