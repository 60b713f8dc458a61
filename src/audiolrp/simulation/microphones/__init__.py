"""Real Ambisonics microphones: a tetrahedral first-order array and a 32-capsule rigid sphere.

The scene simulator renders room responses directly in the spherical-harmonic (SH) domain
(ideal, frequency-independent ACN/SN3D encoding). Recordings come from arrays of capsules a few
centimetres apart, whose Ambisonics signals are *estimates*: exact at low frequencies, coloured,
noisy where the encoder must amplify, and spatially aliased above about ``c N / (2 pi r)``.
This module owns that array physics; :mod:`audiolrp.simulation.scenes` uses it when
``SceneConfig.mic`` is ``"tetra"`` or ``"sphere32"``.

Conventions
-----------
* Time-frequency: ``X(f) = sum_t x(t) exp(-i 2 pi f t)`` (NumPy's FFT), so a signal delayed by
  ``tau`` is multiplied by ``exp(-i omega tau)``. A plane wave *arriving from* the unit vector
  ``u`` (pointing from the array to the source) reaches the point ``x`` earlier by
  ``x . u / c``: its pressure there is ``S(f) exp(+i k x . u)``, ``k = 2 pi f / c``,
  ``c`` = :data:`audiolrp.constants.SPEED_OF_SOUND_M_S`. In this convention an outgoing
  spherical wave ``s(t - r/c) / r`` is ``exp(-i k r) / r``, i.e. the spherical Hankel function
  of the **second** kind ``h_n = h_n^(2) = j_n - i y_n``.
* Capsule ``q`` sits at ``r d_q`` (``d_q`` a unit vector, outward). Every capsule response to a
  unit plane wave from ``u`` depends only on ``cos gamma = d_q . u`` and ``kr`` and is written
  as a Legendre series (Jacobi-Anger expansion, e.g. Rafaely, *Fundamentals of Spherical Array
  Processing*, 2015, eqs. 2.38 and 4.12)::

      p_q(k, u) = sum_{n >= 0} G_n(kr) P_n(d_q . u),     G_n(kr) = (2n + 1) i^n beta_n(kr)

  - **open sphere, first-order capsules** (the tetrahedral array): a capsule of directivity
    ``a(gamma) = alpha + (1 - alpha) cos gamma`` (alpha = 0.5: cardioid) in the free field
    measures ``a(gamma) exp(i kr cos gamma)``; with ``exp(i x cos g) = sum (2n+1) i^n j_n(x)
    P_n(cos g)`` and ``cos g exp(i x cos g) = -i d/dx exp(i x cos g)``::

        beta_n(kr) = alpha j_n(kr) - i (1 - alpha) j_n'(kr)

  - **rigid sphere, pressure capsules** (the 32-capsule array), incident plus scattered
    field on the surface::

        beta_n(kr) = b_n(kr) = j_n(kr) - j_n'(kr) / h_n'(kr) * h_n(kr)
                   = -i / ((kr)^2 h_n'(kr))          (Wronskian j_n y_n' - j_n' y_n = x^-2)

    (Rafaely 2015 eq. 4.16 writes ``4 pi i^n`` times this bracket with orthonormal SH; the
    ``4 pi`` disappears with the SN3D addition theorem below.)

  The series is truncated at the order ``L`` (:func:`series_order`) where the remainder bound
  ``sum_{n > L} (2n + 1) |beta_n(k_max r)|`` at the Nyquist frequency falls below
  :data:`SERIES_BOUND` (1e-6 of a unit plane wave); ``L`` = 10 for the 1.47-cm tetrahedron,
  17 for the 4.2-cm sphere at 16 kHz.
* SN3D addition theorem: ``P_n(d . u) = sum_m Y_nm(d) Y_nm(u)`` with SN3D ``Y_nm``
  (:func:`audiolrp.signal.ambisonics.sh_matrix`); hence ``p_q = sum_nm G_n Y_nm(d_q)
  Y_nm(u)``: capsule signals are SH coefficients of the field weighted per order by ``G_n``
  and sampled at the capsule directions.

Encoders (capsules -> ACN/SN3D of order N)
------------------------------------------
``b(f) = diag(R_n(f)) S p(f)`` with a frequency-independent spatial matrix ``S`` and one radial
filter ``R_n`` per order n:

* **tetra** (A -> B): ``S = M^-1`` with ``M[q] = [alpha, (1 - alpha) (d_y, d_z, d_x)_q]``, the
  capsule model at low frequency (``alpha W + (1 - alpha) d . [X, Y, Z]`` in SN3D, ACN order
  W, Y, Z, X); exactly invertible for four capsules. Optional **A -> B equalisation**
  (``equalise=True``, default): ``R_n = G_n(0) / G_n(kr)`` for n = 0 (W) and 1 (X, Y, Z), with
  ``G_0(0) = alpha``, ``G_1(0) = 1 - alpha``, limited to ``max_gain_db``. This is the exact
  spherical-array form of Gerzon's (1975) correction of the W and X/Y/Z responses of a spaced
  tetrahedron (Gerzon's filters are a second-order expansion of it in ``kr``): it makes the
  responses to a plane wave, averaged over directions, flat; what remains is spatial
  aliasing. Off: raw A -> B (``R_n = 1``), which falls off above ~3 kHz.
* **sphere32**: ``S = pinv(Y_N(d))`` (least squares over the capsule directions, SN3D) and
  ``R_n = 1 / G_n(kr)`` regularised (:func:`limited_inverse`), by default Tikhonov
  (e.g. Rafaely 2015, ch. 5)::

      R_n = conj(G_n) / (|G_n|^2 + 1 / (4 g^2)),   g = 10^(max_gain_db / 20)

  whose peak is exactly ``g`` (at ``|G_n| = 1 / (2 g)``), or soft limiting (Bernschuetz et
  al., DAGA 2011) ``R_n = (2 g / pi) arctan(pi |F_n| / (2 g)) F_n / |F_n|``, ``F_n = 1 / G_n``.
  ``|R_n| <= g`` always. Since ``|G_n| ~ (kr)^n`` at low ``kr``, orders n >= 2 hit the limit
  below ~1-2 kHz (20 dB): they are attenuated there, and capsule noise is amplified by up to
  ``g``. Above ``kr ~ N`` orders > N alias into the estimate. The tetra's equalisation uses
  the same limit.

Radial filters are realised as zero-delay FIRs of :data:`RADIAL_FIR_TAPS` taps
(frequency-sampling design on a 4096-point grid, flat-top window, faded out above 0.9 fs/2 so
that the complex target need not jump to a real gain at Nyquist); they meet the target within
0.03 dB from 20 Hz to 7 kHz (default arrays) and never pass ``g``. The default limit is Tikhonov
(continuous at DC; the soft limit keeps odd orders at ``g`` with a 90-degree phase down to DC,
a step there that the FIR can only approximate).

Rendering
---------
:meth:`MicArray.render_waves` renders plane waves (delay, amplitude, direction; the image
sources of :mod:`audiolrp.simulation.rooms`) **per capsule**: wave ``i`` reaches capsule ``q``
through the band-limited kernel ``kappa(d_q . u_i, t - tau_i)``, the inverse Fourier transform
over ``|f| < fs/2`` of ``p_q``, windowed by a flat-top window (flat over ``+-(h+1)/2``,
cosine taper to 0 at ``+-(h+1)`` samples; ``h`` = 16 for the tetrahedron, as the room
simulator's fractional delays, 24 for the sphere, whose rear capsules ring longer). Each
capsule therefore gets its own delay (``-r d_q . u / c``), directivity gain and, on the
sphere, diffraction. Kernels come from per-order tables
``g_n(t)`` (oversampled 64 times, linear interpolation) combined with ``P_n(d_q . u_i)``.
:func:`simulate_array_rir` applies this to every image source of a room (the late diffuse tail
is coloured to the array's diffuse-field cross-spectra, see there) and encodes.

Modules, one job each (every name is re-exported here; patch names in their owner):
:mod:`~audiolrp.simulation.microphones.capsules` (layouts, radii, orders, aliasing),
:mod:`~audiolrp.simulation.microphones.modal` (modal strengths, series order, limited inverse),
:mod:`~audiolrp.simulation.microphones.array` (MicArray: encoders, radial filters, kernels,
rendering, diffuse field, self-noise; make_array),
:mod:`~audiolrp.simulation.microphones.room` (simulate_array_rir: rooms through an array).
"""

from __future__ import annotations

from audiolrp.signal.ambisonics import _channel_orders as _channel_orders
from audiolrp.simulation.microphones.array import (
    DEFAULT_MAX_GAIN_DB,
    KERNEL_OVERSAMPLING,
    RADIAL_FIR_TAPS,
    MicArray,
    make_array,
)
from audiolrp.simulation.microphones.capsules import (
    ARRAY_MAX_ORDER,
    DEFAULT_RADIUS_M,
    EM32_COLATITUDE_AZIMUTH_DEG,
    MIC_NAMES,
    aliasing_frequency_hz,
    em32_directions,
    tetra_directions,
)
from audiolrp.simulation.microphones.modal import (
    SERIES_BOUND,
    limited_inverse,
    open_mode_strength,
    rigid_sphere_mode_strength,
    series_order,
)
from audiolrp.simulation.microphones.room import ROOM_HIGHPASS_HZ, ArrayRir, simulate_array_rir
from audiolrp.simulation.microphones.room import _room_waves as _room_waves

__all__ = [
    "ARRAY_MAX_ORDER",
    "DEFAULT_MAX_GAIN_DB",
    "DEFAULT_RADIUS_M",
    "EM32_COLATITUDE_AZIMUTH_DEG",
    "KERNEL_OVERSAMPLING",
    "MIC_NAMES",
    "RADIAL_FIR_TAPS",
    "ROOM_HIGHPASS_HZ",
    "SERIES_BOUND",
    "ArrayRir",
    "MicArray",
    "aliasing_frequency_hz",
    "em32_directions",
    "limited_inverse",
    "make_array",
    "open_mode_strength",
    "rigid_sphere_mode_strength",
    "series_order",
    "simulate_array_rir",
    "tetra_directions",
]
