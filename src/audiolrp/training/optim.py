"""The optimisation step's settings: optimizer, learning-rate schedules and precision.

``schedule="plateau"`` is the paper's :class:`~torch.optim.lr_scheduler.ReduceLROnPlateau` on
the validation loss; ``schedule="cosine"`` sets the learning rate of every step with
:func:`scheduled_lr`. :func:`autocast_dtype` decides whether the forward pass runs under
bfloat16 autocast.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import torch
from torch import nn

from audiolrp.training.config import TrainConfig


def make_optimizer(
    model: nn.Module, config: TrainConfig
) -> tuple[torch.optim.Adam, torch.optim.lr_scheduler.ReduceLROnPlateau]:
    """Adam over the model's parameters and the plateau scheduler (the paper's recipe; the
    scheduler is stepped only under ``schedule="plateau"`` but always checkpointed)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode="min",
        factor=config.lr_factor,
        patience=config.lr_patience,
        min_lr=config.min_lr,
    )
    return optimizer, scheduler


def autocast_dtype(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    """``torch.bfloat16`` when the training step runs under autocast, else ``None``."""
    if config.precision == "fp32":
        return None
    if config.precision == "bf16" or device.type == "cuda":
        return torch.bfloat16
    with contextlib.suppress(OSError):
        flags = Path("/proc/cpuinfo").read_text()
        if "avx512_bf16" in flags or "amx_bf16" in flags:
            return torch.bfloat16
    return None


def scheduled_lr(config: TrainConfig, step: int, total_steps: int) -> float:
    """Learning rate of optimizer step ``step`` (0-based) under ``schedule="cosine"``:
    linear warm-up over ``warmup_steps``, then ``min_lr + (lr - min_lr) (1 + cos(pi p)) / 2``
    with ``p`` the fraction of the remaining steps done."""
    if config.warmup_steps and step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    span = max(1, total_steps - config.warmup_steps)
    p = min(1.0, (step - config.warmup_steps) / span)
    return config.min_lr + 0.5 * (config.lr - config.min_lr) * (1.0 + math.cos(math.pi * p))
