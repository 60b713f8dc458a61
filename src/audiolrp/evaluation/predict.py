"""Running a model over test clips (through :meth:`audiolrp.models.LoadedModel.predict`) and
the whole evaluation: :func:`evaluate` on a dataset split or a seeded simulated test set, its
files and error map (:mod:`audiolrp.evaluation`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from audiolrp.data.datasets import FeatureDataset
from audiolrp.errors import AudioLRPError, DatasetError
from audiolrp.evaluation.examples import (
    DEFAULT_EVAL_EXAMPLES,
    DEFAULT_EVAL_SEED,
    Example,
    dataset_examples,
    scene_config_from_recipe,
    simulated_test_examples,
)
from audiolrp.evaluation.metrics import (
    _default_grid,
    baseline_metrics,
    compute_metrics,
    great_circle_deg,
)
from audiolrp.io import atomic_path, write_json
from audiolrp.models import LoadedModel
from audiolrp.models import load as load_model

# ------------------------------------------------------------------------------------------
# Prediction over a stream of examples
# ------------------------------------------------------------------------------------------


@dataclass
class Predictions:
    """Per-clip predictions and ground truth of an evaluation run."""

    pred: np.ndarray
    label: np.ndarray
    azimuth_rad: np.ndarray
    elevation_rad: np.ndarray
    snr_db: np.ndarray
    rt60_s: np.ndarray
    confidence: np.ndarray
    baseline_azimuth_rad: np.ndarray
    baseline_elevation_rad: np.ndarray
    speaker: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    """Talker of the target speech per clip (``""`` = unknown)."""
    refined_azimuth_rad: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Direction refined below the grid (:attr:`audiolrp.models.Prediction.direction`)."""
    refined_elevation_rad: np.ndarray = field(default_factory=lambda: np.zeros(0))
    level_dbfs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """W level of each clip as given (before the model's level gain)."""

    def as_dict(self) -> dict[str, list[Any]]:
        """The predictions as JSON-ready lists (``predictions.json``)."""
        return {k: v.tolist() for k, v in self.__dict__.items()}


_META_KEYS = ("azimuth_rad", "elevation_rad", "snr_db", "rt60_s", "baseline_azimuth_rad",
              "baseline_elevation_rad")


def predict_examples(
    model: LoadedModel,
    examples: Iterable[Example],
    *,
    batch_size: int = 16,
    total: int | None = None,
    progress: bool = False,
) -> Predictions:
    """Run ``model`` over ``(audio (n_sh, 16000), label, meta)`` examples in batches through
    :meth:`audiolrp.models.LoadedModel.predict` (each clip at the model's training level;
    class and refined direction).

    ``meta`` may hold ``azimuth_rad``, ``elevation_rad`` (exact true direction), ``snr_db``,
    ``rt60_s``, ``speaker`` (talker name) and the classic estimate
    ``baseline_azimuth_rad``/``baseline_elevation_rad``; missing numbers become NaN (directions
    then default to the class direction), a missing speaker ``""``.
    """
    out: dict[str, list[Any]] = {k: [] for k in Predictions.__dataclass_fields__}
    batch: list[np.ndarray] = []
    need = model.n_audio_channels

    def flush() -> None:
        if not batch:
            return
        p = model.predict(np.stack(batch), batch_size=batch_size)
        out["pred"].extend(p.class_index.tolist())
        out["confidence"].extend(p.confidence.tolist())
        out["refined_azimuth_rad"].extend(np.radians(p.azimuth_deg).tolist())
        out["refined_elevation_rad"].extend(np.radians(p.elevation_deg).tolist())
        out["level_dbfs"].extend(p.level_dbfs.tolist())
        batch.clear()

    bar = tqdm(total=total, disable=True if not progress else None, desc="evaluate", leave=False)
    for audio, label, meta in examples:
        batch.append(np.asarray(audio)[:need])
        out["label"].append(int(label))
        for key in _META_KEYS:
            val = meta.get(key) if meta else None
            out[key].append(float(val) if val is not None else float("nan"))
        out["speaker"].append(str((meta or {}).get("speaker") or ""))
        if len(batch) == batch_size:
            flush()
        bar.update(1)
    flush()
    bar.close()
    dtypes = {"pred": np.int64, "label": np.int64, "speaker": object}
    return Predictions(**{k: np.asarray(v, dtypes.get(k, np.float64)) for k, v in out.items()})


# ------------------------------------------------------------------------------------------
# Whole evaluation
# ------------------------------------------------------------------------------------------


@dataclass
class EvaluationResult:
    """Metrics, predictions and the description of the test data of one evaluation."""

    metrics: dict[str, Any]
    predictions: Predictions
    test_data: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)


def evaluate(
    model: str | os.PathLike[str] | LoadedModel,
    *,
    data_root: str | os.PathLike[str] | None = None,
    split: str = "test",
    max_examples: int | None = None,
    n_examples: int | None = None,
    seed: int | None = None,
    recipe: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
    out_dir: str | os.PathLike[str] | None = None,
    plot: bool = True,
    progress: bool = False,
) -> EvaluationResult:
    """Evaluate a model on a dataset split or on a freshly simulated seeded test set.

    Parameters
    ----------
    model
        Shipped model name, saved model path or :class:`~audiolrp.models.LoadedModel`.
    data_root, split, max_examples
        Dataset folder and split (``FeatureDataset``); ``None`` simulates a test set instead.
    n_examples, seed, recipe
        Size, seed and data recipe of the simulated test set (defaults: the model card's
        ``evaluation`` entry, else 500 examples, :data:`DEFAULT_EVAL_SEED` and the model's
        training data recipe).
    overrides
        :class:`~audiolrp.simulation.scenes.SceneConfig` fields replacing the recipe's for the
        simulated
        test set, e.g. ``{"direction_sampling": "uniform"}`` (off-grid sources) or
        ``{"speech": "espeak"}`` (another speech corpus).
    out_dir
        Folder for ``metrics.json`` (metrics + test-data description), ``predictions.json`` and
        ``errors.png`` (with ``plot``).

    Returns
    -------
    EvaluationResult
    """
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise AudioLRPError(f"--device {device}: no CUDA GPU is available here; pass --device cpu")
    loaded = model if isinstance(model, LoadedModel) else load_model(model, device=device)
    if data_root is not None:
        examples, n, test_data = _dataset_test_set(loaded, data_root, split, max_examples)
    else:
        examples, n, test_data = _simulated_test_set(loaded, n_examples, seed, recipe, overrides)
    preds = predict_examples(loaded, examples, batch_size=batch_size, total=n, progress=progress)
    have_dir = np.isfinite(preds.azimuth_rad) & np.isfinite(preds.elevation_rad)
    grid = _default_grid()
    az = np.where(have_dir, preds.azimuth_rad, grid[preds.label, 0])
    el = np.where(have_dir, preds.elevation_rad, grid[preds.label, 1])
    metrics = compute_metrics(
        preds.pred, preds.label, az, el, grid_rad=grid, snr_db=preds.snr_db, rt60_s=preds.rt60_s,
        speaker=preds.speaker,
        refined_rad=(preds.refined_azimuth_rad, preds.refined_elevation_rad),
        baseline_error_deg=great_circle_deg(
            preds.baseline_azimuth_rad, preds.baseline_elevation_rad, az, el
        ),
    )
    metrics["model"] = loaded.name
    baseline = baseline_metrics(preds, az, el)
    if baseline is not None:
        metrics["baseline_intensity_vector"] = baseline
    result = EvaluationResult(metrics=metrics, predictions=preds, test_data=test_data)
    if out_dir is not None:
        result.files = _write_evaluation(result, loaded, Path(out_dir), az, el, grid, plot=plot)
    return result


def _dataset_test_set(
    loaded: LoadedModel, data_root: str | os.PathLike[str], split: str,
    max_examples: int | None,
) -> tuple[Iterable[Example], int, dict[str, Any]]:
    """The examples of a dataset split (the first ``max_examples``), their count and the
    ``test_data`` description."""
    root = Path(data_root)
    if not root.is_dir():
        raise DatasetError(
            f"dataset folder {root} not found: pass a folder from `audiolrp simulate`"
        )
    ds = FeatureDataset(root, split, feature=loaded.feature, order=loaded.order)
    n = len(ds) if max_examples is None else min(len(ds), max_examples)
    test_data: dict[str, Any] = {
        "source": "dataset",
        "path": str(root.resolve()),
        "split": split,
        "n_examples": n,
    }
    return dataset_examples(ds, loaded.order, n), n, test_data


def _simulated_test_set(
    loaded: LoadedModel, n_examples: int | None, seed: int | None,
    recipe: dict[str, Any] | None, overrides: dict[str, Any] | None,
) -> tuple[Iterable[Example], int, dict[str, Any]]:
    """The seeded simulated test set (size, seed and recipe default to the model card's
    ``evaluation`` entry, else 500 examples, :data:`DEFAULT_EVAL_SEED` and the training
    recipe), its size and the ``test_data`` description."""
    card_eval = dict(loaded.config.get("evaluation") or {})
    n = (
        int(card_eval.get("n_examples", DEFAULT_EVAL_EXAMPLES))
        if n_examples is None
        else n_examples
    )
    seed = int(card_eval.get("seed", DEFAULT_EVAL_SEED)) if seed is None else int(seed)
    recipe = recipe if recipe is not None else (card_eval.get("recipe") or loaded.data_recipe)
    config = scene_config_from_recipe(recipe, loaded.order, overrides)
    examples = simulated_test_examples(
        loaded.feature, loaded.order, n_examples=n, seed=seed, recipe=recipe, overrides=overrides
    )
    test_data = {
        "source": "simulated",
        "n_examples": n,
        "seed": seed,
        "scene_config": config.to_dict(),
        "overrides": dict(overrides or {}),
        "split": "test",
    }
    return examples, n, test_data


def _write_evaluation(
    result: EvaluationResult, loaded: LoadedModel, out: Path, az: np.ndarray, el: np.ndarray,
    grid: np.ndarray, *, plot: bool,
) -> dict[str, str]:
    """Write ``metrics.json``, ``predictions.json`` and (with ``plot``) ``errors.png`` into
    ``out``; returns their paths."""
    preds = result.predictions
    out.mkdir(parents=True, exist_ok=True)
    payload = {"metrics": result.metrics, "test_data": result.test_data,
               "model": str(loaded.path)}
    write_json(out / "metrics.json", payload)
    write_json(out / "predictions.json", preds.as_dict(), indent=None)
    files = {
        "metrics": str(out / "metrics.json"),
        "predictions": str(out / "predictions.json"),
    }
    if plot:
        files["plot"] = str(
            plot_errors(preds.pred, preds.label, az, el, out / "errors.png", grid_rad=grid)
        )
    return files


def plot_errors(
    pred: np.ndarray,
    label: np.ndarray,
    true_azimuth_rad: np.ndarray,
    true_elevation_rad: np.ndarray,
    path: str | os.PathLike[str],
    *,
    grid_rad: np.ndarray | None = None,
) -> Path:
    """Error maps over the sphere (PNG): true directions coloured by great-circle error, and
    the mean error per true class at the class directions (azimuth/elevation in degrees)."""

    grid = _default_grid() if grid_rad is None else np.asarray(grid_rad, np.float64)
    pred = np.asarray(pred, np.int64)
    label = np.asarray(label, np.int64)
    err = great_circle_deg(grid[pred, 0], grid[pred, 1], true_azimuth_rad, true_elevation_rad)
    fig = Figure(figsize=(12, 4.2), constrained_layout=True)
    axes = fig.subplots(1, 2)
    vmax = max(float(np.max(err)) if err.size else 1.0, 1.0)
    sc = axes[0].scatter(
        np.degrees(true_azimuth_rad),
        np.degrees(true_elevation_rad),
        c=err,
        cmap="viridis",
        vmin=0,
        vmax=vmax,
        s=14,
    )
    axes[0].set_title("per clip: error vs true direction")
    fig.colorbar(sc, ax=axes[0], label="great-circle error (deg)")
    classes = np.unique(label)
    mean_err = np.array([np.mean(err[label == c]) for c in classes])
    axes[1].scatter(np.degrees(grid[:, 0]), np.degrees(grid[:, 1]), s=4, c="lightgrey")
    sc2 = axes[1].scatter(
        np.degrees(grid[classes, 0]),
        np.degrees(grid[classes, 1]),
        c=mean_err,
        cmap="magma_r",
        vmin=0,
        vmax=vmax,
        s=24,
    )
    axes[1].set_title("per class: mean error (grey = no test clip)")
    fig.colorbar(sc2, ax=axes[1], label="mean error (deg)")
    for ax in axes:
        ax.set_xlim(-185, 185)
        ax.set_ylim(-95, 95)
        ax.set_xlabel("azimuth (deg)")
        ax.set_ylabel("elevation (deg)")
    out = Path(path)
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    return out


__all__ = [
    "DEFAULT_EVAL_EXAMPLES",
    "DEFAULT_EVAL_SEED",
    "EvaluationResult",
    "Predictions",
    "evaluate",
    "plot_errors",
    "predict_examples",
]
