"""Devices and distributed data-parallel training (DDP).

When launched by ``torchrun`` (environment ``WORLD_SIZE > 1``) :func:`setup_distributed` joins a
process group (NCCL on GPUs, Gloo on CPUs); the training loop then wraps the model in
:class:`~torch.nn.parallel.DistributedDataParallel` (:func:`wrap_model`), which averages the
gradients of all ranks (a mean all-reduce, so a step on ``world_size`` shards of a batch is the
step on the whole batch), and shards each epoch's order across ranks. Only rank 0 writes logs,
checkpoints and models; metrics are summed over ranks with :func:`all_reduce_sums`.
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from audiolrp.errors import AudioLRPError
from audiolrp.training.config import TrainConfig


@dataclass
class DistInfo:
    """This process's place in a (possibly single-process) training job."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    initialised_here: bool = False

    @property
    def active(self) -> bool:
        """Whether more than one process trains."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0 (the one that writes files)."""
        return self.rank == 0


def setup_distributed(device_kind: str) -> DistInfo:
    """Join the process group described by ``WORLD_SIZE``/``RANK``/``LOCAL_RANK`` (single
    process when ``WORLD_SIZE`` is unset or 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))

    here = False
    if not dist.is_initialized():
        backend = "nccl" if device_kind == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
        here = True
    return DistInfo(world, rank, local_rank, here)


def teardown_distributed(info: DistInfo) -> None:
    """Leave the process group if :func:`setup_distributed` created it."""
    if info.initialised_here:
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    """Wait for every rank (no-op in a single process)."""
    if info.active:
        dist.barrier()


def wrap_model(model: nn.Module, info: DistInfo, device: torch.device) -> nn.Module:
    """The module the training step calls: ``model`` itself, or its DDP wrapper."""
    if not info.active:
        return model
    return DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None
    )


def all_reduce_sums(
    values: Sequence[float], info: DistInfo, device: torch.device
) -> list[float]:
    """``values`` summed over all ranks (float64; unchanged in a single process)."""
    if not info.active:
        return list(values)

    t = torch.tensor(list(values), dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def resolve_device(config: TrainConfig) -> torch.device:
    """The device of ``config.device`` (``auto``: this rank's GPU when present)."""
    if config.device == "cpu":
        return torch.device("cpu")
    if config.device == "cuda" and not torch.cuda.is_available():
        raise AudioLRPError("--device cuda requested but no CUDA GPU is visible: use --device cpu")
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def hardware_description(device: torch.device, world_size: int = 1) -> dict[str, Any]:
    """Hardware summary for model cards (CPU model, threads, GPUs, process count)."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info: dict[str, Any] = {
        "device": str(device),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "processes": world_size,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
