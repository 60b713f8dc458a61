"""MicArray: one array's encoder to ACN/SN3D (spatial matrix ``S`` and radial filters: the
tetra's A -> B and equalisation, the sphere's least squares and radial filters), its capsule
kernels and plane-wave rendering, the diffuse-field colouring and capsule self-noise;
:func:`make_array` builds (and caches) one."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.fft
from numpy.typing import ArrayLike
from scipy import sparse

from audiolrp.constants import FS_HZ, SPEED_OF_SOUND_M_S
from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import _channel_orders, sh_matrix
from audiolrp.simulation.microphones.capsules import (
    ARRAY_MAX_ORDER,
    DEFAULT_RADIUS_M,
    _angles,
    aliasing_frequency_hz,
    em32_directions,
    tetra_directions,
)
from audiolrp.simulation.microphones.modal import (
    _beta,
    _legendre,
    _taper,
    limited_inverse,
    series_order,
)

DEFAULT_MAX_GAIN_DB: float = 20.0
"""Default limit of the radial (sphere) and equalisation (tetra) filters, dB."""

RADIAL_FIR_TAPS: int = 1025
"""Length of the radial / equalisation FIRs (odd, centred: zero delay)."""

KERNEL_OVERSAMPLING: int = 64
"""Time oversampling of the capsule kernel tables (linear interpolation error ~3e-4)."""

_KERNEL_GRID: int = 4096
"""Frequency grid (points per fs) of the kernel tables: periodic kernels, period 4096 samples."""

_DESIGN_GRID: int = 4096
"""Frequency grid (points per fs) of the radial FIR and diffuse colouring designs."""

_DIFFUSE_FIR_TAPS: int = 63
"""Length of the diffuse-field colouring FIRs (odd, centred)."""

_BLOCK_FFT: int = 512
"""FFT size of the block (overlap-save) multichannel FIR filtering."""



@dataclass(frozen=True, eq=False)
class MicArray:
    """A spherical microphone array and its encoder to ACN/SN3D of order ``order``.

    Build with :func:`make_array` (cached). Filters and kernel tables are computed on first use
    and kept on the instance.

    Attributes
    ----------
    name
        ``"tetra"`` or ``"sphere32"``.
    directions
        Capsule unit vectors ``(Q, 3)``.
    radius_m
        Capsule radius.
    rigid
        Rigid sphere with pressure capsules (True) or open first-order capsules (False).
    directivity
        ``alpha`` of open capsules ``alpha + (1 - alpha) cos gamma`` (1 for pressure capsules).
    order
        Output Ambisonics order N.
    equalise
        Tetra: A -> B equalisation on (radial filters of orders 0, 1). Sphere: always True.
    max_gain_db
        Limit of the radial / equalisation filters (``None``: unlimited inverse).
    limit
        ``"tikhonov"`` (default) or ``"soft"`` (:func:`limited_inverse`).
    fs_hz
        Sampling rate.
    """

    name: str
    directions: np.ndarray
    radius_m: float
    rigid: bool
    directivity: float
    order: int
    equalise: bool
    max_gain_db: float | None
    limit: str = "tikhonov"
    fs_hz: int = FS_HZ
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # ---- sizes ---------------------------------------------------------------------------
    @property
    def n_capsules(self) -> int:
        """Number of capsules Q."""
        return int(self.directions.shape[0])

    @property
    def n_sh(self) -> int:
        """Output channels ``(N+1)^2``."""
        return (self.order + 1) ** 2

    @property
    def series_order(self) -> int:
        """Truncation order L of the capsule series (:func:`series_order`)."""
        key = "series_order"
        if key not in self._cache:
            self._cache[key] = series_order(
                self.radius_m, self.rigid, self.directivity, self.fs_hz
            )
        return int(self._cache[key])

    @property
    def kernel_half_taps(self) -> int:
        """Half length ``h`` of the capsule kernels (``2h + 1`` taps)."""
        return 24 if self.rigid else 16

    @property
    def aliasing_hz(self) -> float:
        """:func:`aliasing_frequency_hz` of the highest order the capsule layout resolves
        (:data:`ARRAY_MAX_ORDER`: 1 for the tetrahedron, 4 for the 32 capsules, whatever the
        output order; lower output orders are not aliased by orders the layout resolves)."""
        return aliasing_frequency_hz(ARRAY_MAX_ORDER[self.name], self.radius_m)

    # ---- frequency responses -------------------------------------------------------------
    def _kr(self, f_hz: ArrayLike) -> np.ndarray:
        return 2.0 * np.pi * np.asarray(f_hz, np.float64) * self.radius_m / SPEED_OF_SOUND_M_S

    def modal_gains(self, f_hz: ArrayLike, max_n: int | None = None) -> np.ndarray:
        """``G_n(kr) = (2n + 1) i^n beta_n(kr)``, ``(n_f, max_n + 1)`` complex (default
        ``max_n`` = :attr:`series_order`). At ``f = 0`` the limits (``G_0 = 1`` on the rigid
        sphere; ``alpha`` and ``1 - alpha`` for n = 0, 1 of open capsules; else 0)."""
        kr = self._kr(f_hz).reshape(-1)
        n = np.arange((self.series_order if max_n is None else max_n) + 1)
        kr_safe = np.where(kr > 0, kr, 1.0)
        g = (2 * n + 1) * (1j ** n) * _beta(n[None, :], kr_safe[:, None], self.rigid,
                                             self.directivity)
        zero = kr <= 0
        if np.any(zero):
            g0 = np.zeros(n.size, np.complex128)
            g0[0] = 1.0 if self.rigid else self.directivity
            if not self.rigid and n.size > 1:
                g0[1] = 1.0 - self.directivity
            g[zero] = g0
        return np.asarray(g, np.complex128)

    def capsule_transfer(self, f_hz: ArrayLike, directions: ArrayLike) -> np.ndarray:
        """Capsule responses to unit plane waves, ``(n_f, Q, n_dirs)`` complex:
        ``p_q = sum_{n <= L} G_n(kr) P_n(d_q . u)``."""
        u = np.asarray(directions, np.float64).reshape(-1, 3)
        leg = _legendre(self.series_order, self.directions @ u.T)  # (L+1, Q, n_dirs)
        g = self.modal_gains(f_hz)  # (n_f, L+1)
        return np.einsum("fn,nqd->fqd", g, leg)

    @property
    def spatial_encoder(self) -> np.ndarray:
        """``S`` ``(n_sh, Q)``: ``M^-1`` (tetra, first rows) or ``pinv(Y_N(d))`` (sphere)."""
        key = "spatial"
        if key not in self._cache:
            az, el = _angles(self.directions)
            if self.rigid:
                s = np.linalg.pinv(sh_matrix(self.order, az, el))
            else:
                y1 = sh_matrix(1, az, el)
                m = y1 * np.array([self.directivity] + [1.0 - self.directivity] * 3)
                s = np.linalg.inv(m)[: self.n_sh]
            self._cache[key] = np.ascontiguousarray(s)
        return np.asarray(self._cache[key])

    def radial_response(self, f_hz: ArrayLike) -> np.ndarray:
        """Target radial / equalisation filters ``R_n(f)``, ``(n_f, N + 1)`` complex (module
        docstring); all ones for the tetra without equalisation."""
        f = np.asarray(f_hz, np.float64).reshape(-1)
        if not self.rigid and not self.equalise:
            return np.ones((f.size, self.order + 1), np.complex128)
        if self.rigid:  # G_n(0) = 0 for n > 0: evaluate DC as its limit f -> 0+
            f = np.where(f > 0, f, 1e-3)
        g = self.modal_gains(f, max_n=max(self.order, 1))[:, : self.order + 1]
        if not self.rigid:  # normalise to the low-frequency capsule model of M
            g = g / np.array([self.directivity, 1.0 - self.directivity])[: self.order + 1]
        return np.asarray(limited_inverse(g, self.max_gain_db, self.limit), np.complex128)

    def transfer(self, f_hz: ArrayLike, directions: ArrayLike) -> np.ndarray:
        """The array's response to unit plane waves, ACN/SN3D: ``(n_f, n_sh, n_dirs)``
        complex, ``diag(R_n) S p(f, u)`` with the target radial filters. The ideal encoder
        gives ``Y_N(u)`` at every frequency."""
        r = self.radial_response(f_hz)[:, _channel_orders(self.order)]
        return r[:, :, None] * np.einsum(
            "cq,fqd->fcd", self.spatial_encoder, self.capsule_transfer(f_hz, directions)
        )

    def diffuse_coherence(self, f_hz: ArrayLike) -> np.ndarray:
        """Capsule cross-spectra of a diffuse field of unit pressure power, ``(n_f, Q, Q)``:
        ``Gamma_qq' = sum_n |G_n|^2 / (2n + 1) P_n(d_q . d_q')`` (uncorrelated SN3D
        coefficients of power ``1 / (2n + 1)``; real and symmetric)."""
        q = self.n_capsules
        leg = _legendre(self.series_order, np.clip(self.directions @ self.directions.T, -1, 1))
        g = self.modal_gains(f_hz)
        w = np.abs(g) ** 2 / (2 * np.arange(g.shape[1]) + 1)
        return (w @ leg.reshape(-1, q * q)).reshape(-1, q, q)

    # ---- filters -------------------------------------------------------------------------
    @property
    def radial_firs(self) -> np.ndarray | None:
        """Zero-delay FIRs ``(N + 1, RADIAL_FIR_TAPS)`` of :meth:`radial_response` (None for
        the raw tetra): frequency sampling on a 4096-point grid, faded out over the top 10 %
        of the band (raised cosine from 0.9 fs/2 to fs/2), centred, flat-top window; an order
        whose realised peak would pass the limit (window ripple) is scaled to 0.999 of it."""
        key = "radial_firs"
        if key not in self._cache:
            if not self.rigid and not self.equalise:
                self._cache[key] = None
            else:
                f = np.arange(_DESIGN_GRID // 2 + 1) * (self.fs_hz / _DESIGN_GRID)
                # fade out over the top 10 % of the band: a real filter's gain at Nyquist is
                # real, and a jump there from the complex target would ring over all taps
                edge = (f - 0.9 * self.fs_hz / 2) / (0.1 * self.fs_hz / 2)
                fade = np.where(edge <= 0, 1.0, 0.5 * (1 + np.cos(np.pi * np.clip(edge, 0, 1))))
                r = self.radial_response(f) * fade[:, None]
                r[0] = r[0].real  # and a real gain at DC (odd orders tend to 0 there)
                h = scipy.fft.irfft(r, _DESIGN_GRID, axis=0)  # (grid, N+1)
                half = RADIAL_FIR_TAPS // 2
                h = np.roll(h, half, axis=0)[:RADIAL_FIR_TAPS].T
                t = np.arange(RADIAL_FIR_TAPS) - half
                h = h * _taper(t, half + 1.0)[None, :]
                if self.max_gain_db is not None:  # windowing ripple must not pass the limit
                    peak = np.abs(scipy.fft.rfft(h, 8 * _DESIGN_GRID, axis=-1)).max(axis=-1)
                    g = 10.0 ** (self.max_gain_db / 20.0)
                    h = h * np.minimum(1.0, (1.0 - 1e-3) * g / peak)[:, None]
                self._cache[key] = np.ascontiguousarray(h)
        return self._cache[key]

    def radial_fir_response(self, f_hz: ArrayLike) -> np.ndarray:
        """Frequency response ``(n_f, N + 1)`` of the realised radial FIRs (ones for the raw
        tetra): ``sum_t h_n[t] exp(-i 2 pi f t / fs)``, t centred on 0."""
        f = np.asarray(f_hz, np.float64).reshape(-1)
        firs = self.radial_firs
        if firs is None:
            return np.ones((f.size, self.order + 1), np.complex128)
        t = np.arange(RADIAL_FIR_TAPS) - RADIAL_FIR_TAPS // 2
        return np.exp(-2j * np.pi * np.outer(f, t) / self.fs_hz) @ firs.T.astype(np.complex128)

    def radial_filter(self, pre: np.ndarray) -> np.ndarray:
        """Apply the radial FIRs to spatially encoded signals ``(n_sh, n)`` (same shape;
        zero delay, linear convolution, the ends zero-padded)."""
        firs = self.radial_firs
        if firs is None:
            return np.asarray(pre, np.float64)
        half = RADIAL_FIR_TAPS // 2
        n = pre.shape[-1]
        n_fft = scipy.fft.next_fast_len(n + RADIAL_FIR_TAPS - 1, real=True)
        spec = scipy.fft.rfft(pre, n_fft, axis=-1)
        spec *= scipy.fft.rfft(firs, n_fft, axis=-1)[_channel_orders(self.order)]
        return np.asarray(scipy.fft.irfft(spec, n_fft, axis=-1)[:, half : half + n])

    def encode(self, capsules: np.ndarray) -> np.ndarray:
        """Capsule signals ``(Q, n)`` -> ACN/SN3D ``(n_sh, n)`` float64 (``S``, then the
        radial filters)."""
        x = np.asarray(capsules, np.float64)
        if x.ndim != 2 or x.shape[0] != self.n_capsules:
            raise AudioLRPError(
                f"capsule signals have shape {x.shape}; the {self.name} array needs "
                f"({self.n_capsules}, n_samples)"
            )
        return self.radial_filter(self.spatial_encoder @ x)

    # ---- capsule kernels -----------------------------------------------------------------
    @property
    def kernel_tables(self) -> np.ndarray:
        """``g_n(t)`` ``(L + 1, n_t)``: band-limited impulse responses of ``G_n`` (spectrum
        on a 4096-point grid, Nyquist bin halved), oversampled by
        :data:`KERNEL_OVERSAMPLING` at ``t = -(h+1) .. h+1`` samples, Hann-windowed over
        ``+-(h+1)``. ``kappa(c, t) = sum_n P_n(c) g_n(t)``."""
        key = "kernels"
        if key not in self._cache:
            over, grid, h1 = KERNEL_OVERSAMPLING, _KERNEL_GRID, self.kernel_half_taps + 1
            f = np.arange(grid // 2 + 1) * (self.fs_hz / grid)
            g = self.modal_gains(f)
            g[-1] *= 0.5
            full = scipy.fft.irfft(g, grid * over, axis=0) * over  # (grid * over, L+1)
            j = np.arange(-h1 * over, h1 * over + 1)
            tab = full[j % (grid * over)].T
            self._cache[key] = np.ascontiguousarray(tab * _taper(j / over, float(h1))[None, :])
        return np.asarray(self._cache[key])

    def _kernel_values(self, frac: np.ndarray) -> np.ndarray:
        """``g_n(j - frac_i)`` for taps ``j = -h..h``: ``(n_w, 2h + 1, L + 1)`` float32 (linear
        interpolation in the oversampled tables; single precision, like the scene's audio).

        Table position of tap j: ``(j + h) O + q_i`` with ``q_i = (1 - frac_i) O``, so all
        taps of a wave share one phase ``floor(q_i)`` and one weight; the tables are kept
        regrouped by phase (``[p, j] -> g(p + j O)``) and each wave reads two blocks.
        """
        h, over = self.kernel_half_taps, KERNEL_OVERSAMPLING
        n_taps = 2 * h + 1
        key = "kernels_by_phase"
        if key not in self._cache:
            tab = self.kernel_tables.T  # (n_t, L+1)
            idx = np.arange(2 * over)[:, None] + over * np.arange(n_taps)[None, :]
            self._cache[key] = np.ascontiguousarray(tab[idx], dtype=np.float32)  # (2O, T, L+1)
        by_phase = self._cache[key]
        q = (1.0 - np.asarray(frac, np.float64)) * over  # in [O/2, 3 O/2]
        p = np.clip(np.floor(q).astype(np.int64), 0, 2 * over - 2)
        w = (q - p).astype(np.float32)[:, None, None]
        lo = by_phase[p]
        return np.asarray(lo + w * (by_phase[p + 1] - lo))

    def render_waves(
        self,
        delays_samples: ArrayLike,
        amplitudes: ArrayLike,
        directions: ArrayLike,
        n_samples: int,
    ) -> np.ndarray:
        """Capsule signals ``(Q, n_samples)`` float64 of plane-wave impulses.

        Wave ``i`` (arrival at the array centre ``delays_samples[i]``, amplitude, unit
        direction of arrival) adds ``A_i kappa(d_q . u_i, t - tau_i)`` to capsule ``q`` at
        the ``2h + 1`` samples around ``round(tau_i)``. Waves whose kernels fall outside
        ``[0, n_samples)`` are cut there.
        """
        d = np.asarray(delays_samples, np.float64).reshape(-1)
        a = np.asarray(amplitudes, np.float64).reshape(-1)
        u = np.asarray(directions, np.float64).reshape(-1, 3)
        h = self.kernel_half_taps
        keep = d < n_samples + h
        d, a, u = d[keep], a[keep], u[keep]
        n_taps = 2 * h + 1
        if d.size == 0:
            return np.zeros((self.n_capsules, n_samples))
        m0 = np.rint(d).astype(np.int64)
        g = self._kernel_values(d - m0)  # (n_w, T, L+1)
        leg = (_legendre(self.series_order, u @ self.directions.T) * a[None, :, None]).astype(
            np.float32
        )
        k = np.matmul(g, leg.transpose(1, 0, 2)).reshape(d.size * n_taps, self.n_capsules)
        rows = (m0[:, None] + np.arange(n_taps)[None, :] - h).reshape(-1)  # output samples
        ok = (rows >= 0) & (rows < n_samples)
        mat = sparse.csr_array(
            (np.ones(int(ok.sum()), np.float32), (rows[ok], np.flatnonzero(ok))),
            shape=(n_samples, rows.size),
        )
        return np.ascontiguousarray((mat @ k).T, dtype=np.float64)

    def wave_firs(self, directions: ArrayLike) -> np.ndarray:
        """Capsule FIRs ``(n_dirs, Q, 2h + 1)`` of plane waves arriving at the array centre at
        sample 0 (kernel taps ``kappa(d_q . u, j)``, ``j = -h..h``)."""
        u = np.asarray(directions, np.float64).reshape(-1, 3)
        g = self._kernel_values(np.zeros(1))[0].astype(np.float64)  # (T, L+1)
        leg = _legendre(self.series_order, u @ self.directions.T)  # (L+1, n_dirs, Q)
        return np.asarray(np.einsum("tn,ndq->dqt", g, leg))

    # ---- signals -------------------------------------------------------------------------
    def plane_wave_signals(self, signals: ArrayLike, directions: ArrayLike) -> np.ndarray:
        """Encoded ``(n_sh, n)`` float64 of plane waves ``signals[p]`` (time origin at the
        array centre) from ``directions[p]``: per capsule FIRs, ``S``, radial filters."""
        x = np.asarray(signals, np.float64)
        taps = np.einsum("cq,pqt->cpt", self.spatial_encoder, self.wave_firs(directions))
        return self.radial_filter(_mimo_fir(x, taps, self.kernel_half_taps))

    @property
    def diffuse_firs(self) -> np.ndarray:
        """Colouring FIRs ``(n_sh, n_sh, T)`` (centred) with ``H(f) H(f)^T = S Gamma(f) S^T``
        (principal square root per frequency): independent unit-power channels in, the
        spatially encoded diffuse field of the capsules out (before the radial filters)."""
        key = "diffuse"
        if key not in self._cache:
            f = np.arange(_DESIGN_GRID // 2 + 1) * (self.fs_hz / _DESIGN_GRID)
            s = self.spatial_encoder
            k = s @ self.diffuse_coherence(f) @ s.T
            lam, vec = np.linalg.eigh(0.5 * (k + k.transpose(0, 2, 1)))
            root = np.einsum("fci,fi,fdi->fcd", vec, np.sqrt(np.maximum(lam, 0.0)), vec)
            h = scipy.fft.irfft(root, _DESIGN_GRID, axis=0)
            half = _DIFFUSE_FIR_TAPS // 2
            h = np.roll(h, half, axis=0)[:_DIFFUSE_FIR_TAPS]  # (T, c, d)
            h *= _taper(np.arange(_DIFFUSE_FIR_TAPS) - half, half + 1.0)[:, None, None]
            self._cache[key] = np.ascontiguousarray(h.transpose(1, 2, 0))
        return np.asarray(self._cache[key])

    def diffuse_pre(self, white: np.ndarray) -> np.ndarray:
        """Spatially encoded diffuse field ``(n_sh, n)`` from ``n_sh`` independent
        unit-power signals (:attr:`diffuse_firs`; pass through :meth:`radial_filter`)."""
        return _mimo_fir(np.asarray(white, np.float64), self.diffuse_firs,
                         _DIFFUSE_FIR_TAPS // 2)

    def self_noise(self, n_samples: int, rms: float, seed: int) -> np.ndarray:
        """Capsule self-noise ``(Q, n_samples)`` float32: independent white Gaussian noise of
        RMS ``rms`` per capsule from ``np.random.default_rng(seed)`` (float32 draws; same
        seed, same noise)."""
        rng = np.random.default_rng(seed)
        noise = rng.standard_normal((self.n_capsules, int(n_samples)), dtype=np.float32)
        return noise * np.float32(rms)


def _mimo_fir(x: np.ndarray, taps: np.ndarray, centre: int) -> np.ndarray:
    """``y[c, t] = sum_p sum_j taps[c, p, j] x[p, t + centre - j]`` (``(C, n)`` float64):
    centred multichannel FIR filtering, overlap-save with :data:`_BLOCK_FFT`-point FFTs."""
    n_out, (n_c, n_p, n_t) = x.shape[-1], taps.shape
    m = _BLOCK_FFT
    step = m - n_t + 1
    n_blocks = -(-(n_out + centre) // step)
    xp = np.zeros((n_p, n_blocks * step + n_t - 1))
    xp[:, n_t - 1 : n_t - 1 + n_out] = x
    frames = np.lib.stride_tricks.sliding_window_view(xp, m, axis=-1)[:, ::step][:, :n_blocks]
    spec_x = scipy.fft.rfft(frames, axis=-1).transpose(2, 0, 1)  # (F, P, B)
    spec_h = scipy.fft.rfft(taps, m, axis=-1).transpose(2, 0, 1)  # (F, C, P)
    y = scipy.fft.irfft(np.matmul(spec_h, spec_x).transpose(1, 2, 0), m, axis=-1)
    z = y[:, :, n_t - 1 :].reshape(n_c, n_blocks * step)
    return np.ascontiguousarray(z[:, centre : centre + n_out])


@functools.lru_cache(maxsize=32)
def make_array(
    name: str,
    order: int,
    *,
    radius_m: float | None = None,
    directivity: float = 0.5,
    equalise: bool = True,
    max_gain_db: float | None = DEFAULT_MAX_GAIN_DB,
    limit: str = "tikhonov",
    fs_hz: int = FS_HZ,
) -> MicArray:
    """The array ``name`` (``"tetra"`` or ``"sphere32"``) encoding to order ``order``.

    Cached per argument set (so its filters and kernel tables are built once per process).

    Raises
    ------
    AudioLRPError
        Unknown name, order above the array's (:data:`ARRAY_MAX_ORDER`), bad radius or
        directivity.
    """
    if name not in ARRAY_MAX_ORDER:
        raise AudioLRPError(f"unknown microphone array {name!r}: use 'tetra' or 'sphere32'")
    if not 0 <= int(order) <= ARRAY_MAX_ORDER[name]:
        raise AudioLRPError(
            f"the {name} array encodes orders 0..{ARRAY_MAX_ORDER[name]}, not {order}: pass a "
            "lower order"
        )
    r = DEFAULT_RADIUS_M[name] if radius_m is None else float(radius_m)
    if not (math.isfinite(r) and 0.001 <= r <= 0.5):
        raise AudioLRPError(f"array radius {radius_m!r} m must lie in [0.001, 0.5] m")
    rigid = name == "sphere32"
    a = 1.0 if rigid else float(directivity)
    if not rigid and not 0.0 < a < 1.0:
        raise AudioLRPError(
            f"capsule directivity {directivity!r} must lie in (0, 1) (0.5 cardioid): a "
            "tetrahedron of omni (1) or figure-8 (0) capsules cannot give W, X, Y, Z"
        )
    dirs = em32_directions() if rigid else tetra_directions()
    return MicArray(name, dirs, r, rigid, a, int(order), bool(equalise or rigid),
                    max_gain_db, limit, int(fs_hz))

