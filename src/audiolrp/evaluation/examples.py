"""Test clips for an evaluation: a dataset split's stored audio or a freshly simulated, seeded
test set (:mod:`audiolrp.evaluation`). An example is ``(audio (n_sh, 16000), label, meta)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from audiolrp.data.datasets import scene_seed
from audiolrp.errors import AudioLRPError
from audiolrp.signal.features import intensity_vector_direction
from audiolrp.simulation.scenes import SceneConfig, get_corpus, simulate_scene

#: Seed of the freshly simulated test sets of ``audiolrp evaluate`` (model cards record it).
DEFAULT_EVAL_SEED = 20210823
DEFAULT_EVAL_EXAMPLES = 500
#: ``(audio (n_sh, 16000), label, meta)``: one test clip as AmbiX audio at 16 kHz.
Example = tuple[np.ndarray, int, dict[str, Any]]


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

    The simulated order is at least the model's order (``order``). Recipe keys this version
    does not know are dropped (recipes of older models); an unknown override is an error
    (a misspelt setting would otherwise give the unchanged test set).

    Raises
    ------
    AudioLRPError
        An override names no :class:`~audiolrp.simulation.scenes.SceneConfig` field.
    """
    known = set(SceneConfig.__dataclass_fields__)
    unknown = sorted(set(overrides or {}) - known)
    if unknown:
        raise AudioLRPError(
            f"unknown scene settings {unknown} (this version of the simulator lacks them): use "
            f"SceneConfig fields ({', '.join(sorted(known)[:6])}, ...)"
        )
    cfg_dict = {**dict((recipe or {}).get("config") or {}), **dict(overrides or {})}
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


__all__ = [
    "DEFAULT_EVAL_EXAMPLES",
    "DEFAULT_EVAL_SEED",
    "Example",
    "dataset_examples",
    "point_noise_overrides",
    "scene_config_from_recipe",
    "simulated_test_examples",
]
