"""Model files and the registry: construction helpers, save / load (safetensors + JSON, never
pickle) and the shipped models in ``audiolrp/pretrained/`` (:data:`PRETRAINED_DIR`)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import torch as st_torch
from torch import nn

from audiolrp.constants import (
    CLIP_SAMPLES,
    FS_HZ,
    HOP_SAMPLES,
    N_BINS,
    N_CLASSES,
    N_FFT,
    N_FRAMES,
)
from audiolrp.errors import AudioLRPError, ModelFileError
from audiolrp.io import atomic_write_bytes, write_json
from audiolrp.models.conformer import ConformerDOA
from audiolrp.models.crnn import CRNN
from audiolrp.models.loaded import DEFAULT_INPUT_RMS, LoadedModel
from audiolrp.models.multisource import model_task
from audiolrp.models.prediction import DirectionRefinement
from audiolrp.signal.feature_kinds import FEATURE_KINDS, FeatureKind, feature_kind
from audiolrp.signal.layout import InputLayout

# --------------------------------------------------------------------------------------------
# Model construction helpers, save / load (safetensors + JSON, never pickle) and the registry of
# shipped models in ``audiolrp/pretrained/``.
# --------------------------------------------------------------------------------------------

#: The registered feature kinds by name (:data:`audiolrp.signal.feature_kinds.FEATURE_KINDS`).
FEATURES: dict[str, FeatureKind] = FEATURE_KINDS
FORMAT_NAME = "audiolrp-model"
FORMAT_VERSION = 1
PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"

#: Architecture presets; ``"full"`` is Table 1, ``"tiny"`` is for tests and smoke runs.
MODEL_SIZES: dict[str, dict[str, int]] = {
    "full": {"n_filters": 64, "lstm_hidden": 50, "n_dense": 100},
    "small": {"n_filters": 16, "lstm_hidden": 16, "n_dense": 32},
    "tiny": {"n_filters": 4, "lstm_hidden": 4, "n_dense": 8},
}
#: Size presets of the conformer (``arch="conformer"``); ``"full"`` costs about what the
#: CRNN's ``"full"`` does per training step on a CPU (docs/models.md).
CONFORMER_SIZES: dict[str, dict[str, int]] = {
    "full": {"n_filters": 64, "d_model": 64, "n_heads": 4, "n_blocks": 2, "n_dense": 100},
    "small": {"n_filters": 16, "d_model": 32, "n_heads": 4, "n_blocks": 2, "n_dense": 32},
    "tiny": {"n_filters": 4, "d_model": 8, "n_heads": 2, "n_blocks": 1, "ff_mult": 2,
             "conv_kernel": 3, "n_dense": 8},
}
#: A DOA model of any architecture.
DOAModel = CRNN | ConformerDOA
#: Architectures by name, each with its builder; model files record the class name
#: (``architecture.class``; files without one are CRNNs).
ARCHITECTURES: dict[str, type[CRNN] | type[ConformerDOA]] = {
    "crnn": CRNN, "conformer": ConformerDOA,
}
_BY_CLASS = {cls.__name__: cls for cls in ARCHITECTURES.values()}
#: The size presets of each architecture (``--model-size`` of ``audiolrp train --arch``).
ARCHITECTURE_SIZES: dict[str, dict[str, dict[str, int]]] = {
    "crnn": MODEL_SIZES, "conformer": CONFORMER_SIZES,
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
    return InputLayout.of(feature, order).n_channels


def build_model(
    feature: str,
    order: int | None = None,
    *,
    size: str = "full",
    norm_mean: Sequence[float] | torch.Tensor | np.ndarray | None = None,
    norm_std: Sequence[float] | torch.Tensor | np.ndarray | None = None,
    **overrides: Any,
) -> CRNN:
    """Build a :class:`CRNN` for a feature type from a size preset (:data:`MODEL_SIZES`).

    ``overrides`` (``n_filters``, ``lstm_hidden``, ``n_dense``, ...; ``None`` values ignored)
    replace preset entries. :func:`build_conformer` builds the conformer.
    """
    kwargs = _size_kwargs(MODEL_SIZES, size, overrides)
    return CRNN(n_input_channels(feature, order), norm_mean=norm_mean, norm_std=norm_std, **kwargs)


def build_conformer(
    feature: str,
    order: int | None = None,
    *,
    size: str = "full",
    norm_mean: Sequence[float] | torch.Tensor | np.ndarray | None = None,
    norm_std: Sequence[float] | torch.Tensor | np.ndarray | None = None,
    **overrides: Any,
) -> ConformerDOA:
    """Build a :class:`~audiolrp.models.conformer.ConformerDOA` for a feature type from a size
    preset (:data:`CONFORMER_SIZES`); ``overrides`` (``d_model``, ``n_blocks``, ...; ``None``
    values ignored) replace preset entries."""
    kwargs = _size_kwargs(CONFORMER_SIZES, size, overrides)
    return ConformerDOA(
        n_input_channels(feature, order), norm_mean=norm_mean, norm_std=norm_std, **kwargs
    )


def build_architecture(
    arch: str,
    feature: str,
    order: int | None = None,
    *,
    size: str = "full",
    norm_mean: Sequence[float] | torch.Tensor | np.ndarray | None = None,
    norm_std: Sequence[float] | torch.Tensor | np.ndarray | None = None,
    **overrides: Any,
) -> DOAModel:
    """Build the network of an architecture by name (:data:`ARCHITECTURES`: ``"crnn"`` with
    :func:`build_model`, ``"conformer"`` with :func:`build_conformer`) from its size preset
    (:data:`ARCHITECTURE_SIZES`); ``overrides`` with value ``None`` are ignored."""
    if arch == "crnn":
        return build_model(feature, order, size=size, norm_mean=norm_mean, norm_std=norm_std,
                           **overrides)
    if arch == "conformer":
        return build_conformer(feature, order, size=size, norm_mean=norm_mean,
                               norm_std=norm_std, **overrides)
    raise AudioLRPError(f"unknown architecture {arch!r}: use one of {', '.join(ARCHITECTURES)}")


def _size_kwargs(
    sizes: dict[str, dict[str, int]], size: str, overrides: dict[str, Any]
) -> dict[str, Any]:
    if size not in sizes:
        raise AudioLRPError(f"unknown model size {size!r}: use one of {', '.join(sizes)}")
    kwargs: dict[str, Any] = dict(sizes[size])
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    return kwargs


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
    """Description of the DOA class grid (``audiolrp.signal.ambisonics.doa_grid``)."""
    return {
        "function": "audiolrp.signal.ambisonics.doa_grid",
        "n_classes": N_CLASSES,
        "columns": ["azimuth_rad", "elevation_rad"],
        "azimuth": "from +x towards +y (counter-clockwise seen from above)",
        "elevation": "from the horizontal plane, +z up",
    }


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
    model: DOAModel,
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
    input_rms: float = DEFAULT_INPUT_RMS,
    refinement: DirectionRefinement | None = None,
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
    input_rms
        W RMS of the training clips: :meth:`LoadedModel.input` scales every clip to it.
    refinement
        How predictions refine the argmax class (``None``: the class direction).

    Returns
    -------
    Path
        The JSON file path.
    """
    if feature not in FEATURES:
        raise AudioLRPError(f"unknown feature {feature!r}: use one of {', '.join(FEATURES)}")
    kind = feature_kind(feature)
    if kind.fixed_order is not None:  # intensity: always first order
        order = kind.fixed_order
    n_in = n_input_channels(feature, order)
    if n_in != model.n_in:
        raise AudioLRPError(
            f"model has {model.n_in} input channels but feature={feature!r}, order={order} "
            f"needs {n_in}: pass the feature/order the model was built for"
        )
    json_path, st_path = _model_paths(path)
    tensors = _state_tensors(model)
    blob = _sorted_metadata(
        st_torch.save(tensors, metadata={"format": FORMAT_NAME, "version": str(FORMAT_VERSION)})
    )
    description: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "architecture": {"class": type(model).__name__, **model.config},
        "feature": feature,
        "order": int(order) if order is not None else None,
        "input_channels": list(InputLayout.of(feature, order).names),
        "stft": stft if stft is not None else default_stft_description(),
        "normalization": {
            "mean": model.normalization.mean.tolist(),
            "std": model.normalization.std.tolist(),
        },
        "input_level": {
            "w_rms": float(input_rms),
            "rule": "every 1-s clip is scaled so that its W channel has this RMS before the "
                    "features (audiolrp.signal.levels)",
        },
        "direction_refinement": (refinement or DirectionRefinement()).to_dict(),
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
    atomic_write_bytes(st_path, blob)
    write_json(json_path, description)
    return json_path


#: What :func:`list_models` lists: one talker per clip (softmax head), several talkers
#: (sigmoid head, :mod:`audiolrp.models.multisource`), or both.
MODEL_TASKS: tuple[str, ...] = ("single", "multi", "all")


def _sorted_metadata(blob: bytes) -> bytes:
    """``blob`` with its safetensors ``__metadata__`` keys in sorted order.

    safetensors writes the metadata map in an order that changes from process to process, so
    the same tensors gave files (and ``weights_sha256``) that differ; the sorted map has the
    same length, so the header length and the tensor offsets stay as they are.
    """
    n = int.from_bytes(blob[:8], "little")
    header = blob[8 : 8 + n].decode("utf-8")
    meta = json.loads(header).get("__metadata__")
    if not meta:
        return blob
    written = json.dumps(meta, separators=(",", ":"))
    canonical = json.dumps(dict(sorted(meta.items())), separators=(",", ":"))
    if written == canonical or written not in header:
        return blob
    return blob[:8] + header.replace(written, canonical, 1).encode("utf-8") + blob[8 + n :]


def list_models(task: str = "single") -> list[str]:
    """Names of the shipped models in ``audiolrp/pretrained/`` (e.g. ``["hoa2", "intensity"]``).

    Parameters
    ----------
    task
        ``"single"`` (default): the one-talker DOA models; ``"multi"``: the multi-source models
        (``audiolrp analyze sources``); ``"all"``: both.
    """
    if task not in MODEL_TASKS:
        raise AudioLRPError(f"task {task!r} is unknown: use {', '.join(MODEL_TASKS)}")
    if not PRETRAINED_DIR.is_dir():
        return []
    names = []
    for p in sorted(PRETRAINED_DIR.glob("*.json")):
        if not p.with_suffix(".safetensors").exists():
            continue
        if task != "all":
            try:
                kind = model_task(json.loads(p.read_text(encoding="utf-8")))
            except (OSError, ValueError, AttributeError):
                kind = "single"  # an unreadable description is reported by load()
            if kind != task:
                continue
        names.append(p.stem)
    return names


def resolve_model_path(name_or_path: str | os.PathLike[str]) -> tuple[Path, Path, str]:
    """Find ``(json_path, weights_path, name)`` for a shipped model name or a file path."""
    text = str(name_or_path)
    if Path(text).suffix.lower() in (".pt", ".pth", ".ckpt", ".pkl"):
        raise ModelFileError(
            f"{text} is a pickled PyTorch file: audiolrp never unpickles (a pickle can run any "
            "code); load its state_dict yourself into audiolrp.models.build_model(...) and "
            "write it with audiolrp.models.save(model, 'NAME', feature=..., order=...)"
        )
    json_path, st_path = _model_paths(text)
    if json_path.exists() or st_path.exists():
        return json_path, st_path, json_path.stem
    if os.sep not in text and "/" not in text and not Path(text).suffix:
        shipped_json = PRETRAINED_DIR / f"{text}.json"
        if shipped_json.exists():
            return shipped_json, shipped_json.with_suffix(".safetensors"), text
        available = ", ".join(list_models("all")) or "none shipped yet"
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
        ``.model`` is the :class:`CRNN` (or the architecture the file records, e.g.
        ``ConformerDOA``) in eval mode, ``.config`` the JSON description.
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
        cls = _BY_CLASS.get(str(arch.pop("class", "CRNN")))
        if cls is None:
            raise ValueError(f"unknown architecture class {config['architecture']['class']!r}")
        feature = str(config["feature"])
        if feature not in FEATURES:
            raise ValueError(f"unknown feature {feature!r}")
        model = cls(**arch)
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
    except Exception as err:  # noqa: BLE001 - safetensors has its own error types
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
