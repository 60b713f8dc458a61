"""The :class:`Explainer`: one loaded model that turns audio into predictions and explanations.

The demo and recording reports (:mod:`audiolrp.report.pages`) do all their model work through
it: features of the audio, clip probabilities, LRP relevance (paper composite), the per-clip
analyses and pixel flipping, each batched and each delegated to the one function that owns it
(:mod:`audiolrp.app.pipeline`, :mod:`audiolrp.app.recordings`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from audiolrp.app.pipeline import (
    ClipAnalysis,
    analyse_clip,
    explain_relevance,
    load_model,
    pixel_flipping_curves,
    predict,
)
from audiolrp.app.recordings import required_channels, to_model_input
from audiolrp.models import LoadedModel


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
    def channel_names(self) -> tuple[str, ...]:
        """Names of the model's input channels."""
        return self.model.channel_names

    @property
    def n_audio_channels(self) -> int:
        """AmbiX channels of the audio the model reads."""
        return required_channels(self.feature, self.order)

    def features(self, audio: np.ndarray) -> np.ndarray:
        """Model input of one clip ``(K, 16000)`` -> ``(C, 50, 512)``, or of clips
        ``(B, K, 16000)`` -> ``(B, C, 50, 512)``."""
        if np.ndim(audio) == 3:
            return np.stack([to_model_input(a, self.feature, self.order) for a in audio])
        return to_model_input(audio, self.feature, self.order)

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
