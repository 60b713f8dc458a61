"""`audiolrp analyze channels / flip / auralize` on a real saved (tiny) model and a real simulated
dataset: the numbers the commands write are those of the library functions they wrap, recomputed
here independently of the CLI (own dataset reading, LRP in one batch, explicit per-channel sums).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from audiolrp.cli.app import app
from cli_output import cli_output as _output

pytestmark = pytest.mark.usefixtures("one_thread")

N_TEST = 6




@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict[str, Path]:
    """A saved tiny intensity model and a 6-scene first-order test split (noise corpus)."""
    from audiolrp.models import build_model, save

    tmp = tmp_path_factory.mktemp("real")
    torch.manual_seed(3)
    model = build_model("intensity", size="tiny")
    with torch.no_grad():  # non-trivial BatchNorm statistics, so folding matters
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    save(model.eval(), tmp / "tiny_int", feature="intensity")
    data = tmp / "data"
    res = CliRunner().invoke(app, [
        "simulate", str(data), "--n-train", "0", "--n-val", "0", "--n-test", str(N_TEST),
        "--order", "1", "--corpus", "noise", "--seed", "4", "--no-progress"])
    assert res.exit_code == 0, _output(res)
    return {"model": tmp / "tiny_int.json", "data": data, "tmp": tmp}


def _reference(setup: dict[str, Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray, object]:
    """Features, labels and LRP relevance of the true classes, straight from the library."""
    from audiolrp import lrp
    from audiolrp.data.datasets import FeatureDataset
    from audiolrp.models import load

    lm = load(setup["model"])
    ds = FeatureDataset(setup["data"], "test", feature="intensity")
    x = np.stack([np.asarray(ds[i][0], dtype=np.float32) for i in range(len(ds))])
    y = np.array([int(ds[i][1]) for i in range(len(ds))])
    rel = lrp.explain(lm.model, torch.from_numpy(x), target=torch.from_numpy(y),
                      composite="paper").relevance.numpy()
    return x, y, rel, lm.model


def test_channels_numbers_are_the_library_functions(setup, tmp_path) -> None:
    out = tmp_path / "ch"
    res = CliRunner().invoke(app, ["analyze", "channels", "-m", str(setup["model"]), "-d",
                                   str(setup["data"]), "-o", str(out), "--json"])
    assert res.exit_code == 0, _output(res)
    data = json.loads(res.stdout)
    assert data["n_examples"] == N_TEST
    _, _, rel, _ = _reference(setup)
    # |sum R| per channel (paper Fig. 3), as shares of the example's total, mean over examples
    per_channel = np.abs(rel.astype(np.float64).sum(axis=(2, 3)))
    shares = per_channel / per_channel.sum(axis=1, keepdims=True)
    names = ["I_a,x", "I_a,y", "I_a,z", "I_r,x", "I_r,y", "I_r,z"]
    got = np.array([data["mean_share"][n] for n in names])
    np.testing.assert_allclose(got, shares.mean(axis=0), rtol=1e-5)
    stored = json.loads((out / "channel_relevance.json").read_text())
    assert stored["mean_share"] == data["mean_share"]


def test_flip_numbers_are_the_library_functions(setup, tmp_path) -> None:
    from audiolrp.analysis.pixel_flipping import pixel_flipping

    out = tmp_path / "pf"
    res = CliRunner().invoke(app, [
        "analyze", "flip", "-m", str(setup["model"]), "-d", str(setup["data"]), "-o", str(out),
        "--steps", "4", "--orders", "most_relevant,random", "--groups", "all,active",
        "--seed", "2", "--json"])
    assert res.exit_code == 0, _output(res)
    curves = json.loads(res.stdout)["curves"]
    assert set(curves) == {"all, most relevant", "all, random", "active, most relevant",
                           "active, random"}
    x, y, rel, model = _reference(setup)
    for key, channels in (("all", None), ("active", (0, 1, 2))):
        for order in ("most_relevant", "random"):
            ref = pixel_flipping(model, x, rel, y, n_steps=4, order=order, channels=channels,
                                 baseline="zero-normalised", seed=2)
            got = curves[f"{key}, {order.replace('_', ' ')}"]
            np.testing.assert_allclose(got["mean"], ref.mean, rtol=1e-5, atol=1e-7)
            assert got["aopc"] == pytest.approx(ref.aopc, rel=1e-5, abs=1e-7)
    # with every bin flipped, the order no longer matters
    assert curves["all, most relevant"]["mean"][-1] == pytest.approx(
        curves["all, random"]["mean"][-1], rel=1e-5)


def test_auralize_writes_the_library_auralization(setup, tmp_path) -> None:
    from audiolrp import lrp
    from audiolrp.analysis import auralization as au
    from audiolrp.analysis import heatmaps as hm
    from audiolrp.models import clip_probabilities, load
    from audiolrp.signal.features import compute_features

    rng = np.random.default_rng(7)
    audio = 0.1 * rng.standard_normal((4, 16000))
    wav = tmp_path / "clip.wav"
    sf.write(wav, audio.T, 16000, subtype="DOUBLE")
    out = tmp_path / "au"
    res = CliRunner().invoke(app, ["analyze", "auralize", "-m", str(setup["model"]), "-a",
                                   str(wav), "-o", str(out), "--json"])
    assert res.exit_code == 0, _output(res)
    data = json.loads(res.stdout)
    lm = load(setup["model"])
    x = torch.from_numpy(np.asarray(compute_features(audio, "intensity", 1), np.float32)[None])
    with torch.no_grad():
        predicted = int(clip_probabilities(lm.model(x)).argmax(-1)[0])
    assert data["class"] == predicted
    rel = lrp.explain(lm.model, x, target=[predicted]).relevance[0].numpy()
    expected = au.auralize(audio, hm.audio_channel_heatmaps(rel, "intensity", 1))
    written, fs = sf.read(out / "relevant_ambix.wav", always_2d=True)
    assert fs == 16000 and written.shape == (16000, 4)
    np.testing.assert_allclose(written.T, expected, atol=2e-6 * max(1.0, np.abs(expected).max()))
