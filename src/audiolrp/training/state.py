"""The state of a training run: where it is, what it has seen and its best epoch so far.

:class:`TrainState` is what a checkpoint stores as ``state`` (JSON): :meth:`TrainState.to_dict`
writes the same 18 keys in the same order as version 1 of the checkpoint format, and
:meth:`TrainState.from_dict` reads any version-1 ``state`` (keys missing from older
checkpoints take their defaults; keys this version does not know are kept and written back),
so ``from_dict(d).to_dict() == d`` for every checkpoint written so far.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class EpochSums:
    """Running sums of the training batches of the current epoch (this rank's share)."""

    loss_sum: float = 0.0
    correct: float = 0.0
    count: float = 0.0

    def add(self, loss: float, correct: float, count: int) -> None:
        """Add one batch: its mean loss, number of correct clips and size."""
        self.loss_sum += loss * count
        self.correct += correct
        self.count += count

    def to_dict(self) -> dict[str, float]:
        """The checkpoint form ``{"loss_sum", "correct", "count"}``."""
        return {"loss_sum": self.loss_sum, "correct": self.correct, "count": self.count}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EpochSums:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: data[k] for k in ("loss_sum", "correct", "count") if k in data})


@dataclass
class TrainState:
    """Everything about a run that is not a tensor (see the module docstring).

    Attributes
    ----------
    epoch, batch
        Position in the data order: epochs completed, batches done in the current epoch.
    global_step
        Optimizer steps taken.
    history
        One log row per completed epoch (:data:`audiolrp.training.logs.LOG_COLUMNS`).
    best_val_loss, best_val_accuracy, best_val_error_deg, best_epoch
        Validation metrics of the kept (best) epoch, 1-based (``-1``: none yet).
    examples_seen
        Training examples seen, all ranks together.
    bad_epochs
        Epochs since the last improvement (early stopping).
    finished, stopped_early
        Whether the run is over, and whether early stopping ended it.
    elapsed_s
        Training time so far, interruptions excluded.
    accum
        Sums of the current epoch's batches.
    config
        :class:`~audiolrp.training.config.TrainConfig` of the latest invocation, as a dict.
    command, resume_commands
        The command that started the run and those that resumed it.
    initialised_from
        Where the initial weights came from (``init_from``), ``None`` for a random start.
    extra
        Keys of a checkpoint's ``state`` this version does not know (kept as they are).
    """

    epoch: int = 0
    batch: int = 0
    global_step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_val_loss: float = math.inf
    best_val_accuracy: float = 0.0
    best_val_error_deg: float = math.inf
    examples_seen: int = 0
    best_epoch: int = -1
    bad_epochs: int = 0
    finished: bool = False
    stopped_early: bool = False
    elapsed_s: float = 0.0
    accum: EpochSums = field(default_factory=EpochSums)
    config: dict[str, Any] = field(default_factory=dict)
    command: str | None = None
    resume_commands: list[str | None] = field(default_factory=list)
    initialised_from: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint's ``state`` (JSON-ready; version-1 keys in their order)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            out[f.name] = value.to_dict() if isinstance(value, EpochSums) else value
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainState:
        """The state stored in a checkpoint (inverse of :meth:`to_dict`)."""
        known = {f.name for f in fields(cls)} - {"extra"}
        kwargs: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        if "accum" in kwargs:
            kwargs["accum"] = EpochSums.from_dict(kwargs["accum"])
        return cls(**kwargs, extra={k: v for k, v in data.items() if k not in known})

    def start_epoch(self) -> None:
        """Move to the start of the next epoch (after one has been completed)."""
        self.epoch += 1
        self.batch = 0
        self.accum = EpochSums()

    def record_epoch(
        self, row: dict[str, Any], improved: bool, patience: int, epochs: int
    ) -> None:
        """Book a finished epoch: log row, best metrics, early stopping and the end of the run.

        ``row`` is the epoch's log row (``val_loss``, ``val_accuracy``, ``val_mean_error_deg``
        are read from it); ``improved`` says whether it is the new best epoch.
        """
        self.history.append(row)
        if improved:
            self.best_val_loss = row["val_loss"]
            self.best_val_accuracy = row["val_accuracy"]
            self.best_val_error_deg = row["val_mean_error_deg"]
            self.best_epoch = self.epoch + 1
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        self.start_epoch()
        if self.bad_epochs >= patience:
            self.stopped_early = True
            self.finished = True
        if self.epoch >= epochs:
            self.finished = True
