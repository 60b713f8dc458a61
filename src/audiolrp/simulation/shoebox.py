"""The shoebox room's geometry and acoustics formulas: checked room size and positions, wall
areas and absorption, reverberation time by Sabine or Eyring and its inversion, and the RT60 of
a response measured by Schroeder integration.

Units: metres, seconds; walls ``(x=0, x=L_x, y=0, y=L_y, z=0 floor, z=L_z ceiling)``
(:mod:`audiolrp.simulation.rooms` renders the responses).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from audiolrp.constants import SPEED_OF_SOUND_M_S
from audiolrp.errors import AudioLRPError

__all__ = [
    "absorption_from_rt60",
    "measure_rt60",
    "rt60_from_absorption",
    "schroeder_curve_db",
]

#: Sabine constant 24 ln(10) / c (about 0.161 s/m at c = 343 m/s).
_SABINE_K: float = 24.0 * math.log(10.0) / SPEED_OF_SOUND_M_S
#: Largest wall absorption an RT60 inversion may ask for (beta = 0.1).
_MAX_ALPHA: float = 0.99


def _vec3(x: ArrayLike, name: str) -> np.ndarray:
    try:
        v = np.asarray(x, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise AudioLRPError(f"{name} must be 3 numbers in metres, got {x!r}") from exc
    if v.size != 3:
        raise AudioLRPError(f"{name} must have 3 coordinates (x, y, z) in metres, got {v.size}")
    if not np.all(np.isfinite(v)):
        raise AudioLRPError(f"{name} contains NaN or inf: pass finite coordinates in metres")
    return v


def _room(room_m: ArrayLike) -> np.ndarray:
    room = _vec3(room_m, "room_m")
    if np.any(room <= 0):
        raise AudioLRPError(f"room size {room.tolist()} m has a non-positive side: pass L > 0")
    return room


def _inside(p: np.ndarray, room: np.ndarray, name: str) -> None:
    if np.any(p <= 0) or np.any(p >= room):
        raise AudioLRPError(
            f"{name} {p.tolist()} m is not strictly inside the room {room.tolist()} m: "
            "move it inside (0 < coordinate < side)"
        )


def _surfaces(room: np.ndarray) -> np.ndarray:
    """Areas of the 6 walls in the order (x0, x1, y0, y1, z0, z1)."""
    lx, ly, lz = room
    return np.array([ly * lz, ly * lz, lx * lz, lx * lz, lx * ly, lx * ly])


def _absorption6(absorption: ArrayLike) -> np.ndarray:
    a = np.asarray(absorption, dtype=np.float64).reshape(-1)
    if a.size == 1:
        a = np.repeat(a, 6)
    if a.size != 6:
        raise AudioLRPError(
            f"absorption needs 1 or 6 values (walls x0, x1, y0, y1, z0, z1), got {a.size}"
        )
    if not np.all(np.isfinite(a)) or np.any(a < 0) or np.any(a > 1):
        raise AudioLRPError(f"absorption {a.tolist()} must lie in [0, 1]: pass energy fractions")
    return a


def rt60_from_absorption(room_m: ArrayLike, absorption: ArrayLike, model: str = "eyring") -> float:
    """Reverberation time of a shoebox from its wall absorption (Sabine or Eyring).

    Sabine ``T = K V / sum(S_i alpha_i)``, Eyring ``T = K V / (-S ln(1 - mean alpha))`` with
    ``K = 24 ln 10 / c`` and the area-weighted mean absorption.  Returns ``inf`` for a rigid room.
    """
    room = _room(room_m)
    a = _absorption6(absorption)
    s = _surfaces(room)
    v = float(np.prod(room))
    if model == "sabine":
        denom = float(np.sum(s * a))
    elif model == "eyring":
        mean_a = float(np.sum(s * a) / np.sum(s))
        denom = math.inf if mean_a >= 1.0 else -float(np.sum(s)) * math.log1p(-mean_a)
    else:
        raise AudioLRPError(f"unknown RT60 model {model!r}: pass 'sabine' or 'eyring'")
    return math.inf if denom == 0 else _SABINE_K * v / denom


def absorption_from_rt60(room_m: ArrayLike, rt60_s: float, model: str = "eyring") -> float:
    """Uniform wall absorption giving ``rt60_s`` by Sabine or Eyring inversion.

    Sabine ``alpha = K V / (S T)``, Eyring ``alpha = 1 - exp(-K V / (S T))``.  Raises if the
    room cannot reach the requested time (alpha above 0.99, or Sabine alpha > 1).
    """
    room = _room(room_m)
    rt60 = float(rt60_s)
    if not math.isfinite(rt60) or rt60 <= 0:
        raise AudioLRPError(f"rt60_s={rt60_s!r} must be a positive number of seconds")
    v = float(np.prod(room))
    s = float(np.sum(_surfaces(room)))
    x = _SABINE_K * v / (s * rt60)
    if model == "sabine":
        alpha = x
    elif model == "eyring":
        alpha = -math.expm1(-x)
    else:
        raise AudioLRPError(f"unknown RT60 model {model!r}: pass 'sabine' or 'eyring'")
    if alpha > _MAX_ALPHA:
        # shortest reachable time for this room at alpha = _MAX_ALPHA
        x_min = _MAX_ALPHA if model == "sabine" else -math.log1p(-_MAX_ALPHA)
        t_min = _SABINE_K * v / (s * x_min)
        raise AudioLRPError(
            f"RT60 {rt60:.3g} s is shorter than room {room.tolist()} m can achieve "
            f"({model} absorption {alpha:.3g} > {_MAX_ALPHA}): ask for >= {t_min:.3g} s"
        )
    return alpha


def schroeder_curve_db(h: ArrayLike) -> np.ndarray:
    """Schroeder backward-integrated energy decay curve of a mono response, dB re total."""
    x = np.asarray(h, dtype=np.float64).reshape(-1)
    e = np.cumsum((x * x)[::-1])[::-1]
    if e[0] <= 0:
        raise AudioLRPError("the impulse response is all zeros: nothing to measure")
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(e / e[0])


def measure_rt60(h: ArrayLike, fs_hz: int, db_range: tuple[float, float] = (-5.0, -35.0)) -> float:
    """RT60 of a mono impulse response by Schroeder integration and a linear fit.

    ``db_range`` (-5, -35) gives T30, (-5, -25) T20; the fitted slope is extrapolated to 60 dB.
    """
    edc = schroeder_curve_db(h)
    hi, lo = db_range
    idx = np.nonzero((edc <= hi) & (edc >= lo))[0]
    if idx.size < 2:
        raise AudioLRPError(
            f"the decay curve does not span {hi}..{lo} dB: use a longer response or a smaller range"
        )
    t = idx / float(fs_hz)
    slope = np.polyfit(t, edc[idx], 1)[0]
    if slope >= 0:
        raise AudioLRPError("the decay curve does not decay: check the impulse response")
    return float(-60.0 / slope)
