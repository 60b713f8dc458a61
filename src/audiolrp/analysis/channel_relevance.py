"""Channel relevance (paper, section "Channel Relevance", Fig. 3).

Relevance is summed over time and frequency per input channel. Fig. 3 shows the *absolute
channel relevance (summed over time and frequency)*; we read this as the absolute value of the
per-channel sum, ``|sum_{t,f} R_c(t,f)|`` (default). Alternatives: ``per_bin=True`` gives
``sum_{t,f} |R_c(t,f)|`` (no cancellation between positive and negative bins) and
``absolute=False`` the signed sum. The *relevance share* of a channel is its value divided by the
sum over channels of the example (of the absolute values, for signed input).

The experiment: examples whose DOA lies in the grid classes containing the unit vectors
+-e_x, +-e_y are grouped by that direction; per group and channel we report mean, median and the
5th/95th percentiles (bars, dots, whiskers of Fig. 3). :func:`relevance_direction_correlation`
generalises this to all 425 classes by correlating a channel's share with the magnitude of the
DOA component along the channel's axis (e.g. I_a,x vs |d_x|).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from audiolrp.analysis._arrays import as_numpy
from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import doa_grid
from audiolrp.signal.layout import InputLayout

AXIS_DIRECTIONS_XYZ: dict[str, tuple[float, float, float]] = {
    "+x": (1.0, 0.0, 0.0),
    "-x": (-1.0, 0.0, 0.0),
    "+y": (0.0, 1.0, 0.0),
    "-y": (0.0, -1.0, 0.0),
}
#: Cartesian axis (0=x, 1=y, 2=z) of each intensity feature channel
#: (:attr:`audiolrp.signal.layout.InputLayout.axes`).
INTENSITY_CHANNEL_AXES: tuple[int | None, ...] = InputLayout("intensity").axes


def _default_names(n_channels: int) -> tuple[str, ...]:
    """The intensity names for 6 channels, else ``"ch{c}"``."""
    intensity = InputLayout("intensity")
    if n_channels == intensity.n_channels:
        return intensity.names
    return tuple(f"ch{c}" for c in range(n_channels))


def channel_relevance(
    relevance: np.ndarray, absolute: bool = True, per_bin: bool = False
) -> np.ndarray:
    """Relevance per example and input channel, summed over time and frequency.

    Parameters
    ----------
    relevance
        ``(N, C, T, F)`` relevance (or ``(C, T, F)`` for one example).
    absolute
        Take absolute values (default); ``False`` returns the signed sums.
    per_bin
        With ``absolute``: ``sum |R|`` over bins instead of ``|sum R|`` (default).

    Returns
    -------
    np.ndarray
        ``(N, C)`` float64 (``(C,)`` for one example).
    """
    r = as_numpy(relevance)
    if r.ndim not in (3, 4):
        raise AudioLRPError(f"relevance has shape {r.shape}: pass (examples, channels, T, F)")
    if absolute and per_bin:
        return np.abs(r).sum(axis=(-2, -1), dtype=np.float64)
    s = r.sum(axis=(-2, -1), dtype=np.float64)
    return np.abs(s) if absolute else s


def relevance_shares(values: np.ndarray) -> np.ndarray:
    """Per-example share of each channel, ``v_c / sum_c |v_c|``; rows summing to 0 give 0."""
    v = as_numpy(values).astype(np.float64)
    total = np.abs(v).sum(axis=-1, keepdims=True)
    return np.divide(v, total, out=np.zeros_like(v), where=total > 0)


@dataclass(frozen=True)
class ChannelRelevanceStats:
    """Per group and channel statistics of channel relevance (Fig. 3)."""

    groups: tuple[str, ...]
    channel_names: tuple[str, ...]
    count: np.ndarray  # (G,)
    mean: np.ndarray  # (G, C)
    median: np.ndarray  # (G, C)
    p5: np.ndarray  # (G, C)
    p95: np.ndarray  # (G, C)

    def as_rows(self) -> list[dict[str, float | str | int]]:
        """One dict per (group, channel), e.g. for a CSV/JSON report."""
        rows: list[dict[str, float | str | int]] = []
        for g, name in enumerate(self.groups):
            for c, ch in enumerate(self.channel_names):
                rows.append({
                    "group": name, "channel": ch, "count": int(self.count[g]),
                    "mean": float(self.mean[g, c]), "median": float(self.median[g, c]),
                    "p5": float(self.p5[g, c]), "p95": float(self.p95[g, c]),
                })
        return rows


def channel_relevance_stats(
    values: np.ndarray,
    groups: Sequence[str] | np.ndarray,
    channel_names: Sequence[str] | None = None,
    group_order: Sequence[str] | None = None,
) -> ChannelRelevanceStats:
    """Mean, median, 5th and 95th percentile (linear interpolation) per group and channel.

    Parameters
    ----------
    values
        ``(N, C)`` channel relevance or shares.
    groups
        ``(N,)`` group label per example (e.g. ``"+x"``).
    channel_names
        Names of the C channels; default the intensity names for C = 6, else
        ``"ch{c}"``.
    group_order
        Groups to report, in order; default the sorted unique labels. Empty groups raise.
    """
    v = as_numpy(values).astype(np.float64)
    g = np.asarray(groups).astype(str)
    if v.ndim != 2 or g.shape != (v.shape[0],):
        raise AudioLRPError(
            f"values {v.shape} and groups {g.shape} do not match: pass (N, C) and (N,)"
        )
    if channel_names is None:
        channel_names = _default_names(v.shape[1])
    if len(channel_names) != v.shape[1]:
        raise AudioLRPError(f"{len(channel_names)} channel names for {v.shape[1]} channels")
    names = tuple(group_order) if group_order is not None else tuple(sorted(set(g.tolist())))
    rows = []
    for name in names:
        sel = v[g == name]
        if sel.shape[0] == 0:
            raise AudioLRPError(f"group {name!r} has no examples: drop it from group_order")
        rows.append((sel.shape[0], sel.mean(0), np.median(sel, 0),
                     np.percentile(sel, 5, axis=0), np.percentile(sel, 95, axis=0)))
    return ChannelRelevanceStats(
        groups=names,
        channel_names=tuple(channel_names),
        count=np.array([r[0] for r in rows]),
        mean=np.stack([r[1] for r in rows]),
        median=np.stack([r[2] for r in rows]),
        p5=np.stack([r[3] for r in rows]),
        p95=np.stack([r[4] for r in rows]),
    )


def directions_to_xyz(directions_rad: np.ndarray) -> np.ndarray:
    """Unit vectors ``(N, 3)`` from ``(N, 2)`` [azimuth_rad, elevation_rad] (project convention)."""
    d = np.asarray(directions_rad, dtype=np.float64)
    az, el = d[..., 0], d[..., 1]
    return np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=-1)


def axis_direction_classes(grid_rad: np.ndarray | None = None) -> dict[str, int]:
    """Grid classes containing +-e_x and +-e_y: the class nearest to each axis direction.

    Parameters
    ----------
    grid_rad
        ``(n_classes, 2)`` [azimuth_rad, elevation_rad]; default
        :func:`audiolrp.signal.ambisonics.doa_grid` (imported lazily).

    Returns
    -------
    dict[str, int]
        ``{"+x": class, "-x": class, "+y": class, "-y": class}``; nearest = largest dot product
        (ties -> lowest class index).
    """
    if grid_rad is None:

        grid_rad = np.asarray(doa_grid())
    xyz = directions_to_xyz(grid_rad)
    return {name: int(np.argmax(xyz @ np.asarray(u))) for name, u in AXIS_DIRECTIONS_XYZ.items()}


def axis_groups(labels: np.ndarray, classes: dict[str, int] | None = None) -> np.ndarray:
    """Group name per example (``"+x"``, ...) from its class label; ``""`` for other classes."""
    classes = axis_direction_classes() if classes is None else classes
    labels = np.asarray(labels)
    out = np.full(labels.shape, "", dtype=object)
    for name, cls in classes.items():
        out[labels == cls] = name
    return out.astype(str)


@dataclass(frozen=True)
class DirectionCorrelation:
    """Correlation between channel relevance shares and |DOA component| along channel axes."""

    channel_names: tuple[str, ...]
    channel_axes: tuple[int | None, ...]
    pearson_r: np.ndarray  # (C,), nan for channels without an axis
    pearson_p: np.ndarray
    spearman_rho: np.ndarray
    spearman_p: np.ndarray
    shares: np.ndarray  # (N, C)
    abs_components: np.ndarray  # (N, 3)


def relevance_direction_correlation(
    shares: np.ndarray,
    directions_xyz: np.ndarray,
    channel_axes: Sequence[int | None] = INTENSITY_CHANNEL_AXES,
    channel_names: Sequence[str] | None = None,
) -> DirectionCorrelation:
    """Pearson and Spearman correlation of each channel's share with ``|d_axis|``.

    Parameters
    ----------
    shares
        ``(N, C)`` relevance shares (:func:`relevance_shares`).
    directions_xyz
        ``(N, 3)`` DOA unit vectors (e.g. of the true classes).
    channel_axes
        Axis (0=x, 1=y, 2=z) of each channel; ``None`` skips a channel (result nan).
        Default: the intensity channels [x, y, z, x, y, z].
    channel_names
        Names of the channels (default intensity names for 6 channels).
    """
    s = as_numpy(shares).astype(np.float64)
    d = np.abs(as_numpy(directions_xyz).astype(np.float64))
    if s.ndim != 2 or d.shape != (s.shape[0], 3) or len(channel_axes) != s.shape[1]:
        raise AudioLRPError(
            f"shares {s.shape}, directions {d.shape} and {len(channel_axes)} channel axes do "
            "not match: pass (N, C), (N, 3) and C axes"
        )
    if channel_names is None:
        channel_names = _default_names(s.shape[1])
    res = np.full((4, s.shape[1]), np.nan)
    for c, ax in enumerate(channel_axes):
        if ax is None or s.shape[0] < 3:
            continue
        if np.ptp(s[:, c]) == 0 or np.ptp(d[:, ax]) == 0:
            continue
        pr = sps.pearsonr(s[:, c], d[:, ax])
        sr = sps.spearmanr(s[:, c], d[:, ax])
        res[:, c] = [pr[0], pr[1], sr[0], sr[1]]
    return DirectionCorrelation(
        channel_names=tuple(channel_names), channel_axes=tuple(channel_axes),
        pearson_r=res[0], pearson_p=res[1], spearman_rho=res[2], spearman_p=res[3],
        shares=s, abs_components=d,
    )


__all__ = [
    "AXIS_DIRECTIONS_XYZ",
    "INTENSITY_CHANNEL_AXES",
    "ChannelRelevanceStats",
    "DirectionCorrelation",
    "axis_direction_classes",
    "axis_groups",
    "channel_relevance",
    "channel_relevance_stats",
    "directions_to_xyz",
    "relevance_direction_correlation",
    "relevance_shares",
]
