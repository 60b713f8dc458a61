"""The DOA-classification CRNN of Table 1 (Poschadel et al. 2021; Kiyan et al.).

Layer stack for an input of shape ``(B, N_in, T=50, F=512)``::

    InputNormalization (per-channel mean/std; identity when no statistics are given)
    3 x [Conv2d 3x3 'same' (N_filt=64) -> BatchNorm2d -> ELU -> MaxPool2d over frequency (8, 8, 4)]
    -> (B, 64, 50, 2) -> FrequencyToFeatures -> (B, 50, 128)
    BiLSTM(N_block=50) -> BiLSTM(50) -> Linear(100) -> ELU -> Linear(425)

``forward`` returns pre-softmax scores per frame, shape ``(B, T, n_classes)``; softmax is applied
in the loss and at prediction time (:func:`clip_probabilities`), never inside ``forward``, so the
LRP engine can start from the pre-softmax score (paper, section "Experimental Setup").
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import torch as st_torch
from torch import nn

from audiolrp.constants import (
    CLIP_SAMPLES,
    FS_HZ,
    HOP_SAMPLES,
    INTENSITY_CHANNEL_NAMES,
    N_BINS,
    N_CLASSES,
    N_FFT,
    N_FRAMES,
    hoa_feature_channel_names,
    n_sh_channels,
)
from audiolrp.errors import AudioLRPError, ModelFileError
from audiolrp.io import atomic_write_bytes, json_default


class InputNormalization(nn.Module):
    """Per-channel standardisation ``(x - mean_c) / std_c`` (the paper's normalisation layer).

    For HOA models the magnitude channels share the training set's magnitude mean/std and the
    phase channels share the phase mean/std. LRP treats this layer as the identity.

    Parameters
    ----------
    n_channels
        Number of input channels.
    mean, std
        Optional per-channel statistics of length ``n_channels``; default 0 and 1 (identity).
    """

    def __init__(
        self,
        n_channels: int,
        mean: Sequence[float] | torch.Tensor | None = None,
        std: Sequence[float] | torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        mean_t = torch.zeros(n_channels) if mean is None else torch.as_tensor(mean).float()
        std_t = torch.ones(n_channels) if std is None else torch.as_tensor(std).float()
        if mean_t.shape != (n_channels,) or std_t.shape != (n_channels,):
            raise ValueError(
                f"normalisation statistics must have shape ({n_channels},), got "
                f"{tuple(mean_t.shape)} and {tuple(std_t.shape)}"
            )
        if not bool(torch.all(std_t > 0)):
            raise ValueError("normalisation std must be positive in every channel")
        self.register_buffer("mean", mean_t)
        self.register_buffer("std", std_t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return (x - self.mean.view(shape).to(x.dtype)) / self.std.view(shape).to(x.dtype)


class FrequencyToFeatures(nn.Module):
    """Reshape ``(B, C, T, F)`` to ``(B, T, C * F)`` (Table 1 "Reshape"); identity for LRP."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, f = x.shape
        return x.permute(0, 2, 1, 3).reshape(b, t, c * f)


class CRNN(nn.Module):
    """Convolutional-recurrent DOA classifier of Table 1 (all sizes are arguments).

    Parameters
    ----------
    n_in
        Input channels: ``2 (N+1)^2`` for an order-N HOA model (magnitude + phase per
        Ambisonics channel), 6 for the intensity model.
    n_filters
        Filters of each convolution (``N_filt = 64``).
    pool_sizes
        Max-pooling factors over frequency after each conv block (8, 8, 4): 512 -> 2 bins.
    n_bins
        Frequency bins of the input (512).
    lstm_hidden
        LSTM blocks per direction (``N_block = 50``).
    n_lstm_layers
        Number of stacked BiLSTM layers (2).
    n_dense
        Units of the hidden dense layer (``2 N_block = 100``).
    n_classes
        DOA classes (``N_bin = 425``).
    norm_mean, norm_std
        Optional per-channel input statistics for :class:`InputNormalization`.
    """

    def __init__(
        self,
        n_in: int,
        n_filters: int = 64,
        pool_sizes: Sequence[int] = (8, 8, 4),
        n_bins: int = N_BINS,
        lstm_hidden: int = 50,
        n_lstm_layers: int = 2,
        n_dense: int = 100,
        n_classes: int = N_CLASSES,
        norm_mean: Sequence[float] | torch.Tensor | None = None,
        norm_std: Sequence[float] | torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        pool_sizes = tuple(int(p) for p in pool_sizes)
        n_out_bins = n_bins
        for p in pool_sizes:
            if n_out_bins % p:
                raise ValueError(f"n_bins={n_bins} is not divisible by the pool sizes {pool_sizes}")
            n_out_bins //= p
        self.config: dict[str, Any] = {
            "n_in": n_in,
            "n_filters": n_filters,
            "pool_sizes": list(pool_sizes),
            "n_bins": n_bins,
            "lstm_hidden": lstm_hidden,
            "n_lstm_layers": n_lstm_layers,
            "n_dense": n_dense,
            "n_classes": n_classes,
        }
        self.normalization = InputNormalization(n_in, norm_mean, norm_std)
        layers: list[nn.Module] = []
        c_in = n_in
        for p in pool_sizes:
            layers += [
                nn.Conv2d(c_in, n_filters, kernel_size=3, padding=1),
                nn.BatchNorm2d(n_filters),
                nn.ELU(),
                nn.MaxPool2d(kernel_size=(1, p)),
            ]
            c_in = n_filters
        self.conv = nn.Sequential(*layers)
        self.reshape = FrequencyToFeatures()
        lstms: list[nn.Module] = []
        d_in = n_filters * n_out_bins
        for _ in range(n_lstm_layers):
            lstms.append(nn.LSTM(d_in, lstm_hidden, batch_first=True, bidirectional=True))
            d_in = 2 * lstm_hidden
        self.lstms = nn.ModuleList(lstms)
        self.dense = nn.Linear(d_in, n_dense)
        self.dense_activation = nn.ELU()
        self.output = nn.Linear(n_dense, n_classes)

    @property
    def n_in(self) -> int:
        return int(self.config["n_in"])

    @property
    def n_classes(self) -> int:
        return int(self.config["n_classes"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-softmax DOA scores per frame.

        Parameters
        ----------
        x
            Features of shape ``(B, n_in, T, n_bins)``.

        Returns
        -------
        torch.Tensor
            Scores of shape ``(B, T, n_classes)``.
        """
        if x.dim() != 4 or x.shape[1] != self.n_in or x.shape[3] != self.config["n_bins"]:
            raise ValueError(
                f"CRNN expects input (batch, {self.n_in}, frames, {self.config['n_bins']}), "
                f"got {tuple(x.shape)}"
            )
        h = self.normalization(x)
        h = self.conv(h)
        h = self.reshape(h)
        for lstm in self.lstms:
            h, _ = lstm(h)
        h = self.dense_activation(self.dense(h))
        return self.output(h)


def clip_probabilities(frame_scores: torch.Tensor) -> torch.Tensor:
    """Clip-level class probabilities: the mean over frames of the frame softmax.

    Parameters
    ----------
    frame_scores
        Pre-softmax scores ``(B, T, n_classes)``.

    Returns
    -------
    torch.Tensor
        ``(B, n_classes)`` probabilities; the clip prediction is their argmax.
    """
    return torch.softmax(frame_scores, dim=-1).mean(dim=1)


def predict_clip(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Predicted class per clip (argmax of the mean frame probability), shape ``(B,)``."""
    with torch.no_grad():
        return clip_probabilities(model(x)).argmax(dim=-1)


# --------------------------------------------------------------------------------------------
# Model construction helpers, save / load (safetensors + JSON, never pickle) and the registry of
# shipped models in ``audiolrp/pretrained/``.
# --------------------------------------------------------------------------------------------

FEATURES: tuple[str, ...] = ("hoa", "intensity")
FORMAT_NAME = "audiolrp-model"
FORMAT_VERSION = 1
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"

#: Architecture presets; ``"full"`` is Table 1, ``"tiny"`` is for tests and smoke runs.
MODEL_SIZES: dict[str, dict[str, int]] = {
    "full": {"n_filters": 64, "lstm_hidden": 50, "n_dense": 100},
    "small": {"n_filters": 16, "lstm_hidden": 16, "n_dense": 32},
    "tiny": {"n_filters": 4, "lstm_hidden": 4, "n_dense": 8},
}


def n_input_channels(feature: str, order: int | None = None) -> int:
    """Input channels of a model: ``2 (N+1)^2`` for HOA order N, 6 for intensity.

    Parameters
    ----------
    feature
        ``"hoa"`` or ``"intensity"``.
    order
        Ambisonics order N (required for ``"hoa"``; ignored for ``"intensity"``, which always
        uses the first-order signals).
    """
    if feature == "intensity":
        return 6
    if feature == "hoa":
        if order is None or int(order) < 0:
            raise AudioLRPError(
                f"HOA models need an Ambisonics order >= 0, got {order!r}: pass --order N"
            )
        return 2 * n_sh_channels(int(order))
    raise AudioLRPError(f"unknown feature {feature!r}: use one of {', '.join(FEATURES)}")


def build_model(
    feature: str,
    order: int | None = None,
    *,
    size: str = "full",
    norm_mean: Sequence[float] | torch.Tensor | None = None,
    norm_std: Sequence[float] | torch.Tensor | None = None,
    **overrides: Any,
) -> CRNN:
    """Build a :class:`CRNN` for a feature type from a size preset (:data:`MODEL_SIZES`).

    ``overrides`` (``n_filters``, ``lstm_hidden``, ``n_dense``, ...; ``None`` values ignored)
    replace preset entries.
    """
    if size not in MODEL_SIZES:
        raise AudioLRPError(f"unknown model size {size!r}: use one of {', '.join(MODEL_SIZES)}")
    kwargs: dict[str, Any] = dict(MODEL_SIZES[size])
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    return CRNN(n_input_channels(feature, order), norm_mean=norm_mean, norm_std=norm_std, **kwargs)


def default_stft_description() -> dict[str, Any]:
    """STFT parameters of the feature front end (fixed conventions, ``audiolrp.constants``)."""
    return {
        "fs_hz": FS_HZ,
        "clip_samples": CLIP_SAMPLES,
        "hop_samples": HOP_SAMPLES,
        "window": "periodic hann",
        "window_samples": 2 * HOP_SAMPLES,
        "n_fft": N_FFT,
        "n_frames": N_FRAMES,
        "n_bins": N_BINS,
        "first_frame_start_sample": -HOP_SAMPLES // 2,
        "nyquist_bin_dropped": True,
    }


def default_class_grid_description() -> dict[str, Any]:
    """Description of the DOA class grid (``audiolrp.ambisonics.doa_grid``)."""
    return {
        "function": "audiolrp.ambisonics.doa_grid",
        "n_classes": N_CLASSES,
        "columns": ["azimuth_rad", "elevation_rad"],
        "azimuth": "from +x towards +y (counter-clockwise seen from above)",
        "elevation": "from the horizontal plane, +z up",
    }


@dataclass
class LoadedModel:
    """A model read by :func:`load`: the network in eval mode plus its JSON description.

    Attributes
    ----------
    model
        The :class:`CRNN` (``eval()`` mode, on the CPU unless ``device`` was given).
    config
        The full JSON description written by :func:`save` (architecture, feature, order, STFT,
        normalisation, class grid, data recipe, metrics, training details).
    path
        Path of the JSON file the model was read from.
    name
        Registry name for shipped models, else the file stem.
    """

    model: CRNN
    config: dict[str, Any]
    path: Path
    name: str

    @property
    def feature(self) -> str:
        return str(self.config["feature"])

    @property
    def order(self) -> int:
        return int(self.config["order"])

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.config.get("metrics") or {})

    @property
    def data_recipe(self) -> dict[str, Any]:
        return dict(self.config.get("data_recipe") or {})

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def _model_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(NAME.json, NAME.safetensors)`` for a path given with or without either suffix."""
    p = Path(path)
    if p.is_dir():
        return p / "model.json", p / "model.safetensors"
    if p.suffix in (".json", ".safetensors"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".json"), p.with_name(p.name + ".safetensors")




def _state_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}


def save(
    model: CRNN,
    path: str | os.PathLike[str],
    *,
    feature: str,
    order: int | None = None,
    stft: dict[str, Any] | None = None,
    class_grid: dict[str, Any] | None = None,
    data_recipe: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Save a model as ``NAME.safetensors`` (weights) + ``NAME.json`` (description).

    Both files are written to temporary files in the target folder and renamed into place
    (weights first; the JSON records the weights' SHA-256, so a half-updated pair is detected
    on :func:`load`). No pickle is involved.

    Parameters
    ----------
    model
        The network; its ``config`` is stored as the architecture.
    path
        ``NAME``, ``NAME.json``, ``NAME.safetensors`` or an existing directory (then
        ``model.json`` / ``model.safetensors`` inside it).
    feature, order
        Input feature type and Ambisonics order (intensity models use order 1).
    stft, class_grid
        Descriptions of the STFT and DOA grid (defaults: :func:`default_stft_description`,
        :func:`default_class_grid_description`).
    data_recipe, metrics, training, extra
        Free-form JSON-serialisable dictionaries (training data recipe, test metrics, training
        command/time/hardware, ...).

    Returns
    -------
    Path
        The JSON file path.
    """
    if feature not in FEATURES:
        raise AudioLRPError(f"unknown feature {feature!r}: use one of {', '.join(FEATURES)}")
    if feature == "intensity":
        order = 1
    n_in = n_input_channels(feature, order)
    if n_in != model.n_in:
        raise AudioLRPError(
            f"model has {model.n_in} input channels but feature={feature!r}, order={order} "
            f"needs {n_in}: pass the feature/order the model was built for"
        )
    json_path, st_path = _model_paths(path)
    tensors = _state_tensors(model)
    blob = st_torch.save(tensors, metadata={"format": FORMAT_NAME, "version": str(FORMAT_VERSION)})
    description: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "architecture": {"class": "CRNN", **model.config},
        "feature": feature,
        "order": int(order) if order is not None else None,
        "input_channels": list(
            INTENSITY_CHANNEL_NAMES if feature == "intensity" else hoa_feature_channel_names(order)
        ),
        "stft": stft if stft is not None else default_stft_description(),
        "normalization": {
            "mean": model.normalization.mean.tolist(),
            "std": model.normalization.std.tolist(),
        },
        "class_grid": class_grid if class_grid is not None else default_class_grid_description(),
        "data_recipe": data_recipe or {},
        "metrics": metrics or {},
        "training": training or {},
        "weights_file": st_path.name,
        "weights_sha256": hashlib.sha256(blob).hexdigest(),
        "tensors": {k: list(v.shape) for k, v in tensors.items()},
    }
    if extra:
        description.update(extra)
    text = json.dumps(description, indent=2, default=json_default, allow_nan=True) + "\n"
    atomic_write_bytes(st_path, blob)
    atomic_write_bytes(json_path, text.encode("utf-8"))
    return json_path


def list_models() -> list[str]:
    """Names of the shipped models in ``audiolrp/pretrained/`` (e.g. ``["hoa2", "intensity"]``)."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(
        p.stem for p in PRETRAINED_DIR.glob("*.json") if p.with_suffix(".safetensors").exists()
    )


def resolve_model_path(name_or_path: str | os.PathLike[str]) -> tuple[Path, Path, str]:
    """Find ``(json_path, weights_path, name)`` for a shipped model name or a file path."""
    text = str(name_or_path)
    json_path, st_path = _model_paths(text)
    if json_path.exists() or st_path.exists():
        return json_path, st_path, json_path.stem
    if os.sep not in text and "/" not in text and not Path(text).suffix:
        shipped_json = PRETRAINED_DIR / f"{text}.json"
        if shipped_json.exists():
            return shipped_json, shipped_json.with_suffix(".safetensors"), text
        available = ", ".join(list_models()) or "none shipped yet"
        raise ModelFileError(
            f"no model named {text!r} (shipped models: {available}): pass a shipped name or the "
            "path of a saved NAME.json/NAME.safetensors"
        )
    raise ModelFileError(
        f"model file {json_path} not found: check the path (save() writes NAME.json)"
    )


def load(
    name_or_path: str | os.PathLike[str], *, device: str | torch.device = "cpu"
) -> LoadedModel:
    """Load a shipped model by name (``"hoa2"``, ``"intensity"``) or a saved model by path.

    Weights are read with ``safetensors`` only (never ``torch.load``/pickle). Any problem —
    missing file, invalid JSON, unknown format, truncated/corrupted weights, missing or extra
    tensors, wrong shapes — raises :class:`~audiolrp.errors.ModelFileError` with one line.

    Returns
    -------
    LoadedModel
        ``.model`` is the :class:`CRNN` in eval mode, ``.config`` the JSON description.
    """
    json_path, st_path, name = resolve_model_path(name_or_path)
    if not json_path.exists():
        raise ModelFileError(
            f"model description {json_path} is missing: keep NAME.json next to NAME.safetensors"
        )
    if not st_path.exists():
        raise ModelFileError(
            f"model weights {st_path} are missing: keep NAME.safetensors next to NAME.json"
        )
    try:
        config = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ModelFileError(
            f"{json_path} is not a valid model description ({msg}): re-save or re-download it"
        ) from None
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"{json_path} is not an audiolrp model description (format field missing or wrong): "
            "pass a file written by audiolrp.models.save"
        )
    if int(config.get("format_version", -1)) > FORMAT_VERSION:
        raise ModelFileError(
            f"{json_path} has format version {config.get('format_version')}, newer than "
            f"{FORMAT_VERSION}: upgrade audiolrp"
        )
    try:
        arch = dict(config["architecture"])
        arch.pop("class", None)
        feature = str(config["feature"])
        if feature not in FEATURES:
            raise ValueError(f"unknown feature {feature!r}")
        model = CRNN(**arch)
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFileError(
            f"{json_path} has an invalid architecture/feature entry ({err}): re-save the model"
        ) from None
    blob = st_path.read_bytes()
    expected_sha = config.get("weights_sha256")
    if expected_sha is not None and hashlib.sha256(blob).hexdigest() != expected_sha:
        raise ModelFileError(
            f"{st_path} does not match its description {json_path.name} (checksum differs; "
            "truncated, corrupted or from another model): re-save or re-download the pair"
        )
    try:
        tensors = st_torch.load(blob)
    except Exception as err:  # safetensors raises its own error types on bad headers
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ModelFileError(
            f"{st_path} is not a valid safetensors file ({msg}): re-save or re-download it"
        ) from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise ModelFileError(
            f"{st_path} does not fit the architecture in {json_path.name} (missing tensors: "
            f"{missing[:3]}, unexpected: {extra[:3]}): re-save the model"
        )
    for key, ref in expected.items():
        if tuple(tensors[key].shape) != tuple(ref.shape):
            raise ModelFileError(
                f"{st_path}: tensor {key} has shape {tuple(tensors[key].shape)}, the architecture "
                f"needs {tuple(ref.shape)}: re-save the model"
            )
    model.load_state_dict(tensors, strict=True)
    model.eval()
    model.to(device)
    return LoadedModel(model=model, config=config, path=json_path, name=name)


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
