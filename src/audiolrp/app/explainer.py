"""The :class:`Explainer`: one loaded model that turns audio into predictions and explanations.

The demo and recording analyses (:mod:`audiolrp.app.demo`, :mod:`audiolrp.app.windows`) do all
their model work through it: model input of the audio (:func:`audiolrp.app.inputs.
to_model_input`, the same for simulated scenes and recordings), clip probabilities, LRP
relevance (paper composite), the per-clip analyses and pixel flipping, each batched and each
delegated to the one function that owns it (:mod:`audiolrp.app.pipeline`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from audiolrp.app.inputs import to_model_input
from audiolrp.app.pipeline import (
    ClipAnalysis,
    analyse_clip,
    explain_relevance,
    load_model,
    pixel_flipping_curves,
    predict,
)
from audiolrp.models import LoadedModel
from audiolrp.signal.layout import InputLayout


@dataclass
class Explainer:
    """A loaded model with batched predict/explain.

    Parameters
    ----------
    model
        The model (:func:`audiolrp.app.pipeline.load_model`).
    batch_size
        Examples per forward pass in :meth:`predict`.
    """

    model: LoadedModel
    batch_size: int = 16

    @classmethod
    def load(cls, model: str | os.PathLike[str] | LoadedModel, batch_size: int = 16) -> Explainer:
        """An explainer for a shipped model name, a saved model's path or a loaded model."""
        return cls(load_model(model), batch_size)

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

    def features(self, audio: np.ndarray) -> np.ndarray:
        """Model input of one clip ``(K, 16000)`` -> ``(C, 50, 512)``, or of clips
        ``(B, K, 16000)`` -> ``(B, C, 50, 512)`` (:func:`audiolrp.app.inputs.to_model_input`)."""
        return to_model_input(audio, self.layout)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Clip probabilities ``(B, 425)`` of features ``x`` (batches of :attr:`batch_size`)."""
        return predict(self.model, x, self.batch_size)[1]

    def explain(self, x: np.ndarray, targets: Sequence[int]) -> tuple[np.ndarray, str]:
        """LRP relevance ``(B, C, 50, 512)`` of the ``targets``' scores and the method's name."""
        return explain_relevance(self.model, x, targets)

    def analyse(self, audio: np.ndarray, **options: Any) -> ClipAnalysis:
        """Predict, explain and analyse one clip (:func:`audiolrp.app.pipeline.analyse_clip`)."""
        return analyse_clip(self.model, audio, **options)

    def pixel_flipping(
        self, x: np.ndarray, relevance: np.ndarray, labels: Sequence[int], seed: int = 0
    ) -> dict[str, Any]:
        """Pixel-flipping curves of ``x`` tracking ``labels``
        (:func:`audiolrp.app.pipeline.pixel_flipping_curves`)."""
        return pixel_flipping_curves(self.model, x, relevance, labels, seed=seed)


__all__ = ["Explainer"]
