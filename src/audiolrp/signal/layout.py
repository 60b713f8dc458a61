"""The one owner of the model-input channel layout: :class:`InputLayout`.

A model reads one registered feature kind (:mod:`audiolrp.signal.feature_kinds`: ``"hoa"`` of
Ambisonics order N, ``2 (N+1)^2`` channels, magnitudes then phases; ``"intensity"``, 6 channels
of first-order audio). An :class:`InputLayout` is a kind at an order; it answers every question
about the channels by asking its kind.

Everything else (channel counts of models and datasets, channel names on model files and
reports, the channel groups of pixel flipping, the Cartesian axis of a channel for the
direction correlation of Fig. 3, how many audio channels a recording needs, which audio
channels a feature channel is computed from) asks an :class:`InputLayout` instead of comparing
feature names; ``docs/conventions.md`` states the same layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from audiolrp.constants import n_sh_channels
from audiolrp.signal.feature_kinds import (
    FEATURE_KINDS,
    FIRST_ORDER_ACN_AXES,
    INTENSITY,
    INTENSITY_NAMES,
    FeatureKind,
    feature_kind,
)

_AXES = "xyz"


@dataclass(frozen=True)
class InputLayout:
    """Channel layout of a model input: names, groups, axes and counts.

    Parameters
    ----------
    feature
        A registered feature kind's name (``"hoa"``, ``"intensity"``).
    order
        Ambisonics order N of the input; a kind with a fixed order (intensity: always first
        order) takes its own whatever is passed. Use :meth:`of` to build one with validation.
    """

    feature: str
    order: int = 1

    def __post_init__(self) -> None:
        kind = feature_kind(self.feature)
        object.__setattr__(self, "order", kind.resolve_order(self.order))

    @classmethod
    def of(cls, feature: str, order: int | None = None) -> InputLayout:
        """The layout of ``feature`` (``order`` required unless the kind fixes it)."""
        kind = feature_kind(feature)
        return cls(kind.name, kind.resolve_order(order))

    @property
    def kind(self) -> FeatureKind:
        """The registered :class:`~audiolrp.signal.feature_kinds.FeatureKind`."""
        return feature_kind(self.feature)

    # ---------------------------------------------------------------------------- counts
    @property
    def is_intensity(self) -> bool:
        """Whether this is the 6-channel intensity layout (the paper's findings 1 and 2)."""
        return self.kind is INTENSITY

    @property
    def n_audio_channels(self) -> int:
        """AmbiX channels the features are computed from: ``(N+1)^2`` (4 for intensity)."""
        return n_sh_channels(self.order)

    @property
    def n_channels(self) -> int:
        """Feature channels: ``2 (N+1)^2`` for HOA, 6 for intensity."""
        return len(self.names)

    # ----------------------------------------------------------------------------- names
    @cached_property
    def names(self) -> tuple[str, ...]:
        """Channel names: ``"ACN{i} mag"`` then ``"ACN{i} phase"`` (HOA), or the intensity
        names ``"I_a,x" .. "I_r,z"``."""
        return tuple(self.kind.names(self.order))

    # ---------------------------------------------------------------------------- groups
    @property
    def groups(self) -> dict[str, tuple[int, ...] | None]:
        """Named channel groups (``None`` = all channels).

        Intensity: ``all``, ``active`` (0, 1, 2), ``reactive`` (3, 4, 5). HOA: ``all``,
        ``magnitude`` (0..K-1), ``phase`` (K..2K-1) and ``order {n}`` (magnitude and phase of the
        ACN channels of order n, ``n = 0..N``).
        """
        out: dict[str, tuple[int, ...] | None] = {"all": None}
        out.update(self.kind.groups(self.order))
        return out

    @property
    def part_groups(self) -> dict[str, tuple[int, ...]]:
        """The two halves of the layout, by their display name: active / reactive intensity,
        or magnitude / phase channels."""
        return dict(self.kind.part_groups(self.order))

    @property
    def default_groups(self) -> tuple[str, ...]:
        """``all`` and the two halves' group names (pixel flipping's default groups):
        ``("all", "active", "reactive")`` or ``("all", "magnitude", "phase")``."""
        return ("all", *self.kind.halves)

    # ------------------------------------------------------------------------------ axes
    @cached_property
    def axes(self) -> tuple[int | None, ...]:
        """Cartesian axis (0 = x, 1 = y, 2 = z) of each channel, ``None`` for none.

        Intensity: ``(0, 1, 2, 0, 1, 2)``. HOA: the magnitude and phase channels of ACN1 (Y),
        ACN2 (Z) and ACN3 (X) carry their dipole's axis; the others ``None``.
        """
        return tuple(self.kind.axes(self.order))

    def axis_name(self, channel: int) -> str | None:
        """``"x"``, ``"y"``, ``"z"`` or ``None`` for ``channel``."""
        a = self.axes[channel]
        return None if a is None else _AXES[a]

    # --------------------------------------------------------------------- audio channels
    @cached_property
    def audio_sources(self) -> tuple[tuple[int, ...], ...]:
        """The audio channels (ACN) each feature channel is computed from: HOA channel ``c``
        from ACN ``c mod K``; every intensity channel from all four first-order channels."""
        return tuple(self.kind.audio_sources(self.order))

    def per_audio_channel(self, values: np.ndarray) -> np.ndarray:
        """Sum ``values`` ``(C, ...)`` per audio channel: ``out[i]`` sums the feature channels
        computed from ACN ``i`` (HOA: magnitude + phase of ACN i; intensity: all six, for
        each of the 4 channels)."""
        out = np.zeros((self.n_audio_channels, *values.shape[1:]), dtype=values.dtype)
        for c, sources in enumerate(self.audio_sources):
            for i in sources:
                out[i] += values[c]
        return out

    # ------------------------------------------------------------------------ the numbers
    def compute(self, audio: Any, **kwargs: Any) -> Any:
        """The features of ``audio`` (``(..., K, 16000)`` or its STFT) for this layout."""
        return self.kind.compute(audio, self.order, **kwargs)

    def normalization(self, stats: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel ``(mean, std)``: from ``stats`` when the kind uses statistics (HOA),
        zeros/ones else."""
        return self.kind.normalization(self.order, stats)

    # ----------------------------------------------------------------------------- words
    def describe(self) -> str:
        """The input in words (model cards), e.g. ``"HOA order 2 magnitude + phase (18
        channels)"``."""
        return self.kind.describe(self.order, self.n_channels)

    def describe_audio(self) -> str:
        """The audio this layout is computed from, e.g. ``">= 9 Ambisonics channels
        (2nd-order AmbiX, ACN/SN3D)"``."""
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(self.order, "th")
        return (
            f">= {self.n_audio_channels} Ambisonics channels "
            f"({self.order}{suffix}-order AmbiX, ACN/SN3D)"
        )

    @property
    def heatmap_label(self) -> str:
        """What one audio channel's relevance heatmap sums
        (:func:`audiolrp.analysis.heatmaps.audio_channel_heatmaps`)."""
        return self.kind.heatmap_label


__all__ = ["FEATURE_KINDS", "FIRST_ORDER_ACN_AXES", "INTENSITY_NAMES", "InputLayout"]
