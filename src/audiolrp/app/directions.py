"""Relevance in space over a set of examples (``audiolrp analyze directions``): simulate or read
scenes that know their room, explain each prediction (:func:`audiolrp.lrp.explain_batches`),
map every bin's relevance to its active-intensity direction
(:func:`audiolrp.analysis.directions.analyse_directions`), summarise the set and draw its maps.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from audiolrp.analysis.directions import (
    REGIONS,
    analyse_directions,
    direction_grid,
    summarize_directions,
)
from audiolrp.app.explainer import Explainer
from audiolrp.app.speech_choice import choose_speech
from audiolrp.data.datasets import FeatureDataset, scene_seed
from audiolrp.errors import AudioLRPError
from audiolrp.evaluation import scene_config_from_recipe
from audiolrp.io import atomic_path, json_ready, write_json
from audiolrp.lrp import explain_batches, parse_method
from audiolrp.plots.sphere import (
    WEIGHT_LABELS,
    plot_angle_profile,
    plot_direction_analysis,
    plot_direction_map,
)
from audiolrp.progress import progress_bar
from audiolrp.signal.ambisonics import angular_error_deg, doa_grid
from audiolrp.simulation.scenes import get_corpus, simulate_scene

#: Scene metadata every example needs (dataset folders written by ``audiolrp simulate``).
GEOMETRY_KEYS: tuple[str, ...] = ("room_m", "source_m", "receiver_m", "azimuth_rad",
                                  "elevation_rad")


def _float(v: Any) -> float:
    return math.nan if v is None else float(v)


def simulated_examples(
    loaded: Any, n: int, seed: int, overrides: dict[str, Any]
) -> tuple[Iterator[tuple[np.ndarray, int, dict[str, Any]]], dict[str, Any]]:
    """Scene ``i`` = ``simulate_scene(config, scene_seed(seed, "test", i), split="test")`` with
    the model card's test recipe (else its data recipe) and ``overrides``; yields
    ``(audio, label, params)`` and returns the test-set description beside the iterator."""

    card = dict(loaded.config.get("evaluation") or {})
    recipe = card.get("recipe") or loaded.data_recipe
    base = scene_config_from_recipe(recipe, max(1, loaded.order), overrides)
    # the Debian corpus when installed (or asked for), else the built-in speech
    speech = choose_speech(overrides.get("speech"), base.speech)
    cfg = dataclasses.replace(base, speech=speech.spec)
    corpus = get_corpus(cfg.speech, cfg.corpus_seed)

    def gen() -> Iterator[tuple[np.ndarray, int, dict[str, Any]]]:
        for i in range(n):
            sc = simulate_scene(cfg, scene_seed(seed, "test", i), corpus, split="test")
            yield sc.mixture, sc.label, {"index": i, **sc.params}

    desc = {"source": "simulated", "n_examples": n, "seed": seed, "split": "test",
            "scene_config": cfg.to_dict(), "overrides": overrides, "speech": speech.as_dict()}
    return gen(), desc


def dataset_examples(
    root: Path, split: str, loaded: Any, n_max: int
) -> tuple[Iterator[tuple[np.ndarray, int, dict[str, Any]]], dict[str, Any]]:
    """The first ``n_max`` examples of a dataset split that stores the room geometry."""

    if not root.is_dir():
        raise AudioLRPError(f"dataset folder {root} not found: create it with `audiolrp simulate`")
    ds = FeatureDataset(root, split, feature=loaded.feature, order=loaded.order)
    if ds.stored_order < 1:
        raise AudioLRPError(f"{root} stores order-0 audio: bin directions need first order "
                            "(W, X, Y, Z); simulate with --order >= 1")
    n = min(len(ds), n_max)
    if n == 0:
        raise AudioLRPError(f"split {split!r} of {root} is empty: pass another --split")
    missing = [k for k in GEOMETRY_KEYS if k not in ds.meta(0)]
    if missing:
        raise AudioLRPError(f"{root} does not store the scene geometry ({', '.join(missing)}): "
                            "re-simulate it with `audiolrp simulate`")
    k_order = max(1, loaded.order)

    def gen() -> Iterator[tuple[np.ndarray, int, dict[str, Any]]]:
        for i in range(n):
            yield ds.audio(i, order=k_order), int(ds.labels[i]), {"index": i, **ds.meta(i)}

    desc = {"source": "dataset", "path": str(root.resolve()), "split": split, "n_examples": n}
    return gen(), desc


def analyse_examples(
    loaded: Any,
    examples: Iterator[tuple[np.ndarray, int, dict[str, Any]]],
    n: int,
    *,
    method: str = "paper",
    target: str = "predicted",
    grid_rad: np.ndarray | None = None,
    radius_deg: float = 15.0,
    batch_size: int = 8,
    progress: bool = False,
) -> tuple[list[Any], list[dict[str, Any]]]:
    """Explain every example and map its relevance onto directions.

    Returns
    -------
    (analyses, rows)
        One :class:`~audiolrp.analysis.directions.DirectionAnalysis` and one JSON-ready row
        (index, label, prediction, error, SNR, RT60, DRR, shares) per example.
    """


    meth, composite = parse_method(method)
    classes = np.asarray(doa_grid())
    update = progress_bar(n, progress, unit="example")
    analyses: list[Any] = []
    rows: list[dict[str, Any]] = []
    batch: list[tuple[np.ndarray, int, dict[str, Any]]] = []

    def flush() -> None:
        x = loaded.features(np.stack([a for a, _, _ in batch]))
        labels = np.array([lab for _, lab, _ in batch], dtype=np.int64)
        rel, pred = explain_batches(loaded.model, x, labels if target == "true" else None,
                                    composite=composite, method=meth)
        explained = labels if target == "true" else pred
        for j, (audio, label, p) in enumerate(batch):
            a = analyse_directions(
                rel[j], audio, source_rad=(p["azimuth_rad"], p["elevation_rad"]),
                room_m=p["room_m"], source_m=p["source_m"], receiver_m=p["receiver_m"],
                predicted_rad=classes[int(pred[j])], grid_rad=grid_rad, radius_deg=radius_deg,
            )
            analyses.append(a)
            err = float(angular_error_deg(p["azimuth_rad"], p["elevation_rad"],
                                          *classes[int(pred[j])]))
            rows.append({
                "index": int(p["index"]), "label": int(label), "predicted": int(pred[j]),
                "explained": int(explained[j]), "error_deg": round(err, 4),
                "snr_db": p.get("snr_db"), "rt60_s": p.get("rt60_s"), "drr_db": p.get("drr_db"),
                "shares": {w: dict(zip(REGIONS, s.tolist(), strict=True))
                           for w, s in (a.shares or {}).items()},
                "relevance_total": a.totals["relevance_positive"]
                - a.totals["relevance_negative"],
            })
        update(len(batch))
        batch.clear()

    for item in examples:
        batch.append(item)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return analyses, rows


def write_outputs(
    out: Path, loaded: Any, analyses: list[Any], rows: list[dict[str, Any]],
    test_data: dict[str, Any], *, method: str, target: str, grid_deg: float, n_maps: int,
    n_boot: int,
) -> tuple[dict[str, Any], list[str]]:
    """Summary (:func:`~audiolrp.analysis.directions.summarize_directions`), figures and the
    JSON record of :func:`directions_cmd` (``directions.json`` is written by the caller; its
    shares are fractions, documented in the record's ``share_unit``)."""

    def save(fig: Any, name: str) -> str:
        path = out / name
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        return str(path)

    summary = summarize_directions(
        analyses, [_float(r["snr_db"]) for r in rows], [_float(r["rt60_s"]) for r in rows],
        n_boot=n_boot, seed=0,
    )
    files = [str(out / "directions.json")]
    for a, r in list(zip(analyses, rows, strict=True))[:n_maps]:
        files.append(save(plot_direction_analysis(
            a, title=f"Example {r['index']}: SNR {_float(r['snr_db']):.1f} dB, RT60 "
            f"{_float(r['rt60_s']):.2f} s, error {r['error_deg']:.1f}°"),
            f"direction_map_{r['index']:03d}.png"))
    mean_h = summary["mean_histograms"]
    files.append(save(plot_direction_map(
        {f"{WEIGHT_LABELS[w]}, mean of {len(analyses)} examples' maps": mean_h[w]
         for w in ("relevance_positive", "energy") if w in mean_h},
        analyses[0].grid_rad),
        "direction_map_mean.png"))
    if "mean_profiles" in summary:
        files.append(save(plot_angle_profile(
            summary["profile_edges_deg"],
            {w: summary["mean_profiles"][w] for w in
             ("relevance_positive", "relevance_negative", "energy", "bins")
             if w in summary["mean_profiles"]},
            radius_deg=summary["radius_deg"],
            title=f"Weight by angle from the true source ({len(analyses)} examples)"),
            "angle_profile.png"))
    errors = np.array([r["error_deg"] for r in rows])
    record = {
        "model": loaded.name, "feature": loaded.feature, "order": loaded.order,
        "method": method, "target": target, "test_data": test_data,
        "grid": {"spacing_deg": grid_deg, "n_directions": int(analyses[0].grid_rad.shape[0])},
        "directions": "active intensity Re{conj(W) [X, Y, Z]} of the raw STFT per bin",
        "energy": "|W|^2 per bin",
        "bin_relevance": "relevance summed over the input channels of the bin",
        "share_unit": "fractions (0..1) of each weight's total per region (summary "
                      "differences likewise); the printed table and the report pages show "
                      "percent",
        "model_error_deg": {"mean": float(errors.mean()), "median": float(np.median(errors))},
        "summary": summary, "examples": rows,
    }
    return record, files


def run_directions(
    model: str, out: Path, *, data: Path | None, split: str, n_examples: int,
    seed: int | None, overrides: dict[str, Any], method: str | None, target: str,
    grid_deg: float, radius_deg: float, n_maps: int, n_boot: int, batch_size: int,
    progress: bool,
) -> tuple[dict[str, Any], list[str]]:
    """``audiolrp analyze directions`` into ``out`` (which must exist): the examples (the
    first ``n_examples`` of ``data``, else fresh scenes of the card's recipe with
    ``overrides``, seed default the card's test seed), their analyses, the figures and
    ``directions.json``; returns the record and the written files. ``method`` ``None``: the
    preset of the model's architecture (:attr:`Explainer.lrp_method`)."""
    t0 = time.perf_counter()
    grid = direction_grid(grid_deg)
    explainer = Explainer.load(model, method=method)
    loaded, method = explainer.model, explainer.lrp_method
    if data is not None:
        examples, test_data = dataset_examples(data, split, loaded, n_examples)
    else:
        card = dict(loaded.config.get("evaluation") or {})
        s = int(card.get("seed", 0)) if seed is None else seed
        examples, test_data = simulated_examples(loaded, n_examples, s, overrides)
    n = int(test_data["n_examples"])
    analyses, rows = analyse_examples(
        loaded, examples, n, method=method, target=target, grid_rad=grid,
        radius_deg=radius_deg, batch_size=batch_size, progress=progress,
    )
    t_analyse = time.perf_counter() - t0
    record, files = write_outputs(out, loaded, analyses, rows, test_data, method=method,
                                  target=target, grid_deg=grid_deg, n_maps=n_maps,
                                  n_boot=n_boot)
    record["timing_s"] = {"analysis": round(t_analyse, 2),
                          "total": round(time.perf_counter() - t0, 2)}
    write_json(out / "directions.json", json_ready(record), allow_nan=False, default=None)
    return record, files


__all__ = [
    "GEOMETRY_KEYS",
    "analyse_examples",
    "dataset_examples",
    "run_directions",
    "simulated_examples",
    "write_outputs",
]
