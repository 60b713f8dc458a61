"""`audiolrp analyze` subcommands end to end with a tiny model and an in-memory dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from audiolrp.cli import analyze as cli
from audiolrp.cli.app import app
from audiolrp.models import CRNN


@pytest.fixture
def tiny(monkeypatch):
    torch.manual_seed(0)
    model = CRNN(6, n_filters=2, lstm_hidden=2, n_dense=4).eval()
    from audiolrp.app.explainer import Explainer
    from audiolrp.models import LoadedModel

    loaded = LoadedModel(model, {"feature": "intensity"}, Path("tiny.json"), "tiny")
    monkeypatch.setattr(cli, "_load_model", lambda name: Explainer(loaded))
    from audiolrp.analysis.channel_relevance import axis_direction_classes

    cls = list(axis_direction_classes().values())
    rng = np.random.default_rng(0)
    items = [(rng.standard_normal((6, 50, 512)).astype(np.float32), c) for c in cls + [7, 300]]
    monkeypatch.setattr(cli, "_open_dataset", lambda root, split, feature, order: items)
    return model


def test_channels_and_flip(tiny, tmp_path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["analyze", "channels", "-m", "x", "-d", str(tmp_path),
                              "-o", str(tmp_path / "ch")])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "ch" / "channel_relevance.json").read_text())
    assert {r["group"] for r in summary["axis_groups"]} == {"+x", "-x", "+y", "-y"}
    assert (tmp_path / "ch" / "fig3_channel_relevance.png").exists()
    res = runner.invoke(app, ["analyze", "flip", "-m", "x", "-d", str(tmp_path), "-o",
                              str(tmp_path / "pf"), "--steps", "2", "--orders",
                              "most_relevant,random"])
    assert res.exit_code == 0, res.output
    curves = json.loads((tmp_path / "pf" / "pixel_flipping.json").read_text())["curves"]
    assert len(curves) == 6 and all(len(c["mean"]) == 3 for c in curves.values())
    res = runner.invoke(app, ["analyze", "flip", "-m", "x", "-d", str(tmp_path),
                              "-o", str(tmp_path / "pf2"), "--groups", "magnitude"])
    assert res.exit_code == 2 and "unknown channel group" in res.output


def test_auralize(tiny, tmp_path) -> None:
    rng = np.random.default_rng(1)
    wav = tmp_path / "clip.wav"
    sf.write(wav, 0.1 * rng.standard_normal((16000, 4)), 16000, subtype="FLOAT")
    res = CliRunner().invoke(app, ["analyze", "auralize", "-m", "x", "-a", str(wav),
                                   "--direct", str(wav), "-o", str(tmp_path / "au")])
    assert res.exit_code == 0, res.output
    for name in ("relevant_ambix.wav", "relevant_mono.wav", "relevant_stereo.wav",
                 "fig2_panels.png"):
        assert (tmp_path / "au" / name).exists()
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros((100, 4)), 16000)
    res = CliRunner().invoke(app, ["analyze", "auralize", "-m", "x", "-a", str(short),
                                   "-o", str(tmp_path / "au2")])
    assert res.exit_code == 2 and ">= 1 s" in res.output


def test_json_and_readable_output(tiny, tmp_path) -> None:
    """--json prints one JSON object; without it, readable lines (no Python dict reprs)."""
    runner = CliRunner()
    res = runner.invoke(app, ["analyze", "channels", "-m", "x", "-d", str(tmp_path),
                              "-o", str(tmp_path / "ch"), "--max-examples", "4", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["n_examples"] == 4 and set(data["mean_share"]) == set(data["correlation"])
    assert str(tmp_path / "ch" / "channel_relevance.json") in data["files"]
    res = runner.invoke(app, ["analyze", "channels", "-m", "x", "-d", str(tmp_path),
                              "-o", str(tmp_path / "ch"), "--max-examples", "4"])
    assert res.exit_code == 0, res.output
    assert "mean relevance share per channel" in res.output and "{" not in res.output
    res = runner.invoke(app, ["analyze", "flip", "-m", "x", "-d", str(tmp_path), "-o",
                              str(tmp_path / "pf"), "--steps", "2", "--max-examples", "3",
                              "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["n_examples"] == 3 and all("aopc" in c for c in data["curves"].values())
    wav = tmp_path / "clip.wav"
    sf.write(wav, 0.1 * np.random.default_rng(2).standard_normal((16000, 4)), 16000,
             subtype="FLOAT")
    res = runner.invoke(app, ["analyze", "auralize", "-m", "x", "-a", str(wav),
                              "-o", str(tmp_path / "au"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert 0 <= data["class"] < 425 and str(tmp_path / "au" / "fig2_panels.png") in data["files"]
    assert all(Path(f).is_file() for f in data["files"])


def test_auralize_truncated_wav(tiny, tmp_path) -> None:
    full = tmp_path / "full.wav"
    sf.write(full, 0.1 * np.random.default_rng(3).standard_normal((32000, 4)), 16000,
             subtype="PCM_16")
    half = tmp_path / "half.wav"
    half.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    res = CliRunner().invoke(app, ["analyze", "auralize", "-m", "x", "-a", str(half),
                                   "-o", str(tmp_path / "au")])
    assert res.exit_code == 2 and "half.wav is truncated" in res.output
