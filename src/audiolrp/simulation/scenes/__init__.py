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

Modules, one job each (every public name is re-exported here; patch names in their owner):
:mod:`~audiolrp.simulation.scenes.config` (SceneConfig, its checks and limits),
:mod:`~audiolrp.simulation.scenes.corpus` (get_corpus, NoiseCorpus),
:mod:`~audiolrp.simulation.scenes.geometry` (steps 1-2),
:mod:`~audiolrp.simulation.scenes.rir` (steps 3-4: RIRs, speech image, convolution),
:mod:`~audiolrp.simulation.scenes.talker` (step 4's speech draw, 5c tilt, 5d band limit),
:mod:`~audiolrp.simulation.scenes.babble` (step 5),
:mod:`~audiolrp.simulation.scenes.point_noise` (step 5b),
:mod:`~audiolrp.simulation.scenes.scene` (Scene, simulate_scene: the steps in order, 6, 6b).
The private helpers imported as ``_name as _name`` are re-exported for the tests that check
them.
"""

from __future__ import annotations

from audiolrp.simulation.scenes.babble import _random_rotation as _random_rotation
from audiolrp.simulation.scenes.babble import babble_sh
from audiolrp.simulation.scenes.config import (
    LOWPASS_RANGE_HZ,
    MAX_DESIGN_DEGREE,
    MAX_POINT_NOISE,
    MAX_SCENE_ORDER,
    MAX_TILT_DB_PER_OCTAVE,
    POINT_NOISE_KINDS,
    SELF_NOISE_REFS,
    SPLITS,
    SceneConfig,
    check_scene_order,
)
from audiolrp.simulation.scenes.corpus import NoiseCorpus, get_corpus
from audiolrp.simulation.scenes.geometry import SourceDirection, draw_direction, sample_geometry
from audiolrp.simulation.scenes.point_noise import PINK_LOW_HZ
from audiolrp.simulation.scenes.point_noise import _noise_signal as _noise_signal
from audiolrp.simulation.scenes.rir import _convolve_sum_window as _convolve_sum_window
from audiolrp.simulation.scenes.rir import _convolve_window as _convolve_window
from audiolrp.simulation.scenes.rir import _direct_is_rank_one as _direct_is_rank_one
from audiolrp.simulation.scenes.scene import Scene, simulate_scene
from audiolrp.simulation.scenes.talker import (
    LOWPASS_TAPS,
    TILT_MAX_GAIN_DB,
    TILT_PIVOT_HZ,
    TILT_TAPS,
    apply_lowpass,
    apply_tilt,
    lowpass_filter,
    tilt_filter,
)

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
