"""One training/test example: reverberant speech from a grid direction plus diffuse babble.

Data generation follows the paper's description of Poschadel et al.'s procedure (section
"Experimental Setup"/"Interpreting Relevance Heatmaps"): "one-second segments of speech signals
sampled at 16 kHz and convolved with simulated Higher Order Ambisonics (HOA) room impulse
responses and with added diffuse babble noise (created by averaging speech signals)".

Recipe of :func:`simulate_scene` (all draws from one ``np.random.Generator`` in a fixed order)
--------------------------------------------------------------------------------------------
1. DOA class ``label`` uniform over the 425 classes of :func:`audiolrp.signal.ambisonics.doa_grid`;
   the source direction is exactly the class direction (``direction_sampling="grid"``) or a
   uniform random direction labelled with its nearest class (``"uniform"``).
2. Shoebox room (length, width, height uniform in their ranges), RT60 uniform, receiver
   uniform in the room at ``receiver_margin_m`` from every wall, source at the drawn direction
   from the receiver at a distance uniform in ``source_distance_m`` restricted to the
   distances that keep the source ``source_margin_m`` inside the walls (this truncated uniform
   is exactly "draw a distance, resample if it does not fit"); if no distance fits, the
   receiver (then the room) is redrawn.
3. HOA RIR of order ``order`` (:func:`audiolrp.simulation.rooms.simulate_hoa_rir`), split into the
direct
   path and the rest.
4. Speech: an excerpt of ``speech_lead_in_s + 1`` s is convolved with the RIR and samples
   ``[lead_in, lead_in + 1 s)`` are kept, so the 1-s clip contains fully developed reverberation
   (from speech before the clip) instead of a reverb that starts from silence; the RIR is
   truncated at ``min(rir_max_length_s, distance/c + rt60 * rir_decay_db / 60)`` (defaults: the
   lead-in, because longer RIR taps would only see speech before the excerpt, and 40 dB of
   decay). The convolution is one FFT product in float32 (direct path: the RIR's direct part
   is an SH gain vector times one filter, so it costs one channel, not (N+1)^2).
   ``direct`` = speech * direct-path RIR, ``reverberant`` =
   speech * (RIR - direct path).
5. Babble: ``n_babble_talkers`` independent 1-s speech segments (each scaled to unit RMS,
   then averaged), talker j placed as a plane wave at point ``j mod P`` of a spherical t-design
   of degree >= 2N (:func:`audiolrp.signal.ambisonics.spherical_t_design`; 36 points for N = 4),
   randomly rotated per scene. Encoding is one matrix product (design SH matrix^T x per-point
   talker sums). Since products of two SH of order <= N are polynomials of degree <= 2N, the
   design integrates them exactly, so the SH covariance of equal-power uncorrelated talkers is
   exactly ``diag(1/(2n+1))`` (SN3D) -- an ideal diffuse field. Babble is NOT reverberated
   (a diffuse field is what a long reverberant tail tends to anyway; doing so would cost 36
   RIRs per scene).
5b. Directional point-source noise (opt-in, ``n_point_noise`` > 0; off by default): see
   :func:`_draw_point_noise`. Its draws come from a separate generator whose seed is the last
   draw of the scene's generator, made after the babble and only when the option is on, so
   with the option off the scene is bit-identical to scenes made before the option existed,
   and with it on the direction, room, speech and babble are those of the option-off scene.
   ``K`` noise sources at random positions in the same room each get their own HOA RIR
   (same RT60 and truncation rule as the speech) convolved with their own signal; their sum
   and the babble are combined so the point sources carry the drawn share of the noise power
   on W.
5c. Spectral tilt of the target talker (opt-in, ``speech_tilt_db_per_octave`` not ``(0, 0)``;
   off by default): the slope ``s`` (dB per octave) is drawn uniformly in the range as the
   scene generator's last draw (after 5b's seed, only when the option is on, so scenes with
   the option off are bit-identical to earlier ones), and the lead-in + clip speech excerpt of
   step 4 is filtered, before the room, with the zero-phase FIR of :func:`tilt_filter`
   (magnitude ``s * log2(f / 1 kHz)`` dB, limited to +-20 dB). It models talkers and recording
   chains that are duller or brighter than the corpus (the room, the direction and the
   babble are unchanged); the SNR of step 6 is measured after it.
5d. Band limit of the target talker (opt-in, ``speech_lowpass_hz`` not ``(0, 0)``; off by
   default): the cut-off ``f_c`` is drawn log-uniformly in the range (``exp(U(ln lo, ln
   hi))``) as the scene generator's last draw (after 5c's, only when the option is on), and
   the speech excerpt is filtered before the room with the zero-phase windowed-sinc low-pass
   of :func:`lowpass_filter` (-6 dB at ``f_c``). It models recordings made or stored at a
   lower sample rate (telephone and game audio: nothing above 4-5.5 kHz); the room, the
   direction and the babble are unchanged, and the SNR of step 6 is measured after it.
6. The noise is scaled to the drawn SNR measured on the W channel (ACN 0) against the speech
   image ``direct + reverberant`` over the 1-s clip, then all parts are scaled together so the
   mixture's W channel has RMS ``target_rms`` (keeps levels comparable; SNR unchanged).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.fft
import scipy.signal

from audiolrp.constants import CLIP_SAMPLES, FS_HZ, N_CLASSES, SPEED_OF_SOUND_M_S
from audiolrp.errors import AudioLRPError
from audiolrp.signal.ambisonics import doa_grid, nearest_class, sh_matrix, spherical_t_design
from audiolrp.simulation.microphones import (
    ARRAY_MAX_ORDER,
    DEFAULT_MAX_GAIN_DB,
    MIC_NAMES,
    MicArray,
    make_array,
    simulate_array_rir,
)
from audiolrp.simulation.rooms import simulate_hoa_rir
from audiolrp.simulation.speech import open_corpus

SPLITS: tuple[str, ...] = ("train", "val", "test")

MAX_SCENE_ORDER: int = 5
"""Highest HOA order N of simulated scenes: the diffuse babble (step 5) needs a spherical
t-design of degree 2N, and the largest embedded design has degree 10
(:func:`audiolrp.signal.ambisonics.spherical_t_design_degrees`)."""

MAX_DESIGN_DEGREE: int = 2 * MAX_SCENE_ORDER
"""Largest degree of the embedded spherical t-designs (``babble_design_degree`` limit)."""

TILT_PIVOT_HZ: float = 1000.0
"""Frequency at which the talker's spectral tilt (recipe step 5c) has 0 dB gain."""

TILT_MAX_GAIN_DB: float = 20.0
"""Largest boost or cut of the spectral tilt filter (recipe step 5c), in dB."""

TILT_TAPS: int = 257
"""Length of the linear-phase tilt FIR; odd, so its delay of 128 samples is removed exactly."""

MAX_TILT_DB_PER_OCTAVE: float = 24.0
"""Largest magnitude of ``SceneConfig.speech_tilt_db_per_octave``."""

LOWPASS_TAPS: int = 257
"""Length of the linear-phase band-limit FIR (recipe step 5d); odd, delay removed exactly."""

LOWPASS_RANGE_HZ: tuple[float, float] = (500.0, 7500.0)
"""Allowed cut-offs of ``SceneConfig.speech_lowpass_hz``: the 257-tap Hamming design has a
transition band about 200 Hz wide, so cut-offs stay that far inside (0, 8000) Hz."""

POINT_NOISE_KINDS: tuple[str, ...] = ("pink", "white", "speech")
"""Signals of the directional noise sources (``SceneConfig.point_noise_kind``)."""

MAX_POINT_NOISE: int = 16
"""Most directional noise sources per scene (each costs one RIR and one convolution)."""

PINK_LOW_HZ: float = 20.0
"""Pink point noise has a 1/f power density from this frequency up to Nyquist and nothing
below (see :func:`_noise_signal`)."""

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


# --------------------------------------------------------------------------------------------
# scene
# --------------------------------------------------------------------------------------------
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


class NoiseCorpus:
    """Speech-like stand-in: Gaussian noise with a random syllable-rate (2-6 Hz) envelope.

    Not speech. Used by fast tests and benchmarks (spec ``"noise"``) so that they do not depend
    on speech synthesis; it has the :class:`audiolrp.simulation.speech.SpeechCorpus` sampling
    interface.
    """

    name = "noise"

    def speakers(self, split: str) -> list[str]:
        """Speaker names of ``split``."""
        return [f"noise-{split}"]

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description of the corpus."""
        return {"name": self.name, "kind": "amplitude-modulated Gaussian noise (not speech)"}

    def sample_segment(
        self, split: str, rng: np.random.Generator, duration_s: float = 1.0
    ) -> np.ndarray:
        """One segment of ``duration_s`` seconds."""
        n = int(round(duration_s * FS_HZ))
        t = np.arange(n) / FS_HZ
        env = np.abs(np.sin(2 * np.pi * rng.uniform(2.0, 6.0) * t + rng.uniform(0, np.pi)))
        return (rng.standard_normal(n) * env).astype(np.float32)

    def sample_segments(
        self, split: str, rng: np.random.Generator, n: int, duration_s: float = 1.0
    ) -> np.ndarray:
        """``n`` segments of ``duration_s`` seconds, stacked."""
        return np.stack([self.sample_segment(split, rng, duration_s) for _ in range(n)])


_CORPUS_CACHE: dict[tuple[str | None, int], Any] = {}


def get_corpus(spec: str | None = None, seed: int = 0) -> Any:
    """Open (once per process) a corpus: ``"noise"`` -> :class:`NoiseCorpus`, anything else
    (``None``/``"espeak"``/a path) -> :func:`audiolrp.simulation.speech.open_corpus`."""
    key = (spec, int(seed))
    if key not in _CORPUS_CACHE:
        if spec == "noise":
            _CORPUS_CACHE[key] = NoiseCorpus()
        else:

            _CORPUS_CACHE[key] = open_corpus(spec, seed=seed)
    return _CORPUS_CACHE[key]


def _rng(seed_or_rng: int | np.random.Generator | np.random.SeedSequence) -> np.random.Generator:
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    if isinstance(seed_or_rng, np.random.SeedSequence | int | np.integer):
        return np.random.default_rng(seed_or_rng)
    raise AudioLRPError(
        f"seed {seed_or_rng!r} is not an int, SeedSequence or np.random.Generator"
    )


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


def _direct_is_rank_one(direct: np.ndarray) -> np.ndarray | None:
    """SH gains g with ``direct[c] = g[c] * direct[0]`` if the direct RIR factorises."""
    w = direct[0]
    support = np.flatnonzero(w)
    if support.size == 0:
        return None
    lo, hi = int(support[0]), int(support[-1]) + 1
    if np.any(direct[:, :lo]) or np.any(direct[:, hi:]):
        return None
    p = lo + int(np.argmax(np.abs(w[lo:hi])))
    g = direct[:, p] / w[p]
    seg = direct[:, lo:hi]
    if np.allclose(seg, g[:, None] * w[None, lo:hi], rtol=1e-6, atol=1e-9 * abs(w[p])):
        return g
    return None


def _convolve_window(
    speech: np.ndarray, rirs: np.ndarray, start: int, n_out: int
) -> np.ndarray:
    """``fftconvolve(speech, rir)[start:start+n_out]`` for every row of ``rirs`` (float32).

    One forward FFT of the speech; the FFT size only has to avoid circular aliasing into the
    kept window (``len(speech) + len(rir) - 1 - start``), not the whole linear convolution.
    Single precision halves the cost; the error (~1e-7 of the peak) is far below the float32
    storage precision.
    """
    n_s, n_r = speech.shape[-1], rirs.shape[-1]
    n_fft = scipy.fft.next_fast_len(max(n_s + n_r - 1 - start, start + n_out), real=True)
    s_f = scipy.fft.rfft(speech.astype(np.float32), n_fft)
    r_f = scipy.fft.rfft(rirs.astype(np.float32), n_fft, axis=-1)
    r_f *= s_f[None, :]
    y = scipy.fft.irfft(r_f, n_fft, axis=-1, overwrite_x=True)
    return y[:, start : start + n_out]


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


def _scene_rir(config: SceneConfig, acoustics: _Acoustics) -> tuple[np.ndarray, np.ndarray]:
    """Recipe step 3: the HOA RIR ``(full, direct path)``, float64, truncated at
    ``min(rir_length_s, distance / c + rt60 * rir_decay_db / 60)``."""
    a = acoustics
    rir = _room_rir(config, a, a.source_m, a.distance_m, a.rir_seed)
    return np.asarray(rir.full, dtype=np.float64), np.asarray(rir.direct, dtype=np.float64)


def _room_rir(
    config: SceneConfig, acoustics: _Acoustics, source_m: np.ndarray, distance_m: float,
    seed: int,
) -> Any:
    """The scene room's HOA RIR from ``source_m`` to the receiver (the speech source of step 3
    and every point-noise source of step 5b), truncated at
    ``min(rir_length_s, distance / c + rt60 * rir_decay_db / 60)``."""
    a = acoustics
    if config.mic != "ideal":  # 3b. the same room recorded by the array
        return simulate_array_rir(
            config.mic_array(),
            tuple(a.room_m.tolist()),
            tuple(np.asarray(source_m).tolist()),
            tuple(a.receiver_m.tolist()),
            a.rt60_s,
            max_length_s=min(
                config.rir_length_s,
                distance_m / SPEED_OF_SOUND_M_S + a.rt60_s * config.rir_decay_db / 60.0,
            ),
            max_image_order=config.max_image_order,
            late_tail=config.late_tail,
            seed=seed,
        )
    return simulate_hoa_rir(
        tuple(a.room_m.tolist()),
        tuple(np.asarray(source_m).tolist()),
        tuple(a.receiver_m.tolist()),
        rt60_s=a.rt60_s,
        order=config.order,
        fs_hz=FS_HZ,
        max_length_s=min(
            config.rir_length_s,
            distance_m / SPEED_OF_SOUND_M_S + a.rt60_s * config.rir_decay_db / 60.0,
        ),
        max_image_order=config.max_image_order,
        late_tail=config.late_tail,
        seed=seed,
    )


def _draw_speech(
    corpus: Any, split: str, rng: np.random.Generator, lead: int
) -> np.ndarray:
    """Recipe step 4, the draw: ``lead + 1 s`` of target speech (float64) that is not silent
    inside the clip (up to 20 tries)."""
    for _ in range(20):
        seg = np.asarray(
            corpus.sample_segment(split, rng, duration_s=(lead + CLIP_SAMPLES) / FS_HZ),
            dtype=np.float64,
        )
        if seg.shape != (lead + CLIP_SAMPLES,):
            raise AudioLRPError(
                f"speech corpus returned a segment of shape {seg.shape}; expected "
                f"({lead + CLIP_SAMPLES},)"
            )
        if np.any(seg[lead:] != 0):
            return seg
    raise AudioLRPError("speech corpus returned only silent segments; check the corpus")


def tilt_filter(slope_db_per_octave: float, n_taps: int = TILT_TAPS) -> np.ndarray:
    """Linear-phase FIR of a spectral tilt (recipe step 5c), float64, ``n_taps`` odd.

    Magnitude response (frequency-sampling design, :func:`scipy.signal.firwin2`, Hamming
    window)::

        G(f) = 10^(g(f) / 20),  g(f) = clip(s * log2(max(f, f_1) / f_p), -G_max, G_max)

    with ``s`` the slope in dB per octave, ``f_p`` = :data:`TILT_PIVOT_HZ`, ``G_max`` =
    :data:`TILT_MAX_GAIN_DB` and ``f_1`` the first non-zero design frequency (the response is
    flat below it). The design meets ``g`` within 0.5 dB from 250 Hz to 7 kHz where ``|g|``
    is at least 3 dB below the limit (257 taps round the knee and smooth the response below
    250 Hz). Applied centred (:func:`apply_tilt`), so it adds no delay.
    """
    if n_taps < 3 or n_taps % 2 == 0:
        raise AudioLRPError(f"tilt filter length {n_taps} must be odd and >= 3")
    freq_hz = np.linspace(0.0, FS_HZ / 2, 257)
    octaves = np.log2(np.maximum(freq_hz, freq_hz[1]) / TILT_PIVOT_HZ)
    gain_db = np.clip(slope_db_per_octave * octaves, -TILT_MAX_GAIN_DB, TILT_MAX_GAIN_DB)
    taps = scipy.signal.firwin2(n_taps, freq_hz, 10.0 ** (gain_db / 20.0), fs=FS_HZ)
    return np.asarray(taps, np.float64)


def apply_tilt(signal: np.ndarray, slope_db_per_octave: float) -> np.ndarray:
    """``signal`` (1-D, float64) filtered with :func:`tilt_filter`, centred (no delay), same
    length. A slope of 0 returns the signal unchanged."""
    if slope_db_per_octave == 0.0:
        return signal
    taps = tilt_filter(slope_db_per_octave)
    return np.asarray(scipy.signal.oaconvolve(signal, taps, mode="same"))


def lowpass_filter(cutoff_hz: float, n_taps: int = LOWPASS_TAPS) -> np.ndarray:
    """Linear-phase low-pass FIR of the talker's band limit (recipe step 5d), float64.

    The windowed ideal low-pass (:func:`scipy.signal.firwin`, Hamming window, DC gain 1)::

        h[n] = w[n] * 2 f_c / f_s * sinc(2 f_c / f_s * (n - (L - 1) / 2)),  n = 0 .. L-1

    normalised to ``sum h = 1``. Its gain is -6 dB at ``f_c``, within 0.1 dB of 1 below
    ``f_c - 250 Hz`` and at least 50 dB down above ``f_c + 250 Hz`` (257 taps at 16 kHz).
    Applied centred (:func:`apply_lowpass`), so it adds no delay.
    """
    if n_taps < 3 or n_taps % 2 == 0:
        raise AudioLRPError(f"low-pass filter length {n_taps} must be odd and >= 3")
    if not 0.0 < cutoff_hz < FS_HZ / 2:
        raise AudioLRPError(f"low-pass cut-off {cutoff_hz} Hz must lie in (0, {FS_HZ / 2:g}) Hz")
    taps = scipy.signal.firwin(n_taps, cutoff_hz, window="hamming", fs=FS_HZ)
    return np.asarray(taps, np.float64)


def apply_lowpass(signal: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """``signal`` (1-D, float64) filtered with :func:`lowpass_filter`, centred (no delay), same
    length."""
    taps = lowpass_filter(cutoff_hz)
    return np.asarray(scipy.signal.oaconvolve(signal, taps, mode="same"))


def _speech_image(
    speech: np.ndarray, full_rir: np.ndarray, direct_rir: np.ndarray, lead: int, n_sh: int
) -> tuple[np.ndarray, np.ndarray]:
    """Recipe step 4, the convolution: ``(direct, reverberant)`` float32 of the 1-s clip after
    the lead-in (the direct path costs one channel when it factorises)."""
    g = _direct_is_rank_one(direct_rir)
    if g is not None:  # direct path = SH gains x one filter: 1 convolution instead of n_sh
        reverb_rir = full_rir - direct_rir
        conv = _convolve_window(speech, np.vstack([reverb_rir, direct_rir[:1]]), lead,
                                CLIP_SAMPLES)
        return g.astype(np.float32)[:, None] * conv[-1:], conv[:-1]
    conv = _convolve_window(speech, np.vstack([full_rir - direct_rir, direct_rir]), lead,
                            CLIP_SAMPLES)
    return conv[n_sh:], conv[:n_sh]


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


def _convolve_sum_window(
    signals: list[np.ndarray], rirs: list[np.ndarray], start: int, n_out: int
) -> np.ndarray:
    """``sum_k fftconvolve(signals[k], rirs[k][c])[start:start+n_out]`` for every channel c.

    The sum is taken in the frequency domain (one inverse FFT for all sources); FFT size and
    float32 precision as in :func:`_convolve_window`.
    """
    n_s = max(x.shape[-1] for x in signals)
    n_r = max(r.shape[-1] for r in rirs)
    n_fft = scipy.fft.next_fast_len(max(n_s + n_r - 1 - start, start + n_out), real=True)
    acc: np.ndarray | None = None
    for x, r in zip(signals, rirs, strict=True):
        r_f = scipy.fft.rfft(r.astype(np.float32), n_fft, axis=-1)
        r_f *= scipy.fft.rfft(x.astype(np.float32), n_fft)[None, :]
        if acc is None:
            acc = r_f
        else:
            acc += r_f
    assert acc is not None
    y = scipy.fft.irfft(acc, n_fft, axis=-1, overwrite_x=True)
    return np.ascontiguousarray(y[:, start : start + n_out])


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


def _drr_db(full_rir: np.ndarray, direct_rir: np.ndarray) -> float:
    """Direct-to-reverberant energy ratio of the RIR's W channel in dB."""
    rev_energy = float(np.sum((full_rir[0] - direct_rir[0]) ** 2))
    return 10 * math.log10(float(np.sum(direct_rir[0] ** 2)) / max(rev_energy, 1e-30))


def simulate_scene(
    config: SceneConfig | None = None,
    seed_or_rng: int | np.random.Generator | np.random.SeedSequence = 0,
    corpus: Any = None,
    *,
    split: str = "train",
) -> Scene:
    """Simulate one example (module docstring, steps 1-6). Same seed -> identical scene.

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
    if tilt_db_per_octave is not None:
        params["speech_tilt_db_per_octave"] = tilt_db_per_octave
    if lowpass_hz is not None:
        params["speech_lowpass_hz"] = lowpass_hz
    if point is not None:
        params.update(point.params())
    f32 = np.float32
    direct = (direct * f32(gain)).astype(f32)
    reverberant = (reverberant * f32(gain)).astype(f32)
    noise = (noise * f32(gain * noise_gain)).astype(f32)
    if cfg.mic != "ideal":
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


def _speaker_info(corpus: Any) -> dict[str, Any]:
    """Best-effort metadata of the last target segment drawn from the corpus."""
    info: dict[str, Any] = {"corpus": str(getattr(corpus, "name", type(corpus).__name__))}
    last = getattr(corpus, "last_segment_info", None)
    if callable(last):
        last = last()
    if isinstance(last, dict):
        info.update(
            {(k if k == "speaker" else f"speech_{k}"): v for k, v in last.items() if _jsonable(v)}
        )
    return info


def _jsonable(v: Any) -> bool:
    try:
        json.dumps(v)
        return True
    except TypeError:
        return False


__all__ = [
    "SELF_NOISE_REFS",
    "MAX_DESIGN_DEGREE",
    "MAX_POINT_NOISE",
    "MAX_SCENE_ORDER",
    "LOWPASS_RANGE_HZ",
    "LOWPASS_TAPS",
    "MAX_TILT_DB_PER_OCTAVE",
    "PINK_LOW_HZ",
    "POINT_NOISE_KINDS",
    "SPLITS",
    "TILT_MAX_GAIN_DB",
    "TILT_PIVOT_HZ",
    "TILT_TAPS",
    "NoiseCorpus",
    "Scene",
    "SceneConfig",
    "SourceDirection",
    "apply_lowpass",
    "apply_tilt",
    "babble_sh",
    "check_scene_order",
    "draw_direction",
    "get_corpus",
    "lowpass_filter",
    "sample_geometry",
    "simulate_scene",
    "tilt_filter",
]
