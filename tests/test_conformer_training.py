"""Training the conformer (``TrainConfig.arch`` / ``audiolrp train --arch conformer``): toy
runs, bit-identical resume, ``--init-from`` a CRNN (shared front end), one-line errors, and a
smoke run of the command on a tiny simulated dataset whose model loads and predicts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from audiolrp.errors import AudioLRPError
from audiolrp.models import ConformerDOA, build_model, load, save
from audiolrp.training import TrainConfig, TrainingInterrupted, train
from audiolrp.training.cards import model_card_markdown
from test_training import TOY_MODEL, ToyDataset

pytestmark = pytest.mark.usefixtures("one_thread")


def _conf(**kw) -> TrainConfig:
    base = dict(
        feature="intensity", arch="conformer", epochs=2, batch_size=8, lr=1e-2,
        model_size="tiny", checkpoint_every_steps=2, progress=False, patience=10,
        model_kwargs=TOY_MODEL,
    )
    base.update(kw)
    return TrainConfig(**base)


def test_conformer_run_records_its_architecture_and_resumes_bit_identically(
    tmp_path: Path,
) -> None:
    train_ds, val_ds = ToyDataset(24, 2), ToyDataset(8, 3)
    full = train(None, tmp_path / "full", _conf(), train_dataset=train_ds, val_dataset=val_ds)
    assert isinstance(full.model, ConformerDOA)
    desc = json.loads((tmp_path / "full" / "model.json").read_text())
    assert desc["architecture"]["class"] == "ConformerDOA"
    assert desc["training"]["config"]["arch"] == "conformer"
    assert isinstance(load(tmp_path / "full" / "model.json").model, ConformerDOA)
    with pytest.raises(TrainingInterrupted):
        train(None, tmp_path / "cut", _conf(), train_dataset=train_ds, val_dataset=val_ds,
              stop_after_steps=5)
    train(None, tmp_path / "cut", _conf(), train_dataset=train_ds, val_dataset=val_ds,
          resume=True)
    a = load_file(str(tmp_path / "full" / "model.safetensors"))
    b = load_file(str(tmp_path / "cut" / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:  # dropout draws from the checkpointed RNG: the same weights
        assert torch.equal(a[key], b[key]), key
    # the architecture is a setting a resumed run must keep
    with pytest.raises(AudioLRPError, match="arch='crnn'"):
        train(None, tmp_path / "cut", _conf(arch="crnn", epochs=3), train_dataset=train_ds,
              val_dataset=val_ds, resume=True)
    card = model_card_markdown("toy", desc)
    assert "conformer blocks" in card and "d_model=8" in card and "BiLSTM," not in card


def test_init_from_a_crnn_copies_the_shared_front_end(tmp_path: Path) -> None:
    torch.manual_seed(3)
    crnn = build_model("intensity", size="tiny", norm_mean=torch.randn(6),
                       norm_std=torch.rand(6) + 0.5, **TOY_MODEL)
    path = save(crnn, tmp_path / "crnn", feature="intensity")
    res = train(None, tmp_path / "ft", _conf(init_from=str(path), epochs=1, lr=1e-9),
                train_dataset=ToyDataset(8, 0), val_dataset=ToyDataset(8, 1))
    init = load(tmp_path / "ft" / "model.json").config["training"]["initialised_from"]
    assert init["architecture_changed"]["from"] == "CRNN"
    assert init["architecture_changed"]["to"] == "ConformerDOA"
    got = res.model.state_dict()
    for key, value in crnn.state_dict().items():
        if key.startswith("normalization."):
            assert torch.equal(got[key], value), key
        elif key.startswith("conv.") and not key.endswith(("running_mean", "running_var",
                                                           "num_batches_tracked")):
            # lr 1e-9: one step moves the copied weights by ~1e-9 at most
            torch.testing.assert_close(got[key], value, rtol=0, atol=1e-6)
    # a front end of other widths does not fit: one line naming the tensor and the fix
    wide = build_model("intensity", size="tiny", n_filters=6, **TOY_MODEL)
    wpath = save(wide, tmp_path / "wide", feature="intensity")
    with pytest.raises(AudioLRPError, match=r"front end does not fit.*--n-filters") as err:
        train(None, tmp_path / "bad", _conf(init_from=str(wpath), epochs=1),
              train_dataset=ToyDataset(8, 0), val_dataset=ToyDataset(8, 1))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"arch": "transformer"}, "unknown --arch 'transformer'"),
        ({"lstm_hidden": 3}, "--lstm-hidden sizes the CRNN"),
        ({"model_size": "huge"}, "of --arch conformer"),
    ],
)
def test_bad_conformer_settings_are_one_line_errors(kw, needle) -> None:
    with pytest.raises(AudioLRPError, match=needle) as err:
        _conf(**kw).validate()
    assert "\n" not in str(err.value)


def test_old_records_without_arch_are_crnn_runs() -> None:
    assert TrainConfig.from_dict({"feature": "hoa", "order": 1}).arch == "crnn"


@pytest.mark.timeout(240)
def test_cli_train_conformer_one_epoch_resume_load_predict(tmp_path: Path) -> None:
    """Smoke: `audiolrp train --arch conformer --model-size tiny` on a tiny simulated dataset,
    one epoch, resumed for a second; the model loads and predicts."""
    from audiolrp.cli import app
    from audiolrp.data.datasets import DatasetSpec, generate_dataset
    from audiolrp.simulation.scenes import SceneConfig

    spec = DatasetSpec(
        config=SceneConfig(order=1), seed=3, counts={"train": 8, "val": 4, "test": 0}, shard_size=8
    )
    generate_dataset(tmp_path / "ds", spec, progress=False)
    runner = CliRunner()
    args = ["train", str(tmp_path / "ds"), str(tmp_path / "run"), "--arch", "conformer",
            "--model-size", "tiny", "--order", "1", "--batch-size", "4", "--no-progress",
            "--json"]
    res = runner.invoke(app, [*args, "--epochs", "1"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["steps"] == 2
    res = runner.invoke(app, [*args, "--epochs", "2", "--resume"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["steps"] == 4 and summary["epochs_run"] == 2
    lm = load(tmp_path / "run" / "model.json")
    assert isinstance(lm.model, ConformerDOA) and lm.config["architecture"]["d_model"] == 8
    clips = np.random.default_rng(0).standard_normal((2, 4, 16000)).astype(np.float32) * 0.1
    pred = lm.predict(clips)
    assert pred.class_index.shape == (2,) and np.all(np.isfinite(pred.azimuth_deg))
    # several talkers train the CRNN only
    res = runner.invoke(app, [*args[:3], "--arch", "conformer", "--task", "multi"])
    assert res.exit_code == 2 and "--arch conformer trains one talker" in res.output
