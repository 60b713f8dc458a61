"""The one owner of the model-input channel layout: :class:`InputLayout`.

A model reads one of two feature kinds (paper, section "Experimental Setup"):

* ``"hoa"`` of Ambisonics order N: ``2 (N+1)^2`` channels, all magnitudes ``|A_0| ..
  |A_{K-1}|`` (ACN order) then all phases ``arg A_0 .. arg A_{K-1}``, ``K = (N+1)^2``; it reads
  the ``K`` AmbiX channels up to order N;
* ``"intensity"``: 6 channels ``[I_a,x, I_a,y, I_a,z, I_r,x, I_r,y, I_r,z]`` (active then
  reactive intensity, Perotin et al. 2019); it reads the 4 first-order channels (order 1).

Everything else (channel counts of models and datasets, channel names on model files and
reports, the channel groups of pixel flipping, the Cartesian axis of a channel for the
direction correlation of Fig. 3, how many audio channels a recording needs) asks an
:class:`InputLayout`; ``docs/conventions.md`` states the same layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from audiolrp.constants import n_sh_channels
from audiolrp.errors import AudioLRPError

FEATURE_KINDS: tuple[str, ...] = ("hoa", "intensity")
INTENSITY_NAMES: tuple[str, ...] = ("I_a,x", "I_a,y", "I_a,z", "I_r,x", "I_r,y", "I_r,z")
#: Cartesian axis (0 = x, 1 = y, 2 = z) of the first-order ACN channels: ACN1 = Y, ACN2 = Z,
#: ACN3 = X (AmbiX).
FIRST_ORDER_ACN_AXES: dict[int, int] = {1: 1, 2: 2, 3: 0}
_AXES = "xyz"


@dataclass(frozen=True)
class InputLayout:
    """Channel layout of a model input: names, groups, axes and counts.

    Parameters
    ----------
    feature
        ``"hoa"`` or ``"intensity"``.
    order
        Ambisonics order N of an HOA input; an intensity input always reads first-order audio,
        so its order is 1 whatever is passed. Use :meth:`of` to build one with validation.
    """

    feature: str
    order: int = 1

    def __post_init__(self) -> None:
        if self.feature not in FEATURE_KINDS:
            raise AudioLRPError(
                f"unknown feature {self.feature!r}: use one of {', '.join(FEATURE_KINDS)}"
            )
        if self.feature == "intensity":
            object.__setattr__(self, "order", 1)
        elif int(self.order) < 0:
            raise AudioLRPError(
                f"HOA models need an Ambisonics order >= 0, got {self.order!r}: pass --order N"
            )
        object.__setattr__(self, "order", int(self.order))

    @classmethod
    def of(cls, feature: str, order: int | None = None) -> InputLayout:
        """The layout of ``feature`` (``order`` required for ``"hoa"``, ignored for intensity)."""
        if feature == "hoa" and order is None:
            raise AudioLRPError(
                "HOA models need an Ambisonics order >= 0, got None: pass --order N"
            )
        return cls(feature, 1 if order is None else int(order))

    # ---------------------------------------------------------------------------- counts
    @property
    def is_intensity(self) -> bool:
        """Whether this is the 6-channel intensity layout."""
        return self.feature == "intensity"

    @property
    def n_audio_channels(self) -> int:
        """AmbiX channels the features are computed from: ``(N+1)^2`` (4 for intensity)."""
        return n_sh_channels(self.order)

    @property
    def n_channels(self) -> int:
        """Feature channels: ``2 (N+1)^2`` for HOA, 6 for intensity."""
        return len(INTENSITY_NAMES) if self.is_intensity else 2 * self.n_audio_channels

    # ----------------------------------------------------------------------------- names
    @cached_property
    def names(self) -> tuple[str, ...]:
        """Channel names: ``"ACN{i} mag"`` then ``"ACN{i} phase"`` (HOA), or the intensity
        names ``"I_a,x" .. "I_r,z"``."""
        if self.is_intensity:
            return INTENSITY_NAMES
        k = self.n_audio_channels
        return tuple(f"ACN{i} mag" for i in range(k)) + tuple(f"ACN{i} phase" for i in range(k))

    # ---------------------------------------------------------------------------- groups
    @property
    def groups(self) -> dict[str, tuple[int, ...] | None]:
        """Named channel groups (``None`` = all channels).

        Intensity: ``all``, ``active`` (0, 1, 2), ``reactive`` (3, 4, 5). HOA: ``all``,
        ``magnitude`` (0..K-1), ``phase`` (K..2K-1) and ``order {n}`` (magnitude and phase of the
        ACN channels of order n, ``n = 0..N``).
        """
        out: dict[str, tuple[int, ...] | None] = {"all": None}
        if self.is_intensity:
            out.update(active=(0, 1, 2), reactive=(3, 4, 5))
            return out
        k = self.n_audio_channels
        out.update(magnitude=tuple(range(k)), phase=tuple(range(k, 2 * k)))
        for n in range(self.order + 1):
            acn = list(range(n * n, (n + 1) * (n + 1)))
            out[f"order {n}"] = tuple(acn + [k + a for a in acn])
        return out

    @property
    def part_groups(self) -> dict[str, tuple[int, ...]]:
        """The two halves of the layout, by their display name: active / reactive intensity,
        or magnitude / phase channels."""
        g = self.groups
        if self.is_intensity:
            return {"active intensity": g["active"] or (),
                    "reactive intensity": g["reactive"] or ()}
        return {"magnitude channels": g["magnitude"] or (), "phase channels": g["phase"] or ()}

    # ------------------------------------------------------------------------------ axes
    @cached_property
    def axes(self) -> tuple[int | None, ...]:
        """Cartesian axis (0 = x, 1 = y, 2 = z) of each channel, ``None`` for none.

        Intensity: ``(0, 1, 2, 0, 1, 2)``. HOA: the magnitude and phase channels of ACN1 (Y),
        ACN2 (Z) and ACN3 (X) carry their dipole's axis; the others ``None``.
        """
        if self.is_intensity:
            return (0, 1, 2, 0, 1, 2)
        k = self.n_audio_channels
        per_acn = tuple(FIRST_ORDER_ACN_AXES.get(i) for i in range(k))
        return per_acn + per_acn

    def axis_name(self, channel: int) -> str | None:
        """``"x"``, ``"y"``, ``"z"`` or ``None`` for ``channel``."""
        a = self.axes[channel]
        return None if a is None else _AXES[a]

    # ----------------------------------------------------------------------------- words
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
        return "sum over the 6 intensity channels" if self.is_intensity else "magnitude + phase"


__all__ = ["FEATURE_KINDS", "FIRST_ORDER_ACN_AXES", "INTENSITY_NAMES", "InputLayout"]
