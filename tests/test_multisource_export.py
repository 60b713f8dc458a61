"""Shipping a multi-source model: the detector chosen on validation, the test table beside the
classic estimator, the verdict, the card, and the registry that keeps one-talker and
multi-source models apart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from audiolrp import models
from audiolrp.data.multisource import generate_multisource_dataset, multisource_spec
from audiolrp.data.spec import DatasetSpec
from audiolrp.errors import AudioLRPError
from audiolrp.evaluation.multisource import (
    dataset_clips,
    detections,
    intensity_histogram,
    multisource_metrics,
)
from audiolrp.models import build_model, list_models, load, save
from audiolrp.models.multisource import detector_of
from audiolrp.simulation.multisource import MultiSourceConfig
from audiolrp.simulation.scenes import SceneConfig
from audiolrp.training.export import export_multisource_model

CFG = SceneConfig(order=1, speech="noise", rt60_s=(0.2, 0.4))


@pytest.fixture(scope="module")
def ms_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ms") / "data"
    base = DatasetSpec(config=CFG, seed=3, counts={"train": 0, "val": 6, "test": 5},
                       shard_size=8)
    generate_multisource_dataset(root, multisource_spec(base, MultiSourceConfig((1, 3))))
    return root


def _tiny_multi(tmp_path: Path) -> Path:
    model = build_model("intensity", size="tiny", head="sigmoid")
    return save(model, tmp_path / "run" / "model", feature="intensity",
                data_recipe={"datasets": [{"config": {"order": 1, "speech": "noise"}}]},
                training={"task": "multi", "loss": "binary cross-entropy", "steps": 3,
                          "train_time_s": 60.0, "commands": ["audiolrp train d r --task multi"],
                          "initialised_from": {"model": "intensity"}})


def test_export_multisource_model_card_and_table(tmp_path: Path, ms_data: Path) -> None:
    files = export_multisource_model(_tiny_multi(tmp_path), "multi-tiny", ms_data, ms_data,
                                     tmp_path / "out")
    assert all(Path(p).is_file() for p in files.values())
    cfg = json.loads(files["json"].read_text())
    ev = cfg["evaluation"]
    assert (ev["n_val"], ev["n_test"]) == (6, 5)
    assert set(ev["rows"]) == {"model", "model_threshold_rule", "classic", "classic_counter"}
    assert ev["val_data"] == "data" and "/" not in ev["command"].split("--val-data ")[1]
    # the shipped detector is the file's, and its test row is recomputed independently
    lm = load(files["json"])
    assert models.model_task(lm.config) == "multi"
    det = detector_of(lm.config)
    assert cfg["multisource"]["chosen_on"]["scenes"] == 6
    ta, td = dataset_clips(ms_data, "test")
    from audiolrp.evaluation.multisource import model_activity

    again = multisource_metrics(td, detections(model_activity(lm.model, ta, "intensity"), det))
    assert again["count_accuracy"] == pytest.approx(ev["rows"]["model"]["count_accuracy"])
    assert again["misses"] == ev["rows"]["model"]["misses"]
    # the classic row: histogram peaks with the threshold rule stored in the row
    from audiolrp.models.multisource import SourceDetector

    c_det = SourceDetector.from_dict(ev["rows"]["classic"]["detector"])
    classic = multisource_metrics(td, detections(intensity_histogram(ta), c_det))
    assert classic["count_accuracy"] == pytest.approx(ev["rows"]["classic"]["count_accuracy"])
    # the verdict follows from the table
    m, c = ev["rows"]["model"], ev["rows"]["classic"]
    assert ev["verdict"]["count"] == (m["count_accuracy"] > c["count_accuracy"])
    card = files["card"].read_text()
    assert "# Model card: `multi-tiny` (several talkers at once)" in card
    assert card.count("\n| ") >= 5 and "audiolrp analyze sources --model multi-tiny" in card
    assert f"{100 * m['count_accuracy']:.1f} %" in card
    assert ("counting talkers: **yes**" in card) == ev["verdict"]["count"]


def test_export_multisource_refuses_a_one_talker_model(tmp_path: Path, ms_data: Path) -> None:
    one = save(build_model("intensity", size="tiny"), tmp_path / "one", feature="intensity")
    with pytest.raises(AudioLRPError, match="one-talker model"):
        export_multisource_model(one, "x", ms_data, ms_data, tmp_path / "out")
    with pytest.raises(AudioLRPError, match="has no train scenes"):
        dataset_clips(ms_data, "train")


def test_registry_lists_one_talker_and_multi_source_models_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models.files, "PRETRAINED_DIR", tmp_path)
    save(build_model("intensity", size="tiny"), tmp_path / "single", feature="intensity")
    save(build_model("intensity", size="tiny", head="sigmoid"), tmp_path / "multi",
         feature="intensity")
    assert list_models() == ["single"]
    assert list_models("multi") == ["multi"]
    assert list_models("all") == ["multi", "single"]
    with pytest.raises(AudioLRPError, match="task 'both' is unknown"):
        list_models("both")
    assert load("multi").model.head == "sigmoid"  # a shipped multi-source model loads by name
    np.testing.assert_array_equal(load("single").model.n_classes, 425)


def test_saved_weights_have_sorted_metadata_and_load(tmp_path: Path) -> None:
    """The same tensors give the same file: the safetensors metadata is written sorted."""
    import hashlib

    model = build_model("intensity", size="tiny")
    a = save(model, tmp_path / "a", feature="intensity").with_suffix(".safetensors")
    blob = a.read_bytes()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + n])
    assert list(header["__metadata__"]) == sorted(header["__metadata__"])
    cfg = json.loads(a.with_suffix(".json").read_text())
    assert cfg["weights_sha256"] == hashlib.sha256(blob).hexdigest()
    assert load(a.with_suffix(".json")).model.n_in == 6


def test_the_shipped_multisource_model(tmp_path: Path) -> None:
    """multi-intensity: listed apart, its card is the card of its file, its detector counts
    with the learned counter, and `analyze sources` runs on it by default."""
    from audiolrp.app.multisource import analyse_sources
    from audiolrp.training.cards import multisource_card_markdown

    assert list_models("multi") == ["multi-intensity"]
    lm = load("multi-intensity")
    assert lm.model.head == "sigmoid"
    det = detector_of(lm.config)
    assert det.counter is not None
    card = (models.PRETRAINED_DIR / "multi-intensity.md").read_text()
    assert card == multisource_card_markdown("multi-intensity", lm.config)
    ev = lm.config["evaluation"]
    rows = ev["rows"]
    assert ev["verdict"]["count"] == (rows["model"]["count_accuracy"]
                                      > rows["classic"]["count_accuracy"])
    r = analyse_sources("multi-intensity", n_examples=1, sources="2-2", corpus="noise",
                        out=tmp_path / "out", n_figures=1, progress=False)
    assert r["detection"]["n_clips"] == 1 and (tmp_path / "out" / "results.json").is_file()
