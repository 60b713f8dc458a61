"""Recipe step 5: diffuse babble, talkers at the points of a randomly rotated spherical
t-design, encoded in the SH domain (or recorded by the array)."""

from __future__ import annotations

from typing import Any

import numpy as np

from audiolrp.constants import CLIP_SAMPLES, FS_HZ
from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import sh_matrix, spherical_t_design
from audiolrp.simulation.scenes.config import SceneConfig


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniform random 3-D rotation (QR of a Gaussian matrix with sign fix, det = +1)."""
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def babble_sh(
    talkers: np.ndarray,
    order: int,
    design_degree: int | None = None,
    rotation: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Diffuse babble in the SH domain (recipe step 5).

    Parameters
    ----------
    talkers
        ``(n_talkers, n_samples)`` independent speech signals (used as given).
    order
        Ambisonics order N.
    design_degree
        Degree of the t-design (default 2N).
    rotation
        Optional ``(3, 3)`` rotation applied to the design points.

    Returns
    -------
    babble : ndarray ``((N+1)^2, n_samples)`` (dtype of ``talkers``)
        ``Y^T S / n_talkers`` with ``S[p]`` the sum of the talkers at design point p.
    points : ndarray ``(P, 3)``
        The (rotated) design directions as unit vectors.
    """

    talkers = np.asarray(talkers)
    if not np.issubdtype(talkers.dtype, np.floating):
        talkers = talkers.astype(np.float64)
    if talkers.ndim != 2:
        raise AudioLRPError(f"talkers have shape {talkers.shape}; pass (n_talkers, n_samples)")
    pts = _design_points(order, design_degree, rotation)
    per_point = _per_point_sums(talkers, pts.shape[0])
    az = np.arctan2(pts[:, 1], pts[:, 0])
    el = np.arcsin(np.clip(pts[:, 2], -1.0, 1.0))
    y = sh_matrix(order, az, el).astype(talkers.dtype)  # (P, K)
    return (np.ascontiguousarray(y.T) @ per_point) / talkers.shape[0], pts


def _design_points(
    order: int, design_degree: int | None, rotation: np.ndarray | None
) -> np.ndarray:
    """The babble directions ``(P, 3)``: the t-design of degree ``design_degree`` (default
    2N), rotated by ``rotation``."""
    pts = spherical_t_design(2 * order if design_degree is None else design_degree)
    if rotation is not None:
        pts = pts @ np.asarray(rotation).T
    return pts


def _per_point_sums(talkers: np.ndarray, n_pts: int) -> np.ndarray:
    """``S[p]`` = sum of the talkers ``j`` with ``j mod P = p`` (dtype of ``talkers``)."""
    per_point = np.zeros((n_pts, talkers.shape[1]), dtype=talkers.dtype)
    for j in range(talkers.shape[0]):
        per_point[j % n_pts] += talkers[j]
    return per_point



def _draw_babble(
    config: SceneConfig, corpus: Any, split: str, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Recipe step 5: diffuse babble ``(n_sh, 16000)`` float32 and the number of talkers."""
    n_pts = spherical_t_design(config.design_degree).shape[0]
    n_talk = n_pts if config.n_babble_talkers is None else config.n_babble_talkers
    talkers = np.asarray(
        corpus.sample_segments(split, rng, n_talk, duration_s=CLIP_SAMPLES / FS_HZ),
        dtype=np.float32,
    ).reshape(n_talk, CLIP_SAMPLES)
    rms = np.sqrt(np.mean(talkers.astype(np.float64) ** 2, axis=1, keepdims=True))
    talkers = talkers * (1.0 / np.where(rms > 0, rms, 1.0)).astype(np.float32)
    rotation = _random_rotation(rng) if config.rotate_babble else None
    if config.mic != "ideal":  # 5. through the array: each talker a plane wave at each capsule
        pts = _design_points(config.order, config.design_degree, rotation)
        per_point = _per_point_sums(talkers, pts.shape[0]).astype(np.float64) / n_talk
        noise = config.mic_array().plane_wave_signals(per_point, pts).astype(np.float32)
        return noise, n_talk
    noise, _ = babble_sh(talkers, config.order, config.design_degree, rotation)
    return noise, n_talk

