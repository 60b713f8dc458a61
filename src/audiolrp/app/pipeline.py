"""Clip analysis for the demo and recording reports: the app's one batched explain
(:func:`explain_paper`) and the per-clip steps of the paper.

For one 1-s clip the steps are those of the paper:

1. features (HOA magnitude/phase or active/reactive intensity; section "Experimental Setup")
   of the clip brought to the model's training level (:meth:`LoadedModel.input`),
2. DOA prediction: clip probabilities = mean over the 50 frames of the frame softmax; the
   argmax class and the direction refined from the probabilities around it,
3. LRP relevance of the predicted class's pre-softmax score (paper composite: alpha1-beta0
   for convolutions, epsilon = 0.01 for dense and LSTM layers; Eq. 2 and its variants; a
   conformer model with the ``attn_lrp`` composite: :func:`default_method`),
4. channel relevance (relevance summed over time and frequency per input channel; Fig. 3),
5. pixel flipping (time-frequency bins zeroed in order of relevance while the explained
   class's score is tracked; Fig. 4),
6. auralization (relevance-filtered input, Eq. 3 and Eq. 4; Fig. 2(d)).

The report folders (``audiolrp demo`` / ``audiolrp explain FILE``) are composed and written by
:mod:`audiolrp.report.pages`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from audiolrp import lrp
from audiolrp.analysis.auralization import auralize as aur
from audiolrp.analysis.channel_relevance import channel_relevance as cr
from audiolrp.analysis.heatmaps import audio_channel_heatmaps
from audiolrp.analysis.pixel_flipping import PixelFlippingResult, pixel_flipping
from audiolrp.models import LoadedModel, Prediction
from audiolrp.progress import Progress
from audiolrp.signal.ambisonics import doa_grid
from audiolrp.signal.layout import InputLayout
from audiolrp.signal.levels import level_gains

DEFAULT_MODEL = "intensity"
PIXEL_FLIPPING_STEPS = 10
#: The relevance method of the app's explanations of a CRNN, as the reports name it
#: (:func:`relevance_method_name` of any method).
RELEVANCE_METHOD = "LRP (paper composite)"
#: The LRP preset a model is explained with unless a method is given, by the architecture its
#: file records (``architecture.class``; a file without one is a CRNN): the paper's composite
#: for the CRNN, AttnLRP for the conformer (its attention, LayerNorm and GLU rules;
#: docs/lrp.md). An architecture not listed gets ``paper``.
DEFAULT_METHODS: dict[str, str] = {"CRNN": "paper", "ConformerDOA": "attn_lrp"}


def default_method(handle: LoadedModel) -> str:
    """The relevance method of ``handle`` when none is chosen (:data:`DEFAULT_METHODS` of its
    file's architecture)."""
    arch = (handle.config.get("architecture") or {}).get("class", "CRNN")
    return DEFAULT_METHODS.get(str(arch), "paper")


def relevance_method_name(method: str) -> str:
    """A method name (:func:`audiolrp.lrp.parse_method`) as the reports print it:
    ``"LRP (paper composite)"``, ``"LRP (attn_lrp composite)"``, ``"gradient"``, ..."""
    meth, composite = lrp.parse_method(method)
    return f"LRP ({composite} composite)" if meth == "lrp" else meth


def explain_paper(
    handle: LoadedModel,
    x: np.ndarray,
    targets: Sequence[int] | np.ndarray | None = None,
    batch_size: int | None = None,
    method: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The app's one batched explain: relevance ``(B, C, 50, 512)`` float32 of the
    ``targets``' pre-softmax scores (``None``: each clip's predicted class) and the predicted
    classes ``(B,)``, :func:`audiolrp.lrp.explain_batches`.

    ``method`` (an LRP preset or a reference method, :func:`audiolrp.lrp.parse_method`)
    defaults to the model's :func:`default_method`: for a CRNN the paper composite
    (LRP-alpha1beta0 for convolutions, LRP-epsilon 0.01 for dense and LSTM layers; Eq. 2 and
    its variants), for a conformer ``attn_lrp``.
    """
    tgt = None if targets is None else np.asarray(targets, dtype=np.int64)
    meth, composite = lrp.parse_method(method or default_method(handle))
    return lrp.explain_batches(
        handle.model, x, tgt, batch_size=batch_size, composite=composite, method=meth
    )


# ----------------------------------------------------------------------------- clip analysis
@dataclass
class ClipAnalysis:
    """Everything computed for one 1-s clip (arrays are NumPy, one example)."""

    features: np.ndarray  # (C, 50, 512)
    frame_scores: np.ndarray  # (50, 425) pre-softmax
    probabilities: np.ndarray  # (425,) mean frame softmax
    predicted_class: int
    confidence: float
    azimuth_rad: float  # refined direction (finer than the grid; LoadedModel.refinement)
    elevation_rad: float
    target_class: int
    class_azimuth_rad: float = float("nan")  # direction of the predicted class
    class_elevation_rad: float = float("nan")
    level_dbfs: float = float("nan")  # W level of the clip as given
    silent: bool = False
    relevance: np.ndarray | None = None  # (C, 50, 512)
    relevance_method: str = ""
    channel_relevance: np.ndarray | None = None  # (C,)
    heatmaps: np.ndarray | None = None  # (K_audio, 50, 512)
    pixel_flipping: dict[str, Any] | None = None
    filtered_audio: np.ndarray | None = None  # (K_audio, 16000)


def class_directions_rad() -> np.ndarray:
    """``(425, 2)`` float64 ``[azimuth_rad, elevation_rad]`` of the DOA classes
    (:func:`audiolrp.signal.ambisonics.doa_grid`)."""
    return np.asarray(doa_grid(), dtype=np.float64)



def channel_relevance(relevance: np.ndarray) -> np.ndarray:
    """Signed relevance per input channel, summed over time and frequency (paper Fig. 3), ``(C,)``.

    Uses :func:`audiolrp.analysis.channel_relevance.channel_relevance` (``absolute=False``).
    """

    return np.asarray(cr(relevance, absolute=False), dtype=np.float64)


def pixel_flipping_curves(
    handle: LoadedModel,
    x: np.ndarray,
    relevance: np.ndarray,
    labels: Sequence[int],
    n_steps: int = PIXEL_FLIPPING_STEPS,
    seed: int = 0,
    groups: bool = True,
) -> dict[str, Any]:
    """Pixel flipping (paper Fig. 4, a short version) on one or a few examples.

    Runs :func:`audiolrp.analysis.pixel_flipping.pixel_flipping`: time-frequency bins ranked by
    relevance (summed over the perturbed channels) are set to the normalised zero in ``n_steps``
    equal steps up to 100 %, while the clip probability of ``labels`` is tracked. Curves: all
    channels most relevant first (LRP) and in a seeded random order; with ``groups``, also the
    paper's channel groups, most relevant first: active / reactive intensity for the intensity
    model, magnitude / phase channels for HOA models.

    Parameters
    ----------
    x, relevance
        ``(N, C, T, F)`` inputs and their relevance (``(C, T, F)`` for one example).
    labels
        Class per example whose probability is tracked (the explained class).

    Returns
    -------
    dict
        ``fractions``, ``curves`` (name -> mean scores), ``aopc`` (name -> AOPC),
        ``n_examples`` and the settings; ``results`` holds the
        :class:`~audiolrp.analysis.pixel_flipping.PixelFlippingResult` objects (dropped from
        JSON by the callers).
    """

    if x.ndim == 3:
        x, relevance = x[None], relevance[None]
    x32 = np.ascontiguousarray(x, dtype=np.float32)
    r32 = np.ascontiguousarray(relevance, dtype=np.float32)
    results = {
        name: pixel_flipping(
            handle.model, x32, r32, list(labels), n_steps=n_steps,
            order=order, channels=channels, seed=seed,  # type: ignore[arg-type]
        )
        for name, (order, channels) in flipping_runs(handle.layout, groups).items()
    }
    return curves_summary(results, int(x32.shape[0]))


def flipping_runs(
    layout: InputLayout, groups: bool = True
) -> dict[str, tuple[str, tuple[int, ...] | None]]:
    """The pixel-flipping curves of a clip analysis: name -> (order, channels). All channels
    most relevant first and in random order; with ``groups``, each half of the layout
    (active / reactive intensity, magnitude / phase channels) most relevant first."""
    runs: dict[str, tuple[str, tuple[int, ...] | None]] = {
        "all channels, most relevant first (LRP)": ("most_relevant", None),
        "all channels, random order": ("random", None),
    }
    if groups:
        for name, channels in layout.part_groups.items():
            runs[f"{name} only, most relevant first"] = ("most_relevant", channels)
    return runs


def curves_summary(results: dict[str, PixelFlippingResult], n_examples: int) -> dict[str, Any]:
    """JSON-ready mean curves and AOPC of pixel-flipping ``results`` (the result objects are
    kept under ``results``)."""
    first = next(iter(results.values()))
    return {
        "n_examples": n_examples,
        "fractions": [float(v) for v in first.fractions],
        "curves": {k: [float(v) for v in r.mean] for k, r in results.items()},
        "aopc": {k: round(r.aopc, 6) for k, r in results.items()},
        "score": "clip probability of the explained class (mean over examples)",
        "perturbation": f"time-frequency bins set to baseline '{first.baseline}'",
        "results": results,
    }


def clip_prediction(
    handle: LoadedModel, features: np.ndarray, audio: np.ndarray | None = None
) -> ClipAnalysis:
    """Frame scores, clip probabilities, the predicted class and the refined direction of one
    clip's features ``(C, 50, 512)`` (:meth:`LoadedModel.scores`, :class:`Prediction`); the
    explained class is the predicted one. With the clip's ``audio`` and a model that fuses
    several sound-field views, the direction is the fused one (:meth:`LoadedModel.predict`)."""
    scores, probs = handle.scores(features[None])
    pred = Prediction.from_probabilities(probs, handle.refinement)
    if audio is not None and handle.refinement.views > 1:
        # views 1..V-1 of the audio; view 0 is the features' forward pass above
        vp, _, _ = handle.view_probabilities(np.asarray(audio)[None], handle.refinement.views,
                                             start=1)
        vp[0] = probs
        fused = Prediction.from_probabilities(probs, handle.refinement, view_probabilities=vp)
        pred.direction = np.where(pred.silent[:, None], pred.direction, fused.direction)
        pred.refinement = fused.refinement
    cls = int(pred.class_index[0])
    return ClipAnalysis(
        features=features,
        frame_scores=scores[0],
        probabilities=probs[0].astype(np.float64),
        predicted_class=cls,
        confidence=float(pred.confidence[0]),
        azimuth_rad=float(np.radians(pred.azimuth_deg[0])),
        elevation_rad=float(np.radians(pred.elevation_deg[0])),
        target_class=cls,
        class_azimuth_rad=float(class_directions_rad()[cls, 0]),
        class_elevation_rad=float(class_directions_rad()[cls, 1]),
    )


def analyse_clip(
    handle: LoadedModel,
    audio: np.ndarray,
    *,
    features: np.ndarray | None = None,
    relevance: np.ndarray | None = None,
    pixel_flipping: bool = True,
    pixel_flipping_steps: int = PIXEL_FLIPPING_STEPS,
    auralize: bool = True,
    seed: int = 0,
    progress: Progress | None = None,
    method: str | None = None,
) -> ClipAnalysis:
    """Predict, explain and analyse one 1-s AmbiX clip ``(n_sh, 16000)`` at 16 kHz.

    ``features`` / ``relevance`` may be passed when already computed (e.g. batched over the
    windows of a recording); ``method`` is the relevance method (default: the model's
    :func:`default_method`).
    """

    prog = progress or Progress(0, enabled=False)
    if features is None:
        inp = handle.input(audio)
        features, level, silent = inp.features[0], inp.level_dbfs, inp.silent
    else:
        _, level, silent = level_gains(audio, handle.input_rms)
    res = clip_prediction(handle, features, None if silent[0] else audio)
    res.level_dbfs, res.silent = float(level[0]), bool(silent[0])
    pred = res.predicted_class
    method = method or default_method(handle)
    res.relevance_method = relevance_method_name(method)
    if relevance is None:
        with prog.step("explaining the prediction with LRP", "lrp"):
            relevance = explain_paper(handle, features[None], [pred], method=method)[0][0]
    res.relevance = np.asarray(relevance, dtype=np.float64)
    res.channel_relevance = channel_relevance(res.relevance)

    res.heatmaps = audio_channel_heatmaps(res.relevance, handle.feature, handle.order)
    if pixel_flipping:
        with prog.step("pixel flipping", "pixel_flipping"):
            res.pixel_flipping = pixel_flipping_curves(
                handle, features, res.relevance, [pred], pixel_flipping_steps, seed
            )
    if auralize:
        with prog.step("auralizing the relevance (Eq. 3, 4)", "auralization"):
            k = handle.layout.n_audio_channels
            res.filtered_audio = np.asarray(aur(audio[:k], res.heatmaps[:k]), dtype=np.float64)
    return res


__all__ = [
    "DEFAULT_METHODS",
    "DEFAULT_MODEL",
    "ClipAnalysis",
    "analyse_clip",
    "channel_relevance",
    "class_directions_rad",
    "clip_prediction",
    "curves_summary",
    "default_method",
    "explain_paper",
    "RELEVANCE_METHOD",
    "flipping_runs",
    "pixel_flipping_curves",
    "relevance_method_name",
]
