"""Tests of model save/load (safetensors + JSON, no pickle) and the shipped-model registry."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch

from audiolrp import models
from audiolrp.errors import AudioLRPError, ModelFileError
from audiolrp.models import (
    CRNN,
    LoadedModel,
    build_model,
    list_models,
    load,
    n_input_channels,
    save,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _model(order: int = 1, seed: int = 0) -> CRNN:
    torch.manual_seed(seed)
    n = n_input_channels("hoa", order)
    m = build_model(
        "hoa", order, size="tiny", norm_mean=torch.rand(n), norm_std=torch.rand(n) + 0.5
    )
    # non-trivial BatchNorm running statistics
    m.train()
    with torch.no_grad():
        m(torch.randn(2, n, 50, 512))
    return m.eval()


def test_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    m = _model()
    path = save(
        m,
        tmp_path / "m",
        feature="hoa",
        order=1,
        metrics={"accuracy": 0.5},
        data_recipe={"seed": 3},
        training={"command": "audiolrp train x y"},
    )
    assert path == tmp_path / "m.json" and (tmp_path / "m.safetensors").exists()
    loaded = load(tmp_path / "m.safetensors")
    assert isinstance(loaded, LoadedModel) and loaded.feature == "hoa" and loaded.order == 1
    assert loaded.metrics == {"accuracy": 0.5} and loaded.data_recipe == {"seed": 3}
    assert torch.equal(loaded.model.normalization.mean, m.normalization.mean)
    x = torch.randn(3, m.n_in, 50, 512)
    with torch.no_grad():
        assert torch.equal(loaded(x), m(x))
    cfg = json.loads(path.read_text())
    assert cfg["normalization"]["std"] == pytest.approx(m.normalization.std.tolist())
    assert cfg["stft"]["hop_samples"] == 320 and cfg["class_grid"]["n_classes"] == 425
    assert cfg["input_channels"][0] == "ACN0 mag"
    # no temporary files left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.safetensors"]


def test_directory_form_and_intensity(tmp_path: Path) -> None:
    m = build_model("intensity", size="tiny")
    (tmp_path / "d").mkdir()
    save(m, tmp_path / "d", feature="intensity")
    loaded = load(tmp_path / "d")
    assert loaded.feature == "intensity" and loaded.order == 1 and loaded.model.n_in == 6


def test_load_never_unpickles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save(_model(), tmp_path / "m", feature="hoa", order=1)

    def boom(*args, **kwargs):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    monkeypatch.setattr(pickle, "Unpickler", boom)
    monkeypatch.setattr(torch, "load", boom)
    assert load(tmp_path / "m").model.n_in == 8


def _one_line_error(path: Path | str, match: str) -> None:
    with pytest.raises(ModelFileError, match=match) as info:
        load(path)
    assert "\n" not in str(info.value)


def test_damaged_files_are_one_line_errors(tmp_path: Path) -> None:
    m = _model()
    save(m, tmp_path / "m", feature="hoa", order=1)
    blob = (tmp_path / "m.safetensors").read_bytes()
    text = (tmp_path / "m.json").read_text()

    (tmp_path / "m.safetensors").write_bytes(blob[: len(blob) // 2])
    _one_line_error(tmp_path / "m", "truncated")

    # without the checksum, safetensors itself rejects the truncated file
    cfg = json.loads(text)
    del cfg["weights_sha256"]
    (tmp_path / "m.json").write_text(json.dumps(cfg))
    _one_line_error(tmp_path / "m", "not a valid safetensors")
    (tmp_path / "m.safetensors").write_bytes(b"garbage")
    _one_line_error(tmp_path / "m", "not a valid safetensors")

    # weights of another architecture
    (tmp_path / "m.safetensors").write_bytes(blob)
    cfg["architecture"]["lstm_hidden"] = 5
    (tmp_path / "m.json").write_text(json.dumps(cfg))
    _one_line_error(tmp_path / "m", "shape")
    cfg["architecture"]["n_lstm_layers"] = 1
    cfg["architecture"]["lstm_hidden"] = 4
    (tmp_path / "m.json").write_text(json.dumps(cfg))
    _one_line_error(tmp_path / "m", "missing tensors|unexpected")

    (tmp_path / "m.json").write_text(text[:-20])
    _one_line_error(tmp_path / "m", "not a valid model description")
    (tmp_path / "m.json").write_text(json.dumps({"hello": 1}))
    _one_line_error(tmp_path / "m", "not an audiolrp model")
    bad = json.loads(text)
    bad["feature"] = "stereo"
    (tmp_path / "m.json").write_text(json.dumps(bad))
    _one_line_error(tmp_path / "m", "invalid architecture/feature")

    (tmp_path / "m.json").unlink()
    _one_line_error(tmp_path / "m", "description .* is missing")
    _one_line_error(tmp_path / "nothing.json", "not found")
    _one_line_error("no-such-model", "no model named")


def test_save_checks_feature_and_channels(tmp_path: Path) -> None:
    with pytest.raises(AudioLRPError, match="input channels"):
        save(_model(order=1), tmp_path / "m", feature="hoa", order=2)
    with pytest.raises(AudioLRPError, match="unknown feature"):
        save(_model(order=1), tmp_path / "m", feature="foa", order=1)
    assert not list(tmp_path.iterdir())


def test_registry_lists_and_loads_shipped_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models.files, "PRETRAINED_DIR", tmp_path)
    assert list_models() == []
    save(build_model("hoa", 2, size="tiny"), tmp_path / "hoa2", feature="hoa", order=2)
    save(build_model("intensity", size="tiny"), tmp_path / "intensity", feature="intensity")
    (tmp_path / "orphan.json").write_text("{}")  # no weights -> not listed
    assert list_models() == ["hoa2", "intensity"]
    loaded = load("hoa2")
    assert loaded.name == "hoa2" and loaded.model.n_in == 18
    with pytest.raises(ModelFileError, match="hoa2, intensity"):
        load("hoa3")


def test_n_input_channels() -> None:
    assert [n_input_channels("hoa", n) for n in range(5)] == [2, 8, 18, 32, 50]
    assert n_input_channels("intensity") == 6
    with pytest.raises(AudioLRPError):
        n_input_channels("hoa", None)
    with pytest.raises(AudioLRPError):
        build_model("hoa", 1, size="huge")
