"""The model façade: :class:`LoadedModel`, what :func:`audiolrp.models.load` returns.

It owns the model work that needs no relevance engine: the one audio -> model-input path
(:meth:`LoadedModel.input`: level gain to the training level, then the paper's features) and
prediction (:meth:`LoadedModel.predict` for audio, :meth:`LoadedModel.predict_features` for
ready features), in batches. Explanations are made from the same inputs by
:class:`audiolrp.app.explainer.Explainer`, which holds a ``LoadedModel``.

Level invariance: the HOA features are linear STFT magnitudes and the intensity features carry
an absolute regulariser, so a model's output depends on the input level. Every training scene
had W RMS ``target_rms`` (0.05); :meth:`LoadedModel.input` scales each clip to the level the
model file records (``input_level.w_rms``) before the features, so predictions and relevance
are the same for any level of the same clip (float rounding aside), and a clip of digital
silence is flagged instead of amplified (:mod:`audiolrp.signal.levels`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from audiolrp.constants import CLIP_SAMPLES, N_BINS, N_CLASSES, N_FRAMES
from audiolrp.errors import AudioLRPError
from audiolrp.models.conformer import ConformerDOA
from audiolrp.models.crnn import CRNN
from audiolrp.models.multisource import (
    SourceDetector,
    SourcesPrediction,
    detector_of,
    model_task,
)
from audiolrp.models.prediction import DirectionRefinement, Prediction, view_transforms
from audiolrp.signal.augmentation import sh_transform_matrix
from audiolrp.signal.features import compute_features
from audiolrp.signal.layout import InputLayout
from audiolrp.signal.levels import level_gains

#: W RMS of every training scene (``SceneConfig.target_rms``); models without an
#: ``input_level`` entry were trained at it.
DEFAULT_INPUT_RMS: float = 0.05
#: Clips per forward pass.
PREDICT_BATCH: int = 16


@dataclass
class ModelInput:
    """Model input of ``B`` clips and how their level was brought to the model's.

    Attributes
    ----------
    features
        ``(B, C, 50, 512)`` float32 features of the level-normalised clips.
    level_dbfs
        ``(B,)`` W level of the clips as given.
    gain
        ``(B,)`` linear gain applied before the features (1 for silent clips).
    silent
        ``(B,)`` bool: digital silence (features of the unscaled clip; no direction).
    """

    features: np.ndarray
    level_dbfs: np.ndarray
    gain: np.ndarray
    silent: np.ndarray


@dataclass
class LoadedModel:
    """A model read by :func:`audiolrp.models.load`: the network in eval mode plus its JSON
    description, with the one audio -> input path and prediction.

    Attributes
    ----------
    model
        The :class:`CRNN` or :class:`~audiolrp.models.conformer.ConformerDOA` (``eval()``
        mode, on the CPU unless ``device`` was given).
    config
        The full JSON description written by :func:`audiolrp.models.save` (architecture,
        feature, order, STFT, normalisation, input level, direction refinement, class grid,
        data recipe, metrics, training details).
    path
        Path of the JSON file the model was read from.
    name
        Registry name for shipped models, else the file stem.
    """

    model: CRNN | ConformerDOA
    config: dict[str, Any]
    path: Path
    name: str

    # ------------------------------------------------------------------------ description
    @property
    def feature(self) -> str:
        """``"hoa"`` or ``"intensity"``."""
        return str(self.config["feature"])

    @property
    def order(self) -> int:
        """Ambisonics order of the input audio (:attr:`InputLayout.order`)."""
        return InputLayout.of(self.feature, self.config.get("order")).order

    @property
    def layout(self) -> InputLayout:
        """The model input's channel layout (names, groups, axes, counts)."""
        return InputLayout.of(self.feature, self.config.get("order"))

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Names of the input feature channels (:attr:`InputLayout.names`)."""
        return self.layout.names

    @property
    def n_audio_channels(self) -> int:
        """AmbiX channels of the audio the model reads."""
        return self.layout.n_audio_channels

    @property
    def task(self) -> str:
        """``"single"`` (one talker per clip, softmax head: :meth:`predict`) or ``"multi"``
        (several talkers, sigmoid head: :meth:`detect_sources`)."""
        return model_task(self.config)

    @property
    def detector(self) -> SourceDetector:
        """The source detector stored in a multi-source model's file
        (:mod:`audiolrp.models.multisource`)."""
        if self.task != "multi":
            raise AudioLRPError(
                f"model {self.name!r} has one talker per clip (softmax head): use predict(); "
                "detect_sources() needs a multi-source model (e.g. multi-intensity)"
            )
        return detector_of(self.config)

    @property
    def metrics(self) -> dict[str, Any]:
        """Test metrics stored on the model card (empty if none)."""
        return dict(self.config.get("metrics") or {})

    @property
    def data_recipe(self) -> dict[str, Any]:
        """The training data recipe stored with the model (empty if none)."""
        return dict(self.config.get("data_recipe") or {})

    @property
    def input_rms(self) -> float:
        """W RMS the model was trained at: every clip is scaled to it before the features."""
        entry = self.config.get("input_level") or {}
        return float(entry.get("w_rms", DEFAULT_INPUT_RMS))

    @property
    def refinement(self) -> DirectionRefinement:
        """How :meth:`predict` refines the argmax class into a direction (model file's
        ``direction_refinement``; the class direction when absent)."""
        return DirectionRefinement.from_config(self.config.get("direction_refinement"))

    @property
    def device(self) -> torch.device:
        """Device of the network's parameters."""
        return next(self.model.parameters()).device

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Frame scores of the network for ``x``."""
        return self.model(x)

    # ------------------------------------------------------------------------------ input
    def _clips(self, audio: np.ndarray) -> np.ndarray:
        x = np.asarray(audio)
        need = self.n_audio_channels
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[1] < need or x.shape[2] != CLIP_SAMPLES:
            raise AudioLRPError(
                f"audio has shape {np.shape(audio)}; the {self.name} model needs "
                f"(B, >= {need} AmbiX channels, {CLIP_SAMPLES} samples): pass 1-s AmbiX "
                "(ACN/SN3D) clips at 16 kHz"
            )
        if not np.issubdtype(x.dtype, np.floating) and not np.issubdtype(x.dtype, np.integer):
            raise AudioLRPError(f"audio has dtype {x.dtype}: pass real-valued samples")
        return x[:, :need]

    def input(self, audio: np.ndarray, *, level: bool = True) -> ModelInput:
        """The one audio -> model input: level gain to :attr:`input_rms`, then features.

        Parameters
        ----------
        audio
            One clip ``(n_sh, 16000)`` or clips ``(B, n_sh, 16000)``: AmbiX (ACN/SN3D) at
            16 kHz, any level; channels beyond the model's order are ignored.
        level
            Scale each clip to the training level first (default). ``False`` computes the
            features of the audio as given (for audio already at the training level, e.g.
            the simulator's scenes, this differs only by float rounding).

        Returns
        -------
        ModelInput
            Features ``(B, C, 50, 512)`` (``B = 1`` for one clip), levels, gains, silence.
        """
        x = self._clips(audio)
        gain, level_dbfs, silent = level_gains(x, self.input_rms)
        if not level:
            gain = np.ones_like(gain)
        # the gain in float64, the features in float32 (as in training, from stored audio)
        scaled = (np.asarray(x, np.float64) * gain[:, None, None]).astype(np.float32)
        out = np.asarray(compute_features(scaled, self.feature, self.order), dtype=np.float32)
        return ModelInput(out, level_dbfs, gain, silent)

    def features(self, audio: np.ndarray) -> np.ndarray:
        """Features ``(B, C, 50, 512)`` of clips (``(C, 50, 512)`` for one clip ``(n_sh,
        16000)``), level-normalised (:meth:`input`)."""
        feats = self.input(audio).features
        return feats[0] if np.ndim(audio) == 2 else feats

    # ---------------------------------------------------------------------------- predict
    def scores(
        self, features: np.ndarray, batch_size: int = PREDICT_BATCH
    ) -> tuple[np.ndarray, np.ndarray]:
        """Frame scores ``(B, 50, 425)`` and clip probabilities ``(B, 425)`` of features
        ``(B, C, 50, 512)``, in batches (clip probability: mean over frames of the softmax;
        for a multi-source model the clip activity, the mean frame sigmoid)."""
        x = np.asarray(features, dtype=np.float32)
        if x.ndim != 4 or x.shape[1] != self.layout.n_channels:
            raise AudioLRPError(
                f"features have shape {x.shape}; the {self.name} model reads "
                f"(B, {self.layout.n_channels}, {N_FRAMES}, {N_BINS}): use LoadedModel.input"
            )
        scores = np.empty((x.shape[0], N_FRAMES, N_CLASSES), np.float32)
        probs = np.empty((x.shape[0], N_CLASSES), np.float32)
        dev = self.device
        with torch.no_grad():
            for i in range(0, x.shape[0], batch_size):
                xb = torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size])).to(dev)
                s = self.model(xb)
                scores[i : i + batch_size] = s.cpu().numpy()
                probs[i : i + batch_size] = self.model.clip_probabilities(s).cpu().numpy()
        return scores, probs

    def predict_features(
        self, features: np.ndarray, batch_size: int = PREDICT_BATCH
    ) -> Prediction:
        """:class:`Prediction` of ready features ``(B, C, 50, 512)`` (levels unknown: NaN)."""
        _, probs = self.scores(features, batch_size)
        return Prediction.from_probabilities(probs, self.refinement)

    def predict(
        self,
        clips: np.ndarray,
        *,
        batch_size: int = PREDICT_BATCH,
        progress: Callable[[int], None] | None = None,
        level: bool = True,
        views: int | None = None,
    ) -> Prediction:
        """Directions of arrival of 1-s AmbiX clips at any level.

        Parameters
        ----------
        clips
            ``(B, n_sh, 16000)`` (or one clip ``(n_sh, 16000)``) AmbiX ACN/SN3D at 16 kHz,
            ``n_sh >= (N+1)^2`` for the model's order N (4 for ``intensity``).
        batch_size
            Clips per forward pass (bounds the memory of the features).
        progress
            Called with the number of clips done after each batch (e.g. a progress bar).
        level
            Bring each clip to the training level first (default; :meth:`input`). ``False``
            reads the audio as given, as before level invariance existed (for comparisons).
        views
            Sound-field views fused into the direction (default: the model's refinement,
            :attr:`refinement`; 1: the clip as given, fastest). Each view costs one forward
            pass; the class, probabilities and confidence are those of the clip as given.

        Returns
        -------
        Prediction
            Refined directions, classes, probabilities, confidence, levels and silence flags.
        """
        if self.task == "multi":
            raise AudioLRPError(
                f"model {self.name!r} detects several talkers per clip: use "
                f"detect_sources(clips) (or `audiolrp locate --model {self.name}`), not predict()"
            )
        ref = self.refinement
        if views is not None:
            ref = DirectionRefinement(ref.radius_deg, ref.power, int(views))
        vp, levels, silent = self.view_probabilities(
            clips, ref.views, batch_size=batch_size, progress=progress, level=level
        )
        return Prediction.from_probabilities(vp[0], ref, levels, silent, vp)

    def detect_sources(
        self,
        clips: np.ndarray,
        *,
        batch_size: int = PREDICT_BATCH,
        progress: Callable[[int], None] | None = None,
        level: bool = True,
    ) -> SourcesPrediction:
        """The talkers in 1-s AmbiX clips at any level (multi-source models).

        Each clip is brought to the training level (:meth:`input`), its activity map (mean
        frame sigmoid over the 425 classes) is computed and the model file's detector
        (:attr:`detector`: peak picking with its source counter) reads the sources from it.

        Parameters
        ----------
        clips
            ``(B, n_sh, 16000)`` (or one clip ``(n_sh, 16000)``) AmbiX ACN/SN3D at 16 kHz.
        batch_size, progress, level
            As in :meth:`predict`.

        Returns
        -------
        SourcesPrediction
            Per clip: the sources' directions, classes and activities; levels, silence flags.
        """
        detector = self.detector
        vp, levels, silent = self.view_probabilities(
            clips, 1, batch_size=batch_size, progress=progress, level=level
        )
        return SourcesPrediction.from_activity(vp[0], detector, levels, silent)

    def view_probabilities(
        self,
        clips: np.ndarray,
        views: int = 1,
        *,
        batch_size: int = PREDICT_BATCH,
        progress: Callable[[int], None] | None = None,
        level: bool = True,
        start: int = 0,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Clip probabilities of each sound-field view of 1-s AmbiX clips.

        View ``k`` is the clip transformed by ``T(R_k)`` (Eq. A1 of
        :mod:`audiolrp.signal.augmentation`, ``R_k`` from
        :func:`~audiolrp.models.prediction.view_transforms`; view 0 is the clip as given).
        The W channel, hence the level gain and the silence flag, is the same in every view.
        Views before ``start`` are not computed (their rows stay zero: for a caller that
        already has view 0's probabilities).

        Returns
        -------
        probabilities : np.ndarray
            ``(views, B, 425)`` float64 (zero rows for silent clips).
        level_dbfs : np.ndarray
            ``(B,)`` W level of each clip as given.
        silent : np.ndarray
            ``(B,)`` bool.
        """
        x = self._clips(clips)
        b = x.shape[0]
        if not 0 <= start < views:
            raise AudioLRPError(f"start={start} is invalid: pass 0..{views - 1}")
        mats = [sh_transform_matrix(self.order, t.matrix3()) for t in view_transforms(views)]
        probs = np.zeros((views, b, N_CLASSES), np.float64)
        levels = np.empty(b)
        silent = np.zeros(b, bool)
        for i in range(0, b, batch_size):
            xb = np.asarray(x[i : i + batch_size], np.float64)
            for k, mat in enumerate(mats[start:], start):
                view = xb if k == 0 else np.einsum("kc,bct->bkt", mat, xb)
                inp = self.input(view, level=level)
                if k == start:
                    levels[i : i + batch_size] = inp.level_dbfs
                    silent[i : i + batch_size] = inp.silent
                keep = np.flatnonzero(~silent[i : i + batch_size])
                if keep.size:
                    _, p = self.scores(inp.features[keep], batch_size)
                    probs[k, i + keep] = p
            if progress is not None:
                progress(min(batch_size, b - i))
        return probs, levels, silent


__all__ = ["DEFAULT_INPUT_RMS", "PREDICT_BATCH", "LoadedModel", "ModelInput"]
