"""Multi-source commands' bodies: ``audiolrp simulate --sources``, ``audiolrp train --task
multi`` and ``audiolrp analyze sources`` (whose relevance is it; the CLI stays thin)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from audiolrp.analysis.per_source import SourceRelevance, analyse_source, summarize_sources
from audiolrp.app.explainer import Explainer
from audiolrp.app.speech_choice import choose_speech
from audiolrp.data.multisource import generate_multisource_dataset, multisource_spec
from audiolrp.data.spec import DatasetSpec, scene_seed
from audiolrp.errors import AudioLRPError
from audiolrp.evaluation import scene_config_from_recipe
from audiolrp.evaluation.multisource import match_directions, multisource_metrics
from audiolrp.io import atomic_path, write_json
from audiolrp.models.multisource import clip_activity, detector_of
from audiolrp.plots.per_source import plot_source_maps
from audiolrp.progress import progress_bar
from audiolrp.signal.ambisonics import doa_grid
from audiolrp.simulation.multisource import (
    MultiSourceConfig,
    parse_sources,
    simulate_multisource_scene,
)
from audiolrp.simulation.scenes import get_corpus
from audiolrp.training.multisource import MultiTrainConfig, train_multisource


def simulate_multisource_dataset(
    out_dir: str | os.PathLike[str],
    spec: DatasetSpec,
    sources: str,
    min_separation_deg: float,
    *,
    workers: int = 1,
    shard: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """``audiolrp simulate OUT --sources LO-HI``: a multi-source dataset folder."""
    if shard is not None:
        raise AudioLRPError("--shard is not supported with --sources; run on one machine")
    multi = MultiSourceConfig(
        n_sources=parse_sources(sources), min_separation_deg=min_separation_deg
    )
    return generate_multisource_dataset(out_dir, multisource_spec(spec, multi), workers=workers)


def train_multisource_command(
    data: str, out: str | os.PathLike[str], *, feature: str, epochs: int, batch_size: int,
    lr: float, warmup_steps: int, seed: int, checkpoint_every: int,
    max_train_examples: int | None, max_val_examples: int | None, model_size: str,
    init_from: str | None, crop_frames: int, augment: bool, label_sigma_deg: float,
    max_minutes: float | None, resume: bool, progress: bool, command: str,
) -> dict[str, Any]:
    """``audiolrp train DATA OUT --task multi``: the options of ``train`` mapped onto
    :class:`~audiolrp.training.multisource.MultiTrainConfig` (``--label-sigma-deg 0`` means the
    default target width of 8 degrees)."""
    if "," in data:
        raise AudioLRPError("--task multi trains on one dataset folder; pass a single DATA")
    config = MultiTrainConfig(
        feature=feature, order=1, epochs=epochs, batch_size=batch_size, lr=lr,
        warmup_steps=warmup_steps, seed=seed, checkpoint_every_steps=max(1, checkpoint_every),
        max_train_examples=max_train_examples, max_val_examples=max_val_examples,
        model_size=model_size, init_from=init_from, crop_frames=crop_frames, augment=augment,
        target_sigma_deg=label_sigma_deg if label_sigma_deg > 0 else 8.0,
        max_minutes=max_minutes, progress=progress,
    )
    return train_multisource(data, out, config, resume=resume, command=command)


def _scene_config(explainer: Explainer, corpus: str | None) -> Any:
    """The model's training scene recipe (first dataset), test speech (Debian if installed)."""
    recipe = explainer.model.data_recipe
    datasets = (recipe or {}).get("datasets") or [recipe or {}]
    base = scene_config_from_recipe(datasets[0], max(1, explainer.order))
    speech = choose_speech(corpus, base.speech)
    return dataclasses.replace(base, speech=speech.spec, extra={})


def analyse_sources(
    model: str | os.PathLike[str],
    *,
    n_examples: int = 20,
    seed: int = 0,
    sources: str = "2-3",
    min_separation_deg: float = 30.0,
    corpus: str | None = None,
    out: str | os.PathLike[str] | None = None,
    n_figures: int = 3,
    threshold: float | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """``audiolrp analyze sources``: whose relevance is each detected source's explanation?

    Scene ``i`` is ``simulate_multisource_scene(config, multi, scene_seed(seed, "test", i),
    split="test")`` with the model's training recipe and ``sources`` talkers; the model's
    detector (threshold from its file) finds the sources, each detection is explained (LRP,
    paper composite, relevance from the detected class's score at every frame) and measured
    (:func:`audiolrp.analysis.per_source.analyse_source`: shares near each talker's direction
    and in the bins each talker dominates). ``threshold`` replaces the detector's (and its
    learned source counter, if the file has one). Writes
    ``results.json`` and ``sources-I.png`` (one sphere map per detection) into ``out``.

    Returns
    -------
    dict
        ``model``, ``scenes`` (test-set description), ``detection`` (matched error, misses,
        false alarms, counting), ``summary`` (mean own/others shares, relevance and energy),
        ``examples`` (per scene and detection), ``figures``.
    """
    if n_examples < 1:
        raise AudioLRPError(f"--n-examples {n_examples} must be >= 1")
    ex = _load_multisource_model(model)
    multi = MultiSourceConfig(n_sources=parse_sources(sources),
                              min_separation_deg=min_separation_deg)
    cfg = _scene_config(ex, corpus)
    speech = get_corpus(cfg.speech, cfg.corpus_seed)
    detector = detector_of(ex.model.config)
    if threshold is not None:
        # a threshold given by hand counts the sources itself (no learned counter)
        detector = dataclasses.replace(detector, threshold=float(threshold), counter=None)
    grid = doa_grid()
    out_dir = None if out is None else Path(out)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    analyses: list[SourceRelevance] = []
    true_all, est_all, examples, figures = [], [], [], []
    update = progress_bar(n_examples, progress, unit="scene")
    for i in range(n_examples):
        sc = simulate_multisource_scene(cfg, multi, scene_seed(seed, "test", i), speech,
                                        split="test")
        true, dirs, rows = _detect_and_explain(ex, detector, sc)
        true_all.append(true)
        est_all.append(dirs)
        analyses += rows
        examples.append({
            "scene": i, "n_sources": sc.n_sources,
            "sources_deg": np.degrees(true).round(3).tolist(),
            "snr_db": float(sc.params["snr_db"]), "rt60_s": float(sc.params["rt60_s"]),
            "detections": [r.to_dict() for r in rows],
        })
        if out_dir is not None and i < n_figures and rows:
            figures.append(_save_source_maps(out_dir, i, sc.n_sources, rows, grid, true, dirs))
        update(1)
    result = {
        "model": ex.name,
        "scenes": {"n_examples": n_examples, "seed": seed, "multisource": multi.to_dict(),
                   "speech": cfg.speech, "split": "test"},
        "detector": detector.to_dict(),
        "detection": multisource_metrics(true_all, est_all),
        "summary": summarize_sources(analyses),
        "examples": examples,
        "figures": figures,
    }
    if out_dir is not None:
        write_json(out_dir / "results.json", result)
    return result


def _load_multisource_model(model: str | os.PathLike[str]) -> Explainer:
    """The model through :meth:`Explainer.load`, refused (one line) unless its head is the
    multi-source sigmoid head."""
    ex = Explainer.load(model)
    if getattr(ex.model.model, "head", "softmax") != "sigmoid":
        raise AudioLRPError(
            f"model {ex.name!r} has one output per clip (softmax head); pass a multi-source "
            "model (trained with `audiolrp train --task multi`)"
        )
    return ex


def _detect_and_explain(
    ex: Explainer, detector: Any, sc: Any
) -> tuple[np.ndarray, np.ndarray, list[SourceRelevance]]:
    """One scene: the detector's sources, each explained and measured against the talkers.

    Returns the true directions ``(S, 2)``, the detected ones ``(D, 2)`` and one
    :class:`SourceRelevance` per detection."""
    x = ex.features(sc.mixture)
    activity = clip_activity(ex.model.model, torch.from_numpy(x[None]))[0].numpy()
    classes, dirs = detector.detect(activity)
    true = np.stack([sc.azimuth_rad, sc.elevation_rad], 1)
    match = dict((e, t) for t, e in match_directions(true, dirs).pairs)
    rows: list[SourceRelevance] = []
    if len(classes):
        rel, _ = ex.explain(np.repeat(x[None], len(classes), 0), classes)
        for k, c in enumerate(classes):
            rows.append(analyse_source(
                rel[k], sc.mixture, true, sc.source_images, sc.noise,
                detected_class=int(c), detected_rad=dirs[k],
                matched_source=match.get(k),
            ))
    return true, dirs, rows


def _save_source_maps(
    out_dir: Path, i: int, n_sources: int, rows: list[SourceRelevance], grid: np.ndarray,
    true: np.ndarray, dirs: np.ndarray,
) -> str:
    """``sources-I.png``: one sphere map per detection of scene ``i``; returns its path."""
    fig = plot_source_maps(
        [r.histogram for r in rows], grid, true, dirs,
        [_panel_title(r) for r in rows],
        title=f"scene {i}: {n_sources} talkers, where each detection's relevance sits",
    )
    path = out_dir / f"sources-{i}.png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return str(path)


def _panel_title(r: SourceRelevance) -> str:
    own = r.own_other("direction")
    who = "false alarm" if r.matched_source is None else f"talker {r.matched_source + 1}"
    return (f"detection {np.degrees(r.detected_rad).round(0).tolist()} deg ({who})\n"
            f"own {own['own']:.2f}, others {own['others']:.2f}")
