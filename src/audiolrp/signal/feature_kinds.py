"""The feature kinds a model can read, by name: the one registry of :class:`FeatureKind`.

A feature kind says everything that differs between model inputs: its channels for an
Ambisonics order (names, named groups, Cartesian axes, which audio channels each is computed
from), the audio order it reads (fixed for intensity: always first order), the one function
that computes it, its input normalisation and the words reports use for it. Everything else
asks :class:`audiolrp.signal.layout.InputLayout` (which asks the kind) instead of comparing
names, so a new feature kind is one :func:`register_feature_kind` call.

The two kinds of the paper (section "Experimental Setup"):

* :data:`HOA` (``"hoa"``) of order N: ``2 (N+1)^2`` channels, all magnitudes ``|A_0| ..
  |A_{K-1}|`` (ACN order) then all phases, ``K = (N+1)^2``; it reads the ``K`` AmbiX channels
  up to order N; normalised by training-set statistics;
* :data:`INTENSITY` (``"intensity"``): 6 channels ``[I_a,x, I_a,y, I_a,z, I_r,x, I_r,y,
  I_r,z]`` (active then reactive intensity, Perotin et al. 2019) of the 4 first-order
  channels (its order is always 1); no normalisation.

The maths (:func:`audiolrp.signal.features.hoa_features`, ``intensity_features``) stays in
``features.py``, whose dispatchers (``compute_features``, ``normalization_vectors``,
``feature_channels``) ask this registry; the built-in kinds therefore import the maths when
first used (the only lazy imports of the package's signal layer), and ``layout.py``, which
asks this module, imports no torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from audiolrp.constants import n_sh_channels
from audiolrp.errors import AudioLRPError

#: Names of the intensity channels.
INTENSITY_NAMES: tuple[str, ...] = ("I_a,x", "I_a,y", "I_a,z", "I_r,x", "I_r,y", "I_r,z")
#: Cartesian axis (0 = x, 1 = y, 2 = z) of the first-order ACN channels: ACN1 = Y, ACN2 = Z,
#: ACN3 = X (AmbiX).
FIRST_ORDER_ACN_AXES: dict[int, int] = {1: 1, 2: 2, 3: 0}

Groups = dict[str, tuple[int, ...]]


class FeatureKind:
    """One kind of model input. Subclass it and :func:`register_feature_kind` an instance.

    Attributes
    ----------
    name
        The name models, datasets and the CLI use (``--feature NAME``).
    fixed_order
        The Ambisonics order every model of this kind reads, whatever order is asked for
        (intensity: 1); ``None``: the order is the model's own (HOA: required).
    min_audio_order
        The lowest stored audio order the kind can be computed from.
    uses_statistics
        Whether models of this kind normalise their input by training-set statistics by
        default (:meth:`normalization` then needs them).
    halves
        The names of the two groups (in :meth:`groups`) that split the channels in two parts
        (the default channel groups of pixel flipping beside ``all``).
    heatmap_label
        What one audio channel's relevance heatmap sums (figure titles).
    w_heatmap_label
        What the relevance map drawn over W shows (replication's finding 3).
    """

    name: str = ""
    fixed_order: int | None = None
    min_audio_order: int = 0
    uses_statistics: bool = False
    halves: tuple[str, str] = ("", "")
    heatmap_label: str = ""
    w_heatmap_label: str = ""

    # ------------------------------------------------------------------- the order
    def resolve_order(self, order: int | None) -> int:
        """The order a model of this kind reads when ``order`` is asked for (one-line error
        when the kind needs one and none or a negative one is given)."""
        if self.fixed_order is not None:
            return self.fixed_order
        if order is None or int(order) < 0:
            raise AudioLRPError(
                f"{self.name.upper()} models need an Ambisonics order >= 0, got {order!r}: "
                "pass --order N"
            )
        return int(order)

    # ------------------------------------------------------------- the channels
    def names(self, order: int) -> tuple[str, ...]:
        """Channel names for ``order``."""
        raise NotImplementedError

    def groups(self, order: int) -> Groups:
        """Named channel groups (beside ``all``, which the layout adds)."""
        return {}

    def part_groups(self, order: int) -> Groups:
        """The two halves by their display name (default: the :attr:`halves` groups)."""
        g = self.groups(order)
        return {h: g[h] for h in self.halves if h in g}

    def axes(self, order: int) -> tuple[int | None, ...]:
        """Cartesian axis (0 = x, 1 = y, 2 = z) of each channel, ``None`` for none."""
        return (None,) * len(self.names(order))

    def audio_sources(self, order: int) -> tuple[tuple[int, ...], ...]:
        """The audio channels (ACN) each feature channel is computed from (default: all)."""
        every = tuple(range(n_sh_channels(order)))
        return (every,) * len(self.names(order))

    def describe(self, order: int, n_channels: int) -> str:
        """The input in words, for model cards."""
        return f"{self.name} features ({n_channels} channels)"

    # ------------------------------------------------------------ the numbers
    def compute(self, audio: Any, order: int, **kwargs: Any) -> Any:
        """Features ``(..., C, 50, 512)`` of audio ``(..., (N+1)^2, 16000)`` (or its STFT)."""
        raise NotImplementedError

    def normalization(self, order: int, stats: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel ``(mean, std)`` float32 (default: zeros and ones)."""
        n = len(self.names(order))
        return np.zeros(n, np.float32), np.ones(n, np.float32)

    def __repr__(self) -> str:
        return f"FeatureKind({self.name!r})"


class HoaKind(FeatureKind):
    """Magnitude and phase of the Ambisonics STFT up to order N."""

    name = "hoa"
    uses_statistics = True
    halves = ("magnitude", "phase")
    heatmap_label = "magnitude + phase"
    w_heatmap_label = "ACN 0 (W), magnitude + phase relevance"

    def names(self, order: int) -> tuple[str, ...]:
        """Channel names (see :meth:`FeatureKind.names`)."""
        k = n_sh_channels(order)
        return tuple(f"ACN{i} mag" for i in range(k)) + tuple(f"ACN{i} phase" for i in range(k))

    def groups(self, order: int) -> Groups:
        """Named groups (see :meth:`FeatureKind.groups`)."""
        k = n_sh_channels(order)
        out: Groups = {"magnitude": tuple(range(k)), "phase": tuple(range(k, 2 * k))}
        for n in range(order + 1):
            acn = list(range(n * n, (n + 1) * (n + 1)))
            out[f"order {n}"] = tuple(acn + [k + a for a in acn])
        return out

    def part_groups(self, order: int) -> Groups:
        """The two halves by display name."""
        g = self.groups(order)
        return {"magnitude channels": g["magnitude"], "phase channels": g["phase"]}

    def axes(self, order: int) -> tuple[int | None, ...]:
        """Cartesian axis of each channel."""
        per_acn = tuple(FIRST_ORDER_ACN_AXES.get(i) for i in range(n_sh_channels(order)))
        return per_acn + per_acn

    def audio_sources(self, order: int) -> tuple[tuple[int, ...], ...]:
        """The audio channels each channel is computed from."""
        k = n_sh_channels(order)
        return tuple((c % k,) for c in range(2 * k))

    def describe(self, order: int, n_channels: int) -> str:
        """The input in words, for model cards."""
        return f"HOA order {order} magnitude + phase ({n_channels} channels)"

    def compute(self, audio: Any, order: int, **kwargs: Any) -> Any:
        """The features (see :meth:`FeatureKind.compute`)."""
        from audiolrp.signal.features import hoa_features  # noqa: PLC0415 - see the module

        return hoa_features(audio, order)

    def normalization(self, order: int, stats: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel ``(mean, std)``."""
        from audiolrp.signal.features import (  # noqa: PLC0415 - see the module docstring
            HoaStats,
            hoa_stats_vectors,
        )

        if stats is None:
            raise AudioLRPError("HOA features need normalisation statistics; pass HoaStats")
        st = stats if isinstance(stats, HoaStats) else HoaStats.from_dict(stats)
        return hoa_stats_vectors(
            st.magnitude_mean, st.magnitude_std, st.phase_mean, st.phase_std, order
        )


class IntensityKind(FeatureKind):
    """Active and reactive intensity of the first-order channels (normalised by energy)."""

    name = "intensity"
    fixed_order = 1
    min_audio_order = 1
    halves = ("active", "reactive")
    heatmap_label = "sum over the 6 intensity channels"
    w_heatmap_label = "relevance summed over the 6 intensity channels"

    def names(self, order: int) -> tuple[str, ...]:
        """Channel names (see :meth:`FeatureKind.names`)."""
        return INTENSITY_NAMES

    def groups(self, order: int) -> Groups:
        """Named groups (see :meth:`FeatureKind.groups`)."""
        return {"active": (0, 1, 2), "reactive": (3, 4, 5)}

    def part_groups(self, order: int) -> Groups:
        """The two halves by display name."""
        return {"active intensity": (0, 1, 2), "reactive intensity": (3, 4, 5)}

    def axes(self, order: int) -> tuple[int | None, ...]:
        """Cartesian axis of each channel."""
        return (0, 1, 2, 0, 1, 2)

    def describe(self, order: int, n_channels: int) -> str:
        """The input in words, for model cards."""
        return "active + reactive intensity of the first-order signals (6 channels)"

    def compute(self, audio: Any, order: int, **kwargs: Any) -> Any:
        """The features (see :meth:`FeatureKind.compute`)."""
        from audiolrp.signal.features import (  # noqa: PLC0415 - see the module docstring
            intensity_features,
        )

        return intensity_features(audio, **kwargs)


#: The registered feature kinds by name (registration order); read it, register with
#: :func:`register_feature_kind`.
FEATURE_KINDS: dict[str, FeatureKind] = {}


def register_feature_kind(kind: FeatureKind) -> FeatureKind:
    """Register ``kind`` under ``kind.name`` (an existing name is replaced); returns it."""
    if not kind.name or not kind.name.isidentifier():
        raise ValueError(f"a feature kind needs a name like 'hoa', got {kind.name!r}")
    FEATURE_KINDS[kind.name] = kind
    return kind


def unregister_feature_kind(name: str) -> None:
    """Remove a registered kind (tests register toy kinds and remove them)."""
    FEATURE_KINDS.pop(name, None)


def feature_kind(name: str | FeatureKind) -> FeatureKind:
    """The registered kind called ``name`` (one-line error naming the registered ones)."""
    if isinstance(name, FeatureKind):
        return name
    kind = FEATURE_KINDS.get(name)
    if kind is None:
        raise AudioLRPError(
            f"unknown feature {name!r}: use one of {', '.join(FEATURE_KINDS)}"
        )
    return kind


def feature_kind_names() -> tuple[str, ...]:
    """The names of the registered kinds (CLI help and choices)."""
    return tuple(FEATURE_KINDS)


#: The HOA magnitude/phase kind.
HOA: FeatureKind = register_feature_kind(HoaKind())
#: The intensity kind (the paper's findings 1 and 2 are stated for it).
INTENSITY: FeatureKind = register_feature_kind(IntensityKind())

__all__ = [
    "FEATURE_KINDS",
    "FIRST_ORDER_ACN_AXES",
    "HOA",
    "INTENSITY",
    "INTENSITY_NAMES",
    "FeatureKind",
    "HoaKind",
    "IntensityKind",
    "feature_kind",
    "feature_kind_names",
    "register_feature_kind",
    "unregister_feature_kind",
]
