"""The training loop: :func:`train` and the named steps of one run.

A run (:class:`TrainingRun`) is opened (data, checkpoint or fresh start, model, optimizer),
then trains epoch by epoch until ``epochs`` or early stopping: each epoch is its data order
(:func:`~audiolrp.training.data.epoch_order`), one :meth:`TrainingRun.train_step` per batch
(with a checkpoint every ``checkpoint_every_steps`` steps), validation, the bookkeeping of
:class:`~audiolrp.training.state.TrainState`, and on rank 0 the best model, logs and an
epoch-end checkpoint. The run ends by saving the best weights as ``model.json``.

The order of the steps is part of the recipe: the global torch generator is seeded before the
model is built, and every DataLoader iterator draws from it, so moving a step changes the
weights. The checkpoint test (``tests/test_training.py``) holds a resumed run bit-identical to
an uninterrupted one, and to runs of earlier versions of this code. A network that draws random
numbers in its forward pass (the conformer's dropout) draws them from a per-step seed
(:func:`~audiolrp.training.initial.seeded_step`), never from the global generator.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from audiolrp.errors import AudioLRPError
from audiolrp.io import write_json
from audiolrp.models import CRNN, ConformerDOA, clip_probabilities, save
from audiolrp.models import load as load_model
from audiolrp.progress import ElapsedLog
from audiolrp.signal.ambisonics import class_distance_deg
from audiolrp.training.checkpoints import (
    has_checkpoint,
    load_checkpoint,
    restore_checkpoint,
    save_checkpoint,
)
from audiolrp.training.config import TrainConfig, TrainingInterrupted
from audiolrp.training.data import (
    DirectionBatches,
    batch_rng,
    batched_feature_path,
    check_feature_channels,
    dataset_directions,
    epoch_order,
    open_training_data,
    random_time_crops,
    split_batches,
)
from audiolrp.training.ddp import (
    DistInfo,
    all_reduce_sums,
    barrier,
    hardware_description,
    resolve_device,
    setup_distributed,
    teardown_distributed,
    wrap_model,
)
from audiolrp.training.initial import has_random_layers, initial_model, seeded_step
from audiolrp.training.logs import write_logs
from audiolrp.training.losses import angular_label_targets, framewise_cross_entropy
from audiolrp.training.optim import autocast_dtype, make_optimizer, scheduled_lr
from audiolrp.training.state import TrainState
from audiolrp.training.validation import run_validation

#: One training batch: features ``(B, C, T, F)``, labels ``(B,)`` and optional soft targets.
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]


@dataclass
class TrainResult:
    """Outcome of :func:`train`.

    ``model`` holds the best weights (lowest validation loss), on the CPU in eval mode;
    ``model_path`` is the JSON file of the same model saved in ``out_dir`` (``model.json``;
    ``None`` on ranks other than 0). ``last_model`` is this process's network after the last
    epoch (under DDP every rank's copy is identical).
    """

    model: CRNN | ConformerDOA
    model_path: Path | None
    out_dir: Path
    history: list[dict[str, Any]]
    best_epoch: int
    best_val_loss: float
    best_val_accuracy: float
    epochs_run: int
    steps: int
    stopped_early: bool
    train_time_s: float
    config: TrainConfig
    data_recipe: dict[str, Any] = field(default_factory=dict)
    hardware: dict[str, Any] = field(default_factory=dict)
    last_model: CRNN | ConformerDOA | None = None


def train(
    data_root: str | os.PathLike[str] | None,
    out_dir: str | os.PathLike[str],
    config: TrainConfig | None = None,
    *,
    resume: bool = False,
    train_dataset: Dataset | None = None,
    val_dataset: Dataset | None = None,
    data_recipe: dict[str, Any] | None = None,
    command: str | None = None,
    stop_after_steps: int | None = None,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train a DOA network (``config.arch``: CRNN or conformer) on ``data_root/{train,val}``
    and keep the best weights in ``out_dir``.

    Parameters
    ----------
    data_root
        Dataset folder written by ``audiolrp simulate`` (``manifest.json`` + splits), read via
        ``audiolrp.data.datasets.FeatureDataset``; several folders joined by commas are one
        training set. May be ``None`` when both datasets are given.
    out_dir
        Output folder: ``model.json``/``model.safetensors`` (best weights, loadable with
        :func:`audiolrp.models.load`), ``best.json`` (the same, written at every improvement),
        ``log.csv``, ``log.json``, ``train_config.json`` and ``checkpoints/``.
    config
        :class:`TrainConfig` (defaults when ``None``).
    resume
        Continue from the latest checkpoint in ``out_dir`` (no-op start when none exists).
        Without ``resume`` an existing checkpoint is an error, so runs are never mixed.
    train_dataset, val_dataset
        Map-style datasets of ``(features (C, 50, 512), label)`` overriding the folder's splits.
    data_recipe
        Data description stored with the model (default: from ``manifest.json``).
    command
        The training command line, stored with the model.
    stop_after_steps
        Raise :class:`TrainingInterrupted` right after this global step (as if killed; tests).
    on_epoch_end
        Called with each epoch's log row.

    Returns
    -------
    TrainResult
    """
    config = config or TrainConfig()
    config.validate()
    out = Path(out_dir)
    device = resolve_device(config)
    dist_info = setup_distributed(device.type)
    try:
        run = TrainingRun.open(
            data_root,
            out,
            config,
            device,
            dist_info,
            resume=resume,
            train_dataset=train_dataset,
            val_dataset=val_dataset,
            data_recipe=data_recipe,
            command=command,
        )
        while not run.state.finished and run.state.epoch < config.epochs:
            row = run.train_epoch(stop_after_steps)
            if on_epoch_end is not None:
                on_epoch_end(row)
            barrier(dist_info)
        return run.finish()
    finally:
        teardown_distributed(dist_info)


def training_record(
    state: TrainState, config: TrainConfig, hardware: dict[str, Any], command: str | None
) -> dict[str, Any]:
    """The ``training`` record stored with a model (command, recipe, compute, lineage)."""
    return {
        "command": state.command or command,
        "resume_commands": state.resume_commands,
        "config": asdict(config),
        "train_time_s": float(state.elapsed_s),
        "hardware": hardware,
        "best_epoch": state.best_epoch,
        "epochs_run": state.epoch,
        "steps": state.global_step,
        "examples_seen": state.examples_seen,
        "stopped_early": state.stopped_early,
        "initialised_from": state.initialised_from,
        "history": list(state.history),
    }


@dataclass
class TrainingRun:
    """One training run in progress: everything :func:`train` holds between its steps.

    :func:`train` is ``open``, ``train_epoch`` until the state says finished, ``finish``;
    tests drive single steps (:meth:`train_step`) directly.
    """

    config: TrainConfig
    out: Path
    device: torch.device
    dist_info: DistInfo
    command: str | None
    train_ds: Dataset
    val_ds: Dataset
    recipe: dict[str, Any]
    model: CRNN | ConformerDOA
    ddp_model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau
    state: TrainState
    hardware: dict[str, Any]
    amp_dtype: torch.dtype | None
    targets: torch.Tensor | None
    distance_deg: torch.Tensor
    t_start: float = 0.0
    val_indices: list[int] = field(default_factory=list)
    log: ElapsedLog = field(default_factory=lambda: ElapsedLog("train", enabled=False))
    train_collate: Any = None
    train_on_device: bool = False
    val_collate: Any = None
    direction_batches: DirectionBatches | None = None
    val_directions: np.ndarray | None = None
    total_steps: int = 0
    random_layers: bool = False

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        data_root: str | os.PathLike[str] | None,
        out: Path,
        config: TrainConfig,
        device: torch.device,
        dist_info: DistInfo,
        *,
        resume: bool,
        train_dataset: Dataset | None,
        val_dataset: Dataset | None,
        data_recipe: dict[str, Any] | None,
        command: str | None,
    ) -> TrainingRun:
        """Open the data, build the model and optimizer, and start afresh or from the latest
        checkpoint; rank 0 writes ``train_config.json``."""
        train_ds, val_ds, recipe = open_training_data(
            data_root, config, train_dataset, val_dataset, data_recipe
        )
        ckpt = load_checkpoint(out) if resume else None
        if not resume and has_checkpoint(out):
            raise AudioLRPError(
                f"{out} already holds a training run: pass --resume to continue it or choose a "
                "new output folder"
            )
        check_feature_channels(train_ds, config)
        model, initialised_from = initial_model(
            config, train_ds, device, resuming=ckpt is not None
        )
        amp_dtype = autocast_dtype(config, device)
        targets = (
            angular_label_targets(config.label_sigma_deg).to(device)
            if config.label_sigma_deg > 0
            else None
        )
        distance_deg = torch.from_numpy(class_distance_deg())
        optimizer, scheduler = make_optimizer(model, config)
        if ckpt is None:
            state = TrainState(
                config=asdict(config), command=command, initialised_from=initialised_from
            )
        else:
            state = restore_checkpoint(
                ckpt,
                model=model,
                optimizer=optimizer,
                scheduler=scheduler,
                device=device,
                config=config,
                out_dir=out,
                command=command,
            )
        if dist_info.is_main:
            out.mkdir(parents=True, exist_ok=True)
            _write_train_config(out, config, recipe, command)
        ddp_model = wrap_model(model, dist_info, device)
        run = cls(
            config=config,
            out=out,
            device=device,
            dist_info=dist_info,
            command=command,
            train_ds=train_ds,
            val_ds=val_ds,
            recipe=recipe,
            model=model,
            ddp_model=ddp_model,
            optimizer=optimizer,
            scheduler=scheduler,
            state=state,
            hardware=hardware_description(device, dist_info.world_size),
            amp_dtype=amp_dtype,
            targets=targets,
            distance_deg=distance_deg,
            log=ElapsedLog("train", enabled=config.progress and dist_info.is_main),
        )
        run._prepare_batches()
        return run

    def _prepare_batches(self) -> None:
        """Batch sources of training and validation, and the length of the schedule."""
        config, dist_info = self.config, self.dist_info
        self.t_start = time.perf_counter() - float(self.state.elapsed_s)
        n_val = len(self.val_ds)  # type: ignore[arg-type]
        self.val_indices = list(range(dist_info.rank, n_val, dist_info.world_size))
        self.train_collate, self.train_on_device = batched_feature_path(
            self.train_ds, self.device, config.num_workers
        )
        self.val_collate, _ = batched_feature_path(self.val_ds, self.device, config.num_workers)
        self.direction_batches = (
            DirectionBatches(self.train_ds, config, self.device)
            if config.uses_direction_targets
            else None
        )
        self.val_directions = dataset_directions(self.val_ds)
        self.random_layers = has_random_layers(self.model)
        steps_per_epoch = len(self.epoch_batches(0))
        self.total_steps = steps_per_epoch * config.epochs

    # -- one epoch -----------------------------------------------------------------------------

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """This rank's batches of ``epoch`` (indices into the training set)."""
        order = epoch_order(
            len(self.train_ds),  # type: ignore[arg-type]
            epoch,
            self.config.seed,
            world_size=self.dist_info.world_size,
            rank=self.dist_info.rank,
        )
        return split_batches(order, self.config.batch_size)

    def _batch_source(
        self, batches: list[list[int]], epoch: int, start_batch: int
    ) -> Iterator[Batch]:
        """The training batches of ``epoch`` from batch ``start_batch`` on.

        Created eagerly: the DataLoader's iterator (which draws from the global torch
        generator) exists when this returns, as in every earlier version of the loop.
        """
        config = self.config
        if self.direction_batches is not None:
            directions = self.direction_batches
            return (directions(batches[b], epoch, b) for b in range(start_batch, len(batches)))
        loader = DataLoader(
            self.train_ds,
            batch_sampler=batches[start_batch:],
            collate_fn=self.train_collate,
            num_workers=config.num_workers,
            pin_memory=self.device.type == "cuda" and not self.train_on_device,
        )
        return (
            (random_time_crops(x, config.crop_frames, batch_rng(config.seed, epoch, b)), y, None)
            for b, (x, y) in enumerate(loader, start=start_batch)
        )

    def _progress_bar(self, n_batches: int, start_batch: int, epoch: int) -> Any:
        """The epoch's tqdm bar (rank 0 with ``progress``; hidden when stderr is no terminal)."""
        return tqdm(
            total=n_batches,
            initial=start_batch,
            desc=f"epoch {epoch + 1}/{self.config.epochs}",
            # None: tqdm hides itself when stderr is not a terminal (background runs)
            disable=True if not (self.config.progress and self.dist_info.is_main) else None,
            leave=False,
            dynamic_ncols=True,
        )

    def _logs_progress(self) -> bool:
        """Whether this process reports progress (rank 0 with ``progress``)."""
        return bool(self.config.progress and self.dist_info.is_main)

    def train_step(self, x: torch.Tensor, y: torch.Tensor, q: torch.Tensor | None) -> None:
        """One optimizer step on a batch (``q``: soft targets or ``None``); updates the sums,
        the step count and the examples seen."""
        config, device, state = self.config, self.device, self.state
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        if config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if config.schedule == "cosine":
            for group in self.optimizer.param_groups:
                group["lr"] = scheduled_lr(config, int(state.global_step), self.total_steps)
        self.optimizer.zero_grad(set_to_none=True)
        # dropout (the conformer) from a per-step seed, the global generator untouched
        randomness = (
            seeded_step(config.seed, int(state.global_step), self.dist_info.rank, device)
            if self.random_layers
            else contextlib.nullcontext()
        )
        with randomness, torch.autocast(
            device.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None
        ):
            scores = self.ddp_model(x)
        scores = scores.float()
        loss = framewise_cross_entropy(scores, y, self.targets, q)
        loss.backward()
        if config.grad_clip_norm is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip_norm)
        self.optimizer.step()
        with torch.no_grad():
            correct = float((clip_probabilities(scores).argmax(-1) == y).sum())
            state.accum.add(float(loss), correct, len(y))
        state.global_step += 1
        state.examples_seen = int(state.examples_seen) + len(y) * max(
            1, self.dist_info.world_size
        )

    def _save_checkpoint(self) -> None:
        """Rank 0 writes a checkpoint of the run as it is now."""
        self.state.elapsed_s = time.perf_counter() - self.t_start
        if self.dist_info.is_main:
            save_checkpoint(
                self.out,
                model=self.model,
                optimizer=self.optimizer,
                scheduler=self.scheduler,
                state=self.state,
            )

    def train_epoch(self, stop_after_steps: int | None = None) -> dict[str, Any]:
        """Train on the rest of the current epoch, validate and book it; return its log row.

        Raises
        ------
        TrainingInterrupted
            ``stop_after_steps`` steps have been taken (tests).
        """
        state, config = self.state, self.config
        epoch = int(state.epoch)
        t_epoch = time.perf_counter()
        batches = self.epoch_batches(epoch)
        start_batch = int(state.batch)
        source = self._batch_source(batches, epoch, start_batch)
        bar = self._progress_bar(len(batches), start_batch, epoch)
        # no bar when stderr is no terminal (a log file, a pipe): a line per tenth of the epoch
        every_line = max(1, len(batches) // 10) if bar.disable and self._logs_progress() else 0
        self.ddp_model.train()
        for b, (x, y, q) in enumerate(source, start=start_batch):
            self.train_step(x, y, q)
            state.batch = b + 1
            bar.update(1)
            loss = f"{state.accum.loss_sum / state.accum.count:.3f}"
            acc = f"{state.accum.correct / state.accum.count:.3f}"
            bar.set_postfix(loss=loss, acc=acc)
            if every_line and ((b + 1) % every_line == 0 or b + 1 == len(batches)):
                self.log(f"epoch {epoch + 1}/{config.epochs}: batch {b + 1}/{len(batches)}, "
                         f"train loss {loss} acc {acc}")
            every = config.checkpoint_every_steps
            if every and state.global_step % every == 0 and b + 1 < len(batches):
                self._save_checkpoint()  # mid-epoch; the epoch end writes its own
            if stop_after_steps is not None and state.global_step >= stop_after_steps:
                bar.close()
                raise TrainingInterrupted(f"stopped after step {state.global_step}")
        bar.close()
        row, improved = self._validate(epoch, t_epoch)
        state.record_epoch(row, improved, config.patience, config.epochs)
        state.elapsed_s = time.perf_counter() - self.t_start
        if self.dist_info.is_main:
            self._write_epoch_files(row, improved)
        return row

    def _validate(self, epoch: int, t_epoch: float) -> tuple[dict[str, Any], bool]:
        """Validate after ``epoch``, step the plateau schedule; return the epoch's log row and
        whether it is the new best epoch (by ``select_by``)."""
        config, state, dist_info = self.config, self.state, self.dist_info
        accum = state.accum
        tr_loss_sum, tr_correct, tr_count = all_reduce_sums(
            [accum.loss_sum, accum.correct, accum.count], dist_info, self.device
        )
        val_sums, val_errors = run_validation(
            self.ddp_model,  # under DDP its forward broadcasts rank 0's BatchNorm buffers
            self.val_ds,
            self.val_indices,
            config.batch_size,
            self.device,
            config.num_workers,
            self.val_collate,
            self.targets,
            self.distance_deg,
            self.val_directions,
            config.label_sigma_deg if config.uses_direction_targets else 0.0,
        )
        v_loss_sum, v_correct, v_err_sum, v_count = all_reduce_sums(
            val_sums, dist_info, self.device
        )
        val_loss = v_loss_sum / v_count
        val_acc = v_correct / v_count
        val_err = v_err_sum / v_count
        if config.schedule == "plateau":
            self.scheduler.step(val_loss)
        if config.select_by == "val_error":
            improved = val_err < state.best_val_error_deg
        else:
            improved = val_loss < state.best_val_loss
        row = {
            "epoch": epoch + 1,
            "step": state.global_step,
            "train_loss": tr_loss_sum / tr_count,
            "train_accuracy": tr_correct / tr_count,
            "val_loss": val_loss,
            "val_accuracy": val_acc,
            "val_mean_error_deg": val_err,
            "val_median_error_deg": float(np.median(val_errors)) if len(val_errors) else None,
            "examples_seen": int(state.examples_seen),
            "lr": self.optimizer.param_groups[0]["lr"],
            "epoch_time_s": time.perf_counter() - t_epoch,
            "is_best": improved,
        }
        return row, improved

    def _write_epoch_files(self, row: dict[str, Any], improved: bool) -> None:
        """Rank 0 after an epoch: the best model (``best.json``, a complete, exportable model
        at every improvement), the logs, the epoch-end checkpoint and the progress line."""
        config, state = self.config, self.state
        if improved:
            save(
                self.model,
                self.out / "best",
                feature=config.feature,
                order=config.model_order,
                data_recipe=self.recipe,
                metrics={
                    "val_loss": row["val_loss"],
                    "val_accuracy": row["val_accuracy"],
                    "val_mean_error_deg": row["val_mean_error_deg"],
                    "epoch": row["epoch"],
                },
                training=training_record(state, config, self.hardware, self.command),
            )
        write_logs(self.out, state.history)
        save_checkpoint(
            self.out,
            model=self.model,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            state=state,
        )
        if config.progress:
            self.log(
                f"epoch {row['epoch']}: train loss {row['train_loss']:.4f} acc "
                f"{row['train_accuracy']:.3f} | val loss {row['val_loss']:.4f} acc "
                f"{row['val_accuracy']:.3f} err {row['val_mean_error_deg']:.1f} deg"
                f"{' *' if improved else ''} | lr {row['lr']:.2e} | "
                f"{row['epoch_time_s']:.0f} s"
            )

    # -- the end -------------------------------------------------------------------------------

    def finish(self) -> TrainResult:
        """Save the best weights as ``model.json`` (rank 0) and return the result."""
        config, state = self.config, self.state
        train_time_s = float(state.elapsed_s)
        # Best weights: every rank reads the file rank 0 wrote (ranks hold identical weights).
        best_path = self.out / "best.json"
        barrier(self.dist_info)
        last_model = self.model.cpu().to(memory_format=torch.contiguous_format).eval()  # type: ignore[call-overload]
        best_model = load_model(best_path).model if best_path.exists() else last_model
        model_path: Path | None = None
        if self.dist_info.is_main:
            model_path = save(
                best_model,
                self.out / "model",
                feature=config.feature,
                order=config.model_order,
                data_recipe=self.recipe,
                training=training_record(state, config, self.hardware, self.command),
                metrics={
                    "val_loss": state.best_val_loss,
                    "val_accuracy": state.best_val_accuracy,
                    "val_mean_error_deg": state.best_val_error_deg,
                },
            )
        return TrainResult(
            model=best_model,
            model_path=model_path,
            out_dir=self.out,
            history=list(state.history),
            best_epoch=int(state.best_epoch),
            best_val_loss=float(state.best_val_loss),
            best_val_accuracy=float(state.best_val_accuracy),
            epochs_run=int(state.epoch),
            steps=int(state.global_step),
            stopped_early=bool(state.stopped_early),
            train_time_s=train_time_s,
            config=config,
            data_recipe=self.recipe,
            hardware=self.hardware,
            last_model=last_model,
        )


def _write_train_config(
    out: Path, config: TrainConfig, recipe: dict[str, Any], command: str | None
) -> None:
    """``train_config.json``: the latest invocation's settings, data recipe and command."""
    write_json(
        out / "train_config.json",
        {"config": asdict(config), "data_recipe": recipe, "command": command},
    )
