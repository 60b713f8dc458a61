"""Pixel flipping: bookkeeping against explicit loops, a one-bin model, AOPC by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from audiolrp.analysis.pixel_flipping import (
    PixelFlippingResult,
    bin_ranking,
    fast_inference_model,
    hoa_channel_groups,
    n_flipped_bins,
    pixel_flipping,
)
from audiolrp.errors import AudioLRPError
from audiolrp.models import CRNN, InputNormalization, clip_probabilities
from audiolrp.plots import plot_pixel_flipping


class Recorder(nn.Module):
    """Records every input; scores = 0 (uniform probabilities) unless ``fn`` is given."""

    def __init__(self, n_channels: int, mean=None, std=None, n_classes: int = 3) -> None:
        super().__init__()
        self.norm = InputNormalization(n_channels, mean, std)
        self.seen: list[torch.Tensor] = []
        self.n_classes = n_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.clone())
        return torch.zeros(x.shape[0], x.shape[2], self.n_classes)


def _reference_inputs(x, rel, fractions, order, channels, base):
    """Perturbed inputs per (example, step) built with explicit loops in float64."""
    n, c, t, f = x.shape
    chans = list(range(c)) if channels is None else list(channels)
    out = np.empty((n, len(fractions), c, t, f))
    for i in range(n):
        scores = {}
        for tt in range(t):
            for ff in range(f):
                scores[(tt, ff)] = sum(float(rel[i, ch, tt, ff]) for ch in chans)
        keys = list(scores)
        if order == "most_relevant":
            ranked = sorted(keys, key=lambda k: (-scores[k], k[0] * f + k[1]))
        else:
            ranked = sorted(keys, key=lambda k: (scores[k], k[0] * f + k[1]))
        for s, frac in enumerate(fractions):
            count = int(np.floor(frac * t * f + 0.5))
            xi = x[i].astype(np.float64).copy()
            for tt, ff in ranked[:count]:
                for ch in chans:
                    xi[ch, tt, ff] = base[i][ch] if np.ndim(base[i]) else base[i]
            out[i, s] = xi
    return out


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    order=st.sampled_from(["most_relevant", "least_relevant"]),
    channels=st.sampled_from([None, (0,), (1, 2), (0, 2, 3)]),
    batch_size=st.integers(1, 9),
)
def test_bookkeeping_matches_explicit_loop(seed, order, channels, batch_size) -> None:
    rng = np.random.default_rng(seed)
    n, c, t, f = 3, 4, 3, 5
    x = rng.standard_normal((n, c, t, f)).astype(np.float32)
    rel = rng.integers(-2, 3, (n, c, t, f)).astype(np.float32)  # many ties
    fractions = np.array([0.0, 0.1, 0.25, 0.5, 0.9, 1.0])
    mean = rng.standard_normal(c)
    model = Recorder(c, mean=mean)
    res = pixel_flipping(
        model,
        x,
        rel,
        [0, 1, 2],
        fractions=fractions,
        order=order,
        channels=channels,
        batch_size=batch_size,
    )
    seen = torch.cat(model.seen).double().numpy().reshape(n, len(fractions), c, t, f)
    base = [mean.astype(np.float32)] * n
    ref = _reference_inputs(x, rel, fractions, order, channels, base)
    np.testing.assert_array_equal(seen, ref.astype(np.float32))
    # counts and untouched channels
    changed = (seen != x[:, None]).reshape(n, len(fractions), c, t * f)
    chans = list(range(c)) if channels is None else list(channels)
    others = [ch for ch in range(c) if ch not in chans]
    assert not changed[:, :, others].any()
    np.testing.assert_array_equal(res.n_flipped, np.floor(fractions * t * f + 0.5))
    assert res.scores.shape == (n, len(fractions))
    np.testing.assert_allclose(res.scores, 1 / 3)


def test_random_order_nested_deterministic_and_seeded() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2, 4, 4)).astype(np.float32) + 10.0
    rel = rng.standard_normal(x.shape)
    m1, m2, m3 = Recorder(2), Recorder(2), Recorder(2)
    kw = dict(n_steps=4, order="random", baseline="zero-raw")
    pixel_flipping(m1, x, rel, [0, 0], seed=5, batch_size=3, **kw)
    pixel_flipping(m2, x, rel, [0, 0], seed=5, batch_size=10, **kw)
    pixel_flipping(m3, x, rel, [0, 0], seed=6, **kw)
    a, b, c = (torch.cat(m.seen).numpy().reshape(2, 5, 2, 16) for m in (m1, m2, m3))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    flipped = a[:, :, 0] == 0  # (2, 5, 16)
    np.testing.assert_array_equal(flipped.sum(-1), [[0, 4, 8, 12, 16]] * 2)
    assert np.all(flipped[:, 1:] >= flipped[:, :-1])  # nested sets
    assert np.array_equal(a[:, :, 0] == 0, a[:, :, 1] == 0)  # same bins in every channel


class OneBinModel(nn.Module):
    """True-class probability is high while bin (t0, f0) of channel 0 keeps its value 1."""

    def __init__(self, t0: int, f0: int) -> None:
        super().__init__()
        self.t0, self.f0 = t0, f0
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = x[:, 0, self.t0, self.f0]
        logits = torch.zeros(x.shape[0], x.shape[2], 2)
        logits[:, :, 0] = 5.0 * v[:, None]
        return logits


def test_one_bin_model_drops_at_the_right_step() -> None:
    t, f = 4, 6
    x = np.ones((1, 2, t, f), np.float32)
    rel = np.arange(t * f, dtype=np.float32)[::-1].reshape(1, 1, t, f).repeat(2, 1)
    t0, f0 = 1, 2  # flat index 8 -> the 9th most relevant bin
    model = OneBinModel(t0, f0)
    fr = np.arange(0, t * f + 1, 3) / (t * f)  # 3 bins per step
    most = pixel_flipping(model, x, rel, [0], fractions=fr, baseline="zero-raw")
    drop = np.flatnonzero(most.scores[0] < 0.75)[0]
    assert drop == 3  # bins 1..9 flipped after step 3
    least = pixel_flipping(
        model, x, rel, [0], fractions=fr, baseline="zero-raw", order="least_relevant"
    )
    assert np.flatnonzero(least.scores[0] < 0.75)[0] == 6  # 16th least relevant: 18 >= 16
    assert most.aopc > least.aopc
    # only perturbing channel 1 never touches the bin the model uses
    ch1 = pixel_flipping(model, x, rel, [0], fractions=fr, baseline="zero-raw", channels=[1])
    np.testing.assert_allclose(ch1.scores[0], np.full(len(fr), most.scores[0, 0]))
    # pre-softmax score option
    logit = pixel_flipping(model, x, rel, [0], fractions=fr, baseline="zero-raw", score="logit")
    np.testing.assert_allclose(logit.scores[0, :3], 5.0)
    np.testing.assert_allclose(logit.scores[0, 3:], 0.0)


def test_aopc_and_bands_against_hand_computation() -> None:
    scores = np.array([[1.0, 0.5, 0.25], [1.0, 1.0, 0.0]])
    res = PixelFlippingResult(
        fractions=np.array([0, 0.5, 1]),
        n_flipped=np.array([0, 1, 2]),
        scores=scores,
        order="most_relevant",
        channels=None,
        baseline="zero-raw",
        score="probability",
    )
    # (0 + 0.5 + 0.75)/3 = 5/12 and (0 + 0 + 1)/3 = 1/3 -> mean 3/8
    np.testing.assert_allclose(res.aopc_per_example, [5 / 12, 1 / 3])
    assert res.aopc == pytest.approx(3 / 8)
    np.testing.assert_allclose(res.mean, [1.0, 0.75, 0.125])
    se = np.array([0.0, 0.25, 0.125])  # std(ddof=1)/sqrt(2) = |a-b|/2
    np.testing.assert_allclose(res.ci, [res.mean - 1.96 * se, res.mean + 1.96 * se])
    lo, hi = res.bootstrap_ci(n_boot=200, seed=1)
    assert np.all(lo <= res.mean + 1e-12) and np.all(hi >= res.mean - 1e-12)
    fig = plot_pixel_flipping({"all": res, "other": res}, band="bootstrap")
    assert len(fig.axes[0].lines) == 2


def test_baselines() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 3, 4)).astype(np.float32) + 5.0
    rel = rng.standard_normal(x.shape).astype(np.float32)
    mean, std = np.array([1.0, -2.0]), np.array([2.0, 0.5])
    full = np.array([0.0, 1.0])

    def run(baseline, seed=0):
        m = Recorder(2, mean=mean, std=std)
        pixel_flipping(m, x, rel, [0, 0], fractions=full, baseline=baseline, seed=seed)
        return torch.cat(m.seen).numpy().reshape(2, 2, 2, 3, 4)[:, 1]  # fully flipped

    np.testing.assert_array_equal(
        run("zero-normalised"), np.broadcast_to(mean.reshape(1, 2, 1, 1), x.shape)
    )
    np.testing.assert_array_equal(run("zero-raw"), 0.0)
    np.testing.assert_allclose(
        run("mean"),
        np.broadcast_to(x.astype(np.float64).mean(axis=(2, 3), keepdims=True), x.shape),
        rtol=1e-6,
    )
    noise = run("noise")
    np.testing.assert_array_equal(noise, run("noise"))
    assert not np.array_equal(noise, run("noise", seed=1))
    z = (noise - mean.reshape(1, 2, 1, 1)) / std.reshape(1, 2, 1, 1)
    assert abs(z.mean()) < 1.0 and 0.4 < z.std() < 2.0


@pytest.mark.slow
def test_crnn_step_zero_is_the_unperturbed_clip_probability() -> None:
    torch.manual_seed(0)
    model = CRNN(2, n_filters=4, lstm_hidden=4, n_dense=8, n_classes=5).eval()
    x = torch.randn(3, 2, 50, 512)
    rel = torch.randn(3, 2, 50, 512)
    labels = torch.tensor([0, 3, 4])
    res = pixel_flipping(model, x, rel, labels, n_steps=4, batch_size=4)
    with torch.no_grad():
        p0 = clip_probabilities(model(x))[torch.arange(3), labels].double().numpy()
    np.testing.assert_allclose(res.scores[:, 0], p0, rtol=1e-5)
    assert np.all((res.scores > 0) & (res.scores < 1))
    assert not model.training


def test_helpers_and_errors() -> None:
    assert list(n_flipped_bins(np.array([0, 0.05, 1.0]), 25600)) == [0, 1280, 25600]
    groups = hoa_channel_groups(2)
    assert groups["order 1"] == (1, 2, 3, 10, 11, 12)
    assert groups["phase"] == tuple(range(9, 18))
    r = np.zeros((1, 2, 2))
    np.testing.assert_array_equal(bin_ranking(r, "most_relevant"), [0, 1, 2, 3])
    model = Recorder(2)
    x = np.zeros((2, 2, 3, 4), np.float32)
    with pytest.raises(AudioLRPError):
        pixel_flipping(model, x, x[:1], [0, 0])
    with pytest.raises(AudioLRPError):
        pixel_flipping(model, x, x, [0])
    with pytest.raises(AudioLRPError):
        pixel_flipping(model, x, x, [0, 0], fractions=[0.5, 1.0])
    with pytest.raises(AudioLRPError):
        pixel_flipping(model, x, x, [0, 0], channels=[2])
    with pytest.raises(AudioLRPError):
        pixel_flipping(model, x, x, [0, 0], baseline="ones")  # type: ignore[arg-type]


@pytest.mark.slow
def test_fast_inference_model_is_equivalent() -> None:
    torch.manual_seed(1)
    model = CRNN(
        3,
        n_filters=5,
        lstm_hidden=3,
        n_dense=6,
        n_classes=7,
        norm_mean=[0.1, -0.2, 0.3],
        norm_std=[1.5, 0.5, 2.0],
    ).eval()
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.normal_()
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(-1.5, 1.5)  # negative scales too
            mod.bias.data.normal_()
    fast = fast_inference_model(model)
    assert fast is not model
    x = torch.randn(4, 3, 50, 512)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), model(x), rtol=1e-5, atol=1e-5)
    rel = torch.randn(4, 3, 50, 512)
    a = pixel_flipping(model, x, rel, [0, 1, 2, 3], n_steps=3, fast=True)
    b = pixel_flipping(model, x, rel, [0, 1, 2, 3], n_steps=3, fast=False)
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5)
    other = Recorder(2)
    assert fast_inference_model(other) is other


def test_probability_band_stays_in_unit_interval() -> None:
    """Fig. 4's 95 % band of a probability never drawn below 0 or above 1 (issue 11)."""
    from matplotlib.collections import PolyCollection

    scores = np.array([[0.9, 0.02, 0.0], [0.1, 0.0, 0.0], [0.95, 0.5, 0.0]])
    res = PixelFlippingResult(
        fractions=np.array([0.0, 0.5, 1.0]), n_flipped=np.array([0, 5, 10]), scores=scores,
        order="most_relevant", channels=None, baseline="zero", score="probability",
    )
    lo, hi = res.ci
    assert lo.min() < 0 or hi.max() > 1  # the raw band leaves [0, 1]: the clip matters
    fig = plot_pixel_flipping({"all": res})
    polys = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    assert polys
    for poly in polys:
        ys = np.concatenate([p.vertices[:, 1] for p in poly.get_paths()])
        assert ys.min() >= 0.0 and ys.max() <= 1.0


def test_noise_baseline_has_each_channels_mean_and_std() -> None:
    """The noise baseline draws N(mean_c, std_c) of the model's input normalisation per channel:
    checked per channel on 2 x 3200 flipped bins (ignoring std or swapping channels fails)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 2, 50, 64)).astype(np.float32) + 5.0
    rel = rng.standard_normal(x.shape).astype(np.float32)
    mean, std = np.array([1.0, -2.0]), np.array([2.0, 0.5])
    m = Recorder(2, mean=mean, std=std)
    pixel_flipping(m, x, rel, [0, 0], fractions=np.array([0.0, 1.0]), baseline="noise", seed=5)
    flipped = torch.cat(m.seen).numpy().astype(np.float64).reshape(2, 2, 2, 50, 64)[:, 1]
    for c in range(2):
        values = flipped[:, c].ravel()
        assert abs(values.mean() - mean[c]) < 0.1 * std[c]
        assert abs(values.std() / std[c] - 1.0) < 0.05
