"""Does relevance sit where the direct sound dominates? The paper's third finding, bin by bin.

Kiyan et al. (Sec. "Auralization of Relevance", Fig. 2) state that "the DNN attempts to ignore
time-frequency regions mostly occupied by noise and diffuse reverberation, instead focusing on
regions where the direct sound speech signal is prominent". A simulated scene knows its parts
(``mixture = direct + reverberant + noise``), so the statement can be measured per
time-frequency bin of the W channel, on the STFT of the features
(:func:`audiolrp.signal.features.stft`):

* the **direct-to-residual ratio** ``DRR(n, k) = |D(n, k)|^2 / |V(n, k) + N(n, k)|^2`` (direct
  sound D, reverberation V, noise N; in dB, clipped to +-:data:`CLIP_DB`);
* the **weighted mean log-ratio** ``sum_{n,k} w L / sum_{n,k} w`` with ``L = DRR in dB`` and
  weights ``w`` = positive relevance ``max(H, 0)`` of the W heatmap ``H``
  (:func:`audiolrp.analysis.heatmaps.audio_channel_heatmaps`, ACN 0), the input energy
  ``|X_W|^2`` or 1 (uniform): relevance that prefers direct-dominated bins beyond what loudness
  explains has a larger relevance-weighted than energy-weighted mean;
* the **AUC** of a score (positive relevance, energy) for separating direct-dominated bins
  (``L > 0`` dB) from the others: the Mann-Whitney probability that a random direct-dominated
  bin scores higher than a random other bin, ties counted one half;
* an **energy-matched control** of a heatmap (:func:`rank_matched`): its own values placed on
  the bins in the order of their energy;
* a **weight profile**: the share of a weight (relevance, energy, bins) falling into each band
  of the log-ratio (the figure :func:`audiolrp.plots.direct_sound.plot_direct_ratio_profile`).

Arrays in, arrays out; no figures. Every function works on one example ``(T, F)`` or a batch
``(N, T, F)`` and returns one value per example.
"""

from __future__ import annotations

import numpy as np

from audiolrp.analysis._arrays import as_numpy
from audiolrp.errors import AudioLRPError
from audiolrp.signal.features import stft

#: The direct-to-residual ratio is clipped to +-CLIP_DB dB (bins without direct sound, e.g. in
#: speech pauses, would otherwise reach -inf and dominate every mean).
CLIP_DB: float = 40.0
#: Log-ratio band edges (dB) of :func:`ratio_profile`'s default: 5-dB bands over the clip range.
PROFILE_EDGES_DB: np.ndarray = np.arange(-CLIP_DB, CLIP_DB + 0.5, 5.0)
_TINY = 1e-30


def _batch(a: object, name: str) -> tuple[np.ndarray, bool]:
    """``a`` as float64 ``(N, T, F)`` and whether it was one example ``(T, F)``."""
    v = np.asarray(as_numpy(a), dtype=np.float64)
    if v.ndim == 2:
        return v[None], True
    if v.ndim != 3:
        raise AudioLRPError(f"{name} has shape {v.shape}: pass (frames, bins) or "
                            "(examples, frames, bins)")
    return v, False


def _same_shape(**arrays: np.ndarray) -> None:
    shapes = {k: v.shape for k, v in arrays.items()}
    if len(set(shapes.values())) != 1:
        raise AudioLRPError(f"shapes differ: {shapes}; pass maps of one time-frequency grid")


def power_spectrogram(audio: np.ndarray) -> np.ndarray:
    """``|STFT|^2`` (float64) of W-channel audio ``(..., samples)`` -> ``(..., 50, 512)``."""
    return np.abs(stft(np.asarray(as_numpy(audio), dtype=np.float64))) ** 2


def direct_to_residual_db(
    direct: np.ndarray, reverberant: np.ndarray, noise: np.ndarray, clip_db: float = CLIP_DB
) -> np.ndarray:
    """Direct-to-residual ratio per time-frequency bin in dB.

    ``10 log10(|STFT(direct)|^2 / |STFT(reverberant + noise)|^2)``, clipped to
    ``[-clip_db, clip_db]`` (a bin with neither part is 0 dB).

    Parameters
    ----------
    direct, reverberant, noise
        One channel (W) of a scene's parts, ``(..., samples)`` (16000 for a clip).
    clip_db
        Clip range (positive).

    Returns
    -------
    np.ndarray
        ``(..., 50, 512)`` float64 dB.
    """
    if not clip_db > 0:
        raise AudioLRPError(f"clip_db={clip_db}: pass a positive range in dB")
    d = np.asarray(as_numpy(direct), dtype=np.float64)
    r = np.asarray(as_numpy(reverberant), dtype=np.float64)
    nz = np.asarray(as_numpy(noise), dtype=np.float64)
    _same_shape(direct=d, reverberant=r, noise=nz)
    pd, pr = power_spectrogram(d), power_spectrogram(r + nz)
    ratio_db = 10.0 * (np.log10(pd + _TINY) - np.log10(pr + _TINY))
    return np.clip(ratio_db, -clip_db, clip_db)


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per example ``sum w v / sum w`` over all bins; NaN where the weights sum to 0.

    Parameters
    ----------
    values, weights
        ``(T, F)`` or ``(N, T, F)``; weights must be non-negative.

    Returns
    -------
    np.ndarray
        ``(N,)`` float64 (a 0-d array for one example).
    """
    v, one = _batch(values, "values")
    w, _ = _batch(weights, "weights")
    _same_shape(values=v, weights=w)
    if np.any(w < 0):
        raise AudioLRPError("weights must be non-negative: clip relevance with max(R, 0)")
    num = (w * v).sum(axis=(1, 2))
    den = w.sum(axis=(1, 2))
    out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return out[0] if one else out


def _midranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x`` (1-D), ties given their mean rank."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    n = xs.size
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    ends = np.r_[starts[1:], n]
    mean_rank = (starts + ends + 1) / 2.0  # ranks start .. end-1 (0-based) -> mean + 1
    ranks = np.empty(n)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def binary_auc(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """AUC of ``scores`` for separating ``positive`` bins from the rest, per example.

    ``P(s_pos > s_neg) + P(s_pos == s_neg) / 2`` over all pairs of a positive and a negative bin
    (Mann-Whitney U / (n_pos n_neg), computed with mid-ranks). 0.5: no separation.

    Parameters
    ----------
    scores
        ``(T, F)`` or ``(N, T, F)``.
    positive
        Boolean of the same shape.

    Returns
    -------
    np.ndarray
        ``(N,)`` float64 (0-d for one example); NaN where an example has no positive or no
        negative bin.
    """
    s, one = _batch(scores, "scores")
    p = np.asarray(as_numpy(positive))
    p = (p[None] if p.ndim == 2 else p).astype(bool)
    _same_shape(scores=s, positive=p)
    out = np.full(s.shape[0], np.nan)
    for i in range(s.shape[0]):
        si, pi = s[i].ravel(), p[i].ravel()
        n_pos = int(pi.sum())
        n_neg = pi.size - n_pos
        if n_pos == 0 or n_neg == 0:
            continue
        rank_sum = float(_midranks(si)[pi].sum())
        out[i] = (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return out[0] if one else out


def ratio_profile(
    log_ratio_db: np.ndarray, weights: np.ndarray, edges_db: np.ndarray | None = None
) -> np.ndarray:
    """Share of each example's total weight per band of the log-ratio.

    Parameters
    ----------
    log_ratio_db
        ``(T, F)`` or ``(N, T, F)`` direct-to-residual ratio (dB).
    weights
        Non-negative weights of the same shape (positive relevance, energy, ones).
    edges_db
        Increasing band edges (default :data:`PROFILE_EDGES_DB`); band b holds
        ``edges[b] <= L < edges[b + 1]``, the last band also ``L == edges[-1]``; values outside
        the edges are not counted.

    Returns
    -------
    np.ndarray
        ``(N, B)`` shares (``(B,)`` for one example); a row sums to 1 when the example's weight
        lies inside the edges, NaN where its weights sum to 0.
    """
    edges = PROFILE_EDGES_DB if edges_db is None else np.asarray(edges_db, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise AudioLRPError("edges_db must be at least two increasing band edges")
    v, one = _batch(log_ratio_db, "log_ratio_db")
    w, _ = _batch(weights, "weights")
    _same_shape(log_ratio_db=v, weights=w)
    if np.any(w < 0):
        raise AudioLRPError("weights must be non-negative: clip relevance with max(R, 0)")
    n_bands = edges.size - 1
    band = np.searchsorted(edges, v, side="right") - 1
    band[v == edges[-1]] = n_bands - 1
    inside = (band >= 0) & (band < n_bands)
    out = np.zeros((v.shape[0], n_bands))
    for i in range(v.shape[0]):
        out[i] = np.bincount(band[i][inside[i]], weights=w[i][inside[i]], minlength=n_bands)
    total = w.sum(axis=(1, 2))
    out = np.where(total[:, None] > 0, out / np.where(total > 0, total, 1.0)[:, None], np.nan)
    return out[0] if one else out


def rank_matched(values: np.ndarray, order_by: np.ndarray) -> np.ndarray:
    """``values`` rearranged over the bins in the order of ``order_by``, per example.

    The result has exactly the values of ``values`` (the same histogram, so the same sparsity
    and maximum), placed so that the k-th smallest value sits on the bin with the k-th smallest
    ``order_by`` (ties of ``order_by`` in bin order). With ``order_by`` the input energy this
    is the *energy-matched* control of a relevance heatmap: a map that follows loudness and
    nothing else, with the heatmap's own values.

    Parameters
    ----------
    values, order_by
        ``(T, F)`` or ``(N, T, F)``.

    Returns
    -------
    np.ndarray
        float64, the shape of ``values``.
    """
    v, one = _batch(values, "values")
    o, _ = _batch(order_by, "order_by")
    _same_shape(values=v, order_by=o)
    out = np.empty_like(v)
    for i in range(v.shape[0]):
        flat = np.empty(v[i].size)
        flat[np.argsort(o[i].ravel(), kind="stable")] = np.sort(v[i].ravel())
        out[i] = flat.reshape(v[i].shape)
    return out[0] if one else out


def direct_sound_measures(
    log_ratio_db: np.ndarray,
    relevance: np.ndarray,
    energy: np.ndarray,
    control_relevance: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Every per-example measure of the finding (module docstring), as ``(N,)`` arrays.

    Parameters
    ----------
    log_ratio_db
        ``(N, T, F)`` direct-to-residual ratio in dB (:func:`direct_to_residual_db`).
    relevance
        ``(N, T, F)`` relevance heatmap on the same grid (signed; its positive part is used).
    energy
        ``(N, T, F)`` input energy ``|X_W|^2``.
    control_relevance
        Heatmaps of *other* examples (e.g. ``np.roll(relevance, 1, axis=0)``), the control of
        the finding; default the cyclic shift by one example.

    Returns
    -------
    dict
        ``relevance_weighted``, ``energy_weighted``, ``uniform``, ``control_weighted`` (mean
        log-ratio in dB); ``auc_relevance``, ``auc_energy``, ``auc_control``;
        ``direct_share`` (fraction of bins with ``L > 0``); ``relevance_share_direct`` and
        ``energy_share_direct`` (share of the positive relevance / energy on those bins).
    """
    lr, _ = _batch(log_ratio_db, "log_ratio_db")
    rel, _ = _batch(relevance, "relevance")
    en, _ = _batch(energy, "energy")
    ctrl = np.roll(rel, 1, axis=0) if control_relevance is None else \
        _batch(control_relevance, "control_relevance")[0]
    _same_shape(log_ratio_db=lr, relevance=rel, energy=en, control_relevance=ctrl)
    pos, pos_c = np.maximum(rel, 0.0), np.maximum(ctrl, 0.0)
    direct = lr > 0.0
    ones = np.ones_like(lr)
    return {
        "relevance_weighted": weighted_mean(lr, pos),
        "energy_weighted": weighted_mean(lr, en),
        "uniform": weighted_mean(lr, ones),
        "control_weighted": weighted_mean(lr, pos_c),
        "auc_relevance": binary_auc(pos, direct),
        "auc_energy": binary_auc(en, direct),
        "auc_control": binary_auc(pos_c, direct),
        "direct_share": direct.mean(axis=(1, 2)),
        "relevance_share_direct": weighted_mean(direct.astype(np.float64), pos),
        "energy_share_direct": weighted_mean(direct.astype(np.float64), en),
    }


__all__ = [
    "CLIP_DB",
    "PROFILE_EDGES_DB",
    "binary_auc",
    "direct_sound_measures",
    "direct_to_residual_db",
    "power_spectrogram",
    "rank_matched",
    "ratio_profile",
    "weighted_mean",
]
