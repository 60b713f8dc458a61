"""The :class:`Explainer`: the app's one object for model work on audio.

It holds a :class:`~audiolrp.models.LoadedModel` (the model façade of
:func:`audiolrp.models.load`: audio -> input at the training level, prediction with refined
directions) and adds what needs the relevance engine: LRP in batches (the preset of the model's
architecture unless a method is chosen: paper for a CRNN, attn_lrp for a conformer) and the
per-clip analyses. The demo, the recording analysis, the replication, the directions analysis
and the commands get their model through :meth:`Explainer.load` and do every model step
through it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from audiolrp.app.pipeline import (
    ClipAnalysis,
    analyse_clip,
    default_method,
    explain_paper,
    pixel_flipping_curves,
    relevance_method_name,
)
from audiolrp.models import LoadedModel, ModelInput, Prediction, load
from audiolrp.signal.layout import InputLayout


@dataclass
class Explainer:
    """A loaded model with input, predict and explain, all batched.

    Parameters
    ----------
    model
        The model (:func:`audiolrp.models.load`).
    batch_size
        Clips per forward / backward pass.
    method
        Relevance method (an LRP preset or a reference method,
        :func:`audiolrp.lrp.parse_method`); ``None``: the preset of the model's architecture
        (:func:`audiolrp.app.pipeline.default_method`).
    """

    model: LoadedModel
    batch_size: int = 16
    method: str | None = None

    @classmethod
    def load(
        cls,
        model: str | os.PathLike[str] | LoadedModel,
        batch_size: int = 16,
        method: str | None = None,
    ) -> Explainer:
        """An explainer for a shipped model name, a saved model's path or a loaded model."""
        return cls(model if isinstance(model, LoadedModel) else load(model), batch_size, method)

    @property
    def name(self) -> str:
        """The model's name."""
        return self.model.name

    @property
    def feature(self) -> str:
        """``"hoa"`` or ``"intensity"``."""
        return self.model.feature

    @property
    def order(self) -> int:
        """Ambisonics order of the audio the model needs."""
        return self.model.order

    @property
    def layout(self) -> InputLayout:
        """The model input's channel layout."""
        return self.model.layout

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Names of the model's input channels."""
        return self.layout.names

    @property
    def n_audio_channels(self) -> int:
        """AmbiX channels of the audio the model reads."""
        return self.layout.n_audio_channels

    @property
    def lrp_method(self) -> str:
        """The relevance method of :meth:`explain` (:attr:`method`, or the model's default)."""
        return self.method or default_method(self.model)

    @property
    def relevance_method(self) -> str:
        """Name of the relevance method of :meth:`explain`, as the reports print it."""
        return relevance_method_name(self.lrp_method)

    def input(self, audio: np.ndarray) -> ModelInput:
        """Model input of clips at the training level (:meth:`LoadedModel.input`)."""
        return self.model.input(audio)

    def features(self, audio: np.ndarray) -> np.ndarray:
        """Features of one clip ``(K, 16000)`` -> ``(C, 50, 512)`` or of clips
        ``(B, K, 16000)`` -> ``(B, C, 50, 512)`` (:meth:`LoadedModel.features`)."""
        return self.model.features(audio)

    def predict(
        self, clips: np.ndarray, progress: Callable[[int], None] | None = None
    ) -> Prediction:
        """:class:`~audiolrp.models.Prediction` of 1-s AmbiX clips at any level."""
        return self.model.predict(clips, batch_size=self.batch_size, progress=progress)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Clip probabilities ``(B, 425)`` of features ``x`` (:meth:`LoadedModel.scores`)."""
        return self.model.scores(x, self.batch_size)[1]

    def explain(
        self, x: np.ndarray, targets: Sequence[int] | np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Relevance ``(B, C, 50, 512)`` float32 of the ``targets``' scores (``None``: the
        predicted classes) and the predicted classes ``(B,)``
        (:func:`audiolrp.app.pipeline.explain_paper` with :attr:`lrp_method`, batches of
        :attr:`batch_size`)."""
        return explain_paper(self.model, x, targets, self.batch_size, self.lrp_method)

    def analyse(self, audio: np.ndarray, **options: Any) -> ClipAnalysis:
        """Predict, explain and analyse one clip (:func:`audiolrp.app.pipeline.analyse_clip`)."""
        options.setdefault("method", self.lrp_method)
        return analyse_clip(self.model, audio, **options)

    def pixel_flipping(
        self, x: np.ndarray, relevance: np.ndarray, labels: Sequence[int], seed: int = 0
    ) -> dict[str, Any]:
        """Pixel-flipping curves of ``x`` tracking ``labels``
        (:func:`audiolrp.app.pipeline.pixel_flipping_curves`)."""
        return pixel_flipping_curves(self.model, x, relevance, labels, seed=seed)


__all__ = ["Explainer"]
