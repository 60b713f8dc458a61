"""The DOA-classification CRNN of Table 1 (Poschadel et al. 2021; Kiyan et al.).

Layer stack for an input of shape ``(B, N_in, T=50, F=512)``::

    InputNormalization (per-channel mean/std; identity when no statistics are given)
    3 x [Conv2d 3x3 'same' (N_filt=64) -> BatchNorm2d -> ELU -> MaxPool2d over frequency (8, 8, 4)]
    -> (B, 64, 50, 2) -> FrequencyToFeatures -> (B, 50, 128)
    BiLSTM(N_block=50) -> BiLSTM(50) -> Linear(100) -> ELU -> Linear(425)

``forward`` returns pre-softmax scores per frame, shape ``(B, T, n_classes)``; softmax is applied
in the loss and at prediction time (:func:`clip_probabilities`), never inside ``forward``, so the
LRP engine can start from the pre-softmax score (paper, section "Experimental Setup").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from audiolrp.constants import (
    N_BINS,
    N_CLASSES,
)

#: Output heads of :class:`CRNN`: softmax over classes (one source) or per-class sigmoid.
HEADS: tuple[str, ...] = ("softmax", "sigmoid")


class InputNormalization(nn.Module):
    """Per-channel standardisation ``(x - mean_c) / std_c`` (the paper's normalisation layer).

    For HOA models the magnitude channels share the training set's magnitude mean/std and the
    phase channels share the phase mean/std. LRP treats this layer as the identity: it declares
    ``lrp_pass_through = True``, which the LRP engine reads (the engine never imports models).

    Parameters
    ----------
    n_channels
        Number of input channels.
    mean, std
        Optional per-channel statistics of length ``n_channels``; default 0 and 1 (identity).
    """

    def __init__(
        self,
        n_channels: int,
        mean: Sequence[float] | torch.Tensor | np.ndarray | None = None,
        std: Sequence[float] | torch.Tensor | np.ndarray | None = None,
    ) -> None:
        super().__init__()
        mean_t = torch.zeros(n_channels) if mean is None else torch.as_tensor(mean).float()
        std_t = torch.ones(n_channels) if std is None else torch.as_tensor(std).float()
        if mean_t.shape != (n_channels,) or std_t.shape != (n_channels,):
            raise ValueError(
                f"normalisation statistics must have shape ({n_channels},), got "
                f"{tuple(mean_t.shape)} and {tuple(std_t.shape)}"
            )
        if not bool(torch.all(std_t > 0)):
            raise ValueError("normalisation std must be positive in every channel")
        self.register_buffer("mean", mean_t)
        self.register_buffer("std", std_t)

    mean: torch.Tensor
    std: torch.Tensor
    #: relevance passes through this layer unchanged (read by :mod:`audiolrp.lrp`)
    lrp_pass_through: ClassVar[bool] = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer to ``x``."""
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return (x - self.mean.view(shape).to(x.dtype)) / self.std.view(shape).to(x.dtype)


class FrequencyToFeatures(nn.Module):
    """Reshape ``(B, C, T, F)`` to ``(B, T, C * F)`` (Table 1 "Reshape"); identity for LRP."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer to ``x``."""
        b, c, t, f = x.shape
        return x.permute(0, 2, 1, 3).reshape(b, t, c * f)


def conv_front_end(n_in: int, n_filters: int, pool_sizes: Sequence[int]) -> nn.Sequential:
    """The convolution blocks of Table 1, shared by :class:`CRNN` and
    :class:`~audiolrp.models.conformer.ConformerDOA`: per pooling factor ``p``,
    ``Conv2d 3x3 'same' (n_filters) -> BatchNorm2d -> ELU -> MaxPool2d (1, p)`` over frequency.

    One flat ``nn.Sequential`` of four modules per block, so the state-dict keys are
    ``conv.{4 i}.weight`` (Conv2d) and ``conv.{4 i + 1}.*`` (BatchNorm2d) as in the shipped
    model files.
    """
    layers: list[nn.Module] = []
    c_in = n_in
    for p in pool_sizes:
        layers += [
            nn.Conv2d(c_in, n_filters, kernel_size=3, padding=1),
            nn.BatchNorm2d(n_filters),
            nn.ELU(),
            nn.MaxPool2d(kernel_size=(1, int(p))),
        ]
        c_in = n_filters
    return nn.Sequential(*layers)


class CRNN(nn.Module):
    """Convolutional-recurrent DOA classifier of Table 1 (all sizes are arguments).

    Parameters
    ----------
    n_in
        Input channels: ``2 (N+1)^2`` for an order-N HOA model (magnitude + phase per
        Ambisonics channel), 6 for the intensity model.
    n_filters
        Filters of each convolution (``N_filt = 64``).
    pool_sizes
        Max-pooling factors over frequency after each conv block (8, 8, 4): 512 -> 2 bins.
    n_bins
        Frequency bins of the input (512).
    lstm_hidden
        LSTM blocks per direction (``N_block = 50``).
    n_lstm_layers
        Number of stacked BiLSTM layers (2).
    n_dense
        Units of the hidden dense layer (``2 N_block = 100``).
    n_classes
        DOA classes (``N_bin = 425``).
    norm_mean, norm_std
        Optional per-channel input statistics for :class:`InputNormalization`.
    head
        ``"softmax"`` (one source: the paper's classifier) or ``"sigmoid"`` (several sources:
        one independent activity per class, :mod:`audiolrp.models.multisource`). The layers are
        the same; only :meth:`clip_probabilities` differs. Recorded in ``config`` only when not
        ``"softmax"``, so single-source model files are unchanged.
    """

    def __init__(
        self,
        n_in: int,
        n_filters: int = 64,
        pool_sizes: Sequence[int] = (8, 8, 4),
        n_bins: int = N_BINS,
        lstm_hidden: int = 50,
        n_lstm_layers: int = 2,
        n_dense: int = 100,
        n_classes: int = N_CLASSES,
        norm_mean: Sequence[float] | torch.Tensor | np.ndarray | None = None,
        norm_std: Sequence[float] | torch.Tensor | np.ndarray | None = None,
        head: str = "softmax",
    ) -> None:
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"unknown head {head!r}; use one of {', '.join(HEADS)}")
        pool_sizes = tuple(int(p) for p in pool_sizes)
        n_out_bins = n_bins
        for p in pool_sizes:
            if n_out_bins % p:
                raise ValueError(f"n_bins={n_bins} is not divisible by the pool sizes {pool_sizes}")
            n_out_bins //= p
        self.config: dict[str, Any] = {
            "n_in": n_in,
            "n_filters": n_filters,
            "pool_sizes": list(pool_sizes),
            "n_bins": n_bins,
            "lstm_hidden": lstm_hidden,
            "n_lstm_layers": n_lstm_layers,
            "n_dense": n_dense,
            "n_classes": n_classes,
        }
        if head != "softmax":
            self.config["head"] = head
        self.normalization = InputNormalization(n_in, norm_mean, norm_std)
        self.conv = conv_front_end(n_in, n_filters, pool_sizes)
        self.reshape = FrequencyToFeatures()
        lstms: list[nn.Module] = []
        d_in = n_filters * n_out_bins
        for _ in range(n_lstm_layers):
            lstms.append(nn.LSTM(d_in, lstm_hidden, batch_first=True, bidirectional=True))
            d_in = 2 * lstm_hidden
        self.lstms = nn.ModuleList(lstms)
        self.dense = nn.Linear(d_in, n_dense)
        self.dense_activation = nn.ELU()
        self.output = nn.Linear(n_dense, n_classes)

    @property
    def n_in(self) -> int:
        """Number of input channels."""
        return int(self.config["n_in"])

    @property
    def n_classes(self) -> int:
        """Number of DOA classes."""
        return int(self.config["n_classes"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-softmax DOA scores per frame.

        Parameters
        ----------
        x
            Features of shape ``(B, n_in, T, n_bins)``.

        Returns
        -------
        torch.Tensor
            Scores of shape ``(B, T, n_classes)``.
        """
        if x.dim() != 4 or x.shape[1] != self.n_in or x.shape[3] != self.config["n_bins"]:
            raise ValueError(
                f"CRNN expects input (batch, {self.n_in}, frames, {self.config['n_bins']}), "
                f"got {tuple(x.shape)}"
            )
        return self.scores_from_conv_features(self.conv(self.normalize(x)))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """The first stage of :meth:`forward`: per-channel standardisation of raw features."""
        return self.normalization(x)

    def scores_from_conv_features(self, h: torch.Tensor) -> torch.Tensor:
        """The stages of :meth:`forward` after the convolution blocks.

        Parameters
        ----------
        h
            Output of the convolution blocks, ``(B, n_filters, T, n_bins / prod(pool_sizes))``
            (any equivalent computation of ``self.conv(self.normalize(x))``).

        Returns
        -------
        torch.Tensor
            Pre-softmax scores ``(B, T, n_classes)``.
        """
        h = self.reshape(h)
        for lstm in self.lstms:
            h, _ = lstm(h)
        h = self.dense_activation(self.dense(h))
        return self.output(h)

    @property
    def head(self) -> str:
        """``"softmax"`` (one source) or ``"sigmoid"`` (several sources)."""
        return str(self.config.get("head", "softmax"))

    def clip_probabilities(self, frame_scores: torch.Tensor) -> torch.Tensor:
        """Clip-level class probabilities of this model's frame scores
        (:func:`clip_probabilities`; with the sigmoid head the mean frame sigmoid per class);
        the LRP's default target is their argmax."""
        if self.head == "sigmoid":
            return torch.sigmoid(frame_scores).mean(dim=1)
        return clip_probabilities(frame_scores)


def clip_probabilities(frame_scores: torch.Tensor) -> torch.Tensor:
    """Clip-level class probabilities: the mean over frames of the frame softmax.

    Parameters
    ----------
    frame_scores
        Pre-softmax scores ``(B, T, n_classes)``.

    Returns
    -------
    torch.Tensor
        ``(B, n_classes)`` probabilities; the clip prediction is their argmax.
    """
    return torch.softmax(frame_scores, dim=-1).mean(dim=1)


def predict_clip(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Predicted class per clip (argmax of the mean frame probability), shape ``(B,)``."""
    with torch.no_grad():
        return clip_probabilities(model(x)).argmax(dim=-1)


__all__ = [
    "CRNN",
    "HEADS",
    "FrequencyToFeatures",
    "InputNormalization",
    "clip_probabilities",
    "conv_front_end",
    "predict_clip",
]
