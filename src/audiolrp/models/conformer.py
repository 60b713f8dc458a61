"""A conformer DOA classifier: the CRNN's convolutional front end with conformer blocks
(Gulati et al., "Conformer: Convolution-augmented Transformer for Speech Recognition", 2020)
in place of its BiLSTMs. Written from ``torch.nn`` layers only.

Layer stack for an input of shape ``(B, N_in, T=50, F=512)``::

    InputNormalization, 3 x [Conv2d 3x3 -> BatchNorm2d -> ELU -> MaxPool2d (8, 8, 4)]
    (the CRNN's blocks: audiolrp.models.crnn.conv_front_end)
    -> (B, 64, 50, 2) -> FrequencyToFeatures -> (B, 50, 128) -> Linear(d_model)
    n_blocks x ConformerBlock(d_model):
        x = x + 1/2 FeedForward(x)           LayerNorm, Linear(m d), SiLU, Linear(d)
        x = x + MHSA(LayerNorm(x) + PE)      nn.MultiheadAttention, sinusoidal positions
        x = x + Convolution(x)               LayerNorm, pointwise Conv1d(2d), GLU,
                                             depthwise Conv1d(k), BatchNorm1d, SiLU,
                                             pointwise Conv1d(d)
        x = x + 1/2 FeedForward(x)
        x = LayerNorm(x)
    -> Linear(n_dense) -> ELU -> Linear(425)

Same contract as :class:`~audiolrp.models.CRNN`: ``forward`` returns pre-softmax scores per
frame ``(B, T, n_classes)``; :meth:`ConformerDOA.clip_probabilities` is the mean frame softmax.
Residual additions are :class:`Residual` modules (``lrp_sum = True``) and the half-step factor and
the positional encoding declare ``lrp_pass_through = True``, so :func:`audiolrp.lrp.explain`
explains the model with its attention rules (``composite="attn_lrp"`` or ``"cp_lrp"``) without
importing anything from the LRP package here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from audiolrp.constants import N_BINS, N_CLASSES, N_FRAMES
from audiolrp.models.crnn import (
    FrequencyToFeatures,
    InputNormalization,
    clip_probabilities,
    conv_front_end,
)


class Residual(nn.Module):
    """``x + y``: a residual connection as a module (the LRP engine splits its relevance
    between the two summands: it declares ``lrp_sum = True``)."""

    lrp_sum: ClassVar[bool] = True

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``x + y``."""
        return x + y


class Scale(nn.Module):
    """Multiplication by a constant (the conformer's half-step ``1/2``); relevance passes
    through unchanged (``lrp_pass_through = True``)."""

    lrp_pass_through: ClassVar[bool] = True

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = float(factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``factor * x``."""
        return x * self.factor

    def extra_repr(self) -> str:  # noqa: D102
        return f"factor={self.factor:g}"


class SinusoidalPositionalEncoding(nn.Module):
    """``x + PE`` with the sinusoidal encoding of Vaswani et al. (2017) over the frames of a
    ``(B, T, d)`` input: ``PE(t, 2i) = sin(t / 10000^(2i/d))``, ``PE(t, 2i+1) = cos(...)``.

    An added constant: LRP passes the relevance of ``x + PE`` to ``x`` unchanged (it declares
    ``lrp_pass_through = True``), so the encoding takes no relevance and the layers after it
    attribute its share to ``x``. Not stored in model files (recomputed).
    """

    lrp_pass_through: ClassVar[bool] = True
    pe: torch.Tensor

    def __init__(self, d_model: int, max_frames: int = 4 * N_FRAMES) -> None:
        super().__init__()
        t = torch.arange(max_frames, dtype=torch.float64)[:, None]
        freq = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2, dtype=torch.float64)
                         / d_model)
        pe = torch.zeros(max_frames, d_model, dtype=torch.float64)
        pe[:, 0::2] = torch.sin(t * freq)
        pe[:, 1::2] = torch.cos(t * freq)[:, : d_model // 2]
        self.register_buffer("pe", pe.float(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x + PE[:T]`` for ``x`` of shape ``(B, T, d)``."""
        if x.shape[1] > self.pe.shape[0]:
            raise ValueError(f"{x.shape[1]} frames exceed the encoding's {self.pe.shape[0]}")
        return x + self.pe[: x.shape[1]].to(x.dtype)


class FeedForward(nn.Sequential):
    """The conformer's half-step feed-forward module: LayerNorm, Linear(m d), SiLU, dropout,
    Linear(d), dropout, times 1/2."""

    def __init__(self, d_model: int, mult: int, dropout: float) -> None:
        super().__init__(
            nn.LayerNorm(d_model), nn.Linear(d_model, mult * d_model), nn.SiLU(),
            nn.Dropout(dropout), nn.Linear(mult * d_model, d_model), nn.Dropout(dropout),
            Scale(0.5),
        )


class SelfAttention(nn.Module):
    """LayerNorm, sinusoidal positions, ``nn.MultiheadAttention`` (self-attention), dropout."""

    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.positions = SinusoidalPositionalEncoding(d_model)
        self.attention = nn.MultiheadAttention(d_model, n_heads, dropout=dropout,
                                               batch_first=True)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Self-attention over the frames of ``x`` ``(B, T, d)``."""
        h = self.positions(self.norm(x))
        return self.dropout(self.attention(h, h, h, need_weights=False)[0])


class ConvolutionModule(nn.Module):
    """LayerNorm, pointwise Conv1d (2d), GLU, depthwise Conv1d (kernel k), BatchNorm1d, SiLU,
    pointwise Conv1d (d), dropout; over the frames of ``(B, T, d)``."""

    def __init__(self, d_model: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"conv_kernel={kernel_size} must be odd ('same' padding)")
        self.norm = nn.LayerNorm(d_model)
        self.convs = nn.Sequential(
            nn.Conv1d(d_model, 2 * d_model, 1), nn.GLU(dim=1),
            nn.Conv1d(d_model, d_model, kernel_size, padding=kernel_size // 2, groups=d_model),
            nn.BatchNorm1d(d_model), nn.SiLU(), nn.Conv1d(d_model, d_model, 1),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The module on ``x`` ``(B, T, d)``."""
        return self.convs(self.norm(x).transpose(1, 2)).transpose(1, 2)


class ConformerBlock(nn.Module):
    """One conformer block (Gulati et al. 2020, Fig. 1): FF/2, MHSA, convolution, FF/2, each
    with a residual connection, then LayerNorm."""

    def __init__(
        self, d_model: int, n_heads: int, ff_mult: int, conv_kernel: int, dropout: float
    ) -> None:
        super().__init__()
        self.feed_forward1 = FeedForward(d_model, ff_mult, dropout)
        self.residual1 = Residual()
        self.attention = SelfAttention(d_model, n_heads, dropout)
        self.residual2 = Residual()
        self.convolution = ConvolutionModule(d_model, conv_kernel, dropout)
        self.residual3 = Residual()
        self.feed_forward2 = FeedForward(d_model, ff_mult, dropout)
        self.residual4 = Residual()
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block on ``x`` ``(B, T, d)``."""
        x = self.residual1(x, self.feed_forward1(x))
        x = self.residual2(x, self.attention(x))
        x = self.residual3(x, self.convolution(x))
        x = self.residual4(x, self.feed_forward2(x))
        return self.norm(x)


class ConformerDOA(nn.Module):
    """Conformer DOA classifier (module docstring; all sizes are arguments).

    Parameters
    ----------
    n_in
        Input channels (``2 (N+1)^2`` for HOA order N, 6 for intensity).
    n_filters, pool_sizes, n_bins
        The CRNN's convolutional front end (64 filters, pooling 8, 8, 4 over 512 bins).
    d_model
        Width of the conformer blocks.
    n_heads
        Attention heads.
    n_blocks
        Conformer blocks.
    ff_mult
        Expansion of the feed-forward modules.
    conv_kernel
        Kernel of the depthwise convolution (odd).
    n_dense
        Units of the hidden dense layer of the head.
    n_classes
        DOA classes (425).
    dropout
        Dropout in the blocks (training only).
    norm_mean, norm_std
        Optional per-channel input statistics for :class:`InputNormalization`.
    """

    def __init__(
        self,
        n_in: int,
        n_filters: int = 64,
        pool_sizes: Sequence[int] = (8, 8, 4),
        n_bins: int = N_BINS,
        d_model: int = 64,
        n_heads: int = 4,
        n_blocks: int = 2,
        ff_mult: int = 4,
        conv_kernel: int = 15,
        n_dense: int = 100,
        n_classes: int = N_CLASSES,
        dropout: float = 0.1,
        norm_mean: Sequence[float] | torch.Tensor | np.ndarray | None = None,
        norm_std: Sequence[float] | torch.Tensor | np.ndarray | None = None,
    ) -> None:
        super().__init__()
        pool_sizes = tuple(int(p) for p in pool_sizes)
        n_out_bins = n_bins
        for p in pool_sizes:
            if n_out_bins % p:
                raise ValueError(f"n_bins={n_bins} is not divisible by the pool sizes {pool_sizes}")
            n_out_bins //= p
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.config: dict[str, Any] = {
            "n_in": n_in, "n_filters": n_filters, "pool_sizes": list(pool_sizes),
            "n_bins": n_bins, "d_model": d_model, "n_heads": n_heads, "n_blocks": n_blocks,
            "ff_mult": ff_mult, "conv_kernel": conv_kernel, "n_dense": n_dense,
            "n_classes": n_classes, "dropout": dropout,
        }
        self.normalization = InputNormalization(n_in, norm_mean, norm_std)
        self.conv = conv_front_end(n_in, n_filters, pool_sizes)
        self.reshape = FrequencyToFeatures()
        self.projection = nn.Linear(n_filters * n_out_bins, d_model)
        self.blocks = nn.ModuleList(
            ConformerBlock(d_model, n_heads, ff_mult, conv_kernel, dropout)
            for _ in range(n_blocks)
        )
        self.dense = nn.Linear(d_model, n_dense)
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
        """Pre-softmax DOA scores per frame: ``(B, n_in, T, n_bins)`` -> ``(B, T, n_classes)``."""
        if x.dim() != 4 or x.shape[1] != self.n_in or x.shape[3] != self.config["n_bins"]:
            raise ValueError(
                f"ConformerDOA expects input (batch, {self.n_in}, frames, "
                f"{self.config['n_bins']}), got {tuple(x.shape)}"
            )
        h = self.projection(self.reshape(self.conv(self.normalization(x))))
        for block in self.blocks:
            h = block(h)
        return self.output(self.dense_activation(self.dense(h)))

    def clip_probabilities(self, frame_scores: torch.Tensor) -> torch.Tensor:
        """Clip-level class probabilities (mean frame softmax, as the CRNN's); the LRP's default
        target is their argmax."""
        return clip_probabilities(frame_scores)


__all__ = [
    "ConformerBlock",
    "ConformerDOA",
    "ConvolutionModule",
    "FeedForward",
    "Residual",
    "Scale",
    "SelfAttention",
    "SinusoidalPositionalEncoding",
]
