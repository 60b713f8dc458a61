"""SceneConfig: every range and option of the scene generator, and its checks.

Also the limits a config is checked against (orders, t-design degree, talker-filter ranges,
point noise, self-noise references) and the corpus splits. The recipe the fields drive is the
docstring of :mod:`audiolrp.simulation.scenes`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from audiolrp.errors import AudioLRPError
from audiolrp.simulation.microphones import (
    ARRAY_MAX_ORDER,
    DEFAULT_MAX_GAIN_DB,
    MIC_NAMES,
    MicArray,
    make_array,
)

SPLITS: tuple[str, ...] = ("train", "val", "test")

MAX_SCENE_ORDER: int = 5
"""Highest HOA order N of simulated scenes: the diffuse babble (step 5) needs a spherical
t-design of degree 2N, and the largest embedded design has degree 10
(:func:`audiolrp.signal.ambisonics.spherical_t_design_degrees`)."""

MAX_DESIGN_DEGREE: int = 2 * MAX_SCENE_ORDER
"""Largest degree of the embedded spherical t-designs (``babble_design_degree`` limit)."""

MAX_TILT_DB_PER_OCTAVE: float = 24.0
"""Largest magnitude of ``SceneConfig.speech_tilt_db_per_octave``."""

LOWPASS_RANGE_HZ: tuple[float, float] = (500.0, 7500.0)
"""Allowed cut-offs of ``SceneConfig.speech_lowpass_hz``: the 257-tap Hamming design has a
transition band about 200 Hz wide, so cut-offs stay that far inside (0, 8000) Hz."""

POINT_NOISE_KINDS: tuple[str, ...] = ("pink", "white", "speech")
"""Signals of the directional noise sources (``SceneConfig.point_noise_kind``)."""

MAX_POINT_NOISE: int = 16
"""Most directional noise sources per scene (each costs one RIR and one convolution)."""

SELF_NOISE_REFS: tuple[str, ...] = ("signal", "fs")
"""References of ``SceneConfig.self_noise_db``: the mixture's W RMS, or full scale (1.0)."""

_MIC_DEFAULTS: dict[str, Any] = {
    "mic": "ideal",
    "mic_radius_m": None,
    "mic_directivity": 0.5,
    "mic_equalise": True,
    "mic_max_gain_db": DEFAULT_MAX_GAIN_DB,
    "self_noise_db": None,
    "self_noise_ref": "signal",
}

_POINT_NOISE_DEFAULTS: dict[str, Any] = {
    "n_point_noise": (0, 0),
    "point_noise_share": (0.5, 0.5),
    "point_noise_kind": "pink",
    "point_noise_min_distance_m": 0.5,
}


def check_scene_order(order: object, name: str = "SceneConfig.order") -> int:
    """Return ``order`` as an int if scenes of that HOA order can be simulated (``0..5``).

    Parameters
    ----------
    order
        HOA order N to check.
    name
        How the caller names the value in the message (``"--order"`` in the CLI).

    Raises
    ------
    AudioLRPError
        ``order`` is not an integer in ``0..MAX_SCENE_ORDER``.
    """
    if (
        isinstance(order, bool)
        or not isinstance(order, int | np.integer)
        or not 0 <= int(order) <= MAX_SCENE_ORDER
    ):
        raise AudioLRPError(
            f"{name} {order!r} is not supported: simulated scenes have HOA order "
            f"0..{MAX_SCENE_ORDER} (diffuse babble needs a spherical t-design of degree 2N <= "
            f"{MAX_DESIGN_DEGREE}); pass an order in 0..{MAX_SCENE_ORDER}"
        )
    return int(order)


# --------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------
def _mic_number(
    name: str, value: Any, low: float, high: float, how: str, *, optional: bool = False
) -> Any:
    """``value`` as a float in ``[low, high]`` (``None`` passes when ``optional``), else a
    one-line error naming the SceneConfig field ``name`` and saying to pass ``how``."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise AudioLRPError(f"SceneConfig.{name}={value!r} is not a number; pass {how}")
    v = float(value)
    if not (math.isfinite(v) and low <= v <= high):
        raise AudioLRPError(f"SceneConfig.{name}={value!r} is out of range; pass {how}")
    return v


def _float_pair(
    name: str, value: Any, how: str, *, reject_bool: bool = False
) -> tuple[float, float]:
    """``(low, high)`` floats of the SceneConfig field ``name``, else a one-line error saying
    to pass ``how`` (booleans count as malformed when ``reject_bool``)."""
    try:
        if len(value) != 2 or (reject_bool and any(isinstance(x, bool) for x in value)):
            raise ValueError
        return float(value[0]), float(value[1])
    except (TypeError, ValueError, IndexError):
        raise AudioLRPError(
            f"SceneConfig.{name}={value!r} is not a (low, high) pair; pass {how}"
        ) from None


@dataclass
class SceneConfig:
    """All ranges of the scene generator (JSON-serialisable via :meth:`to_dict`).

    Poschadel et al.'s exact ranges are not published in the seed paper; these defaults model
    reverberant offices / classrooms. Ranges are ``(low, high)`` and sampled uniformly.

    Attributes
    ----------
    order
        HOA order N of the simulated audio ((N+1)^2 channels).
    room_length_m, room_width_m, room_height_m
        Shoebox dimensions (x, y, z). Default 3-10 x 3-8 x 2.5-4 m.
    rt60_s
        Reverberation time. Default 0.2-0.8 s.
    snr_db
        Speech-image-to-babble ratio on the W channel. Default 0-30 dB.
    source_distance_m
        Source-receiver distance. Default 1-3 m.
    receiver_margin_m
        Minimum receiver distance to every wall, floor and ceiling. Default 0.5 m.
    source_margin_m
        Minimum source distance to every wall. Default 0.3 m.
    direction_sampling
        ``"grid"``: source exactly at its class direction; ``"uniform"``: uniform on the sphere,
        labelled with the nearest class.
    n_babble_talkers
        Talkers averaged into the babble; ``None`` = one per t-design point (36 for N = 4).
    babble_design_degree
        Degree of the spherical design of babble directions; ``None`` = 2N (minimum for an
        exactly diffuse field up to order N).
    rotate_babble
        Random rotation of the babble design per scene (the design property is kept).
    speech
        Speech source spec for :func:`audiolrp.simulation.speech.open_corpus` (``None`` = embedded
        eSpeak synthetic speakers).
    corpus_seed
        Seed passed to ``open_corpus``.
    speech_lead_in_s
        Speech before the clip that lets the reverberation build up (step 4).
    rir_max_length_s
        Upper bound of the RIR length; ``None`` = ``speech_lead_in_s``.
    rir_decay_db
        The RIR is also cut where the late energy has decayed by this much:
        ``distance / c + rt60_s * rir_decay_db / 60`` (40 dB leaves 1e-4 of the reverberant
        energy; makes short-RT60 scenes cheaper).
    max_image_order
        Image-source order limit passed to the room simulator (``None`` = its default).
    late_tail
        Whether the room simulator adds its stochastic late tail.
    target_rms
        RMS of the mixture's W channel after scaling (``None`` = no scaling).
    n_point_noise
        Directional noise sources per scene, an inclusive integer range ``(low, high)``
        (at most :data:`MAX_POINT_NOISE`). Default ``(0, 0)``: off, diffuse babble only, and the
        scene is bit-identical to one made before this option existed (recipe step 5b).
    point_noise_share
        Share of the noise power on W carried by the point sources (the babble carries the
        rest), drawn uniformly per scene in ``[low, high]`` within ``[0, 1]``. Default 0.5.
        A scene that draws no point source has share 0 (babble only).
    point_noise_kind
        Signal of every point source: ``"pink"`` (1/f power density from
        :data:`PINK_LOW_HZ` up), ``"white"`` or ``"speech"`` (other talkers of the same corpus
        split, like the babble).
    point_noise_min_distance_m
        Smallest distance of a point source from the receiver (positions closer are redrawn).
        Default 0.5 m.

    speech_tilt_db_per_octave
        Range of the target talker's spectral tilt in dB per octave around 1 kHz (recipe step
        5c), e.g. ``(-8, 4)``: negative = duller (less high-frequency energy). Default
        ``(0, 0)``: off (the scene is bit-identical to one made before the option existed).
    speech_lowpass_hz
        Range of the target talker's band limit (recipe step 5d), the low-pass cut-off in Hz
        drawn log-uniformly, within :data:`LOWPASS_RANGE_HZ`, e.g. ``(3500, 7000)``. Default
        ``(0, 0)``: off (the scene is bit-identical to one made before the option existed).

    mic
        Microphone (recipe step 3b): ``"ideal"`` (default: SH rendering, bit-identical to
        scenes made before the option existed), ``"tetra"`` (first-order tetrahedral array,
        orders 0-1) or ``"sphere32"`` (32-capsule rigid sphere, orders 0-4); see
        :mod:`audiolrp.simulation.microphones`.
    mic_radius_m
        Capsule radius; ``None`` = the array's (1.47 cm tetra, 4.2 cm sphere32).
    mic_directivity
        ``alpha`` of the tetra's capsules ``alpha + (1 - alpha) cos theta`` (0.5 = cardioid).
    mic_equalise
        Tetra: A -> B equalisation of W and X/Y/Z (default on); off = raw A -> B.
    mic_max_gain_db
        Limit of the sphere's radial filters and the tetra's equalisation (Tikhonov), dB.
    self_noise_db
        Capsule self-noise (recipe step 6b): white noise of this RMS level per capsule, in dB
        re ``self_noise_ref``; ``None`` = none.
    self_noise_ref
        ``"signal"``: re the RMS of the mixture's W channel (the pressure a capsule picks up);
        ``"fs"``: re full scale 1.0 (after the level scaling of step 6).

    The four point-noise keys (and the tilt, band-limit and microphone keys) are left out of
    :meth:`to_dict` while the option is off and they hold their defaults, so the JSON of every
    config without them (and with it dataset fingerprints, cards and replication records) is
    unchanged.
    """

    order: int = 4
    room_length_m: tuple[float, float] = (3.0, 10.0)
    room_width_m: tuple[float, float] = (3.0, 8.0)
    room_height_m: tuple[float, float] = (2.5, 4.0)
    rt60_s: tuple[float, float] = (0.2, 0.8)
    snr_db: tuple[float, float] = (0.0, 30.0)
    source_distance_m: tuple[float, float] = (1.0, 3.0)
    receiver_margin_m: float = 0.5
    source_margin_m: float = 0.3
    direction_sampling: str = "grid"
    n_babble_talkers: int | None = None
    babble_design_degree: int | None = None
    rotate_babble: bool = True
    speech: str | None = None
    corpus_seed: int = 0
    speech_lead_in_s: float = 0.5
    rir_max_length_s: float | None = None
    rir_decay_db: float = 40.0
    max_image_order: int | None = None
    late_tail: bool = True
    target_rms: float | None = 0.05
    extra: dict[str, Any] = field(default_factory=dict)
    n_point_noise: tuple[int, int] = (0, 0)
    point_noise_share: tuple[float, float] = (0.5, 0.5)
    point_noise_kind: str = "pink"
    point_noise_min_distance_m: float = 0.5
    speech_tilt_db_per_octave: tuple[float, float] = (0.0, 0.0)
    speech_lowpass_hz: tuple[float, float] = (0.0, 0.0)
    mic: str = "ideal"
    mic_radius_m: float | None = None
    mic_directivity: float = 0.5
    mic_equalise: bool = True
    mic_max_gain_db: float = DEFAULT_MAX_GAIN_DB
    self_noise_db: float | None = None
    self_noise_ref: str = "signal"

    def __post_init__(self) -> None:
        for name in ("room_length_m", "room_width_m", "room_height_m", "rt60_s", "snr_db",
                     "source_distance_m"):
            v = getattr(self, name)
            try:
                lo, hi = (float(v[0]), float(v[1]))
                if len(v) != 2:
                    raise ValueError
            except (TypeError, ValueError, IndexError) as err:
                raise AudioLRPError(
                    f"SceneConfig.{name}={v!r} is not a (low, high) pair; pass two numbers"
                ) from err
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
                raise AudioLRPError(f"SceneConfig.{name}=({lo}, {hi}) needs low <= high")
            setattr(self, name, (lo, hi))
        self.order = check_scene_order(self.order)
        if self.babble_design_degree is not None and (
            isinstance(self.babble_design_degree, bool)
            or not isinstance(self.babble_design_degree, int)
            or not 0 <= self.babble_design_degree <= MAX_DESIGN_DEGREE
        ):
            raise AudioLRPError(
                f"SceneConfig.babble_design_degree={self.babble_design_degree!r}; pass an "
                f"integer in 0..{MAX_DESIGN_DEGREE} (or None for 2N)"
            )
        for name in ("room_length_m", "room_width_m", "room_height_m", "rt60_s",
                     "source_distance_m"):
            if getattr(self, name)[0] <= 0:
                raise AudioLRPError(f"SceneConfig.{name} must be positive")
        if self.source_margin_m < 0 or self.receiver_margin_m < self.source_margin_m:
            raise AudioLRPError(
                "SceneConfig margins need 0 <= source_margin_m <= receiver_margin_m"
            )
        smallest = min(self.room_length_m[0], self.room_width_m[0], self.room_height_m[0])
        if smallest <= 2 * self.receiver_margin_m:
            raise AudioLRPError(
                f"rooms as small as {smallest} m leave no space for the receiver margin "
                f"{self.receiver_margin_m} m; enlarge the rooms or reduce the margin"
            )
        if self.direction_sampling not in ("grid", "uniform"):
            raise AudioLRPError(
                f"direction_sampling={self.direction_sampling!r}; use 'grid' or 'uniform'"
            )
        if self.n_babble_talkers is not None and self.n_babble_talkers < 1:
            raise AudioLRPError("n_babble_talkers must be >= 1 (or None for one per direction)")
        if self.speech_lead_in_s < 0:
            raise AudioLRPError("speech_lead_in_s must be >= 0")
        if self.rir_decay_db <= 0:
            raise AudioLRPError("rir_decay_db must be > 0 (e.g. 40)")
        self._check_point_noise()
        self._check_tilt()
        self._check_lowpass()
        self._check_mic()

    def _check_mic(self) -> None:
        """Validate (and normalise) the microphone fields (recipe steps 3b and 6b)."""
        if not isinstance(self.mic, str) or self.mic not in MIC_NAMES:
            raise AudioLRPError(
                f"SceneConfig.mic={self.mic!r} is unknown; use one of {', '.join(MIC_NAMES)}"
            )
        if self.mic == "ideal":
            for key, default in _MIC_DEFAULTS.items():
                if getattr(self, key) != default:
                    raise AudioLRPError(
                        f"SceneConfig.{key}={getattr(self, key)!r} needs a microphone array: "
                        f"set mic to 'tetra' or 'sphere32' (or drop {key})"
                    )
            return
        top = ARRAY_MAX_ORDER[self.mic]
        if self.order > top:
            raise AudioLRPError(
                f"SceneConfig.mic={self.mic!r} encodes HOA orders 0..{top}, not {self.order}; "
                f"pass order <= {top}" + (" or mic='sphere32'" if self.mic == "tetra" else "")
            )
        self.mic_radius_m = _mic_number(
            "mic_radius_m", self.mic_radius_m, 0.001, 0.5, "a radius in metres in [0.001, "
            "0.5] (or null for the array's default)", optional=True,
        )
        alpha = _mic_number("mic_directivity", self.mic_directivity, 0.0, 1.0,
                            "a number in (0, 1), 0.5 = cardioid")
        if self.mic == "tetra" and not 0.0 < alpha < 1.0:
            raise AudioLRPError(
                f"SceneConfig.mic_directivity={alpha!r} must lie strictly between 0 (figure-8) "
                "and 1 (omni): pass e.g. 0.5 (cardioid)"
            )
        if self.mic != "tetra" and alpha != 0.5:
            raise AudioLRPError(
                "SceneConfig.mic_directivity applies to mic='tetra' only (sphere32 has pressure "
                "capsules): drop it"
            )
        self.mic_directivity = float(alpha)
        if not isinstance(self.mic_equalise, bool | np.bool_):
            raise AudioLRPError(
                f"SceneConfig.mic_equalise={self.mic_equalise!r} must be true or false"
            )
        if self.mic != "tetra" and not self.mic_equalise:
            raise AudioLRPError(
                "SceneConfig.mic_equalise=false applies to mic='tetra' only (sphere32 always "
                "needs its radial filters): drop it"
            )
        self.mic_equalise = bool(self.mic_equalise)
        gain = _mic_number("mic_max_gain_db", self.mic_max_gain_db, 0.0, 60.0,
                           "a filter gain limit in dB in (0, 60], e.g. 20")
        if gain <= 0:
            raise AudioLRPError(
                f"SceneConfig.mic_max_gain_db={gain!r} must be above 0 dB: pass e.g. 20"
            )
        self.mic_max_gain_db = float(gain)
        self.self_noise_db = _mic_number(
            "self_noise_db", self.self_noise_db, -200.0, 40.0,
            "a level in dB in [-200, 40] (or null for none)", optional=True,
        )
        if self.self_noise_ref not in SELF_NOISE_REFS:
            raise AudioLRPError(
                f"SceneConfig.self_noise_ref={self.self_noise_ref!r}; use one of "
                f"{', '.join(SELF_NOISE_REFS)}"
            )

    @property
    def self_noise(self) -> bool:
        """Whether scenes get capsule self-noise (recipe step 6b)."""
        return self.mic != "ideal" and self.self_noise_db is not None

    def mic_array(self) -> MicArray:
        """The :class:`audiolrp.simulation.microphones.MicArray` of ``mic`` (not for
        ``"ideal"``); cached per process."""
        if self.mic == "ideal":
            raise AudioLRPError("SceneConfig.mic='ideal' has no array: set mic to 'tetra' or "
                                "'sphere32'")
        return make_array(
            self.mic, self.order, radius_m=self.mic_radius_m,
            directivity=self.mic_directivity, equalise=self.mic_equalise,
            max_gain_db=self.mic_max_gain_db,
        )

    def _check_lowpass(self) -> None:
        """Validate (and normalise to a tuple) ``speech_lowpass_hz``."""
        lo, hi = _float_pair(
            "speech_lowpass_hz", self.speech_lowpass_hz,
            "two cut-off frequencies in Hz, e.g. [3500, 7000]", reject_bool=True,
        )
        if (lo, hi) != (0.0, 0.0):
            f_min, f_max = LOWPASS_RANGE_HZ
            if not (math.isfinite(lo) and math.isfinite(hi)) or not f_min <= lo <= hi <= f_max:
                raise AudioLRPError(
                    f"SceneConfig.speech_lowpass_hz=({lo}, {hi}) needs {f_min:g} <= low <= high "
                    f"<= {f_max:g} Hz (or [0, 0] for off)"
                )
        self.speech_lowpass_hz = (lo, hi)

    @property
    def speech_lowpass(self) -> bool:
        """Whether the target talker gets a random band limit (recipe step 5d)."""
        return self.speech_lowpass_hz != (0.0, 0.0)

    def _check_tilt(self) -> None:
        """Validate (and normalise to a tuple) ``speech_tilt_db_per_octave``."""
        lo, hi = _float_pair(
            "speech_tilt_db_per_octave", self.speech_tilt_db_per_octave,
            "two numbers in dB per octave, e.g. [-8, 4]", reject_bool=True,
        )
        m = MAX_TILT_DB_PER_OCTAVE
        if not (math.isfinite(lo) and math.isfinite(hi)) or not -m <= lo <= hi <= m:
            raise AudioLRPError(
                f"SceneConfig.speech_tilt_db_per_octave=({lo}, {hi}) needs -{m:g} <= low <= "
                f"high <= {m:g} dB per octave"
            )
        self.speech_tilt_db_per_octave = (lo, hi)

    @property
    def speech_tilt(self) -> bool:
        """Whether the target talker gets a random spectral tilt (recipe step 5c)."""
        return self.speech_tilt_db_per_octave != (0.0, 0.0)

    def _check_point_noise(self) -> None:
        """Validate (and normalise to tuples) the point-noise fields."""
        v = self.n_point_noise
        try:
            if len(v) != 2 or any(isinstance(x, bool) or int(x) != x for x in v):
                raise ValueError
            lo, hi = int(v[0]), int(v[1])
        except (TypeError, ValueError, IndexError, OverflowError):
            raise AudioLRPError(
                f"SceneConfig.n_point_noise={v!r} is not a (low, high) pair of integers; pass "
                "e.g. [1, 3]"
            ) from None
        if not 0 <= lo <= hi <= MAX_POINT_NOISE:
            raise AudioLRPError(
                f"SceneConfig.n_point_noise=({lo}, {hi}) needs 0 <= low <= high <= "
                f"{MAX_POINT_NOISE}"
            )
        self.n_point_noise = (lo, hi)
        slo, shi = _float_pair("point_noise_share", self.point_noise_share, "two numbers in [0, 1]")
        if not 0.0 <= slo <= shi <= 1.0:
            raise AudioLRPError(
                f"SceneConfig.point_noise_share=({slo}, {shi}) needs 0 <= low <= high <= 1"
            )
        self.point_noise_share = (slo, shi)
        if self.point_noise_kind not in POINT_NOISE_KINDS:
            raise AudioLRPError(
                f"SceneConfig.point_noise_kind={self.point_noise_kind!r}; use one of "
                f"{', '.join(POINT_NOISE_KINDS)}"
            )
        d = self.point_noise_min_distance_m
        if isinstance(d, bool) or not isinstance(d, int | float) or not 0.1 <= d < 1e3:
            raise AudioLRPError(
                f"SceneConfig.point_noise_min_distance_m={d!r} must be a distance >= 0.1 m"
            )
        self.point_noise_min_distance_m = float(d)

    @property
    def point_noise(self) -> bool:
        """Whether scenes get directional point-source noise (``n_point_noise != (0, 0)``)."""
        return self.n_point_noise != (0, 0)

    @property
    def n_sh(self) -> int:
        """Number of Ambisonics channels (N+1)^2."""
        return (self.order + 1) ** 2

    @property
    def design_degree(self) -> int:
        """Degree of the t-design that places the diffuse babble sources."""
        return 2 * self.order if self.babble_design_degree is None else self.babble_design_degree

    @property
    def rir_length_s(self) -> float:
        """Length of the simulated room response in seconds."""
        return self.speech_lead_in_s if self.rir_max_length_s is None else self.rir_max_length_s

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict (tuples become lists).

        The point-noise keys are left out while point noise is off and they hold their
        defaults: the dict of a config without point noise is the one written before the option
        existed (same dataset fingerprint), and :meth:`from_dict` restores the defaults.
        """
        d = dataclasses.asdict(self)
        if not self.point_noise:
            for key, default in _POINT_NOISE_DEFAULTS.items():
                if d[key] == default:
                    del d[key]
        if not self.speech_tilt:
            del d["speech_tilt_db_per_octave"]
        if not self.speech_lowpass:
            del d["speech_lowpass_hz"]
        if self.mic == "ideal":  # every microphone key holds its default (validated)
            for key in _MIC_DEFAULTS:
                del d[key]
        return json.loads(json.dumps(d))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SceneConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise AudioLRPError(
                f"unknown SceneConfig keys {sorted(unknown)}; valid keys are {sorted(names)}"
            )
        kw = dict(d)
        for k, v in kw.items():
            if isinstance(v, list):
                kw[k] = tuple(v)
        return cls(**kw)

    def to_json(self) -> str:
        """The config as canonical JSON (sorted keys)."""
        return json.dumps(self.to_dict(), sort_keys=True)


