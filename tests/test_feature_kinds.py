"""Feature kinds by registration (issue 22, item 4): the registry's contract, a toy kind that
a dataset, a model and its files use without other edits, and no comparison of feature names
outside the registry (so they do not creep back)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from audiolrp.errors import AudioLRPError
from audiolrp.signal.feature_kinds import (
    FEATURE_KINDS,
    HOA,
    INTENSITY,
    FeatureKind,
    feature_kind,
    feature_kind_names,
    register_feature_kind,
    unregister_feature_kind,
)
from audiolrp.signal.features import compute_features, normalization_vectors, stft
from audiolrp.signal.layout import InputLayout

SRC = Path(__file__).resolve().parents[1] / "src" / "audiolrp"

#: Files that may still compare feature names, and why. Each entry must still need it (the
#: test fails on a stale entry, so the list only shrinks).
ALLOWED_COMPARISONS: dict[str, str] = {
    # the owner: the kinds themselves
    "signal/feature_kinds.py": "the registry",
}


class WPower(FeatureKind):
    """A toy kind: the power of W only (one channel, order 0)."""

    name = "wpower"
    fixed_order = 0
    heatmap_label = "W power"
    w_heatmap_label = "W power relevance"

    def names(self, order: int) -> tuple[str, ...]:
        return ("W power",)

    def compute(self, audio: Any, order: int, **kwargs: Any) -> Any:
        spec = stft(audio)[..., :1, :, :]
        return spec.real**2 + spec.imag**2


@pytest.fixture
def wpower() -> Iterator[FeatureKind]:
    kind = register_feature_kind(WPower())
    try:
        yield kind
    finally:
        unregister_feature_kind(kind.name)


def test_the_paper_kinds_are_registered() -> None:
    assert feature_kind_names()[:2] == ("hoa", "intensity")
    assert feature_kind("hoa") is HOA and feature_kind("intensity") is INTENSITY
    assert feature_kind(HOA) is HOA
    assert HOA.fixed_order is None and HOA.uses_statistics
    assert INTENSITY.fixed_order == 1 and INTENSITY.min_audio_order == 1
    assert not INTENSITY.uses_statistics
    assert InputLayout("intensity", 4).order == 1 and InputLayout("hoa", 3).order == 3
    assert InputLayout("hoa", 2).default_groups == ("all", "magnitude", "phase")
    assert InputLayout("intensity").default_groups == ("all", "active", "reactive")
    with pytest.raises(AudioLRPError, match="unknown feature 'stereo': use one of hoa, intensity"):
        feature_kind("stereo")
    with pytest.raises(AudioLRPError, match="HOA models need an Ambisonics order >= 0"):
        InputLayout.of("hoa")
    with pytest.raises(ValueError, match="needs a name"):
        register_feature_kind(FeatureKind())


@pytest.mark.parametrize("feature,order", [("hoa", 0), ("hoa", 2), ("intensity", 1)])
def test_audio_sources_and_per_audio_channel(feature: str, order: int) -> None:
    lay = InputLayout(feature, order)
    assert len(lay.audio_sources) == lay.n_channels
    values = np.random.default_rng(0).standard_normal((lay.n_channels, 3, 4))
    per = lay.per_audio_channel(values)
    assert per.shape == (lay.n_audio_channels, 3, 4)
    if feature == "hoa":  # magnitude + phase of each ACN channel
        k = lay.n_audio_channels
        np.testing.assert_allclose(per, values[:k] + values[k:])
    else:  # the intensity channels mix all four: each gets the sum
        np.testing.assert_allclose(per, np.repeat(values.sum(0, keepdims=True), 4, axis=0))


def test_a_toy_kind_is_one_registration(wpower: FeatureKind) -> None:
    lay = InputLayout.of("wpower", 3)  # fixed order wins
    assert lay.kind is wpower and lay.order == 0 and lay.n_audio_channels == 1
    assert lay.names == ("W power",) and lay.n_channels == 1
    assert lay.groups == {"all": None} and lay.axes == (None,)
    assert lay.audio_sources == ((0,),) and lay.heatmap_label == "W power"
    assert "wpower" in FEATURE_KINDS and "wpower" in feature_kind_names()
    audio = np.random.default_rng(1).standard_normal((2, 4, 16000))
    got = compute_features(audio, "wpower")
    assert got.shape == (2, 1, 50, 512)
    np.testing.assert_allclose(got[:, 0], np.abs(stft(audio[:, 0])) ** 2, rtol=1e-10)
    mean, std = normalization_vectors("wpower", 0, None)
    assert mean.tolist() == [0.0] and std.tolist() == [1.0]


def test_a_toy_kind_reads_a_dataset_and_makes_a_model(wpower: FeatureKind, tmp_path) -> None:
    """Dataset, model construction, save/load and the model's audio -> input path take the
    registered toy kind with no other edit."""
    from audiolrp.data.datasets import DatasetSpec, FeatureDataset, generate_dataset
    from audiolrp.models import build_model, load, save
    from audiolrp.simulation.scenes import SceneConfig
    from audiolrp.training import TrainConfig

    cfg = SceneConfig(order=1, speech="noise", speech_lead_in_s=0.2)
    generate_dataset(tmp_path / "d", DatasetSpec(config=cfg, seed=3,
                                                 counts={"train": 2, "val": 0, "test": 1},
                                                 shard_size=2), progress=False)
    ds = FeatureDataset(tmp_path / "d", "train", feature="wpower")
    assert ds.order == 0 and ds.n_channels == 1
    x, _ = ds[0]
    assert x.shape == (1, 50, 512)
    w = ds.audio(0, order=0)[0].astype(np.float64)
    np.testing.assert_allclose(x[0].numpy(), np.abs(stft(w)) ** 2, rtol=1e-4, atol=1e-9)
    mean, std = ds.normalization_stats()
    assert mean.tolist() == [0.0] and std.tolist() == [1.0]

    config = TrainConfig(feature="wpower")
    config.validate()
    assert config.model_order == 0 and not config.use_normalization

    torch.manual_seed(0)
    net = build_model("wpower", size="tiny")
    assert net.n_in == 1
    path = save(net, tmp_path / "m", feature="wpower", order=5)
    loaded = load(path)
    assert loaded.feature == "wpower" and loaded.order == 0 and loaded.channel_names == (
        "W power",
    )
    pred = loaded.predict(ds.audio(0))
    assert 0 <= int(np.asarray(pred.class_index).reshape(-1)[0]) < 425


def _name_comparisons(path: Path, names: set[str]) -> list[int]:
    """Lines of ``path`` comparing something with a feature name (``==``, ``!=``, ``in``)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn) for op in node.ops):
            continue
        for side in (node.left, *node.comparators):
            elts = side.elts if isinstance(side, ast.Tuple | ast.List | ast.Set) else [side]
            if any(isinstance(e, ast.Constant) and e.value in names for e in elts):
                lines.append(node.lineno)
                break
    return lines


def test_no_feature_name_comparisons_outside_the_registry() -> None:
    """Callers ask InputLayout / the FeatureKind (order fixed?, groups, halves, labels)
    instead of testing ``feature == "hoa"``; only :data:`ALLOWED_COMPARISONS` may."""
    names = {"hoa", "intensity"}
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        lines = _name_comparisons(path, names)
        if lines:
            found[rel] = lines
    extra = {k: v for k, v in found.items() if k not in ALLOWED_COMPARISONS}
    assert not extra, (
        f"feature names compared outside signal/feature_kinds.py: {extra}; ask InputLayout "
        "(layout.kind, fixed_order, default_groups, ...) instead"
    )
    stale = [k for k in ALLOWED_COMPARISONS if k not in found and (SRC / k).exists()]
    stale += [k for k in ALLOWED_COMPARISONS if not (SRC / k).exists()]
    stale = [k for k in stale if k != "signal/feature_kinds.py"]
    assert not stale, f"drop {stale} from ALLOWED_COMPARISONS: they no longer compare names"
