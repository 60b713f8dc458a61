"""The DOA CRNN (:mod:`~audiolrp.models.crnn`), the conformer DOA model
(:mod:`~audiolrp.models.conformer`, :func:`build_conformer`), their files (save / load /
registry of shipped models, :mod:`~audiolrp.models.files`, :data:`PRETRAINED_DIR` is
``audiolrp/pretrained``) and
the façade :func:`load` returns (:class:`LoadedModel`: audio -> input at the training level,
:meth:`~LoadedModel.predict` -> :class:`Prediction` with directions finer than the grid;
a multi-source model's :meth:`~LoadedModel.detect_sources` -> :class:`SourcesPrediction`).

>>> from audiolrp import models
>>> lm = models.load("hoa2")                      # doctest: +SKIP
>>> pred = lm.predict(clips)                      # (B, 9, 16000) AmbiX at 16 kHz, any level
>>> pred.direction, pred.azimuth_deg, pred.class_index, pred.confidence   # doctest: +SKIP
"""

from audiolrp.constants import N_FRAMES
from audiolrp.models.conformer import ConformerDOA
from audiolrp.models.crnn import (
    CRNN,
    FrequencyToFeatures,
    InputNormalization,
    clip_probabilities,
    predict_clip,
)
from audiolrp.models.files import (
    ARCHITECTURE_SIZES,
    ARCHITECTURES,
    CONFORMER_SIZES,
    FEATURES,
    MODEL_SIZES,
    PRETRAINED_DIR,
    build_architecture,
    build_conformer,
    build_model,
    default_class_grid_description,
    default_stft_description,
    list_models,
    load,
    n_input_channels,
    resolve_model_path,
    save,
)
from audiolrp.models.loaded import DEFAULT_INPUT_RMS, LoadedModel, ModelInput
from audiolrp.models.multisource import SourcesPrediction, model_task
from audiolrp.models.prediction import (
    DirectionRefinement,
    Prediction,
    choose_refinement,
    refine_directions,
)

__all__ = [
    "ARCHITECTURE_SIZES",
    "ARCHITECTURES",
    "CONFORMER_SIZES",
    "CRNN",
    "ConformerDOA",
    "DEFAULT_INPUT_RMS",
    "DirectionRefinement",
    "ModelInput",
    "Prediction",
    "SourcesPrediction",
    "choose_refinement",
    "refine_directions",
    "FEATURES",
    "FrequencyToFeatures",
    "InputNormalization",
    "LoadedModel",
    "MODEL_SIZES",
    "N_FRAMES",
    "PRETRAINED_DIR",
    "build_architecture",
    "build_conformer",
    "build_model",
    "clip_probabilities",
    "default_class_grid_description",
    "default_stft_description",
    "list_models",
    "load",
    "model_task",
    "n_input_channels",
    "predict_clip",
    "resolve_model_path",
    "save",
]
