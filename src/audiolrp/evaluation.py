"""DOA evaluation of trained CRNNs: accuracy, great-circle errors, SNR/RT60 breakdowns, plots.

Clip prediction = argmax over the 425 classes of the mean frame softmax
(:func:`audiolrp.models.clip_probabilities`; paper section "Experimental Setup"). Two angular
errors are reported, both great-circle angles ``atan2(|u x v|, u . v)`` in degrees:

* ``error_vs_true_direction_deg``: predicted class direction vs the true source direction
  (equals the next one when scenes place sources exactly on grid directions);
* ``error_vs_true_class_deg``: predicted class direction vs the true class direction (0 for a
  correct prediction).

A diagnostic third error, ``error_ignoring_axis_signs_deg``, is the angle left after both
directions are mirrored into the first octant (``(x, y, z) -> (|x|, |y|, |z|)``). Every real
spherical harmonic is even or odd under each of the reflections ``x -> -x``, ``y -> -y``,
``z -> -z``, so the channel *magnitudes* of a plane wave are identical for the 8 mirror images of
its direction at every Ambisonics order; the signs live only in the inter-channel *phases*. A
magnitude + phase model that has learned the magnitude cues but not yet the phase cues shows a
small sign-ignoring error next to a ~90 deg plain error.

``accuracy_within_neighbour`` is the fraction of clips whose class error is at most the grid's
neighbour spacing (the largest nearest-neighbour angle of the grid: 10 deg for
:func:`audiolrp.signal.ambisonics.doa_grid`), i.e. the prediction is the true class or an adjacent
one.

Test data come from a dataset folder (``audiolrp.data.datasets.FeatureDataset``) or are simulated
afresh with :func:`audiolrp.simulation.scenes.simulate_scene` from the model card's data recipe and
a
seed (:func:`simulated_test_examples`), so a shipped model's card metrics are reproducible with
``audiolrp evaluate --model NAME``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from audiolrp.data.datasets import FeatureDataset, scene_seed
from audiolrp.errors import AudioLRPError, DatasetError
from audiolrp.io import atomic_path, write_json
from audiolrp.models import LoadedModel
from audiolrp.models import load as load_model
from audiolrp.signal.ambisonics import (
    angular_error_deg,
    class_neighbour_spacing_deg,
    doa_grid,
    nearest_class,
    unit_vector,
    vector_angle_deg,
)
from audiolrp.signal.features import intensity_vector_direction
from audiolrp.simulation.scenes import SceneConfig, get_corpus, simulate_scene

#: Seed of the freshly simulated test sets of ``audiolrp evaluate`` (model cards record it).
DEFAULT_EVAL_SEED = 20210823
DEFAULT_EVAL_EXAMPLES = 500


# ------------------------------------------------------------------------------------------
# Geometry
# ------------------------------------------------------------------------------------------


def great_circle_deg(
    az1_rad: np.ndarray, el1_rad: np.ndarray, az2_rad: np.ndarray, el2_rad: np.ndarray
) -> np.ndarray:
    """Great-circle angle in degrees between directions, ``atan2(|u x v|, u . v)``
    (:func:`audiolrp.signal.ambisonics.angular_error_deg`)."""
    return angular_error_deg(az1_rad, el1_rad, az2_rad, el2_rad)


def axis_sign_folded_error_deg(
    az1_rad: np.ndarray, el1_rad: np.ndarray, az2_rad: np.ndarray, el2_rad: np.ndarray
) -> np.ndarray:
    """Great-circle angle in degrees after mirroring both directions into the first octant.

    ``(x, y, z) -> (|x|, |y|, |z|)``: 0 when one direction is a mirror image of the other in
    any of the coordinate planes (the ambiguity left by HOA channel magnitudes alone).
    """
    return vector_angle_deg(
        np.abs(unit_vector(az1_rad, el1_rad)), np.abs(unit_vector(az2_rad, el2_rad))
    )


def neighbour_spacing_deg(grid_rad: np.ndarray) -> float:
    """Largest angle from a grid direction to its nearest other grid direction (degrees;
    :func:`audiolrp.signal.ambisonics.class_neighbour_spacing_deg`)."""
    return float(np.max(class_neighbour_spacing_deg(grid_rad)))


def _default_grid() -> np.ndarray:

    return np.asarray(doa_grid(), np.float64)


# ------------------------------------------------------------------------------------------
# Metrics
# ------------------------------------------------------------------------------------------


def _summary(err: np.ndarray) -> dict[str, float]:
    if err.size == 0:
        return {"mean": float("nan"), "median": float("nan"), "p90": float("nan")}
    return {
        "mean": float(np.mean(err)),
        "median": float(np.median(err)),
        "p90": float(np.percentile(err, 90)),
    }


def _bin_edges(values: np.ndarray, n_bins: int) -> np.ndarray:
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, n_bins + 1)))
    if edges.size == 1:
        edges = np.array([edges[0], edges[0]])
    return edges


def breakdown(
    values: np.ndarray,
    correct: np.ndarray,
    error_deg: np.ndarray,
    *,
    n_bins: int = 4,
    edges: np.ndarray | None = None,
) -> list[dict[str, float]]:
    """Accuracy and error per bin of ``values`` (equal-count bins unless ``edges`` given).

    Bins are ``[low, high)``; the last one also holds ``high``. NaN values are skipped.
    """
    values = np.asarray(values, np.float64)
    ok = np.isfinite(values)
    if not np.any(ok):
        return []
    edges = _bin_edges(values[ok], n_bins) if edges is None else np.asarray(edges, np.float64)
    rows = []
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        last = i == len(edges) - 2
        sel = ok & (values >= lo) & ((values <= hi) if last else (values < hi))
        rows.append(
            {
                "low": float(lo),
                "high": float(hi),
                "n": int(np.sum(sel)),
                "accuracy": float(np.mean(correct[sel])) if np.any(sel) else float("nan"),
                "mean_error_deg": float(np.mean(error_deg[sel])) if np.any(sel) else float("nan"),
                "median_error_deg": (
                    float(np.median(error_deg[sel])) if np.any(sel) else float("nan")
                ),
            }
        )
    return rows


def speaker_breakdown(
    speaker: np.ndarray,
    correct: np.ndarray,
    error_deg: np.ndarray,
    baseline_error_deg: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Accuracy and error per talker of the target speech, sorted by name.

    Shows whether a model generalises to voices it never heard (the cards' test speakers are
    disjoint from the training speakers). Clips without a speaker name (``""``) are skipped.
    ``baseline_error_deg`` (the classic estimator's error per clip, NaN where unknown) adds
    its mean per talker, so a hard voice is told apart from a hard recording.
    """
    names = np.asarray(speaker, dtype=object).reshape(-1)
    rows: list[dict[str, Any]] = []
    for name in sorted({str(n) for n in names if n}):
        sel = np.array([str(n) == name for n in names])
        row: dict[str, Any] = {
            "speaker": name,
            "n": int(sel.sum()),
            "accuracy": float(np.mean(correct[sel])),
            "mean_error_deg": float(np.mean(error_deg[sel])),
            "median_error_deg": float(np.median(error_deg[sel])),
        }
        if baseline_error_deg is not None:
            b = np.asarray(baseline_error_deg, np.float64)[sel]
            b = b[np.isfinite(b)]
            row["baseline_mean_error_deg"] = float(np.mean(b)) if b.size else float("nan")
        rows.append(row)
    return rows


def compute_metrics(
    pred: np.ndarray,
    label: np.ndarray,
    true_azimuth_rad: np.ndarray | None = None,
    true_elevation_rad: np.ndarray | None = None,
    *,
    grid_rad: np.ndarray | None = None,
    snr_db: np.ndarray | None = None,
    rt60_s: np.ndarray | None = None,
    n_bins: int = 4,
    neighbour_tolerance_deg: float | None = None,
    speaker: np.ndarray | None = None,
    baseline_error_deg: np.ndarray | None = None,
    refined_rad: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """DOA metrics of clip predictions.

    Parameters
    ----------
    pred, label
        Predicted and true class indices, shape ``(n,)``.
    true_azimuth_rad, true_elevation_rad
        Exact true source directions (default: the true class directions).
    grid_rad
        ``(n_classes, 2)`` class directions [azimuth, elevation] (default ``doa_grid()``).
    snr_db, rt60_s
        Per-clip conditions for the breakdowns (optional).
    n_bins
        Equal-count bins of the breakdowns.
    neighbour_tolerance_deg
        Class-error threshold of ``accuracy_within_neighbour`` (default: the grid's largest
        nearest-neighbour spacing, :func:`neighbour_spacing_deg`).
    speaker
        Talker of each clip (``""`` = unknown) for ``by_speaker`` (:func:`speaker_breakdown`).
    baseline_error_deg
        The classic estimator's error per clip (NaN where unknown); adds its mean per talker
        to ``by_speaker``.
    refined_rad
        ``(azimuth_rad, elevation_rad)`` of the directions refined below the grid
        (:class:`audiolrp.models.Prediction`): adds ``refined_error_deg`` (mean/median/p90 vs
        the true direction) and ``refined_share_within_10_deg``.

    Returns
    -------
    dict
        ``n_examples``, ``accuracy``, ``error_vs_true_direction_deg`` and
        ``error_vs_true_class_deg`` and ``error_ignoring_axis_signs_deg`` (mean/median/p90; the
        last vs the true direction), ``accuracy_within_neighbour``,
        ``neighbour_tolerance_deg``, ``by_snr_db`` and ``by_rt60_s`` (lists of bins) and
        ``by_speaker`` (one row per talker; empty without ``speaker``).
    """
    pred = np.asarray(pred, np.int64).reshape(-1)
    label = np.asarray(label, np.int64).reshape(-1)
    if pred.shape != label.shape:
        raise AudioLRPError(f"{pred.size} predictions but {label.size} labels: pass equal counts")
    grid = _default_grid() if grid_rad is None else np.asarray(grid_rad, np.float64)
    if pred.size and (
        max(pred.max(), label.max()) >= len(grid) or min(pred.min(), label.min()) < 0
    ):
        raise AudioLRPError(f"class indices must lie in 0..{len(grid) - 1}")
    if true_azimuth_rad is None or true_elevation_rad is None:
        true_az, true_el = grid[label, 0], grid[label, 1]
    else:
        true_az = np.asarray(true_azimuth_rad, np.float64).reshape(-1)
        true_el = np.asarray(true_elevation_rad, np.float64).reshape(-1)
    correct = (pred == label).astype(np.float64)
    err_dir = great_circle_deg(grid[pred, 0], grid[pred, 1], true_az, true_el)
    err_cls = great_circle_deg(grid[pred, 0], grid[pred, 1], grid[label, 0], grid[label, 1])
    tol = (
        neighbour_spacing_deg(grid) if neighbour_tolerance_deg is None else neighbour_tolerance_deg
    )
    metrics: dict[str, Any] = {
        "n_examples": int(pred.size),
        "accuracy": float(np.mean(correct)) if pred.size else float("nan"),
        "error_vs_true_direction_deg": _summary(err_dir),
        "error_vs_true_class_deg": _summary(err_cls),
        "error_ignoring_axis_signs_deg": _summary(
            axis_sign_folded_error_deg(grid[pred, 0], grid[pred, 1], true_az, true_el)
        ),
        "accuracy_within_neighbour": (
            float(np.mean(err_cls <= tol + 1e-6)) if pred.size else float("nan")
        ),
        "neighbour_tolerance_deg": float(tol),
        "share_within_10_deg": float(np.mean(err_dir <= 10.0)) if pred.size else float("nan"),
    }
    if refined_rad is not None:
        raz = np.asarray(refined_rad[0], np.float64).reshape(-1)
        rel = np.asarray(refined_rad[1], np.float64).reshape(-1)
        err_ref = great_circle_deg(raz, rel, true_az, true_el)
        metrics["refined_error_deg"] = _summary(err_ref)
        metrics["refined_share_within_10_deg"] = (
            float(np.mean(err_ref <= 10.0)) if pred.size else float("nan")
        )
    metrics["by_snr_db"] = (
        breakdown(np.asarray(snr_db), correct, err_dir, n_bins=n_bins) if snr_db is not None else []
    )
    metrics["by_rt60_s"] = (
        breakdown(np.asarray(rt60_s), correct, err_dir, n_bins=n_bins) if rt60_s is not None else []
    )
    metrics["by_speaker"] = (
        speaker_breakdown(speaker, correct, err_dir, baseline_error_deg)
        if speaker is not None
        else []
    )
    return metrics


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


#: ``(audio (n_sh, 16000), label, meta)``: one test clip as AmbiX audio at 16 kHz.
Example = tuple[np.ndarray, int, dict[str, Any]]
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


def _with_baseline(meta: dict[str, Any], audio: np.ndarray | None) -> dict[str, Any]:
    """``meta`` plus the classic intensity-vector estimate of first-order ``audio``."""
    if audio is not None and audio.shape[0] >= 4:

        az, el = intensity_vector_direction(audio[:4])
        meta = {**meta, "baseline_azimuth_rad": float(az), "baseline_elevation_rad": float(el)}
    return meta


def dataset_examples(
    dataset: Any, order: int, max_examples: int | None = None
) -> Iterator[Example]:
    """Yield ``(audio, label, meta)`` from a ``FeatureDataset``: the stored mixture up to
    ``order`` (float64) and its label; ``meta`` gets the classic intensity-vector estimate
    where first-order audio is stored."""
    n = len(dataset) if max_examples is None else min(len(dataset), max_examples)
    for i in range(n):
        audio = np.asarray(dataset.audio(i, order=max(1, order)), dtype=np.float64)
        meta = dataset.meta(i)
        label = int(meta["label"]) if "label" in meta else int(dataset[i][1])
        yield audio, label, _with_baseline(dict(meta or {}), audio)


def point_noise_overrides(low: int, high: int) -> dict[str, Any]:
    """Scene overrides of the directional-noise test set: ``low..high`` reverberant pink-noise
    point sources per scene beside the babble, carrying 30-100 % of the noise power (the noise
    of ``experiments/scene-wide-pointnoise.json``; ``evaluate --point-noise LOW,HIGH``)."""
    return {"n_point_noise": [int(low), int(high)], "point_noise_share": [0.3, 1.0],
            "point_noise_kind": "pink"}


def scene_config_from_recipe(
    recipe: dict[str, Any] | None, order: int, overrides: dict[str, Any] | None = None
) -> Any:
    """The :class:`audiolrp.simulation.scenes.SceneConfig` of a data recipe (default ranges if
    absent),
    with ``overrides`` (e.g. ``{"direction_sampling": "uniform", "speech": "espeak"}``) applied.

    The simulated order is at least the model's order (``order``).
    """

    cfg_dict = {**dict((recipe or {}).get("config") or {}), **dict(overrides or {})}
    known = set(SceneConfig.__dataclass_fields__)
    cfg_dict = {k: v for k, v in cfg_dict.items() if k in known}
    cfg_dict["order"] = max(int(cfg_dict.get("order", order)), int(order))
    return SceneConfig.from_dict(cfg_dict)


def simulated_test_examples(
    feature: str,
    order: int,
    *,
    n_examples: int = DEFAULT_EVAL_EXAMPLES,
    seed: int = DEFAULT_EVAL_SEED,
    recipe: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Iterator[Example]:
    """A fresh, seeded test set.

    Scene ``i`` is ``simulate_scene(config, scene_seed(seed, "test", i), split="test")`` -- the
    same recipe as example ``i`` of the test split of ``audiolrp simulate --seed SEED`` with that
    scene configuration (:func:`audiolrp.data.datasets.scene_seed`). Yields the mixture
    (AmbiX, all simulated channels, float32) as the example's audio; the model input is made
    from it by :meth:`audiolrp.models.LoadedModel.input`.
    """

    config = scene_config_from_recipe(recipe, order, overrides)
    corpus = get_corpus(config.speech, config.corpus_seed)
    for i in range(n_examples):
        scene = simulate_scene(config, scene_seed(seed, "test", i), corpus, split="test")
        meta = {
            "azimuth_rad": scene.azimuth_rad,
            "elevation_rad": scene.elevation_rad,
            "snr_db": scene.params.get("snr_db"),
            "rt60_s": scene.params.get("rt60_s"),
            "speaker": scene.params.get("speaker"),
        }
        meta = _with_baseline(meta, scene.mixture if scene.mixture.shape[0] >= 4 else None)
        yield np.asarray(scene.mixture), int(scene.label), meta


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
    feature, order = loaded.feature, loaded.order
    card_eval = dict(loaded.config.get("evaluation") or {})
    if data_root is not None:
        root = Path(data_root)
        if not root.is_dir():
            raise DatasetError(
                f"dataset folder {root} not found: pass a folder from `audiolrp simulate`"
            )

        ds = FeatureDataset(root, split, feature=feature, order=order if feature == "hoa" else None)
        n = len(ds) if max_examples is None else min(len(ds), max_examples)
        examples: Iterable[Example] = dataset_examples(ds, order, n)
        test_data: dict[str, Any] = {
            "source": "dataset",
            "path": str(root.resolve()),
            "split": split,
            "n_examples": n,
        }
    else:
        n = (
            int(card_eval.get("n_examples", DEFAULT_EVAL_EXAMPLES))
            if n_examples is None
            else n_examples
        )
        seed = int(card_eval.get("seed", DEFAULT_EVAL_SEED)) if seed is None else int(seed)
        recipe = recipe if recipe is not None else (card_eval.get("recipe") or loaded.data_recipe)
        config = scene_config_from_recipe(recipe, order, overrides)
        examples = simulated_test_examples(
            feature, order, n_examples=n, seed=seed, recipe=recipe, overrides=overrides
        )
        test_data = {
            "source": "simulated",
            "n_examples": n,
            "seed": seed,
            "scene_config": config.to_dict(),
            "overrides": dict(overrides or {}),
            "split": "test",
        }
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
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        payload = {"metrics": metrics, "test_data": test_data, "model": str(loaded.path)}
        write_json(out / "metrics.json", payload)
        write_json(out / "predictions.json", preds.as_dict(), indent=None)
        result.files = {
            "metrics": str(out / "metrics.json"),
            "predictions": str(out / "predictions.json"),
        }
        if plot:
            result.files["plot"] = str(
                plot_errors(preds.pred, preds.label, az, el, out / "errors.png", grid_rad=grid)
            )
    return result


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


def baseline_metrics(
    preds: Predictions, true_azimuth_rad: np.ndarray, true_elevation_rad: np.ndarray
) -> dict[str, Any] | None:
    """Errors of the classic broadband intensity-vector estimate on the same clips.

    ``error_vs_true_direction_deg`` of its continuous direction (mean/median/p90),
    ``share_within_10_deg`` beside the model's, and the exact-class ``accuracy`` of its nearest
    class. ``None`` when the clips carried no first-order audio.
    """

    baz, bel = preds.baseline_azimuth_rad, preds.baseline_elevation_rad
    ok = np.isfinite(baz) & np.isfinite(bel)
    if not ok.any():
        return None
    err = great_circle_deg(baz[ok], bel[ok], true_azimuth_rad[ok], true_elevation_rad[ok])
    grid = _default_grid()
    model_err = great_circle_deg(
        grid[preds.pred[ok], 0], grid[preds.pred[ok], 1], true_azimuth_rad[ok],
        true_elevation_rad[ok],
    )
    return {
        "estimator": "broadband active intensity vector sum_{t,f} Re{conj(W) [X, Y, Z]}",
        "n_examples": int(ok.sum()),
        "error_vs_true_direction_deg": _summary(err),
        "share_within_10_deg": float(np.mean(err <= 10.0)),
        "model_share_within_10_deg": float(np.mean(model_err <= 10.0)),
        "accuracy": float(np.mean(nearest_class(baz[ok], bel[ok]) == preds.label[ok])),
        "model_wins_share": float(np.mean(model_err < err)),
    }


def format_metrics(metrics: dict[str, Any]) -> str:
    """Human-readable multi-line summary of :func:`compute_metrics` output."""
    d = metrics["error_vs_true_direction_deg"]
    c = metrics["error_vs_true_class_deg"]
    lines = [f"examples: {metrics['n_examples']}"]
    r = metrics.get("refined_error_deg")
    if r:
        lines.append(
            f"refined direction error vs true direction (deg): mean {r['mean']:.2f}, median "
            f"{r['median']:.2f}; within 10 deg: {metrics['refined_share_within_10_deg']:.3f}"
        )
    lines += [
        f"accuracy (exact class): {metrics['accuracy']:.3f}",
        f"accuracy within neighbour (<= {metrics['neighbour_tolerance_deg']:.1f} deg): "
        f"{metrics['accuracy_within_neighbour']:.3f}",
        f"class error vs true direction (deg): mean {d['mean']:.2f}, median {d['median']:.2f}",
        f"error vs true class (deg): mean {c['mean']:.2f}, median {c['median']:.2f}",
    ]
    f = metrics.get("error_ignoring_axis_signs_deg")
    if f:
        lines.append(
            f"error ignoring the signs of x, y, z (deg): mean {f['mean']:.2f}, "
            f"median {f['median']:.2f}"
        )
    b = metrics.get("baseline_intensity_vector")
    if b:
        e = b["error_vs_true_direction_deg"]
        lines.append(
            f"classic intensity-vector estimator on the same clips (deg): mean {e['mean']:.2f}, "
            f"median {e['median']:.2f}; within 10 deg: baseline {b['share_within_10_deg']:.3f}, "
            f"model {b['model_share_within_10_deg']:.3f}; model closer on "
            f"{b['model_wins_share']:.3f} of the clips"
        )
    for key, unit in (("by_snr_db", "SNR dB"), ("by_rt60_s", "RT60 s")):
        for row in metrics.get(key, []):
            lines.append(
                f"  {unit} [{row['low']:.2f}, {row['high']:.2f}]: n={row['n']}, accuracy "
                f"{row['accuracy']:.3f}, mean error {row['mean_error_deg']:.2f} deg"
            )
    for row in metrics.get("by_speaker", []):
        classic = row.get("baseline_mean_error_deg")
        lines.append(
            f"  talker {row['speaker']}: n={row['n']}, accuracy {row['accuracy']:.3f}, mean "
            f"error {row['mean_error_deg']:.2f} deg"
            + (f" (classic {classic:.2f})" if classic is not None and np.isfinite(classic) else "")
        )
    return "\n".join(lines)


__all__ = [
    "point_noise_overrides",
    "DEFAULT_EVAL_EXAMPLES",
    "DEFAULT_EVAL_SEED",
    "EvaluationResult",
    "Predictions",
    "breakdown",
    "speaker_breakdown",
    "compute_metrics",
    "dataset_examples",
    "evaluate",
    "format_metrics",
    "axis_sign_folded_error_deg",
    "baseline_metrics",
    "great_circle_deg",
    "neighbour_spacing_deg",
    "plot_errors",
    "predict_examples",
    "scene_config_from_recipe",
    "simulated_test_examples",
]
