"""Capsule layouts of the arrays: names, radii and orders, the tetrahedron and the em32
directions, and where spatial aliasing sets in."""

from __future__ import annotations

import math

import numpy as np

from audiolrp.constants import SPEED_OF_SOUND_M_S

MIC_NAMES: tuple[str, ...] = ("ideal", "tetra", "sphere32")
"""Microphones of ``SceneConfig.mic``: ideal SH encoding, tetrahedral array, rigid sphere."""

DEFAULT_RADIUS_M: dict[str, float] = {"tetra": 0.0147, "sphere32": 0.042}
"""Capsule radius of each array (Soundfield-class tetrahedra: 1-2 cm; em32: 4.2 cm)."""

ARRAY_MAX_ORDER: dict[str, int] = {"tetra": 1, "sphere32": 4}
"""Highest Ambisonics order each array encodes (32 capsules support (4+1)^2 = 25 channels)."""

EM32_COLATITUDE_AZIMUTH_DEG: tuple[tuple[int, int], ...] = (
    (69, 0), (90, 32), (111, 0), (90, 328), (32, 0), (55, 45), (90, 69), (125, 45),
    (148, 0), (125, 315), (90, 291), (55, 315), (21, 91), (58, 90), (121, 90), (159, 89),
    (69, 180), (90, 212), (111, 180), (90, 148), (32, 180), (55, 225), (90, 249), (125, 225),
    (148, 180), (125, 135), (90, 111), (55, 135), (21, 269), (58, 270), (122, 270), (159, 271),
)
"""Capsule directions of the mh acoustics em32 Eigenmike (colatitude, azimuth in degrees,
capsules 1-32), from the appendix of the "em32 Eigenmike microphone array release notes
(v17.0)", 2013: a slightly irregular pentakis dodecahedron (the 12 icosahedron and 20
dodecahedron vertices), well conditioned for least-squares encoding up to order 4."""




def tetra_directions() -> np.ndarray:
    """Unit vectors ``(4, 3)`` of the tetrahedral capsules FLU, FRD, BLD, BRU.

    ``(+1, +1, +1)/sqrt 3`` (azimuth 45 deg, elevation 35.26 deg), ``(+1, -1, -1)``,
    ``(-1, +1, -1)``, ``(-1, -1, +1)``: an even number of minus signs, capsules pointing out.
    """
    d = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=np.float64)
    return d / math.sqrt(3.0)


def em32_directions() -> np.ndarray:
    """Unit vectors ``(32, 3)`` of :data:`EM32_COLATITUDE_AZIMUTH_DEG` (+z up, azimuth from
    +x towards +y)."""
    ang = np.radians(np.array(EM32_COLATITUDE_AZIMUTH_DEG, dtype=np.float64))
    col, az = ang[:, 0], ang[:, 1]
    return np.stack([np.sin(col) * np.cos(az), np.sin(col) * np.sin(az), np.cos(col)], axis=1)


def _angles(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth and elevation (radians) of unit vectors ``(n, 3)``."""
    az = np.arctan2(xyz[:, 1], xyz[:, 0])
    el = np.arctan2(xyz[:, 2], np.hypot(xyz[:, 0], xyz[:, 1]))
    return az, el


def aliasing_frequency_hz(order: int, radius_m: float) -> float:
    """``f = c N / (2 pi r)``: where ``kr`` reaches the order N and spatial aliasing sets in
    (3.7 kHz for N = 1 at 1.47 cm, 5.2 kHz for N = 4 at 4.2 cm)."""
    return SPEED_OF_SOUND_M_S * order / (2.0 * math.pi * radius_m)

