"""`audiolrp analyze` subcommands end to end with a tiny model and an in-memory dataset."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from audiolrp.cli import analyze as cli
from audiolrp.cli.app import app
from audiolrp.models import CRNN

pytest.importorskip("audiolrp.lrp")


@pytest.fixture
def tiny(monkeypatch):
    torch.manual_seed(0)
    model = CRNN(6, n_filters=2, lstm_hidden=2, n_dense=4).eval()
    monkeypatch.setattr(cli, "_load_model", lambda name: (model, "intensity", 1))
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
                              "--groups", "magnitude"])
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
    res = CliRunner().invoke(app, ["analyze", "auralize", "-m", "x", "-a", str(short)])
    assert res.exit_code == 2 and ">= 1 s" in res.output
