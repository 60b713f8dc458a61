"""The DOA CRNN (:mod:`~audiolrp.models.crnn`) and its files: save / load / registry of shipped
models (:mod:`~audiolrp.models.files`, :data:`PRETRAINED_DIR` is ``audiolrp/pretrained``)."""

from audiolrp.constants import N_FRAMES
from audiolrp.models.crnn import (
    CRNN,
    FrequencyToFeatures,
    InputNormalization,
    clip_probabilities,
    predict_clip,
)
from audiolrp.models.files import (
    FEATURES,
    MODEL_SIZES,
    PRETRAINED_DIR,
    LoadedModel,
    build_model,
    default_class_grid_description,
    default_stft_description,
    list_models,
    load,
    n_input_channels,
    resolve_model_path,
    save,
)

__all__ = [
    "CRNN",
    "FEATURES",
    "FrequencyToFeatures",
    "InputNormalization",
    "LoadedModel",
    "MODEL_SIZES",
    "N_FRAMES",
    "PRETRAINED_DIR",
    "build_model",
    "clip_probabilities",
    "default_class_grid_description",
    "default_stft_description",
    "list_models",
    "load",
    "n_input_channels",
    "predict_clip",
    "resolve_model_path",
    "save",
]
