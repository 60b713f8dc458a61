"""One labelled scene: :class:`Scene` and :func:`simulate_scene`, which runs the recipe's steps
(the docstring of :mod:`audiolrp.simulation.scenes`) in their fixed order, scales the noise to
the SNR and the mixture to its level (step 6) and adds capsule self-noise (step 6b)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from audiolrp.constants import CLIP_SAMPLES, FS_HZ
from audiolrp.errors import AudioLRPError
from audiolrp.simulation.microphones import MicArray
from audiolrp.simulation.scenes.babble import _draw_babble
from audiolrp.simulation.scenes.config import SPLITS, SceneConfig
from audiolrp.simulation.scenes.corpus import get_corpus
from audiolrp.simulation.scenes.geometry import (
    SourceDirection,
    _Acoustics,
    _draw_acoustics,
    draw_direction,
)
from audiolrp.simulation.scenes.point_noise import _draw_point_noise, _mix_noise, _PointNoise
from audiolrp.simulation.scenes.rir import _drr_db, _scene_rir, _speech_image
from audiolrp.simulation.scenes.talker import (
    _draw_speech,
    _speaker_info,
    apply_lowpass,
    apply_tilt,
)


@dataclass
class Scene:
    """One example and its parts, all ``(n_sh, 16000)`` float32 SN3D/ACN.

    ``mixture = direct + reverberant + noise`` (up to float32 rounding).
    """

    mixture: np.ndarray
    direct: np.ndarray
    reverberant: np.ndarray
    noise: np.ndarray
    label: int
    azimuth_rad: float
    elevation_rad: float
    params: dict[str, Any]

    @property
    def speech(self) -> np.ndarray:
        """The reverberant speech image ``direct + reverberant``."""
        return self.direct + self.reverberant



def _rng(seed_or_rng: int | np.random.Generator | np.random.SeedSequence) -> np.random.Generator:
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    if isinstance(seed_or_rng, np.random.SeedSequence | int | np.integer):
        return np.random.default_rng(seed_or_rng)
    raise AudioLRPError(
        f"seed {seed_or_rng!r} is not an int, SeedSequence or np.random.Generator"
    )



def _level_gains(
    direct: np.ndarray,
    reverberant: np.ndarray,
    noise: np.ndarray,
    snr_db: float,
    target_rms: float | None,
) -> tuple[float, float]:
    """Recipe step 6: ``(noise_gain, gain)``: the noise gain giving ``snr_db`` on W against the
    speech image, and the overall gain giving the mixture's W channel RMS ``target_rms``."""
    speech_w = direct[0].astype(np.float64) + reverberant[0]
    p_s = float(np.mean(speech_w**2))
    p_n = float(np.mean(noise[0].astype(np.float64) ** 2))
    if p_s <= 0 or p_n <= 0:
        raise AudioLRPError("speech or babble is silent on the W channel; check the corpus")
    noise_gain = math.sqrt(p_s / (p_n * 10.0 ** (snr_db / 10.0)))
    gain = 1.0
    if target_rms is not None:
        mix_w = speech_w + noise_gain * noise[0].astype(np.float64)
        gain = target_rms / math.sqrt(float(np.mean(mix_w**2)))
    return noise_gain, gain



@dataclass(frozen=True)
class _OptIns:
    """Steps 5b-5d and 6b of a scene, each opt-in: what was drawn (``None`` while off)."""

    point: _PointNoise | None
    tilt_db_per_octave: float | None
    lowpass_hz: float | None
    self_noise_seed: int | None


def _draw_opt_ins(
    cfg: SceneConfig,
    corpus: Any,
    split: str,
    rng: np.random.Generator,
    acoustics: _Acoustics,
    lead: int,
    noise: np.ndarray,
    speech: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, _OptIns]:
    """Recipe steps 5b, 5c, 5d and the seed of 6b, in this order, each drawing from the scene
    generator only when its option is on (so a scene with the options off is bit-identical to
    one made before they existed): ``(noise, speech, what was drawn)``."""
    point: _PointNoise | None = None
    if cfg.point_noise:  # 5b. (opt-in; its seed is a draw after the babble)
        point = _draw_point_noise(
            cfg, corpus, split, acoustics, lead, int(rng.integers(2**63 - 1))
        )
        noise = _mix_noise(noise, point)
    tilt_db_per_octave: float | None = None
    if cfg.speech_tilt:  # 5c. (opt-in; the scene generator's last draw)
        tilt_db_per_octave = float(rng.uniform(*cfg.speech_tilt_db_per_octave))
        speech = apply_tilt(speech, tilt_db_per_octave)
    lowpass_hz: float | None = None
    if cfg.speech_lowpass:  # 5d. (opt-in; the scene generator's last draw)
        lowpass_hz = float(np.exp(rng.uniform(*np.log(cfg.speech_lowpass_hz))))
        speech = apply_lowpass(speech, lowpass_hz)
    self_noise_seed: int | None = None
    if cfg.self_noise:  # 6b. (opt-in; its seed is the scene generator's last draw)
        self_noise_seed = int(rng.integers(2**63 - 1))
    return noise, speech, _OptIns(point, tilt_db_per_octave, lowpass_hz, self_noise_seed)


def simulate_scene(
    config: SceneConfig | None = None,
    seed_or_rng: int | np.random.Generator | np.random.SeedSequence = 0,
    corpus: Any = None,
    *,
    split: str = "train",
) -> Scene:
    """Simulate one example (package docstring, steps 1-6). Same seed -> identical scene.

    Parameters
    ----------
    config
        Generator ranges (default :class:`SceneConfig`).
    seed_or_rng
        Seed, ``SeedSequence`` or generator (consumed in a fixed order).
    corpus
        A :class:`audiolrp.simulation.speech.SpeechCorpus`; default ``open_corpus(config.speech,
        seed=config.corpus_seed)`` (cached per process).
    split
        Corpus split the target, babble (and speech point-noise) talkers come from
        (``train``/``val``/``test``).

    Returns
    -------
    Scene
    """
    cfg = config if config is not None else SceneConfig()
    if split not in SPLITS:
        raise AudioLRPError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    rng = _rng(seed_or_rng)
    corpus = corpus if corpus is not None else get_corpus(cfg.speech, cfg.corpus_seed)

    direction = draw_direction(cfg, rng)  # 1.
    acoustics = _draw_acoustics(cfg, rng, direction)  # 2.
    full_rir, direct_rir = _scene_rir(cfg, acoustics)  # 3.
    lead = int(round(cfg.speech_lead_in_s * FS_HZ))  # 4.
    speech = _draw_speech(corpus, split, rng, lead)
    speaker_info = _speaker_info(corpus)
    noise, n_talk = _draw_babble(cfg, corpus, split, rng)  # 5.
    noise, speech, opt = _draw_opt_ins(  # 5b-5d, 6b's seed
        cfg, corpus, split, rng, acoustics, lead, noise, speech
    )
    direct, reverberant = _speech_image(speech, full_rir, direct_rir, lead, cfg.n_sh)  # 4.
    noise_gain, gain = _level_gains(direct, reverberant, noise, acoustics.snr_db, cfg.target_rms)

    a = acoustics
    params: dict[str, Any] = {
        "label": direction.label,
        "azimuth_rad": direction.azimuth_rad,
        "elevation_rad": direction.elevation_rad,
        "room_m": a.room_m.tolist(),
        "source_m": a.source_m.tolist(),
        "receiver_m": a.receiver_m.tolist(),
        "distance_m": a.distance_m,
        "rt60_s": a.rt60_s,
        "snr_db": a.snr_db,
        "drr_db": _drr_db(full_rir, direct_rir),
        "rir_seed": a.rir_seed,
        "rir_length_samples": int(full_rir.shape[-1]),
        "n_babble_talkers": int(n_talk),
        "gain": gain,
        "split": split,
        "order": cfg.order,
    }
    params.update(speaker_info)
    if opt.tilt_db_per_octave is not None:
        params["speech_tilt_db_per_octave"] = opt.tilt_db_per_octave
    if opt.lowpass_hz is not None:
        params["speech_lowpass_hz"] = opt.lowpass_hz
    if opt.point is not None:
        params.update(opt.point.params())
    f32 = np.float32
    direct = (direct * f32(gain)).astype(f32)
    reverberant = (reverberant * f32(gain)).astype(f32)
    noise = (noise * f32(gain * noise_gain)).astype(f32)
    noise = _record_with_array(cfg, direct, reverberant, noise, opt.self_noise_seed, params)
    return _scene(direction, direct, reverberant, noise, params)


def _scene(
    direction: SourceDirection,
    direct: np.ndarray,
    reverberant: np.ndarray,
    noise: np.ndarray,
    params: dict[str, Any],
) -> Scene:
    """The :class:`Scene` of the scaled parts (``mixture = direct + reverberant + noise``)."""
    return Scene(
        mixture=direct + reverberant + noise,
        direct=direct,
        reverberant=reverberant,
        noise=noise,
        label=direction.label,
        azimuth_rad=direction.azimuth_rad,
        elevation_rad=direction.elevation_rad,
        params=params,
    )


def _record_with_array(
    cfg: SceneConfig,
    direct: np.ndarray,
    reverberant: np.ndarray,
    noise: np.ndarray,
    self_noise_seed: int | None,
    params: dict[str, Any],
) -> np.ndarray:
    """With a microphone array (``cfg.mic`` not ``"ideal"``): add the array's keys to
    ``params`` and, with self-noise (step 6b), the encoded capsule noise to ``noise``; return
    the noise (unchanged for the ideal microphone)."""
    if cfg.mic == "ideal":
        return noise
    array = cfg.mic_array()
    params.update({
        "mic": cfg.mic,
        "mic_radius_m": array.radius_m,
        "mic_n_capsules": array.n_capsules,
        "mic_aliasing_hz": array.aliasing_hz,
    })
    if self_noise_seed is not None:  # 6b.
        noise, rms = _add_self_noise(cfg, array, direct, reverberant, noise, self_noise_seed)
        params.update({
            "self_noise_db": cfg.self_noise_db,
            "self_noise_ref": cfg.self_noise_ref,
            "self_noise_rms": rms,
            "self_noise_seed": self_noise_seed,
        })
    return noise


def _add_self_noise(
    config: SceneConfig,
    array: MicArray,
    direct: np.ndarray,
    reverberant: np.ndarray,
    noise: np.ndarray,
    seed: int,
) -> tuple[np.ndarray, float]:
    """Recipe step 6b: ``(noise + encoded capsule self-noise (float32), capsule noise RMS)``.

    Every capsule gets independent white Gaussian noise (:meth:`MicArray.self_noise`, seeded)
    of RMS ``10^(self_noise_db / 20)`` times the RMS of the scaled mixture's W channel
    (``self_noise_ref="signal"``) or times 1 (``"fs"``), which is then encoded like the
    capsule signals (so the sphere's radial filters amplify it in the higher orders)."""
    db = float(config.self_noise_db)  # type: ignore[arg-type]
    ref = 1.0
    if config.self_noise_ref == "signal":
        w = direct[0].astype(np.float64) + reverberant[0] + noise[0]
        ref = math.sqrt(float(np.mean(w**2)))
    rms = ref * 10.0 ** (db / 20.0)
    encoded = array.encode(array.self_noise(CLIP_SAMPLES, rms, seed))
    return (noise.astype(np.float64) + encoded).astype(np.float32), rms

