"""Scenes with several simultaneous talkers (1-3 by default), each with its own room response.

A multi-source scene is built on top of the single-source scene of
:func:`audiolrp.simulation.scenes.simulate_scene`:

1. Talker 1 is *exactly* ``simulate_scene(config, seed)``: its room, receiver, direction,
   speech, diffuse noise and SNR (the SNR is therefore relative to talker 1).
2. The extra draws come from their own generator (``SeedSequence(seed).entropy`` with the spawn
   key extended by :data:`EXTRA_SPAWN_KEY`), in this order: the number of talkers ``S``
   (uniform integer in ``n_sources``), then per extra talker its direction (drawn like talker 1's
   with :func:`~audiolrp.simulation.scenes.draw_direction`, redrawn until it is at least
   ``min_separation_deg`` from every earlier talker and fits in the room at a distance in
   ``source_distance_m``), distance, RIR seed, speech segment and level.
3. Every extra talker gets its own HOA RIR in the same room from the same receiver
   (:func:`audiolrp.simulation.rooms.simulate_hoa_rir`, RT60 and truncation as talker 1), its
   speech is convolved with the direct and the reverberant part separately and its image is
   scaled to ``level_db`` (uniform) relative to talker 1's image power on W.
4. The mixture is the sum of all images plus the noise, rescaled (every part alike) so that
   W has ``config.target_rms`` again. With one talker nothing is rescaled: the scene *is*
   ``simulate_scene(config, seed)`` (the invariant ``tests/simulation/test_multisource.py``
   checks).

Each talker's direct and reverberant parts are kept (``source_direct``, ``source_reverberant``)
so analyses can tell per time-frequency bin which talker dominates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.signal

from audiolrp.constants import CLIP_SAMPLES, FS_HZ, SPEED_OF_SOUND_M_S
from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import angular_error_deg, unit_vector
from audiolrp.simulation.rooms import simulate_hoa_rir
from audiolrp.simulation.scenes import (
    SPLITS,
    SceneConfig,
    draw_direction,
    get_corpus,
    simulate_scene,
)

#: Spawn-key suffix of the extra talkers' generator (talker 1 uses the scene seed itself).
EXTRA_SPAWN_KEY: int = 0x4D53  # "MS"
#: Most talkers one scene may hold.
MAX_SOURCES: int = 3
_DIRECTION_TRIES: int = 2000


@dataclass(frozen=True)
class MultiSourceConfig:
    """How many talkers, how far apart, how loud (beside a :class:`SceneConfig`).

    Attributes
    ----------
    n_sources
        ``(lo, hi)``: the number of talkers is a uniform integer in ``lo..hi`` (1..3).
    min_separation_deg
        Smallest great-circle angle between any two talkers' directions (degrees, 0..120).
    level_db
        ``(lo, hi)``: each extra talker's image power on W relative to talker 1's, uniform (dB).
    """

    n_sources: tuple[int, int] = (1, 3)
    min_separation_deg: float = 30.0
    level_db: tuple[float, float] = (-3.0, 3.0)

    def __post_init__(self) -> None:
        try:
            lo, hi = (int(v) for v in self.n_sources)
            sep = float(self.min_separation_deg)
            l_lo, l_hi = (float(v) for v in self.level_db)
        except (TypeError, ValueError):
            raise AudioLRPError(
                f"MultiSourceConfig {self!r} is malformed; pass n_sources=(lo, hi), "
                "min_separation_deg=float, level_db=(lo, hi)"
            ) from None
        if not 1 <= lo <= hi <= MAX_SOURCES:
            raise AudioLRPError(
                f"n_sources=({lo}, {hi}) must satisfy 1 <= lo <= hi <= {MAX_SOURCES}"
            )
        if not (math.isfinite(sep) and 0.0 <= sep <= 120.0):
            raise AudioLRPError(f"min_separation_deg={sep} must lie in 0..120 degrees")
        if not (math.isfinite(l_lo) and math.isfinite(l_hi) and l_lo <= l_hi):
            raise AudioLRPError(f"level_db=({l_lo}, {l_hi}) must be finite with lo <= hi")
        object.__setattr__(self, "n_sources", (lo, hi))
        object.__setattr__(self, "min_separation_deg", sep)
        object.__setattr__(self, "level_db", (l_lo, l_hi))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data."""
        return {
            "n_sources": list(self.n_sources),
            "min_separation_deg": self.min_separation_deg,
            "level_db": list(self.level_db),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MultiSourceConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise."""
        unknown = set(d) - {"n_sources", "min_separation_deg", "level_db"}
        if unknown:
            raise AudioLRPError(f"unknown MultiSourceConfig keys {sorted(unknown)}")
        kw: dict[str, Any] = {}
        if "n_sources" in d:
            kw["n_sources"] = tuple(d["n_sources"])
        if "min_separation_deg" in d:
            kw["min_separation_deg"] = float(d["min_separation_deg"])
        if "level_db" in d:
            kw["level_db"] = tuple(d["level_db"])
        return cls(**kw)


def parse_sources(text: str) -> tuple[int, int]:
    """``"1-3"`` -> ``(1, 3)``, ``"2"`` -> ``(2, 2)`` (the CLI's ``--sources``)."""
    try:
        parts = [int(p) for p in text.replace(",", "-").split("-")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not 1 <= parts[0] <= parts[1] <= MAX_SOURCES:
        raise AudioLRPError(
            f"--sources {text!r} is not a range of talkers within 1..{MAX_SOURCES}; pass e.g. 1-3"
        )
    return parts[0], parts[1]


@dataclass
class MultiSourceScene:
    """One scene with ``S`` talkers; audio float32 ``(n_sh, 16000)`` ACN/SN3D.

    ``mixture = sum_s (source_direct[s] + source_reverberant[s]) + noise`` (up to float32
    rounding). Talker ``s`` has direction ``azimuth_rad[s]``, ``elevation_rad[s]`` and nearest
    class ``labels[s]``; talker 0 is the scene's single-source talker.
    """

    mixture: np.ndarray
    source_direct: np.ndarray
    source_reverberant: np.ndarray
    noise: np.ndarray
    labels: tuple[int, ...]
    azimuth_rad: tuple[float, ...]
    elevation_rad: tuple[float, ...]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_sources(self) -> int:
        """Number of talkers ``S``."""
        return len(self.labels)

    @property
    def source_images(self) -> np.ndarray:
        """``(S, n_sh, 16000)``: each talker's direct + reverberant image."""
        return self.source_direct + self.source_reverberant

    @property
    def direct(self) -> np.ndarray:
        """All talkers' direct sound."""
        return np.asarray(self.source_direct.sum(axis=0), np.float32)

    @property
    def reverberant(self) -> np.ndarray:
        """All talkers' reverberation."""
        return np.asarray(self.source_reverberant.sum(axis=0), np.float32)


def _as_seed_sequence(seed: int | np.random.SeedSequence) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        return np.random.SeedSequence(int(seed))
    raise AudioLRPError(f"seed {seed!r} is not an int or np.random.SeedSequence")


def _max_distance_m(
    room_m: np.ndarray, receiver_m: np.ndarray, u: np.ndarray, margin_m: float
) -> float:
    """Largest ``t`` with ``receiver + t u`` at least ``margin_m`` inside every wall."""
    t_max = math.inf
    for i in range(3):
        if u[i] > 1e-12:
            t_max = min(t_max, (room_m[i] - margin_m - receiver_m[i]) / u[i])
        elif u[i] < -1e-12:
            t_max = min(t_max, (margin_m - receiver_m[i]) / u[i])
    return t_max


def _draw_speech(corpus: Any, split: str, rng: np.random.Generator, lead: int) -> np.ndarray:
    """``lead + 1 s`` of float64 speech that is not silent inside the clip (20 tries)."""
    for _ in range(20):
        seg = np.asarray(
            corpus.sample_segment(split, rng, duration_s=(lead + CLIP_SAMPLES) / FS_HZ),
            dtype=np.float64,
        )
        if seg.shape == (lead + CLIP_SAMPLES,) and np.any(seg[lead:] != 0):
            return seg
    raise AudioLRPError("speech corpus returned only silent segments; check the corpus")


def _convolve_clip(speech: np.ndarray, rir: np.ndarray, lead: int) -> np.ndarray:
    """``fftconvolve(speech, rir[c])[lead : lead + 16000]`` for every channel, float64."""
    y = scipy.signal.fftconvolve(speech[None, :], rir, axes=-1)
    out = np.zeros((rir.shape[0], CLIP_SAMPLES))
    seg = y[:, lead : lead + CLIP_SAMPLES]
    out[:, : seg.shape[1]] = seg
    return out


def check_multisource_config(config: SceneConfig, multi: MultiSourceConfig) -> None:
    """Raise when ``config`` has an option the extra talkers cannot follow."""
    if multi.n_sources[1] == 1:
        return
    if config.mic != "ideal":
        raise AudioLRPError(
            f"several talkers are simulated with the ideal microphone only (mic={config.mic!r}); "
            "drop --mic or pass --sources 1"
        )
    if config.speech_tilt or config.speech_lowpass or config.self_noise:
        raise AudioLRPError(
            "several talkers do not support speech tilt, speech low-pass or self-noise; "
            "remove them from the scene configuration"
        )


def simulate_multisource_scene(
    config: SceneConfig | None = None,
    multi: MultiSourceConfig | None = None,
    seed: int | np.random.SeedSequence = 0,
    corpus: Any = None,
    *,
    split: str = "train",
) -> MultiSourceScene:
    """Simulate one scene with 1-3 simultaneous talkers (module docstring, steps 1-4).

    Parameters
    ----------
    config
        Room, noise and talker-1 ranges (default :class:`SceneConfig`).
    multi
        Number of talkers, their separation and levels (default :class:`MultiSourceConfig`).
    seed
        Seed or ``SeedSequence``; the same seed gives the same scene.
    corpus
        Speech corpus (default: the config's, cached per process).
    split
        Corpus split every talker comes from.

    Returns
    -------
    MultiSourceScene
    """
    cfg = config if config is not None else SceneConfig()
    ms = multi if multi is not None else MultiSourceConfig()
    if split not in SPLITS:
        raise AudioLRPError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    check_multisource_config(cfg, ms)
    ss = _as_seed_sequence(seed)
    corpus = corpus if corpus is not None else get_corpus(cfg.speech, cfg.corpus_seed)
    base = simulate_scene(cfg, ss, corpus, split=split)  # 1. talker 1
    rng = np.random.default_rng(  # 2. the extra draws
        np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, EXTRA_SPAWN_KEY))
    )
    n_src = int(rng.integers(ms.n_sources[0], ms.n_sources[1] + 1))
    p = base.params
    room = np.asarray(p["room_m"], np.float64)
    receiver = np.asarray(p["receiver_m"], np.float64)
    rt60_s = float(p["rt60_s"])
    lead = int(round(cfg.speech_lead_in_s * FS_HZ))
    labels, azs, els = [base.label], [base.azimuth_rad], [base.elevation_rad]
    directs, reverbs = [base.direct.astype(np.float64)], [base.reverberant.astype(np.float64)]
    p1 = float(np.mean((directs[0][0] + reverbs[0][0]) ** 2))
    extra: list[dict[str, Any]] = []
    for _ in range(1, n_src):
        d, u, t_max = _draw_extra_direction(cfg, ms, rng, azs, els, room, receiver)
        direct, reverb, info = _extra_talker_image(
            cfg, ms, rng, corpus, split, lead, room, receiver, rt60_s, u, t_max
        )
        p_s = float(np.mean((direct[0] + reverb[0]) ** 2))
        if p_s <= 0:
            raise AudioLRPError("an extra talker is silent on the W channel; check the corpus")
        g = math.sqrt(p1 * 10.0 ** (info["level_db"] / 10.0) / p_s)
        directs.append(direct * g)
        reverbs.append(reverb * g)
        labels.append(d.label)
        azs.append(d.azimuth_rad)
        els.append(d.elevation_rad)
        extra.append({"azimuth_rad": d.azimuth_rad, "elevation_rad": d.elevation_rad,
                      "label": d.label, **info})
    params = dict(p)
    params["n_sources"] = n_src
    params["labels"] = list(labels)
    params["source_azimuth_rad"] = list(azs)
    params["source_elevation_rad"] = list(els)
    params["extra_sources"] = extra
    params["multisource"] = ms.to_dict()
    if n_src == 1:  # 4. exactly the single-source scene
        return MultiSourceScene(
            mixture=base.mixture, source_direct=base.direct[None],
            source_reverberant=base.reverberant[None], noise=base.noise,
            labels=(base.label,), azimuth_rad=(base.azimuth_rad,),
            elevation_rad=(base.elevation_rad,), params=params,
        )
    return _mix(cfg, directs, reverbs, base.noise, labels, azs, els, params)


def _draw_extra_direction(
    cfg: SceneConfig, ms: MultiSourceConfig, rng: np.random.Generator, azs: list[float],
    els: list[float], room: np.ndarray, receiver: np.ndarray,
) -> tuple[Any, np.ndarray, float]:
    """Step 2: an extra talker's direction, at least ``min_separation_deg`` from the earlier
    talkers and fitting in the room; returns it, its unit vector and the largest distance."""
    d_min = cfg.source_distance_m[0]
    for _ in range(_DIRECTION_TRIES):
        d = draw_direction(cfg, rng)
        sep = angular_error_deg(d.azimuth_rad, d.elevation_rad, np.asarray(azs),
                                np.asarray(els))
        if np.min(sep) < ms.min_separation_deg:
            continue
        u = unit_vector(d.azimuth_rad, d.elevation_rad)
        t_max = _max_distance_m(room, receiver, u, cfg.source_margin_m)
        if t_max >= d_min:
            return d, u, t_max
    raise AudioLRPError(
        f"no direction {ms.min_separation_deg} deg from the other talkers fits in room "
        f"{np.round(room, 2).tolist()} m; lower min_separation_deg or source_distance_m"
    )


def _extra_talker_image(
    cfg: SceneConfig, ms: MultiSourceConfig, rng: np.random.Generator, corpus: Any,
    split: str, lead: int, room: np.ndarray, receiver: np.ndarray, rt60_s: float,
    u: np.ndarray, t_max: float,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Steps 2-3 for one extra talker in direction ``u``: distance, RIR seed, speech and
    level drawn (in this order), its own HOA RIR, the unscaled direct and reverberant images
    (float64) and its parameters (``source_m``, ``distance_m``, ``rir_seed``, ``level_db``)."""
    d_min, d_max = cfg.source_distance_m
    dist_m = float(rng.uniform(d_min, min(d_max, t_max)))
    rir_seed = int(rng.integers(2**31 - 1))
    speech = _draw_speech(corpus, split, rng, lead)  # 3.
    level_db = float(rng.uniform(*ms.level_db))
    source_m = receiver + dist_m * u
    rir = simulate_hoa_rir(
        tuple(room.tolist()), tuple(source_m.tolist()), tuple(receiver.tolist()),
        rt60_s=rt60_s, order=cfg.order, fs_hz=FS_HZ,
        max_length_s=min(
            cfg.rir_length_s,
            dist_m / SPEED_OF_SOUND_M_S + rt60_s * cfg.rir_decay_db / 60.0,
        ),
        max_image_order=cfg.max_image_order, late_tail=cfg.late_tail, seed=rir_seed,
    )
    direct = _convolve_clip(speech, np.asarray(rir.direct, np.float64), lead)
    reverb = _convolve_clip(speech, np.asarray(rir.reverberant, np.float64), lead)
    info = {"source_m": source_m.tolist(), "distance_m": dist_m, "rir_seed": rir_seed,
            "level_db": level_db}
    return direct, reverb, info


def _mix(
    cfg: SceneConfig, directs: list[np.ndarray], reverbs: list[np.ndarray],
    base_noise: np.ndarray, labels: list[int], azs: list[float], els: list[float],
    params: dict[str, Any],
) -> MultiSourceScene:
    """Step 4: the sum of every image and the noise, every part rescaled alike so that W has
    ``config.target_rms`` (``params["multisource_gain"]``), as float32."""
    f32 = np.float32
    noise = base_noise.astype(np.float64)
    mix_w = sum(d[0] + r[0] for d, r in zip(directs, reverbs, strict=True)) + noise[0]
    gain = 1.0
    if cfg.target_rms is not None:
        gain = float(cfg.target_rms) / math.sqrt(float(np.mean(mix_w**2)))
    params["multisource_gain"] = gain
    s_direct = np.stack([d * gain for d in directs]).astype(f32)
    s_reverb = np.stack([r * gain for r in reverbs]).astype(f32)
    noise32 = (noise * gain).astype(f32)
    mixture = (s_direct.sum(axis=0) + s_reverb.sum(axis=0) + noise32).astype(f32)
    return MultiSourceScene(
        mixture=mixture, source_direct=s_direct, source_reverberant=s_reverb, noise=noise32,
        labels=tuple(int(v) for v in labels), azimuth_rad=tuple(float(v) for v in azs),
        elevation_rad=tuple(float(v) for v in els), params=params,
    )


__all__ = [
    "EXTRA_SPAWN_KEY",
    "MAX_SOURCES",
    "MultiSourceConfig",
    "MultiSourceScene",
    "check_multisource_config",
    "parse_sources",
    "simulate_multisource_scene",
]
