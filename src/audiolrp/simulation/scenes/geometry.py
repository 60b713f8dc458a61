"""Recipe steps 1-2: the source direction and its DOA class (:func:`draw_direction`), the
shoebox room, receiver and source (:func:`sample_geometry`), RT60, SNR and the RIR seed."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from audiolrp.constants import N_CLASSES
from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import doa_grid, nearest_class
from audiolrp.simulation.scenes.config import SceneConfig


def _unit(az: float, el: float) -> np.ndarray:
    return np.array([math.cos(az) * math.cos(el), math.sin(az) * math.cos(el), math.sin(el)])


def _max_distance(room: np.ndarray, rec: np.ndarray, u: np.ndarray, margin: float) -> float:
    """Largest t with ``rec + t u`` at least ``margin`` inside every wall."""
    tmax = math.inf
    for i in range(3):
        if u[i] > 1e-12:
            tmax = min(tmax, (room[i] - margin - rec[i]) / u[i])
        elif u[i] < -1e-12:
            tmax = min(tmax, (margin - rec[i]) / u[i])
    return tmax


def sample_geometry(
    config: SceneConfig, rng: np.random.Generator, azimuth_rad: float, elevation_rad: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Room, receiver, source and distance for a source direction (recipe step 2).

    Returns
    -------
    room_m, receiver_m, source_m : ndarray (3,)
    distance_m : float
    """
    u = _unit(azimuth_rad, elevation_rad)
    dmin, dmax = config.source_distance_m
    ranges = (config.room_length_m, config.room_width_m, config.room_height_m)
    rm = config.receiver_margin_m
    for _ in range(200):
        room = np.array([rng.uniform(lo, hi) for lo, hi in ranges])
        for _ in range(50):
            rec = rm + rng.uniform(size=3) * (room - 2 * rm)
            tmax = _max_distance(room, rec, u, config.source_margin_m)
            if tmax >= dmin:
                d = float(rng.uniform(dmin, min(dmax, tmax)))
                return room, rec, rec + d * u, d
    raise AudioLRPError(
        f"no room in the configured ranges fits a source {dmin} m away in direction "
        f"az={math.degrees(azimuth_rad):.0f} deg, el={math.degrees(elevation_rad):.0f} deg; "
        "enlarge the rooms or reduce source_distance_m"
    )



@dataclass(frozen=True)
class SourceDirection:
    """Step 1 of a scene: the DOA class and the exact source direction (radians)."""

    label: int
    azimuth_rad: float
    elevation_rad: float


def draw_direction(config: SceneConfig, rng: np.random.Generator) -> SourceDirection:
    """Recipe step 1, the first draws of :func:`simulate_scene`: the class and direction.

    ``"grid"``: class uniform over the 425 classes, direction exactly the class direction;
    ``"uniform"``: direction uniform on the sphere (normalised Gaussian vector), labelled with
    its nearest class. ``draw_direction(config, np.random.default_rng(seed)).label`` is the
    label of ``simulate_scene(config, seed)`` without simulating the scene.
    """
    if config.direction_sampling == "grid":
        label = int(rng.integers(N_CLASSES))
        az, el = (float(v) for v in doa_grid()[label])
        return SourceDirection(label, az, el)
    v = rng.standard_normal(3)
    v /= np.linalg.norm(v)
    az, el = float(math.atan2(v[1], v[0])), float(math.asin(np.clip(v[2], -1, 1)))
    return SourceDirection(int(nearest_class(az, el)), az, el)


@dataclass(frozen=True)
class _Acoustics:
    """Step 2 of a scene: geometry, reverberation time, SNR and the RIR's noise seed."""

    room_m: np.ndarray
    receiver_m: np.ndarray
    source_m: np.ndarray
    distance_m: float
    rt60_s: float
    snr_db: float
    rir_seed: int


def _draw_acoustics(
    config: SceneConfig, rng: np.random.Generator, direction: SourceDirection
) -> _Acoustics:
    """Recipe step 2: room, receiver and source (:func:`sample_geometry`), RT60, SNR, seed."""
    room, rec, src, dist = sample_geometry(
        config, rng, direction.azimuth_rad, direction.elevation_rad
    )
    rt60 = float(rng.uniform(*config.rt60_s))
    snr_db = float(rng.uniform(*config.snr_db))
    rir_seed = int(rng.integers(2**31 - 1))
    return _Acoustics(room, rec, src, dist, rt60, snr_db, rir_seed)

