"""The settings of one training run (:class:`TrainConfig`) and the test interrupt.

:class:`TrainConfig` is stored with every checkpoint (``state["config"]``) and model
(``training["config"]``); :meth:`TrainConfig.from_dict` reads the records of older versions
(unknown keys are ignored, missing ones take their defaults).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from audiolrp.constants import N_FRAMES
from audiolrp.errors import AudioLRPError
from audiolrp.models import ARCHITECTURE_SIZES, FEATURES


class TrainingInterrupted(RuntimeError):
    """Raised by :func:`~audiolrp.training.train` when ``stop_after_steps`` is reached
    (simulates a kill in tests)."""


@dataclass
class TrainConfig:
    """Hyper-parameters and data selection of one training run.

    Attributes
    ----------
    feature, order
        ``"hoa"`` with Ambisonics order N (``2 (N+1)^2`` input channels) or ``"intensity"``
        (6 channels from the first-order signals; ``order`` is ignored).
    epochs, batch_size, lr, weight_decay
        Adam optimisation settings.
    patience
        Early stopping: epochs without validation-loss improvement before stopping.
    lr_patience, lr_factor, min_lr
        :class:`~torch.optim.lr_scheduler.ReduceLROnPlateau` on the validation loss.
    grad_clip_norm
        Gradient-norm clipping (``None`` disables it).
    num_workers
        DataLoader worker processes.
    seed
        Seeds the weight initialisation and the per-epoch data order.
    checkpoint_every_steps
        Write a resumable checkpoint every this many optimizer steps (0: only at epoch ends).
    max_train_examples, max_val_examples
        Use only the first examples of the splits (``None``: all).
    arch
        The network: ``"crnn"`` (Table 1, BiLSTMs) or ``"conformer"``
        (:class:`~audiolrp.models.ConformerDOA`: the same convolution front end, conformer
        blocks in place of the BiLSTMs); recorded in the model file (``architecture.class``).
    model_size, n_filters, lstm_hidden, n_dense
        Size preset of ``arch`` (:data:`audiolrp.models.ARCHITECTURE_SIZES`: ``full``,
        ``small``, ``tiny``) and explicit overrides (``lstm_hidden``: the CRNN only).
    model_kwargs
        Further keyword arguments of the network (:class:`~audiolrp.models.CRNN` or
        :class:`~audiolrp.models.ConformerDOA`, e.g. ``n_bins`` and ``pool_sizes`` for toy
        inputs in tests, ``d_model`` of the conformer); ``None`` for the preset.
    normalize
        Put training-set statistics into the model's ``InputNormalization``; ``None`` means
        the paper's choice: yes for HOA, no for intensity.
    label_sigma_deg
        0 (the paper): one-hot cross-entropy targets. ``> 0``: Gaussian angular targets of
        this standard deviation in degrees (:func:`angular_label_targets`).
    init_from
        Saved model (name or path, :func:`audiolrp.models.load`) whose weights and input
        normalisation initialise the network; ``None``: random initialisation from ``seed``.
    device
        ``"auto"`` (GPU when present), ``"cpu"`` or ``"cuda"``.
    progress
        Show a tqdm progress bar (rank 0 only).
    precision
        ``"fp32"``, ``"bf16"`` (``torch.autocast`` to bfloat16 for the training step; the
        weights, optimizer and validation stay float32) or ``"auto"``: bf16 on a GPU or on a
        CPU with native bfloat16 instructions (``avx512_bf16``/``amx_bf16``), else fp32.
    channels_last
        Run the convolutions in the ``channels_last`` memory format (same numbers, faster on
        CPUs).
    crop_frames
        Train on random windows of this many consecutive STFT frames (0 or 50: whole clips).
        The CRNN is frame-wise up to its BiLSTM, so a crop is a shorter clip; validation and
        evaluation always use whole 1-s clips.
    schedule
        ``"plateau"`` (the paper: halve on a validation plateau) or ``"cosine"`` (linear
        warm-up over ``warmup_steps``, then cosine decay from ``lr`` to ``min_lr`` over
        ``epochs`` epochs).
    augment
        Exact sound-field augmentation (:mod:`audiolrp.signal.augmentation`): every training example
        is rotated about the vertical axis by a random angle and mirrored in y and z with
        probability 1/2, in the Ambisonics domain before the features; the source direction
        moves with it. Implies ``direction_targets``.
    direction_targets
        Gaussian targets (``label_sigma_deg``) centred on the exact source direction of each
        scene instead of on its class (needs a dataset with stored directions).
    select_by
        Which epoch's weights are kept: ``"val_loss"`` (the paper) or ``"val_error"`` (lowest
        mean angular error on the validation set).
    """

    feature: str = "hoa"
    order: int | None = 2
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 6
    lr_patience: int = 2
    lr_factor: float = 0.5
    min_lr: float = 1e-5
    grad_clip_norm: float | None = 5.0
    num_workers: int = 0
    seed: int = 0
    checkpoint_every_steps: int = 200
    max_train_examples: int | None = None
    max_val_examples: int | None = None
    arch: str = "crnn"
    model_size: str = "full"
    n_filters: int | None = None
    lstm_hidden: int | None = None
    n_dense: int | None = None
    model_kwargs: dict[str, Any] | None = None
    normalize: bool | None = None
    label_sigma_deg: float = 0.0
    init_from: str | None = None
    device: str = "auto"
    progress: bool = True
    precision: str = "auto"
    channels_last: bool = True
    crop_frames: int = 25
    schedule: str = "plateau"
    warmup_steps: int = 0
    augment: bool = False
    direction_targets: bool = False
    select_by: str = "val_loss"

    def validate(self) -> None:
        """Raise :class:`AudioLRPError` with one line for an invalid setting."""
        if self.feature not in FEATURES:
            raise AudioLRPError(
                f"unknown feature {self.feature!r}: use one of {', '.join(FEATURES)}"
            )
        kind = FEATURES[self.feature]
        if kind.fixed_order is None and (self.order is None or self.order < 0):
            raise AudioLRPError(
                f"{kind.name.upper()} training needs --order N >= 0, got {self.order!r}"
            )
        if self.arch not in ARCHITECTURE_SIZES:
            raise AudioLRPError(
                f"unknown --arch {self.arch!r}: use one of {', '.join(ARCHITECTURE_SIZES)}"
            )
        sizes = ARCHITECTURE_SIZES[self.arch]
        if self.model_size not in sizes:
            raise AudioLRPError(
                f"unknown model size {self.model_size!r} of --arch {self.arch}: use one of "
                f"{', '.join(sizes)}"
            )
        if self.arch != "crnn" and self.lstm_hidden is not None:
            raise AudioLRPError(
                f"--lstm-hidden sizes the CRNN's BiLSTMs; --arch {self.arch} has none: drop it"
            )
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise AudioLRPError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise AudioLRPError(f"learning rate must be > 0, got {self.lr}")
        if self.patience < 1:
            raise AudioLRPError(f"patience must be >= 1, got {self.patience}")
        if self.checkpoint_every_steps < 0 or self.num_workers < 0:
            raise AudioLRPError("checkpoint_every_steps and num_workers must be >= 0")
        if not (math.isfinite(self.label_sigma_deg) and self.label_sigma_deg >= 0):
            raise AudioLRPError(
                f"--label-sigma-deg must be a finite angle >= 0 (0: one-hot), got "
                f"{self.label_sigma_deg}"
            )
        if self.device not in ("auto", "cpu", "cuda"):
            raise AudioLRPError(f"unknown device {self.device!r}: use auto, cpu or cuda")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise AudioLRPError(f"unknown precision {self.precision!r}: use auto, fp32 or bf16")
        if self.schedule not in ("plateau", "cosine"):
            raise AudioLRPError(f"unknown schedule {self.schedule!r}: use plateau or cosine")
        if self.select_by not in ("val_loss", "val_error"):
            raise AudioLRPError(
                f"unknown --select-by {self.select_by!r}: use val_loss or val_error"
            )
        if not 0 <= self.crop_frames <= N_FRAMES:
            raise AudioLRPError(
                f"--crop-frames must be in 0..{N_FRAMES} (0: whole clips), got {self.crop_frames}"
            )
        if self.warmup_steps < 0:
            raise AudioLRPError(f"--warmup-steps must be >= 0, got {self.warmup_steps}")
        if (self.augment or self.direction_targets) and not self.label_sigma_deg > 0:
            raise AudioLRPError(
                "--augment and --direction-targets train on Gaussian targets around the exact "
                "direction: pass --label-sigma-deg > 0 (e.g. 8)"
            )

    @property
    def uses_direction_targets(self) -> bool:
        """Whether training needs stored audio and directions."""
        return bool(self.augment or self.direction_targets)

    @property
    def use_normalization(self) -> bool:
        """Whether the model gets an input normalisation layer."""
        if self.normalize is None:  # HOA: training-set statistics; intensity: none
            return FEATURES[self.feature].uses_statistics
        return bool(self.normalize)

    @property
    def model_order(self) -> int:
        """Ambisonics order recorded with the model (1 for intensity)."""
        fixed = FEATURES[self.feature].fixed_order
        return int(self.order or 0) if fixed is None else fixed

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """A config from a dict, ignoring unknown keys (older records)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
