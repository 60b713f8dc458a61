"""Recipe step 5b (opt-in): directional point-source noise in the scene's room, its signals
(pink, white, speech) and its mix with the babble."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft

from audiolrp.constants import CLIP_SAMPLES, FS_HZ
from audiolrp.errors import AudioLRPError
from audiolrp.simulation.scenes.config import SceneConfig
from audiolrp.simulation.scenes.geometry import _Acoustics
from audiolrp.simulation.scenes.rir import _convolve_sum_window, _room_rir
from audiolrp.simulation.scenes.talker import _draw_speech

PINK_LOW_HZ: float = 20.0
"""Pink point noise has a 1/f power density from this frequency up to Nyquist and nothing
below (see :func:`_noise_signal`)."""


@dataclass(frozen=True)
class _PointNoise:
    """Step 5b of a scene: the directional noise sources and their summed HOA image.

    ``image`` is ``(n_sh, 16000)`` float32 (``None`` when no source was drawn); ``share`` is
    the drawn share of the noise power on W (0 without sources); positions in metres,
    directions (radians) and distances as seen from the receiver.
    """

    image: np.ndarray | None
    share: float
    kind: str
    positions_m: list[list[float]]
    azimuth_rad: list[float]
    elevation_rad: list[float]
    distance_m: list[float]
    seed: int

    def params(self) -> dict[str, Any]:
        """The scene params of step 5b (JSON-ready)."""
        return {
            "n_point_noise": len(self.positions_m),
            "point_noise_kind": self.kind,
            "point_noise_share": self.share,
            "point_noise_m": self.positions_m,
            "point_noise_azimuth_rad": self.azimuth_rad,
            "point_noise_elevation_rad": self.elevation_rad,
            "point_noise_distance_m": self.distance_m,
            "point_noise_seed": self.seed,
        }


def _noise_signal(
    kind: str, corpus: Any, split: str, rng: np.random.Generator, lead: int
) -> np.ndarray:
    """The ``lead + 1 s`` float64 signal of one point source, unit RMS.

    ``"white"``: Gaussian. ``"pink"``: Gaussian white noise shaped in the frequency domain to a
    1/f power density from :data:`PINK_LOW_HZ` to Nyquist, with nothing below (a 1/f density
    down to the lowest bin, 0.67 Hz for 1.5 s, would put about half of the power below 50 Hz,
    where microphones, the room simulator's 10 Hz high-pass and the features' 15.6 Hz bins
    barely respond, so the SNR on W would overstate the audible noise). ``"speech"``: a segment
    of another talker of ``split`` drawn like the target speech (not silent in the clip).
    """
    n = lead + CLIP_SAMPLES
    if kind == "speech":
        x = _draw_speech(corpus, split, rng, lead)
    else:
        x = rng.standard_normal(n)
        if kind == "pink":
            spec = scipy.fft.rfft(x)
            f_hz = np.arange(spec.size) * (FS_HZ / n)
            spec *= np.where(f_hz >= PINK_LOW_HZ, 1.0 / np.sqrt(np.maximum(f_hz, 1.0)), 0.0)
            x = scipy.fft.irfft(spec, n)
    return x / math.sqrt(float(np.mean(x**2)))



def _draw_point_position(
    config: SceneConfig, rng: np.random.Generator, acoustics: _Acoustics
) -> np.ndarray:
    """A point-noise position: uniform in the room at ``source_margin_m`` from every surface
    (the margins the target source keeps) and at least ``point_noise_min_distance_m`` from the
    receiver (redrawn otherwise)."""
    room, rec, m = acoustics.room_m, acoustics.receiver_m, config.source_margin_m
    for _ in range(1000):
        pos = m + rng.uniform(size=3) * (room - 2 * m)
        if float(np.linalg.norm(pos - rec)) >= config.point_noise_min_distance_m:
            return pos
    raise AudioLRPError(
        f"no point-noise position in room {np.round(room, 2).tolist()} m is "
        f"{config.point_noise_min_distance_m} m from the receiver; reduce "
        "point_noise_min_distance_m"
    )


def _draw_point_noise(
    config: SceneConfig,
    corpus: Any,
    split: str,
    acoustics: _Acoustics,
    lead: int,
    seed: int,
) -> _PointNoise:
    """Recipe step 5b: directional point-source noise in the scene's room (opt-in).

    Draws, all from ``np.random.default_rng(seed)`` in this order: the number of sources
    ``K`` (uniform integer in ``n_point_noise``), the share (uniform in ``point_noise_share``),
    then per source its position (:func:`_draw_point_position`), the seed of its RIR's late
    tail and its signal (:func:`_noise_signal`), so source k is the same whatever ``K``.

    Each source's HOA RIR comes from :func:`audiolrp.simulation.rooms.simulate_hoa_rir` with
    the room, receiver, RT60, image order and late-tail setting of the scene, truncated like the
    speech RIR at ``min(rir_length_s, distance / c + rt60 * rir_decay_db / 60)``; the
    ``lead + 1 s`` signal is convolved with it and the clip after the lead-in is kept, so the
    noise's reverberation is fully built up. Every source emits the same power (unit-RMS
    signal), so nearer sources are louder at the receiver (1/r law plus the room). The image is
    the sum over the sources; :func:`_mix_noise` scales it against the babble.
    """
    rng = np.random.default_rng(seed)
    k = int(rng.integers(config.n_point_noise[0], config.n_point_noise[1] + 1))
    share = float(rng.uniform(*config.point_noise_share))
    a = acoustics
    positions, azs, els, dists, signals, rirs = [], [], [], [], [], []
    for _ in range(k):
        pos = _draw_point_position(config, rng, a)
        rir_seed = int(rng.integers(2**31 - 1))
        signals.append(_noise_signal(config.point_noise_kind, corpus, split, rng, lead))
        dist = float(np.linalg.norm(pos - a.receiver_m))
        rir = _room_rir(config, a, pos, dist, rir_seed)
        rirs.append(np.asarray(rir.full, dtype=np.float64))
        positions.append(pos.tolist())
        azs.append(float(rir.source_azimuth_rad))
        els.append(float(rir.source_elevation_rad))
        dists.append(dist)
    image = _convolve_sum_window(signals, rirs, lead, CLIP_SAMPLES) if k else None
    return _PointNoise(
        image=image,
        share=share if k else 0.0,
        kind=config.point_noise_kind,
        positions_m=positions,
        azimuth_rad=azs,
        elevation_rad=els,
        distance_m=dists,
        seed=int(seed),
    )


def _mix_noise(babble: np.ndarray, point: _PointNoise) -> np.ndarray:
    """Recipe step 5b, the combination: ``sqrt(s / P_p) point + sqrt((1 - s) / P_b) babble``
    (float32) with ``P_p``, ``P_b`` the W-channel powers of the two parts and ``s`` the share,
    so the point sources carry exactly ``s`` of ``P_p' + P_b'`` (the powers of the scaled
    parts; their finite-sample cross term is left in the total, which step 6 scales to the
    SNR). Without point sources the babble is returned unchanged."""
    if point.image is None:
        return babble
    p_p = float(np.mean(point.image[0].astype(np.float64) ** 2))
    p_b = float(np.mean(babble[0].astype(np.float64) ** 2))
    s = point.share
    if (s > 0 and p_p <= 0) or (s < 1 and p_b <= 0):
        raise AudioLRPError("point noise or babble is silent on the W channel; check the corpus")
    g_p = math.sqrt(s / p_p) if s > 0 else 0.0
    g_b = math.sqrt((1.0 - s) / p_b) if s < 1 else 0.0
    mixed = g_p * point.image.astype(np.float64) + g_b * babble.astype(np.float64)
    return mixed.astype(np.float32)

