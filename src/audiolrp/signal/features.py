"""STFT and model input features: HOA magnitude/phase and acoustic intensity.

All functions are batched over any leading dimensions, run in torch (CPU or GPU) and accept
either torch tensors (result stays on the tensor's device) or NumPy arrays (result is NumPy).

STFT conventions (fixed project-wide, see ``docs/conventions.md``)
--------------------------------------------------------------------------
* periodic Hann window ``w(m) = 0.5 - 0.5 cos(2 pi m / 640)``, ``m = 0..639``;
* hop ``M_hop = 320`` samples, so the shifted windows sum to exactly 1 (COLA);
* frame ``n`` (``n = 0..49`` for a 16000-sample clip) covers samples
  ``n*320 - 160 .. n*320 + 479``; samples outside the clip are zeros (160 zeros before the
  clip, 160 after it);
* each windowed 640-sample frame is placed at the *start* of a 1024-sample buffer followed by
  384 zeros (so the phase reference of frame n is its first sample, ``n*320 - 160``), and a
  1024-point real FFT is taken;
* the Nyquist bin (513th) is dropped: 512 bins, bin ``k`` at ``k * 16000 / 1024`` Hz;
* output shape ``(..., 50, 512)`` complex (frames before bins).

:func:`istft` inverts this exactly (up to rounding) on the *whole* clip: the dropped Nyquist
coefficient is recovered from the 384 known-zero samples of each frame buffer, and the
overlap-added frames are divided by the summed analysis windows (exactly 1 in the interior
``160 <= t < 15840``, between 0.5 and 1 in the first/last 160 samples, where only one frame
covers the clip).

Features (paper, section "Experimental Setup")
----------------------------------------------
* HOA, order N: ``2 (N+1)^2`` channels, ``[|A_0|, ..., |A_{K-1}|, arg A_0, ..., arg A_{K-1}]``
  of the ACN channels' STFTs, normalised by the training set's magnitude mean/std and phase
  mean/std (two scalars each; :class:`HoaStats`).
* Intensity (Perotin et al. 2019 [1]): 6 channels ``[I_a,x, I_a,y, I_a,z, I_r,x, I_r,y, I_r,z]``
  from the first-order channels (see :func:`intensity_features`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np
import torch

from audiolrp.constants import CLIP_SAMPLES, FS_HZ, HOP_SAMPLES, N_BINS, N_FFT, N_FRAMES
from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import direction_from_vector
from audiolrp.signal.feature_kinds import feature_kind
from audiolrp.signal.layout import InputLayout

WINDOW_SAMPLES: int = 640
"""Length of the periodic Hann analysis window (2 hops)."""
FRAME_OFFSET_SAMPLES: int = 160
"""Frame n starts at sample ``n * HOP_SAMPLES - FRAME_OFFSET_SAMPLES``."""
INTENSITY_EPS: float = 1e-10
"""Absolute regulariser added to the intensity normaliser (silent bins give 0, not NaN)."""

ArrayLike = np.ndarray | torch.Tensor


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _as_tensor(x: Any, name: str = "input") -> tuple[torch.Tensor, bool]:
    """Return ``(tensor, was_numpy)``; lists/arrays become tensors on the CPU."""
    if isinstance(x, torch.Tensor):
        return x, False
    try:
        arr = np.asarray(x)
    except Exception as err:  # pragma: no cover - defensive
        raise AudioLRPError(f"{name} is not array-like ({err}); pass a NumPy array") from err
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)):
        raise AudioLRPError(f"{name} has dtype {arr.dtype}; pass a numeric NumPy array")
    return torch.from_numpy(np.ascontiguousarray(arr)), True


def _out(x: torch.Tensor, to_numpy: bool) -> ArrayLike:
    return x.detach().cpu().numpy() if to_numpy else x


def _check_finite(x: torch.Tensor, name: str) -> None:
    if not bool(torch.isfinite(x).all()):
        raise AudioLRPError(f"{name} contains NaN or infinite values; clean the audio first")


def _real_dtype(x: torch.Tensor) -> torch.dtype:
    return torch.float64 if x.dtype in (torch.float64, torch.complex128) else torch.float32


_WINDOW_CACHE: dict[tuple[torch.dtype, str], torch.Tensor] = {}


def _window(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    key = (dtype, str(device))
    w = _WINDOW_CACHE.get(key)
    if w is None:
        w = torch.from_numpy(stft_window()).to(device=device, dtype=dtype)
        _WINDOW_CACHE[key] = w
    return w


# --------------------------------------------------------------------------------------------
# STFT
# --------------------------------------------------------------------------------------------
def stft_window() -> np.ndarray:
    """Periodic Hann analysis window, shape ``(640,)`` float64 (COLA at hop 320)."""
    m = np.arange(WINDOW_SAMPLES)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * m / WINDOW_SAMPLES)


def n_frames_for(n_samples: int) -> int:
    """Number of STFT frames for a signal of ``n_samples`` (50 for 16000): ``ceil(n / 320)``."""
    return max(1, math.ceil(n_samples / HOP_SAMPLES))


def frame_start_samples(n_frames: int = N_FRAMES) -> np.ndarray:
    """First sample index of each frame, ``n * 320 - 160`` (int64; frame 0 starts at -160)."""
    return np.arange(n_frames, dtype=np.int64) * HOP_SAMPLES - FRAME_OFFSET_SAMPLES


def bin_frequencies_hz() -> np.ndarray:
    """Centre frequency of each of the 512 bins, ``k * 16000 / 1024`` Hz (float64)."""
    return np.arange(N_BINS, dtype=np.float64) * FS_HZ / N_FFT


def frame_times_s(n_frames: int = N_FRAMES) -> np.ndarray:
    """Centre time of each frame in seconds, ``(n * 320 - 160 + 320) / 16000`` = ``n*0.02+0.01``."""
    return (frame_start_samples(n_frames) + WINDOW_SAMPLES / 2) / FS_HZ


@overload
def stft(x: np.ndarray) -> np.ndarray: ...
@overload
def stft(x: torch.Tensor) -> torch.Tensor: ...
def stft(x: ArrayLike) -> ArrayLike:
    """Short-time Fourier transform with the project conventions (module docstring).

    Parameters
    ----------
    x
        Real signal(s), shape ``(..., n_samples)`` (16000 for a clip), NumPy or torch.

    Returns
    -------
    ndarray or Tensor
        Complex STFT ``(..., n_frames, 512)``; complex64 for float32 input, complex128 for
        float64. ``n_frames = ceil(n_samples / 320)`` (50 for a clip).
    """
    xt, to_np = _as_tensor(x, "stft input")
    if xt.is_complex():
        raise AudioLRPError("stft input is complex; pass real-valued audio")
    if xt.dim() < 1 or xt.shape[-1] < 1:
        raise AudioLRPError("stft input is empty; pass audio of shape (..., n_samples)")
    dtype = _real_dtype(xt)
    xt = xt.to(dtype)
    n = xt.shape[-1]
    lead = xt.shape[:-1]
    spec = _frame_spectra(_pad_to_frames(xt.reshape(-1, n)))  # (B, n_frames, 512)
    return _out(spec.reshape(*lead, n_frames_for(n), N_BINS), to_np)


def _pad_to_frames(x: torch.Tensor) -> torch.Tensor:
    """``x (..., n)`` zero-padded so that frame k is samples ``k * 320 .. k * 320 + 639`` of
    the result (frame k starts at sample ``k * 320 - 160`` of ``x``; module docstring)."""
    n = x.shape[-1]
    pad_right = (n_frames_for(n) - 1) * HOP_SAMPLES + WINDOW_SAMPLES - FRAME_OFFSET_SAMPLES - n
    return torch.nn.functional.pad(x, (FRAME_OFFSET_SAMPLES, pad_right))


def _frame_spectra(padded: torch.Tensor) -> torch.Tensor:
    """Windowed 1024-point spectra (Nyquist dropped) of every hop-spaced frame of ``padded``."""
    frames = padded.unfold(-1, WINDOW_SAMPLES, HOP_SAMPLES) * _window(padded.dtype, padded.device)
    return torch.fft.rfft(frames, n=N_FFT, dim=-1)[..., :N_BINS]


def stft_frames(x: torch.Tensor, start_frames: Sequence[int], n_frames: int) -> torch.Tensor:
    """Frames ``start .. start + n_frames - 1`` of :func:`stft` of each example, computed
    directly (only those frames are transformed: a training crop costs ``n_frames / 50`` of
    a whole clip's STFT).

    Parameters
    ----------
    x
        Real audio ``(B, ..., n_samples)``.
    start_frames
        ``B`` first frame indices, each in ``0 .. n_total - n_frames`` with ``n_total =
        ceil(n_samples / 320)``.
    n_frames
        Frames per example.

    Returns
    -------
    Tensor
        Complex ``(B, ..., n_frames, 512)``, equal to ``stft(x)[b, ..., s_b : s_b + n_frames, :]``.
    """
    if x.is_complex() or x.dim() < 2:
        raise AudioLRPError("stft_frames needs real audio of shape (B, ..., n_samples)")
    n = x.shape[-1]
    n_total = n_frames_for(n)
    starts = [int(s) for s in start_frames]
    if len(starts) != x.shape[0] or not all(0 <= s <= n_total - n_frames for s in starts):
        raise AudioLRPError(
            f"need {x.shape[0]} start frames in 0..{n_total - n_frames}, got {starts}"
        )
    padded = _pad_to_frames(x.to(_real_dtype(x)))
    span = (n_frames - 1) * HOP_SAMPLES + WINDOW_SAMPLES
    segs = torch.stack([padded[b, ..., s * HOP_SAMPLES : s * HOP_SAMPLES + span]
                        for b, s in enumerate(starts)])
    return _frame_spectra(segs)


def istft(X: ArrayLike, n_samples: int = CLIP_SAMPLES) -> ArrayLike:
    """Inverse of :func:`stft` (weighted overlap-add), exact for unmodified spectra.

    For each frame the 1024-point buffer is rebuilt with an inverse real FFT, the dropped
    Nyquist coefficient is re-estimated from the 384 trailing samples that must be zero
    (exact for a genuine STFT; a least-squares choice for modified spectra), the first 640
    samples are overlap-added at ``n*320 - 160`` and divided by the summed analysis windows
    (1 in the interior, 0.5..1 in the first and last 160 samples).

    Parameters
    ----------
    X
        Complex STFT ``(..., n_frames, 512)``.
    n_samples
        Length of the output signal (16000 for a clip).

    Returns
    -------
    ndarray or Tensor
        Real signal(s) ``(..., n_samples)``.
    """
    Xt, to_np = _as_tensor(X, "istft input")
    if Xt.dim() < 2 or Xt.shape[-1] != N_BINS:
        raise AudioLRPError(
            f"istft input has shape {tuple(Xt.shape)}; pass a complex STFT (..., frames, 512)"
        )
    if not Xt.is_complex():
        raise AudioLRPError("istft input is real; pass the complex STFT (..., frames, 512)")
    rdtype = _real_dtype(Xt)
    Xt = Xt.to(torch.complex128 if rdtype == torch.float64 else torch.complex64)
    n_frames = Xt.shape[-2]
    lead = Xt.shape[:-2]
    flat = Xt.reshape(-1, n_frames, N_BINS)
    buf = torch.fft.irfft(flat, n=N_FFT, dim=-1)  # Nyquist treated as 0
    alt = torch.ones(N_FFT, dtype=rdtype, device=Xt.device)
    alt[1::2] = -1.0
    c = (buf[..., WINDOW_SAMPLES:] * alt[WINDOW_SAMPLES:]).mean(dim=-1, keepdim=True)
    frames = buf[..., :WINDOW_SAMPLES] - c * alt[:WINDOW_SAMPLES]  # (B, n_frames, 640)
    total = (n_frames - 1) * HOP_SAMPLES + WINDOW_SAMPLES
    b = frames.shape[0]
    # overlap-add with fold (col2im) on a 1-row image
    ola = torch.nn.functional.fold(
        frames.transpose(1, 2),
        output_size=(1, total),
        kernel_size=(1, WINDOW_SAMPLES),
        stride=(1, HOP_SAMPLES),
    ).reshape(b, total)
    w = _window(rdtype, Xt.device)
    wsum = torch.nn.functional.fold(
        w.reshape(1, WINDOW_SAMPLES, 1).expand(1, WINDOW_SAMPLES, n_frames),
        output_size=(1, total),
        kernel_size=(1, WINDOW_SAMPLES),
        stride=(1, HOP_SAMPLES),
    ).reshape(total)
    y = ola[:, FRAME_OFFSET_SAMPLES : FRAME_OFFSET_SAMPLES + n_samples]
    ws = wsum[FRAME_OFFSET_SAMPLES : FRAME_OFFSET_SAMPLES + n_samples]
    if y.shape[-1] < n_samples:
        y = torch.nn.functional.pad(y, (0, n_samples - y.shape[-1]))
        ws = torch.nn.functional.pad(ws, (0, n_samples - ws.shape[-1]))
    y = torch.where(ws > 1e-8, y / ws.clamp_min(1e-8), torch.zeros_like(y))
    return _out(y.reshape(*lead, n_samples), to_np)


# --------------------------------------------------------------------------------------------
# HOA features
# --------------------------------------------------------------------------------------------
def _order_of_channels(n_channels: int) -> int | None:
    r = math.isqrt(n_channels)
    return r - 1 if r * r == n_channels and r >= 1 else None


def _spectra(audio_or_stft: ArrayLike, order: int, name: str) -> tuple[torch.Tensor, bool]:
    """STFT (..., (order+1)^2, frames, 512) of the first (order+1)^2 ACN channels."""
    t, to_np = _as_tensor(audio_or_stft, name)
    if order < 0:
        raise AudioLRPError(f"Ambisonics order {order} is negative; pass an order >= 0")
    k = (order + 1) ** 2
    if t.is_complex():
        if t.dim() < 3 or t.shape[-1] != N_BINS:
            raise AudioLRPError(
                f"{name} STFT has shape {tuple(t.shape)}; pass (..., channels, frames, 512)"
            )
        ch_axis = -3
    else:
        if t.dim() < 2:
            raise AudioLRPError(
                f"{name} has shape {tuple(t.shape)}; pass audio (..., channels, samples)"
            )
        ch_axis = -2
    n_ch = t.shape[ch_axis]
    if _order_of_channels(n_ch) is None:
        raise AudioLRPError(
            f"{name} has {n_ch} channels, not (N+1)^2 for any order N; pass ACN Ambisonics audio"
        )
    if n_ch < k:
        raise AudioLRPError(
            f"{name} has {n_ch} channels; order {order} needs {k}: pass order-{order} "
            f"or higher Ambisonics audio or lower the order"
        )
    t = t.narrow(ch_axis, 0, k)
    _check_finite(t, name)
    if not t.is_complex():
        t = stft(t)
    return t, to_np


@overload
def hoa_features(audio_or_stft: np.ndarray, order: int) -> np.ndarray: ...
@overload
def hoa_features(audio_or_stft: torch.Tensor, order: int) -> torch.Tensor: ...
def hoa_features(audio_or_stft: ArrayLike, order: int) -> ArrayLike:
    """HOA magnitude/phase features of the first ``(order+1)^2`` ACN channels.

    Parameters
    ----------
    audio_or_stft
        Real audio ``(..., K, n_samples)`` or complex STFT ``(..., K, frames, 512)`` with
        ``K = (M+1)^2`` ACN channels, ``M >= order`` (a lower order is a channel selection).
    order
        Ambisonics order N of the features.

    Returns
    -------
    ndarray or Tensor
        ``(..., 2 (N+1)^2, frames, 512)`` float32 (float64 for float64 input): all magnitudes,
        then all phases (radians in ``(-pi, pi]``).
    """
    spec, to_np = _spectra(audio_or_stft, order, "HOA input")
    k = spec.shape[-3]
    rdtype = torch.float64 if spec.dtype == torch.complex128 else torch.float32
    feats = torch.empty(
        (*spec.shape[:-3], 2 * k, *spec.shape[-2:]), dtype=rdtype, device=spec.device
    )
    parts = torch.view_as_real(spec)
    # written in place: hypot on the real view is ~1.5x faster than abs() + cat
    torch.hypot(parts[..., 0], parts[..., 1], out=feats.narrow(-3, 0, k))
    torch.angle(spec, out=feats.narrow(-3, k, k))
    return _out(feats, to_np)


@dataclass(frozen=True)
class HoaStats:
    """Training-set normalisation statistics of the HOA features (paper: "normalization of
    magnitude and phase channels through subtraction of the mean and division by the standard
    deviation of training set magnitude and phase data, respectively").

    Attributes
    ----------
    order
        Ambisonics order the statistics were pooled over (channels ACN 0..(order+1)^2-1).
    magnitude_mean, magnitude_std, phase_mean, phase_std
        Scalars pooled over all magnitude (resp. phase) values of those channels.
    """

    order: int
    magnitude_mean: float
    magnitude_std: float
    phase_mean: float
    phase_std: float

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel ``(mean, std)`` of length ``2 (N+1)^2`` for ``InputNormalization``."""
        return hoa_stats_vectors(
            self.magnitude_mean, self.magnitude_std, self.phase_mean, self.phase_std, self.order
        )

    def to_dict(self) -> dict[str, float | int]:
        """The statistics as JSON-ready numbers."""
        return {
            "order": self.order,
            "magnitude_mean": self.magnitude_mean,
            "magnitude_std": self.magnitude_std,
            "phase_mean": self.phase_mean,
            "phase_std": self.phase_std,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HoaStats:
        """Statistics written by :meth:`to_dict`."""
        return cls(
            order=int(d["order"]),
            magnitude_mean=float(d["magnitude_mean"]),
            magnitude_std=float(d["magnitude_std"]),
            phase_mean=float(d["phase_mean"]),
            phase_std=float(d["phase_std"]),
        )


def hoa_stats_vectors(
    magnitude_mean: float,
    magnitude_std: float,
    phase_mean: float,
    phase_std: float,
    order: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Expand the four scalars to per-channel vectors of length ``2 (order+1)^2`` (float32)."""
    k = (order + 1) ** 2
    mean = np.concatenate([np.full(k, magnitude_mean), np.full(k, phase_mean)])
    std = np.concatenate([np.full(k, magnitude_std), np.full(k, phase_std)])
    return mean.astype(np.float32), std.astype(np.float32)


class HoaStatsAccumulator:
    """Streaming per-ACN-channel sums of HOA magnitude and phase (float64).

    Keeping per-channel sums lets one pass over the training set yield the pooled statistics
    of every order ``<= max_order`` (:meth:`stats`). Sums merge exactly (:meth:`merge`), so
    per-shard accumulators give the same result as one pass (up to float64 rounding; merge in a
    fixed order for bit-identical output).
    """

    def __init__(self, max_order: int) -> None:
        self.max_order = int(max_order)
        k = (self.max_order + 1) ** 2
        self.count = np.zeros(k, dtype=np.float64)  # values per channel
        self.sums = np.zeros((4, k), dtype=np.float64)  # sum|A|, sum|A|^2, sum arg, sum arg^2

    def update(self, audio_or_stft: ArrayLike) -> None:
        """Add a batch of audio ``(..., K, samples)`` or STFT ``(..., K, frames, 512)``."""
        spec, _ = _spectra(audio_or_stft, self.max_order, "statistics input")
        k = spec.shape[-3]
        # features in the input's precision, sums accumulated in float64
        feats = hoa_features(spec, self.max_order)
        mag = feats[..., :k, :, :].movedim(-3, 0).reshape(k, -1)
        ph = feats[..., k:, :, :].movedim(-3, 0).reshape(k, -1)
        f64 = torch.float64
        self.count += mag.shape[1]
        self.sums[0] += mag.sum(dim=1, dtype=f64).cpu().numpy()
        self.sums[1] += (mag * mag).sum(dim=1, dtype=f64).cpu().numpy()
        self.sums[2] += ph.sum(dim=1, dtype=f64).cpu().numpy()
        self.sums[3] += (ph * ph).sum(dim=1, dtype=f64).cpu().numpy()

    def merge(self, other: HoaStatsAccumulator) -> None:
        """Add another accumulator's sums (same ``max_order``)."""
        if other.max_order != self.max_order:
            raise AudioLRPError(
                f"cannot merge statistics of order {other.max_order} into order {self.max_order}"
            )
        self.count += other.count
        self.sums += other.sums

    def to_arrays(self) -> np.ndarray:
        """``(5, K)`` float64 array [count, sum|A|, sum|A|^2, sum arg, sum arg^2] (for storage)."""
        return np.concatenate([self.count[None], self.sums], axis=0)

    @classmethod
    def from_arrays(cls, arr: np.ndarray) -> HoaStatsAccumulator:
        """An accumulator restored from :meth:`to_arrays` output."""
        arr = np.asarray(arr, dtype=np.float64)
        order = _order_of_channels(arr.shape[1])
        if arr.ndim != 2 or arr.shape[0] != 5 or order is None:
            raise AudioLRPError(f"statistics array has shape {arr.shape}; expected (5, (N+1)^2)")
        acc = cls(order)
        acc.count = arr[0].copy()
        acc.sums = arr[1:].copy()
        return acc

    def stats(self, order: int | None = None) -> HoaStats:
        """Pooled statistics of channels ACN ``0..(order+1)^2-1`` (default ``max_order``)."""
        order = self.max_order if order is None else int(order)
        if not 0 <= order <= self.max_order:
            raise AudioLRPError(
                f"statistics hold orders 0..{self.max_order}; order {order} is not available"
            )
        k = (order + 1) ** 2
        n = self.count[:k].sum()
        if n <= 0:
            raise AudioLRPError("no data accumulated; call update() with training audio first")
        s = self.sums[:, :k].sum(axis=1)

        def mean_std(s1: float, s2: float) -> tuple[float, float]:
            m = s1 / n
            var = max(s2 / n - m * m, 0.0)
            return float(m), float(max(math.sqrt(var), 1e-12))

        mm, ms = mean_std(s[0], s[1])
        pm, ps = mean_std(s[2], s[3])
        return HoaStats(order, mm, ms, pm, ps)


def hoa_normalization_stats(audio_or_stft: ArrayLike, order: int) -> HoaStats:
    """Magnitude mean/std and phase mean/std of a (training) set, pooled over channels.

    Parameters
    ----------
    audio_or_stft
        Training audio ``(n_examples, K, samples)`` or STFTs ``(n_examples, K, frames, 512)``.
    order
        Order N whose ``(N+1)^2`` channels are pooled.

    Returns
    -------
    HoaStats
        Use ``.vectors()`` for the per-channel ``(mean, std)`` of ``InputNormalization``.
    """
    acc = HoaStatsAccumulator(order)
    acc.update(audio_or_stft)
    return acc.stats(order)


# --------------------------------------------------------------------------------------------
# intensity features
# --------------------------------------------------------------------------------------------
def intensity_features(
    audio_or_stft: ArrayLike,
    normalization: Literal["energy", "perotin"] = "energy",
    eps: float = INTENSITY_EPS,
) -> ArrayLike:
    """Active and reactive intensity features from the first-order channels (Perotin et al.).

    With SN3D (AmbiX) channels ``W, Y, Z, X`` (ACN 0..3) and ``V = [X, Y, Z]``::

        I_a = Re{conj(W) V},   I_r = Im{conj(W) V}                      (per STFT bin)

    ``normalization="energy"`` (default) divides both by the energy density
    ``E = (|W|^2 + |X|^2 + |Y|^2 + |Z|^2) / 2``: a single plane wave gives ``|I_a| / E = 1``
    pointing to the source and ``I_r = 0``; an isotropic diffuse field gives ``I_a -> 0``.

    ``normalization="perotin"`` follows Perotin et al. 2019 literally: the channels are first
    converted to N3D (``V_N3D = sqrt(3) V_SN3D``) and divided by
    ``|W|^2 + (|X_N3D|^2 + |Y_N3D|^2 + |Z_N3D|^2) / 3`` (= 2E). The result equals the default
    features times ``sqrt(3)/2``: a plane wave gives ``|I_a| = 0.866``.

    Parameters
    ----------
    audio_or_stft
        SN3D audio ``(..., K>=4, samples)`` or STFT ``(..., K>=4, frames, 512)``.
    normalization
        ``"energy"`` or ``"perotin"`` (see above).
    eps
        Added to the normaliser so that silent bins yield 0.

    Returns
    -------
    ndarray or Tensor
        ``(..., 6, frames, 512)`` float32 (float64 for float64 input),
        ``[I_a,x, I_a,y, I_a,z, I_r,x, I_r,y, I_r,z]``.
    """
    if normalization not in ("energy", "perotin"):
        raise AudioLRPError(
            f"unknown intensity normalization {normalization!r}; use 'energy' or 'perotin'"
        )
    spec, to_np = _spectra(audio_or_stft, 1, "intensity input")
    w = spec.select(-3, 0)
    v = torch.stack([spec.select(-3, 3), spec.select(-3, 1), spec.select(-3, 2)], dim=-3)
    if normalization == "perotin":
        v = v * math.sqrt(3.0)
        denom = w.abs() ** 2 + (v.abs() ** 2).sum(dim=-3) / 3.0
    else:
        denom = 0.5 * (w.abs() ** 2 + (v.abs() ** 2).sum(dim=-3))
    prod = w.conj().unsqueeze(-3) * v
    denom = (denom + eps).unsqueeze(-3)
    feats = torch.cat([prod.real / denom, prod.imag / denom], dim=-3)
    return _out(feats, to_np)


def intensity_vector_direction(audio: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The classic DOA estimate: direction of the broadband active intensity of a clip.

    ``I = sum_{t, f} Re{conj(W[t, f]) [X, Y, Z][t, f]}`` over all STFT bins of the clip
    (unnormalised, so loud bins dominate), and the estimate is the direction of ``I``
    (e.g. Jarrett, Habets & Naylor, *Theory and Applications of Spherical Microphone Array
    Processing*, 2017, ch. 6). No learning; the reference a DOA network has to beat.

    Parameters
    ----------
    audio
        SN3D/ACN audio ``(..., K >= 4, samples)``; only the first four channels are used.

    Returns
    -------
    (azimuth_rad, elevation_rad)
        Arrays of the leading shape ``(...)`` (float64). A clip with zero intensity (silence)
        gets azimuth 0, elevation 0.
    """

    xt, _ = _as_tensor(audio, "intensity-vector input")
    if xt.dim() < 2 or xt.shape[-2] < 4:
        raise AudioLRPError(
            f"the intensity vector needs first-order audio (..., K >= 4, samples), got shape "
            f"{tuple(xt.shape)}: pass at least W, Y, Z, X"
        )
    _check_finite(xt, "intensity-vector input")
    spec = stft(xt[..., :4, :].to(torch.float64))
    w = spec[..., 0, :, :]
    v = torch.stack([spec[..., 3, :, :], spec[..., 1, :, :], spec[..., 2, :, :]], dim=-3)
    i_a = (w.conj().unsqueeze(-3) * v).real.sum(dim=(-2, -1)).cpu().numpy()  # (..., 3)
    silent = np.all(i_a == 0, axis=-1)
    i_a[silent] = (1.0, 0.0, 0.0)
    az, el = direction_from_vector(i_a)
    return np.asarray(az, np.float64), np.asarray(el, np.float64)


def feature_channels(kind: str, order: int) -> int:
    """Number of feature channels: ``2 (order+1)^2`` for ``"hoa"``, 6 for ``"intensity"``
    (:attr:`audiolrp.signal.layout.InputLayout.n_channels`)."""
    return InputLayout(kind, order).n_channels


@overload
def compute_features(
    audio: np.ndarray, kind: str, order: int = 1, **kwargs: Any
) -> np.ndarray: ...
@overload
def compute_features(
    audio: torch.Tensor, kind: str, order: int = 1, **kwargs: Any
) -> torch.Tensor: ...
def compute_features(
    audio: ArrayLike,
    kind: str,
    order: int = 1,
    **kwargs: Any,
) -> ArrayLike:
    """Model input features of audio ``(..., n_sh, 16000)``.

    Parameters
    ----------
    audio
        SN3D ACN audio (or its complex STFT ``(..., n_sh, 50, 512)``).
    kind
        ``"hoa"`` (magnitude/phase, ``2 (order+1)^2`` channels) or ``"intensity"`` (6 channels;
        ``order`` is ignored beyond requiring first-order channels).
    order
        Ambisonics order of the HOA features.
    **kwargs
        Passed to :func:`intensity_features` (``normalization``, ``eps``).

    Returns
    -------
    ndarray or Tensor
        ``(..., C, 50, 512)`` features.
    """
    return InputLayout(feature_kind(kind).name, order).compute(audio, **kwargs)


def normalization_vectors(
    kind: str, order: int, stats: HoaStats | dict[str, Any] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel ``(mean, std)`` for a feature kind: HOA from ``stats``, zeros/ones else
    (:meth:`audiolrp.signal.feature_kinds.FeatureKind.normalization`)."""
    return InputLayout(feature_kind(kind).name, order).normalization(stats)


__all__: Sequence[str] = [
    "FRAME_OFFSET_SAMPLES",
    "HoaStats",
    "HoaStatsAccumulator",
    "WINDOW_SAMPLES",
    "bin_frequencies_hz",
    "compute_features",
    "feature_channels",
    "frame_start_samples",
    "frame_times_s",
    "hoa_features",
    "hoa_normalization_stats",
    "hoa_stats_vectors",
    "intensity_features",
    "istft",
    "n_frames_for",
    "normalization_vectors",
    "stft",
    "stft_window",
]
