"""Soft angular targets, validation angular error and fine-tuning (``init_from``) in training."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from audiolrp.errors import AudioLRPError
from audiolrp.models import load
from audiolrp.signal.ambisonics import doa_grid
from audiolrp.training import (
    angular_label_targets,
    class_distance_deg,
    framewise_cross_entropy,
    model_card_markdown,
    train,
)
from test_training import TOY_MODEL, ToyDataset, _tiny

pytestmark = pytest.mark.usefixtures("one_thread")


def _haversine_deg(az1: float, el1: float, az2: float, el2: float) -> float:
    """Great-circle angle by the haversine formula (independent of the vector form)."""
    h = (
        math.sin((el2 - el1) / 2) ** 2
        + math.cos(el1) * math.cos(el2) * math.sin((az2 - az1) / 2) ** 2
    )
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h))))


@settings(max_examples=15, deadline=None)
@given(label=st.integers(0, 424), sigma_deg=st.floats(2.0, 60.0))
def test_angular_targets_match_an_explicit_loop(label: int, sigma_deg: float) -> None:
    grid = doa_grid()
    az, el = grid[label]
    weights = [
        math.exp(-0.5 * (_haversine_deg(az, el, grid[k, 0], grid[k, 1]) / sigma_deg) ** 2)
        for k in range(len(grid))
    ]
    total = math.fsum(weights)
    expected = np.array([w / total for w in weights])
    got = angular_label_targets(sigma_deg)[label].double().numpy()
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-9)
    assert got.argmax() == label
    assert got.sum() == pytest.approx(1.0, abs=1e-5)


def test_angular_targets_decay_with_angle_and_approach_one_hot() -> None:
    d = class_distance_deg()
    assert d.shape == (425, 425)
    np.testing.assert_allclose(d, d.T, atol=1e-9)
    np.testing.assert_allclose(np.diag(d), 0.0, atol=1e-6)
    q = angular_label_targets(10.0).double().numpy()
    for y in (0, 100, 212, 424):
        order = np.argsort(d[y])
        # the target never increases with the angle from the label
        assert np.all(np.diff(q[y, order]) <= 1e-12)
    sharp = angular_label_targets(0.5).double().numpy()
    np.testing.assert_allclose(sharp, np.eye(425), atol=1e-30)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(AudioLRPError, match="sigma"):
            angular_label_targets(bad)


def test_soft_cross_entropy_matches_explicit_loop_and_one_hot_case() -> None:
    rng = np.random.default_rng(1)
    n_classes = 6
    scores = rng.standard_normal((3, 4, n_classes))
    labels = rng.integers(0, n_classes, 3)
    table = rng.random((n_classes, n_classes))
    table /= table.sum(1, keepdims=True)
    total = 0.0
    for b in range(3):
        for t in range(4):
            row = scores[b, t]
            log_z = math.log(sum(math.exp(v) for v in row))
            total += -sum(table[labels[b], k] * (row[k] - log_z) for k in range(n_classes))
    got = framewise_cross_entropy(torch.tensor(scores), torch.tensor(labels), torch.tensor(table))
    assert float(got) == pytest.approx(total / 12, rel=1e-12)
    one_hot = framewise_cross_entropy(
        torch.tensor(scores), torch.tensor(labels), torch.eye(n_classes, dtype=torch.float64)
    )
    plain = framewise_cross_entropy(torch.tensor(scores), torch.tensor(labels))
    assert float(one_hot) == pytest.approx(float(plain), rel=1e-12)


def test_validation_angular_error_is_logged_and_correct(tmp_path: Path) -> None:
    val = ToyDataset(12, 11)
    result = train(
        None,
        tmp_path / "run",
        _tiny(epochs=2, label_sigma_deg=12.0, checkpoint_every_steps=0),
        train_dataset=ToyDataset(24, 10),
        val_dataset=val,
    )
    x = torch.stack([val[i][0] for i in range(len(val))])
    with torch.no_grad():
        pred = torch.softmax(result.last_model(x), -1).mean(1).argmax(-1).numpy()
    d = class_distance_deg()
    expected = float(np.mean([d[p, y] for p, y in zip(pred, val.y, strict=True)]))
    assert result.history[-1]["val_mean_error_deg"] == pytest.approx(expected, rel=1e-6)
    card_cfg = load(tmp_path / "run" / "model.json").config
    assert card_cfg["training"]["config"]["label_sigma_deg"] == 12.0
    assert "Gaussian angular targets, sigma = 12 deg" in model_card_markdown("t", card_cfg)


def test_init_from_starts_at_the_saved_weights_and_records_the_chain(tmp_path: Path) -> None:
    train_ds, val_ds = ToyDataset(16, 12), ToyDataset(8, 13)
    first = train(
        None, tmp_path / "s1", _tiny(epochs=2), train_dataset=train_ds, val_dataset=val_ds
    )
    # an lr this small leaves the weights (to float32 precision) where stage 1 left them
    second = train(
        None,
        tmp_path / "s2",
        _tiny(epochs=1, lr=1e-30, init_from=str(tmp_path / "s1"), label_sigma_deg=10.0),
        train_dataset=train_ds,
        val_dataset=val_ds,
        command="stage-two",
    )
    a = load_file(str(tmp_path / "s1" / "model.safetensors"))
    b = load_file(str(tmp_path / "s2" / "model.safetensors"))
    assert a.keys() == b.keys()
    # BatchNorm running statistics move with every training batch whatever the lr; the
    # parameters and the input normalisation must be the stage-1 values
    for key in a:
        if "running_" not in key and "num_batches" not in key:
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)
    assert second.best_epoch == 1
    cfg = load(tmp_path / "s2" / "model.json").config
    chain = cfg["training"]["initialised_from"]
    assert chain["weights_sha256"] == load(tmp_path / "s1" / "model.json").config["weights_sha256"]
    assert chain["training"]["best_epoch"] == first.best_epoch
    card = model_card_markdown("t", cfg)
    assert "Stage 1 Command" in card and "Stage 2 Command**: `stage-two`" in card
    assert "Total training time" in card and "one-hot targets (the paper)" in card
    # resuming stage 2 with another target width would mix runs
    with pytest.raises(AudioLRPError, match="label_sigma_deg"):
        train(
            None,
            tmp_path / "s2",
            _tiny(epochs=2, init_from=str(tmp_path / "s1"), label_sigma_deg=5.0),
            train_dataset=train_ds,
            val_dataset=val_ds,
            resume=True,
        )


def test_init_from_mismatches_are_one_line_errors(tmp_path: Path) -> None:
    train_ds, val_ds = ToyDataset(8, 14), ToyDataset(8, 15)
    train(None, tmp_path / "s1", _tiny(epochs=1), train_dataset=train_ds, val_dataset=val_ds)
    hoa_ds = ToyDataset(8, 14, n_channels=8)  # 8 channels = first-order HOA magnitude + phase
    for kw, match, data in [
        ({"model_size": "small"}, "does not fit this architecture", train_ds),
        ({"feature": "hoa", "order": 1}, "intensity model", hoa_ds),
    ]:
        with pytest.raises(AudioLRPError, match=match) as info:
            train(
                None,
                tmp_path / f"bad-{len(match)}",
                _tiny(epochs=1, init_from=str(tmp_path / "s1"), **kw),
                train_dataset=data,
                val_dataset=data,
            )
        assert "\n" not in str(info.value)
    with pytest.raises(AudioLRPError, match="label-sigma-deg"):
        _tiny(label_sigma_deg=-2.0).validate()
    log = json.loads((tmp_path / "s1" / "log.json").read_text())
    assert "val_mean_error_deg" in log[0]


@settings(max_examples=8, deadline=None)
@given(from_order=st.integers(0, 3), to_order=st.integers(0, 3), seed=st.integers(0, 2**16))
def test_a_model_of_another_order_computes_the_saved_model_on_the_shared_channels(
    from_order: int, to_order: int, seed: int
) -> None:
    from audiolrp.models import build_model
    from audiolrp.signal.layout import InputLayout
    from audiolrp.training.initial import adapt_input_order

    gen = torch.Generator().manual_seed(seed)
    old_layout, new_layout = InputLayout.of("hoa", from_order), InputLayout.of("hoa", to_order)
    mean = torch.randn(old_layout.n_channels, generator=gen, dtype=torch.float64)
    std = 0.5 + torch.rand(old_layout.n_channels, generator=gen, dtype=torch.float64)
    old = (
        build_model("hoa", from_order, size="tiny", norm_mean=mean, norm_std=std, **TOY_MODEL)
        .double()
        .eval()
    )
    with torch.no_grad():
        for p in old.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    new = build_model("hoa", to_order, size="tiny", **TOY_MODEL).double().eval()
    new.load_state_dict(adapt_input_order(old.state_dict(), from_order, to_order), strict=True)

    # the new model's input: any values; the old model sees the shared channels and, on the
    # channels only it has, its normalisation mean (normalised to 0, so they add nothing)
    x_new = torch.randn(
        (2, new_layout.n_channels, 4, TOY_MODEL["n_bins"]), generator=gen, dtype=torch.float64
    )
    stored_mean = old.state_dict()["normalization.mean"]  # float32-rounded when stored
    x_old = stored_mean[None, :, None, None].expand(2, -1, 4, TOY_MODEL["n_bins"]).clone()
    shared = 0
    for j, name in enumerate(new_layout.names):
        if name in old_layout.names:
            x_old[:, old_layout.names.index(name)] = x_new[:, j]
            shared += 1
        else:  # a channel the saved model never saw must not change the output
            x_new[:, j] = 1e3
    assert shared == 2 * (min(from_order, to_order) + 1) ** 2
    with torch.no_grad():
        torch.testing.assert_close(new(x_new), old(x_old), rtol=1e-10, atol=1e-10)
    # new channels: zero weights, their part's mean statistics
    state = new.state_dict()
    for j, name in enumerate(new_layout.names):
        if name not in old_layout.names:
            assert torch.count_nonzero(state["conv.0.weight"][:, j]) == 0
            part = "magnitude" if name.endswith("mag") else "phase"
            idx = list(old_layout.groups[part] or ())
            expected = float(old.state_dict()["normalization.std"][idx].mean())
            assert float(state["normalization.std"][j]) == pytest.approx(expected)


def test_init_from_a_second_order_model_trains_a_first_order_one(tmp_path: Path) -> None:
    hoa2 = ToyDataset(16, 16, n_channels=18)
    train(
        None,
        tmp_path / "o2",
        _tiny(epochs=1, feature="hoa", order=2),
        train_dataset=hoa2,
        val_dataset=hoa2,
    )
    hoa1 = ToyDataset(16, 17, n_channels=8)
    train(
        None,
        tmp_path / "o1",
        _tiny(epochs=1, lr=1e-30, feature="hoa", order=1, init_from=str(tmp_path / "o2")),
        train_dataset=hoa1,
        val_dataset=hoa1,
    )
    a = load_file(str(tmp_path / "o2" / "model.safetensors"))
    b = load_file(str(tmp_path / "o1" / "model.safetensors"))
    keep = [0, 1, 2, 3, 9, 10, 11, 12]  # ACN0-3 magnitude, ACN0-3 phase of the 18 channels
    torch.testing.assert_close(b["conv.0.weight"], a["conv.0.weight"][:, keep], rtol=0, atol=1e-6)
    torch.testing.assert_close(b["normalization.mean"], a["normalization.mean"][keep])
    cfg = load(tmp_path / "o1" / "model.json").config
    assert cfg["order"] == 1 and len(cfg["input_channels"]) == 8
    assert cfg["training"]["initialised_from"]["input_order_changed"] == {"from": 2, "to": 1}
    assert "of Ambisonics order 2, re-laid for order 1" in model_card_markdown("t", cfg)
