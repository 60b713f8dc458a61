"""Shoebox room impulse responses rendered directly in the Ambisonics (SH) domain.

The paper's training data are speech signals convolved with simulated HOA room impulse
responses (Kiyan et al., section "Interpreting Relevance Heatmaps", simulator of Wabnitz et
al. [13], i.e. MCRoomSim-style specular + diffuse modelling; data generation after Poschadel et
al. [6, 7]).  This module implements such a simulator:

* **Early part** - Allen & Berkley image sources of a shoebox, all images arriving before the
  mixing time (optionally also limited to an image order).  Image ``(a, b, c)`` (one integer per
  axis) lies at ``x = a L_x + x_s`` (a even) or ``(a + 1) L_x - x_s`` (a odd), has image order
  ``|a| + |b| + |c|`` and amplitude ``prod(beta_wall ** hits) / (4 pi r)`` with
  ``beta = sqrt(1 - alpha)``.  Each image is a plane wave from its direction of arrival at the
  receiver, ``h[acn, t] += Y_acn(az, el) * A * d(t - r / c)``, with ``d`` a Hann-windowed sinc
  fractional delay (33 taps).
* **Late part** - a diffuse tail with the *exact* target exponential energy decay
  ``sigma^2(t) = sigma_0^2 10^(-6 t / T60)``: independent Gaussian noise per ACN channel, order n
  scaled by ``1 / sqrt(2n + 1)`` (SN3D diffuse field: E[Y_nm^2] = 1/(2n+1) relative to W).
  ``sigma_0`` is matched to the energy of the rendered (high-passed) image-source signal in W
  over the second half of the early window (statistical fallback ``sigma_0^2 = c / (4 pi V fs)``
  when fewer than 30 images fall there or ``max_image_order`` truncates them), and the images
  hand over to the tail with a
  power-complementary cos/sin cross-fade (10 ms at most).  The default mixing time is
  ``r / c + clip(T60 / 12, 10 ms, 80 ms)``: the image part covers about the first 5 dB of the
  decay, so Schroeder T20/T30 follow the target (image sources alone, with Sabine or Eyring
  absorption, overshoot it by 70-150% in elongated rooms; see docs/rooms.md).
* Reflection coefficients of the image method are all positive, which piles energy up near DC
  in W; the image part of the reverberant response is therefore high-passed (2nd-order
  Butterworth, 10 Hz default, as pyroomacoustics does).  The direct path and the zero-mean
  noise tail are not filtered.

The geometry checks, wall absorption, Sabine/Eyring formulas and the Schroeder RT60 measurement
live in :mod:`audiolrp.simulation.shoebox` (re-exported here).

Units: metres, seconds, Hz; c = 343 m/s (``audiolrp.constants.SPEED_OF_SOUND_M_S``).  Walls
are ordered ``(x=0, x=L_x, y=0, y=L_y, z=0 floor, z=L_z ceiling)``.  Outputs are ACN/SN3D.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import signal as sps
from scipy import sparse

from audiolrp.constants import FS_HZ, SPEED_OF_SOUND_M_S
from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import _channel_orders, _check_order, sh_matrix
from audiolrp.simulation.shoebox import (
    _absorption6,
    _inside,
    _room,
    _vec3,
    absorption_from_rt60,
    measure_rt60,
    rt60_from_absorption,
    schroeder_curve_db,
)

__all__ = [
    "HoaRir",
    "absorption_from_rt60",
    "count_images_within_order",
    "hoa_rir",
    "image_sources",
    "measure_rt60",
    "rt60_from_absorption",
    "schroeder_curve_db",
    "simulate_hoa_rir",
]

#: Fractional-delay filter length (Hann-windowed sinc), odd so it centres on the nearest sample.
FRACTIONAL_DELAY_TAPS: int = 33
_HALF_TAPS: int = FRACTIONAL_DELAY_TAPS // 2
_MAX_RT60_S: float = 20.0
_MIN_DISTANCE_M: float = 0.01


@dataclass(frozen=True, eq=False)
class HoaRir:
    """A simulated HOA room impulse response (ACN/SN3D), split into direct and reverberant.

    Attributes
    ----------
    direct : numpy.ndarray
        ``(n_sh, n_samples)`` float64, the direct path only; exactly rank one
        (``direct[c] = Y_c(source direction) * direct[0]``).
    reverberant : numpy.ndarray
        ``(n_sh, n_samples)`` float64, early reflections (high-passed) plus late tail.
    fs_hz, order : int
    source_azimuth_rad, source_elevation_rad : float
        Direction of the source seen from the receiver.
    distance_m : float
        Source-receiver distance.
    rt60_s : float
        Target reverberation time of the late tail (``inf`` for a rigid room without tail).
    absorption : tuple of float
        Energy absorption of the 6 walls used by the image sources.
    n_images : int
        Number of image sources rendered, the direct path included.
    mixing_time_s : float
        Time after emission where the image sources hand over to the diffuse tail (``nan``
        without tail).
    """

    direct: np.ndarray
    reverberant: np.ndarray
    fs_hz: int
    order: int
    source_azimuth_rad: float
    source_elevation_rad: float
    distance_m: float
    rt60_s: float
    absorption: tuple[float, ...]
    n_images: int
    mixing_time_s: float = field(default=float("nan"))

    @property
    def full(self) -> np.ndarray:
        """``direct + reverberant``, shape ``(n_sh, n_samples)``."""
        return self.direct + self.reverberant

    @property
    def n_samples(self) -> int:
        """Length of the response in samples."""
        return int(self.direct.shape[1])


# --------------------------------------------------------------------------------------------
# Image sources
# --------------------------------------------------------------------------------------------


def count_images_within_order(max_order: int) -> int:
    """Closed-form number of shoebox image sources of image order <= K (direct included).

    Images are indexed by integer triples with ``|a| + |b| + |c| <= K``: the lattice points of
    an octahedron, ``(2K + 1)(2K^2 + 2K + 3) / 3``.
    """
    k = int(max_order)
    return (2 * k + 1) * (2 * k * k + 2 * k + 3) // 3



def _axis_images(
    length: float, src: float, rec: float, beta0: float, beta1: float, k_max: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-axis image index, signed receiver->image offset and reflection gain."""
    a = np.arange(-k_max, k_max + 1)
    odd = (a % 2) != 0
    pos = np.where(odd, (a + 1) * length - src, a * length + src)
    # hits on wall at `length` (beta1) and at 0 (beta0): a > 0 -> ceil(a/2) at L, floor(a/2)
    # at 0; a < 0 -> ceil(|a|/2) at 0, floor(|a|/2) at L.
    h_hi = np.where(a >= 0, (a + 1) // 2, (-a) // 2)
    h_lo = np.where(a >= 0, a // 2, (-a + 1) // 2)
    gain = np.power(beta1, h_hi) * np.power(beta0, h_lo)
    return a, pos - rec, gain


def image_sources(
    room_m: ArrayLike,
    source_m: ArrayLike,
    receiver_m: ArrayLike,
    absorption: ArrayLike,
    max_distance_m: float,
    max_image_order: int | None = None,
) -> dict[str, np.ndarray]:
    """All shoebox image sources within a distance (and image order) of the receiver.

    Vectorised over image indices (blocks of the x index, no per-image loop).

    Returns
    -------
    dict
        ``index`` (n, 3) int image indices (a, b, c), ``offset_m`` (n, 3) receiver->image
        vectors, ``distance_m`` (n,), ``gain`` (n,) product of wall reflection coefficients
        ``sqrt(1 - alpha)``, ``image_order`` (n,).  Sorted by distance.
    """
    room = _room(room_m)
    src = _vec3(source_m, "source_m")
    rec = _vec3(receiver_m, "receiver_m")
    beta = np.sqrt(1.0 - _absorption6(absorption))
    r_max = float(max_distance_m)
    axes = []
    for ax in range(3):
        k = int(math.ceil(r_max / room[ax])) + 1
        if max_image_order is not None:
            k = min(k, int(max_image_order))
        axes.append(_axis_images(room[ax], src[ax], rec[ax], beta[2 * ax], beta[2 * ax + 1], k))
    (ia, dx, gx), (ib, dy, gy), (ic, dz, gz) = axes
    dyz2 = dy[:, None] ** 2 + dz[None, :] ** 2
    oyz = np.abs(ib)[:, None] + np.abs(ic)[None, :]
    keep_idx: list[np.ndarray] = []
    block = max(1, 2_000_000 // max(1, dyz2.size))
    r2 = r_max * r_max
    for start in range(0, ia.size, block):
        sl = slice(start, start + block)
        d2 = dx[sl, None, None] ** 2 + dyz2[None]
        mask = d2 <= r2
        if max_image_order is not None:
            mask &= (np.abs(ia[sl])[:, None, None] + oyz[None]) <= int(max_image_order)
        ii, jj, kk = np.nonzero(mask)
        keep_idx.append(np.stack([ii + start, jj, kk], axis=1))
    idx = np.concatenate(keep_idx, axis=0) if keep_idx else np.zeros((0, 3), dtype=np.int64)
    offset = np.stack([dx[idx[:, 0]], dy[idx[:, 1]], dz[idx[:, 2]]], axis=1)
    dist = np.sqrt(np.sum(offset * offset, axis=1))
    gain = gx[idx[:, 0]] * gy[idx[:, 1]] * gz[idx[:, 2]]
    index = np.stack([ia[idx[:, 0]], ib[idx[:, 1]], ic[idx[:, 2]]], axis=1)
    order = np.argsort(dist, kind="stable")
    return {
        "index": index[order],
        "offset_m": offset[order],
        "distance_m": dist[order],
        "gain": gain[order],
        "image_order": np.abs(index[order]).sum(axis=1),
    }


def _fractional_delay_kernels(delay_samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hann-windowed sinc kernels ``(n, taps)`` and their first sample index ``(n,)``.

    Kernel of delay ``D`` (samples): ``h[k] = sinc(k - D) * w(k - D)`` for integer
    ``k = round(D) - 16 .. round(D) + 16`` with ``w(t) = 0.5 (1 + cos(pi t / 17))``.
    Evaluated with angle-addition identities (one sin/cos per image, not per tap):
    ``sin(pi (j - f)) = (-1)^(j+1) sin(pi f)`` for integer j.
    """
    n0 = np.rint(delay_samples).astype(np.int64)
    frac = delay_samples - n0  # in [-0.5, 0.5]
    j = np.arange(-_HALF_TAPS, _HALF_TAPS + 1, dtype=np.float64)
    t = j[None, :] - frac[:, None]
    sign = np.where(np.arange(-_HALF_TAPS, _HALF_TAPS + 1) % 2 == 0, -1.0, 1.0)
    num = np.sin(np.pi * frac)[:, None] * sign[None, :]
    exact = t == 0.0
    sinc = np.divide(num, np.pi * t, out=np.ones_like(t), where=~exact)
    w = np.pi / (_HALF_TAPS + 1)
    cos_t = np.cos(w * j)[None, :] * np.cos(w * frac)[:, None] + (
        np.sin(w * j)[None, :] * np.sin(w * frac)[:, None]
    )
    return sinc * (0.5 * (1.0 + cos_t)), n0 - _HALF_TAPS


def _render(weights: np.ndarray, delay_samples: np.ndarray, n_samples: int) -> np.ndarray:
    """Sum of fractionally delayed impulses, time-major ``out[t, ch] = sum_i w[i, ch] d(t - D_i)``.

    One sparse (CSC, built directly: each image is one column of 33 contiguous rows)
    matrix-times-dense product; no per-image Python loop.
    """
    keep = delay_samples < n_samples + _HALF_TAPS
    weights = weights[keep]
    n_img, n_ch = weights.shape
    if n_img == 0:
        return np.zeros((n_samples, n_ch), dtype=np.float64)
    h, first = _fractional_delay_kernels(delay_samples[keep])
    pad = FRACTIONAL_DELAY_TAPS
    rows = (first[:, None] + (pad + np.arange(FRACTIONAL_DELAY_TAPS))[None, :]).ravel()
    indptr = np.arange(n_img + 1, dtype=np.int64) * FRACTIONAL_DELAY_TAPS
    mat = sparse.csc_array((h.ravel(), rows, indptr), shape=(n_samples + 2 * pad, n_img))
    return (mat @ weights)[pad : pad + n_samples]


# --------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------


def _check_highpass_hz(highpass_hz: float | None, fs: int) -> float | None:
    """The high-pass cut-off in Hz (``None``: no filter)."""
    if not highpass_hz:
        return None
    hp_hz = float(highpass_hz)
    if not 0 < hp_hz < fs / 2:
        raise AudioLRPError(f"highpass_hz={highpass_hz!r} must lie in (0, fs/2) or be None")
    return hp_hz


def _walls(
    room: np.ndarray,
    rt60_s: float | None,
    absorption: ArrayLike | None,
    rt60_model: str,
    late_tail: bool,
) -> tuple[np.ndarray, float]:
    """Wall absorption of the 6 walls and the target RT60 of the tail.

    Without ``absorption`` the walls get the uniform ``rt60_model`` inversion of ``rt60_s``;
    without ``rt60_s`` the target is the Eyring RT60 of ``absorption``.
    """
    if rt60_s is not None:
        rt60 = float(rt60_s)
        if not math.isfinite(rt60) or rt60 <= 0 or rt60 > _MAX_RT60_S:
            raise AudioLRPError(
                f"rt60_s={rt60_s!r} must be a number of seconds in (0, {_MAX_RT60_S}]"
            )
    if absorption is None:
        if rt60_s is None:
            raise AudioLRPError("give rt60_s or absorption: the room needs one of them")
        alpha = np.full(6, absorption_from_rt60(room, rt60, rt60_model))
    else:
        alpha = _absorption6(absorption)
        if rt60_s is None:
            rt60 = rt60_from_absorption(room, alpha, "eyring")
    if late_tail and not math.isfinite(rt60):
        raise AudioLRPError(
            "a rigid room (absorption 0) has no finite RT60 for the late tail: pass "
            "late_tail=False with max_image_order or max_length_s"
        )
    return alpha, rt60


def _mixing_time(
    t_direct: float, rt60: float, late_tail: bool, mixing_time_s: float | None
) -> tuple[float, float]:
    """``(t_mix, t_fade)``: hand-over time from images to tail (after emission) and the
    length of the cross-fade that ends there (``(nan, 0)`` without tail)."""
    if not late_tail:
        return math.nan, 0.0
    if mixing_time_s is None:
        t_mix = t_direct + min(0.08, max(0.01, rt60 / 12.0))
    else:
        t_mix = float(mixing_time_s)
        if not math.isfinite(t_mix) or t_mix <= t_direct + 0.004:
            raise AudioLRPError(
                f"mixing_time_s={mixing_time_s!r} must exceed the direct delay "
                f"{t_direct:.4f} s by >= 4 ms"
            )
    return t_mix, min(0.01, 0.25 * (t_mix - t_direct))


def _response_length_s(
    max_length_s: float | None, rt60: float, t_direct: float, max_image_order: int | None
) -> float:
    """Length of the response in seconds; ``inf`` when only the image order bounds a rigid room
    (then the farthest image sets it)."""
    if max_length_s is not None:
        length_s = float(max_length_s)
        if not math.isfinite(length_s) or length_s <= 0:
            raise AudioLRPError(f"max_length_s={max_length_s!r} must be a positive duration")
        return length_s
    if math.isfinite(rt60):
        return t_direct + rt60
    if max_image_order is not None:
        return math.inf
    raise AudioLRPError(
        "a rigid room needs max_length_s or max_image_order to bound the response"
    )


def _image_radius_m(
    late_tail: bool,
    t_mix: float,
    length_s: float,
    fs: int,
    room: np.ndarray,
    dist: float,
    max_image_order: int | None,
) -> float:
    """Distance up to which image sources are rendered: the mixing time with a tail, else the
    response length (plus the fractional-delay half-length), else the image-order bound."""
    c = SPEED_OF_SOUND_M_S
    if late_tail:
        return t_mix * c
    if math.isfinite(length_s):
        return length_s * c + _HALF_TAPS * c / fs
    assert max_image_order is not None  # checked by _response_length_s
    return float(max_image_order + 1) * float(np.linalg.norm(room)) + dist


def _image_arrivals(
    imgs: dict[str, np.ndarray], order: int, late_tail: bool, t_mix: float, t_fade: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Arrival time (s), amplitude ``gain / (4 pi r)``, amplitude cross-faded out (cos) over
    ``[t_mix - t_fade, t_mix]`` when there is a tail, and SH gains ``(n, n_sh)`` of every
    image (a plane wave from its direction of arrival at the receiver)."""
    d = imgs["distance_m"]
    amp = imgs["gain"] / (4.0 * np.pi * d)
    t_arr = d / SPEED_OF_SOUND_M_S
    if late_tail:
        x = np.clip((t_arr - (t_mix - t_fade)) / t_fade, 0.0, 1.0)
        amp_faded = amp * np.cos(0.5 * np.pi * x)
    else:
        amp_faded = amp
    offset = imgs["offset_m"]
    horiz = np.hypot(offset[:, 0], offset[:, 1])
    az = np.arctan2(offset[:, 1], offset[:, 0])
    el = np.arctan2(offset[:, 2], horiz)
    return t_arr, amp, amp_faded, sh_matrix(order, az, el)


def _render_direct(
    y: np.ndarray, amp: np.ndarray, delays: np.ndarray, is_direct: np.ndarray, n_samples: int
) -> np.ndarray:
    """The direct path, channel-major ``(n_sh, n_samples)`` float64.

    Written as an outer product (SH gains x one fractional-delay filter), so it is exactly rank
    one and callers can convolve the source once instead of once per channel.
    """
    direct = np.zeros((y.shape[1], n_samples), dtype=np.float64)
    h_d, first_d = _fractional_delay_kernels(delays[is_direct])
    cols = first_d[0] + np.arange(FRACTIONAL_DELAY_TAPS)
    ok = (cols >= 0) & (cols < n_samples)
    direct[:, cols[ok]] = (y[is_direct][0] * amp[is_direct][0])[:, None] * h_d[0, ok][None, :]
    return direct


def _render_reflections(
    y: np.ndarray,
    amp_faded: np.ndarray,
    delays: np.ndarray,
    refl: np.ndarray,
    n_samples: int,
    fs: int,
    hp_hz: float | None,
) -> np.ndarray:
    """The image sources other than the direct path, channel-major, high-passed at ``hp_hz``."""
    reverb = np.ascontiguousarray(
        _render(y[refl] * amp_faded[refl, None], delays[refl], n_samples).T
    )
    if hp_hz is not None:
        sos = sps.butter(2, hp_hz, btype="highpass", fs=fs, output="sos")
        reverb = sps.sosfilt(sos, reverb, axis=-1)
    return reverb


def _add_late_tail(
    reverb: np.ndarray,
    *,
    order: int,
    fs: int,
    rt60: float,
    room: np.ndarray,
    t_direct: float,
    t_mix: float,
    t_fade: float,
    t_arr: np.ndarray,
    refl: np.ndarray,
    max_image_order: int | None,
    seed: int | np.random.Generator | None,
) -> None:
    """Add the diffuse exponential tail to ``reverb`` in place (module docstring, late part).

    The tail starts at ``t_mix - t_fade`` with a sine fade-in; its level continues the energy
    of the rendered (high-passed) image signal in W over ``[ta, t_mix - t_fade)``, where no
    image is faded yet (the image lattice adds partly coherently, so the rendered energy, not
    ``sum A^2``, is what the tail must continue), or the statistical diffuse-field level when
    too few images fall there.
    """
    n_samples = reverb.shape[1]
    t0 = t_mix - t_fade
    start = max(0, int(math.ceil(t0 * fs)))
    if start >= n_samples:
        return
    decay = 6.0 * math.log(10.0) / rt60  # energy decay rate (1/s): 10^(-6 t / T)
    ta = t_direct + 0.5 * (t_mix - t_direct)
    i_a = int(math.ceil(ta * fs))
    n_in_window = int(np.count_nonzero(refl & (t_arr >= ta) & (t_arr < t0)))
    if max_image_order is None and n_in_window >= 30 and start > i_a:
        e_img = float(np.sum(reverb[0, i_a:start] ** 2))
        t_win = np.arange(i_a, start) / fs
        sigma0_sq = e_img / float(np.sum(np.exp(-decay * t_win)))
    else:  # statistical reverberant energy density (Sabine diffuse field)
        sigma0_sq = SPEED_OF_SOUND_M_S / (4.0 * np.pi * float(np.prod(room)) * fs)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    t = np.arange(start, n_samples) / fs
    env = np.sqrt(sigma0_sq) * np.exp(-0.5 * decay * t)
    env *= np.sin(0.5 * np.pi * np.clip((t - t0) / t_fade, 0.0, 1.0))
    ch_gain = 1.0 / np.sqrt(2.0 * _channel_orders(order) + 1.0)
    tail = rng.standard_normal((reverb.shape[0], n_samples - start), dtype=np.float32)
    tail *= ch_gain[:, None].astype(np.float32)
    tail *= env[None, :].astype(np.float32)
    reverb[:, start:] += tail


def _checked_inputs(
    room_m: ArrayLike,
    source_m: ArrayLike,
    receiver_m: ArrayLike,
    order: int,
    fs_hz: int,
    max_image_order: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """``(room, source, receiver, order, fs)`` of :func:`simulate_hoa_rir`, checked: positions
    strictly inside the room and at least :data:`_MIN_DISTANCE_M` apart, a valid order, a
    positive integer rate and an integer ``max_image_order >= 0`` (or None)."""
    room = _room(room_m)
    src = _vec3(source_m, "source_m")
    rec = _vec3(receiver_m, "receiver_m")
    _inside(src, room, "source_m")
    _inside(rec, room, "receiver_m")
    order = _check_order(order)
    if isinstance(fs_hz, bool) or not isinstance(fs_hz, int | np.integer) or fs_hz <= 0:
        raise AudioLRPError(f"fs_hz={fs_hz!r} must be a positive integer sampling rate in Hz")
    dist = float(np.linalg.norm(src - rec))
    if dist < _MIN_DISTANCE_M:
        raise AudioLRPError(
            f"source and receiver are {dist:.3g} m apart: keep them >= {_MIN_DISTANCE_M} m apart"
        )
    if max_image_order is not None and (
        isinstance(max_image_order, bool)
        or int(max_image_order) != max_image_order
        or max_image_order < 0
    ):
        raise AudioLRPError(f"max_image_order={max_image_order!r} must be an integer >= 0")
    return room, src, rec, order, int(fs_hz)


def simulate_hoa_rir(
    room_m: ArrayLike,
    source_m: ArrayLike,
    receiver_m: ArrayLike,
    rt60_s: float | None = None,
    order: int = 4,
    fs_hz: int = FS_HZ,
    *,
    absorption: ArrayLike | None = None,
    max_length_s: float | None = None,
    max_image_order: int | None = None,
    late_tail: bool = True,
    highpass_hz: float | None = 10.0,
    seed: int | np.random.Generator | None = 0,
    rt60_model: str = "eyring",
    mixing_time_s: float | None = None,
) -> HoaRir:
    """Simulate an HOA (ACN/SN3D) room impulse response of a shoebox room.

    Steps: check the geometry; wall absorption and target RT60 (:func:`_walls`); mixing time
    and response length; image sources up to the mixing time (:func:`image_sources`); the
    direct path (rank one) and the reflections (cross-faded out at the mixing time,
    high-passed); the diffuse late tail (:func:`_add_late_tail`).

    Parameters
    ----------
    room_m : array_like
        Room size ``(L_x, L_y, L_z)`` in metres.
    source_m, receiver_m : array_like
        Positions strictly inside the room, metres.
    rt60_s : float, optional
        Target reverberation time.  Without ``absorption`` the walls get the uniform
        ``rt60_model`` (Eyring by default) inversion; the late tail decays exactly at this rate.
        If omitted, ``absorption`` is required and the target is its Eyring RT60.
    order : int
        Ambisonics order N (``(N+1)**2`` channels).
    fs_hz : int
        Sampling rate.
    absorption : array_like, optional
        Energy absorption, 1 value or 6 (walls x0, x1, y0, y1, z0, z1), used by the images.
    max_length_s : float, optional
        Length of the response; default ``distance / c + rt60`` (60 dB of decay), or the
        arrival of the farthest image when only ``max_image_order`` bounds a rigid room.
    max_image_order : int, optional
        Also limit the image sources to this image order.
    late_tail : bool
        True (default): images up to the mixing time, then the diffuse exponential tail.
        False: image sources only, up to ``max_length_s`` / ``max_image_order``.
    highpass_hz : float or None
        Cut-off of the 2nd-order Butterworth high-pass applied to the reverberant part
        (removes the DC build-up of all-positive image reflections); None or 0 disables.
    seed : int or numpy.random.Generator
        Seed of the tail noise (the result is deterministic given the seed).
    rt60_model : {"eyring", "sabine"}
        Inversion used to derive wall absorption from ``rt60_s``.
    mixing_time_s : float, optional
        Hand-over from images to tail, seconds after emission.  Default:
        ``distance / c + clip(rt60 / 12, 10 ms, 80 ms)`` (the first ~5 dB of decay).

    Returns
    -------
    HoaRir
    """
    room, src, rec, order, fs = _checked_inputs(
        room_m, source_m, receiver_m, order, fs_hz, max_image_order
    )
    c = SPEED_OF_SOUND_M_S
    vec = src - rec
    dist = float(np.linalg.norm(vec))
    hp_hz = _check_highpass_hz(highpass_hz, fs)
    alpha, rt60 = _walls(room, rt60_s, absorption, rt60_model, late_tail)
    t_direct = dist / c
    t_mix, t_fade = _mixing_time(t_direct, rt60, late_tail, mixing_time_s)
    length_s = _response_length_s(max_length_s, rt60, t_direct, max_image_order)
    # image sources: arrival time, amplitude (cross-faded out at the mixing time), direction
    r_max = _image_radius_m(late_tail, t_mix, length_s, fs, room, dist, max_image_order)
    imgs = image_sources(room, src, rec, alpha, r_max, max_image_order)
    if not math.isfinite(length_s):
        length_s = float(imgs["distance_m"][-1]) / c + 2 * _HALF_TAPS / fs
    n_samples = max(1, int(math.ceil(length_s * fs)))
    t_arr, amp, amp_faded, y = _image_arrivals(imgs, order, late_tail, t_mix, t_fade)
    delays = t_arr * fs
    is_direct = np.all(imgs["index"] == 0, axis=1)
    direct = _render_direct(y, amp, delays, is_direct, n_samples)
    refl = ~is_direct
    reverb = _render_reflections(y, amp_faded, delays, refl, n_samples, fs, hp_hz)
    if late_tail:
        _add_late_tail(
            reverb, order=order, fs=fs, rt60=rt60, room=room, t_direct=t_direct, t_mix=t_mix,
            t_fade=t_fade, t_arr=t_arr, refl=refl, max_image_order=max_image_order, seed=seed,
        )
    return HoaRir(
        direct=direct, reverberant=reverb, fs_hz=fs, order=order,
        source_azimuth_rad=math.atan2(vec[1], vec[0]),
        source_elevation_rad=math.atan2(vec[2], math.hypot(vec[0], vec[1])),
        distance_m=dist, rt60_s=float(rt60), absorption=tuple(float(v) for v in alpha),
        n_images=int(t_arr.size), mixing_time_s=float(t_mix),
    )


def hoa_rir(
    room_m: ArrayLike,
    source_m: ArrayLike,
    receiver_m: ArrayLike,
    rt60_s: float | None,
    order: int,
    fs_hz: int = FS_HZ,
    **kw: Any,
) -> np.ndarray:
    """Convenience wrapper: ``simulate_hoa_rir(...).full`` as a ``(n_sh, n_samples)`` array."""
    return simulate_hoa_rir(room_m, source_m, receiver_m, rt60_s, order, fs_hz, **kw).full
