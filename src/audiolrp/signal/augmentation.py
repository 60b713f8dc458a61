"""Exact sound-field augmentation in the Ambisonics domain, and direction-based soft targets.

Rotating or mirroring a whole sound field (source, room, reflections and babble together) gives
another physically valid scene. For Ambisonics signals the operation is exact and cheap: the
real spherical harmonics of degree ``n`` span a subspace that every orthogonal 3x3 map ``R``
leaves invariant, so there is one ``K x K`` matrix ``T(R)`` (block diagonal by degree) with

    y(R d) = T(R) y(d)          for every direction d,                       (A1)

where ``y(d)`` is the vector of the ``K = (N+1)^2`` SN3D/ACN harmonics (Eq. 1 of the paper
encodes a plane wave from ``d`` as ``s(t) y(d)``). Applying ``T(R)`` to a scene's signals
therefore moves every plane-wave component from ``d`` to ``R d``; the label moves with it.

The transforms used for training are ``R = R_z(alpha) diag(1, s_y, s_z)``: a rotation about
the vertical axis by any angle and optional mirrors ``y -> -y`` and ``z -> -z``. Together
with the rotations these contain the axis sign flips and the x/y swap. (A full 3-D rotation
would tilt the floor, which real rooms do not do; the mirror ``z -> -z`` swaps floor and
ceiling, which a shoebox room allows.)

Soft targets (Gaussian over the great-circle distance, Eq. T1 of ``docs/models.md``)::

    q_k(d) = exp(-theta(d, c_k)^2 / (2 sigma^2)) / sum_j exp(-theta(d, c_j)^2 / (2 sigma^2))

with ``c_k`` the 425 class directions and ``d`` the exact (continuous) source direction.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import (
    angular_error_deg,
    direction_from_vector,
    doa_grid,
    sh_matrix,
    spherical_t_design,
    unit_vector,
)


@dataclass(frozen=True)
class FieldTransform:
    """``R = R_z(rotation_rad) diag(1, -1 if mirror_y else 1, -1 if mirror_z else 1)``."""

    rotation_rad: float = 0.0
    mirror_y: bool = False
    mirror_z: bool = False

    def matrix3(self) -> np.ndarray:
        """The orthogonal ``(3, 3)`` map acting on direction vectors (float64)."""
        c, s = math.cos(self.rotation_rad), math.sin(self.rotation_rad)
        rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        flips = np.diag([1.0, -1.0 if self.mirror_y else 1.0, -1.0 if self.mirror_z else 1.0])
        return rz @ flips


@functools.cache
def _fit_points(order: int) -> np.ndarray:
    # a t-design of degree >= 2N makes the least-squares fit of (A1) exact (Gram = const * I)
    return spherical_t_design(min(max(2 * order, 2), 10))


def sh_transform_matrix(order: int, matrix3: np.ndarray) -> np.ndarray:
    """``(K, K)`` float64 matrix ``T(R)`` of Eq. (A1) for SN3D/ACN signals of ``order``.

    Solved by least squares on the points of a spherical t-design of degree ``>= 2N``, which
    is exact because products of harmonics up to degree N are polynomials of degree ``<= 2N``.

    Parameters
    ----------
    order
        Ambisonics order N (0..5).
    matrix3
        Orthogonal ``(3, 3)`` map of directions.
    """
    r = np.asarray(matrix3, dtype=np.float64)
    if r.shape != (3, 3) or not np.allclose(r @ r.T, np.eye(3), atol=1e-9):
        raise AudioLRPError("matrix3 must be an orthogonal 3x3 matrix (a rotation/mirror)")
    if not 0 <= int(order) <= 5:
        raise AudioLRPError(f"sound-field transforms support orders 0..5, got {order}")
    pts = _fit_points(int(order))
    az, el = direction_from_vector(pts)
    az2, el2 = direction_from_vector(pts @ r.T)
    y = sh_matrix(order, az, el)  # (P, K)
    y2 = sh_matrix(order, az2, el2)  # (P, K)
    # y2 = y @ T^T  ->  T^T = lstsq(y, y2)
    t_transposed, *_ = np.linalg.lstsq(y, y2, rcond=None)
    t = t_transposed.T
    t[np.abs(t) < 1e-12] = 0.0
    return t


def random_field_transforms(
    n: int, rng: np.random.Generator, *, mirrors: bool = True
) -> list[FieldTransform]:
    """``n`` transforms: rotation angle uniform on [0, 2 pi), each mirror with probability 1/2."""
    out = []
    for _ in range(int(n)):
        alpha = float(rng.uniform(0.0, 2.0 * math.pi))
        my, mz = (bool(b) for b in rng.integers(0, 2, size=2)) if mirrors else (False, False)
        out.append(FieldTransform(alpha, my, mz))
    return out


def apply_field_transforms(
    audio: torch.Tensor,
    azimuth_rad: np.ndarray,
    elevation_rad: np.ndarray,
    transforms: list[FieldTransform],
) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Transform a batch of SN3D/ACN signals and their source directions together.

    Parameters
    ----------
    audio
        ``(B, K, samples)`` with ``K = (N+1)^2``.
    azimuth_rad, elevation_rad
        ``(B,)`` source directions.
    transforms
        One :class:`FieldTransform` per example.

    Returns
    -------
    (audio, azimuth_rad, elevation_rad)
        Transformed signals (same dtype/device) and directions ``R d``.
    """
    b, k = audio.shape[0], audio.shape[1]
    order = math.isqrt(k) - 1
    if (order + 1) ** 2 != k or len(transforms) != b:
        raise AudioLRPError(
            f"need (B, (N+1)^2, samples) audio and one transform per example, got "
            f"{tuple(audio.shape)} and {len(transforms)} transforms"
        )
    mats3 = np.stack([t.matrix3() for t in transforms])
    mats = np.stack([sh_transform_matrix(order, m) for m in mats3])
    mats_t = torch.as_tensor(mats, dtype=audio.dtype, device=audio.device)
    out = torch.bmm(mats_t, audio)
    v = unit_vector(np.asarray(azimuth_rad), np.asarray(elevation_rad))  # (B, 3)
    v2 = np.einsum("bij,bj->bi", mats3, v)
    az2, el2 = direction_from_vector(v2)
    return out, az2, el2


def direction_targets(
    azimuth_rad: np.ndarray, elevation_rad: np.ndarray, sigma_deg: float
) -> torch.Tensor:
    """Soft class targets ``(B, 425)`` float32 centred on exact directions (Eq. T1).

    ``sigma_deg`` must be > 0; rows sum to 1. The angle is
    :func:`~audiolrp.signal.ambisonics.angular_error_deg`, so for the class directions
    themselves this is exactly :func:`audiolrp.training.angular_label_targets`.
    """
    if not (math.isfinite(sigma_deg) and sigma_deg > 0):
        raise AudioLRPError(f"sigma_deg must be a finite angle > 0, got {sigma_deg}")
    az = np.asarray(azimuth_rad, np.float64).reshape(-1, 1)
    el = np.asarray(elevation_rad, np.float64).reshape(-1, 1)
    grid = doa_grid()
    theta = angular_error_deg(az, el, grid[None, :, 0], grid[None, :, 1])  # (B, 425)
    logits = -0.5 * (theta / float(sigma_deg)) ** 2
    logits -= logits.max(axis=1, keepdims=True)
    q = np.exp(logits)
    q /= q.sum(axis=1, keepdims=True)
    return torch.from_numpy(q.astype(np.float32))


__all__ = [
    "FieldTransform",
    "apply_field_transforms",
    "direction_targets",
    "random_field_transforms",
    "sh_transform_matrix",
]
