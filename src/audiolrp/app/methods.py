"""Attribution methods side by side over a set (`audiolrp analyze methods`): the examples
(fresh test scenes or a dataset split) and the comparison
(:func:`audiolrp.analysis.method_comparison.compare_methods`) as one JSON-ready record;
:func:`audiolrp.report.methods.write_methods_report` writes its files."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from audiolrp.analysis import method_comparison as mc
from audiolrp.app.dataset_inputs import dataset_inputs, open_dataset
from audiolrp.app.explainer import Explainer
from audiolrp.app.speech_choice import choose_speech
from audiolrp.evaluation import scene_config_from_recipe, simulated_test_examples
from audiolrp.io import json_ready
from audiolrp.progress import ElapsedLog


def simulated_examples(loaded: Any, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """``n`` fresh test scenes of the model card's test recipe (else its data recipe):
    :func:`audiolrp.evaluation.simulated_test_examples` with ``seed``."""
    card = dict(loaded.config.get("evaluation") or {})
    recipe = card.get("recipe") or loaded.data_recipe
    # the Debian corpus when installed, else the built-in speech (a fresh install has no Debian)
    speech = choose_speech(None, scene_config_from_recipe(recipe, loaded.order).speech)
    overrides = {"speech": speech.spec}
    xs, ys = [], []
    for audio, label, _ in simulated_test_examples(loaded.feature, loaded.order, n_examples=n,
                                                   seed=seed, recipe=recipe, overrides=overrides):
        xs.append(loaded.features(audio))
        ys.append(label)
    cfg = scene_config_from_recipe(recipe, loaded.order, overrides)
    desc = {"source": "simulated", "seed": seed, "split": "test",
            "scene_config": cfg.to_dict(), "speech": speech.as_dict()}
    return np.stack(xs), np.asarray(ys, dtype=np.int64), desc


def run_methods(
    model: str, *, data: Path | None, split: str, n_examples: int, seed: int,
    methods: str, steps: int, sanity_examples: int, n_boot: int, batch_size: int,
    flip_batch_size: int, show: bool, command: str, threads: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Compare the methods on ``n_examples`` examples of ``model``; returns the JSON-ready
    record (model, data, command, threads, the comparison's summary, timing) and the summary
    itself (:meth:`~audiolrp.analysis.method_comparison.MethodComparison.summary`, arrays
    kept: the figures draw it)."""
    t0 = time.perf_counter()
    specs = mc.method_specs(methods)
    log = ElapsedLog("methods", enabled=show)
    loaded = Explainer.load(model).model
    if data is not None:
        ds = open_dataset(data, split, loaded.feature, loaded.order)
        x, y = dataset_inputs(ds, np.arange(min(len(ds), n_examples)), model=loaded)
        data_desc: dict[str, Any] = {"source": str(data), "split": split}
    else:
        log(f"simulating {n_examples} test scenes (seed {seed})")
        x, y, data_desc = simulated_examples(loaded, n_examples, seed)
    t_data = time.perf_counter() - t0
    comp = mc.compare_methods(
        loaded.model, x, y, specs, steps=steps, n_sanity=sanity_examples, seed=seed,
        n_boot=n_boot, batch_size=batch_size, flip_batch_size=flip_batch_size,
        progress=show, log=log if show else None,
    )
    t_compare = time.perf_counter() - t0 - t_data
    summary = comp.summary()
    record = json_ready({
        "model": {"name": model, "feature": loaded.feature, "order": loaded.order,
                  "path": str(getattr(loaded, "path", ""))},
        "data": {**data_desc, "n_examples": int(y.size)},
        "command": command,
        "threads": threads,
        **summary,
        "timing_s": {"data": round(t_data, 2), "compare": round(t_compare, 2),
                     "total": round(time.perf_counter() - t0, 2)},
    })
    return record, summary


__all__ = ["run_methods", "simulated_examples"]
