"""Attribution-method comparison: AOPC against a float64 loop, bootstrap and paired intervals,
the randomisation cascade (layers, which weights change), similarity measures, the random
floor."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiolrp.analysis import method_comparison as mc
from audiolrp.errors import AudioLRPError
from audiolrp.models import CRNN, clip_probabilities

pytestmark = pytest.mark.usefixtures("one_thread")

T, F = 50, 512


def _model(seed: int = 0, n_lstm: int = 2) -> CRNN:
    torch.manual_seed(seed)
    mean = torch.linspace(-0.5, 0.5, 6)
    std = torch.linspace(0.5, 1.5, 6)
    model = CRNN(6, n_filters=3, lstm_hidden=3, n_dense=5, n_lstm_layers=n_lstm, norm_mean=mean,
                 norm_std=std).eval()
    with torch.no_grad():  # a sharper output layer, so flipping bins moves the probability
        model.output.weight.mul_(20.0)
        for m in model.modules():  # BatchNorm as after training (not at its initial values)
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 2.0)
    return model


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6, T, F)).astype(np.float32)
    return x, rng.integers(0, 425, n)


# ---------------------------------------------------------------------------------- AOPC
def _aopc_loop(model: CRNN, x: np.ndarray, rel: np.ndarray, y: np.ndarray, steps: int,
               most_relevant: bool) -> list[float]:
    """Independent pixel flipping + AOPC: explicit loops, float64 bookkeeping."""
    mean = model.normalization.mean.double().numpy()
    out = []
    for i in range(x.shape[0]):
        flat = rel[i].astype(np.float64).sum(axis=0).ravel()
        order = sorted(range(flat.size), key=lambda j: (-flat[j] if most_relevant else flat[j], j))
        scores = []
        for k in range(steps + 1):
            n_flip = int(np.floor(k / steps * flat.size + 0.5))
            xi = x[i].astype(np.float64).copy().reshape(6, -1)
            for j in order[:n_flip]:
                xi[:, j] = mean
            with torch.no_grad():
                logits = model(torch.from_numpy(xi.reshape(1, 6, T, F).astype(np.float32)))
            scores.append(float(clip_probabilities(logits.double())[0, y[i]]))
        total = 0.0
        for k in range(steps + 1):
            total += scores[0] - scores[k]
        out.append(total / (steps + 1))
    return out


def test_aopc_matches_explicit_float64_loop() -> None:
    model = _model()
    x, y = _data(3)
    comp = mc.compare_methods(model, x, y, ["gradient_x_input", "random"], steps=4,
                              n_sanity=0, n_boot=50, fast=False)
    rel = mc.attribute(model, x, y, mc.method_specs("gradient_x_input")[0], fast=False)
    summary = comp.summary()
    for order, key in ((True, "mrf"), (False, "lrf")):
        loop = _aopc_loop(model, x, rel, y, 4, order)
        res = comp.methods["gradient_x_input"]
        got = res.aopc_mrf if key == "mrf" else res.aopc_lrf
        np.testing.assert_allclose(got, loop, rtol=1e-4, atol=1e-9)
        assert summary["methods"]["gradient_x_input"]["aopc"][key]["mean"] == pytest.approx(
            float(np.mean(loop)), rel=1e-4, abs=1e-9)
    gap = summary["methods"]["gradient_x_input"]["aopc"]["gap"]["mean"]
    assert gap == pytest.approx(float(np.mean(res.aopc_mrf - res.aopc_lrf)))
    assert max(abs(v) for v in loop) > 1e-4  # flipping changes the score: the test can fail


# ------------------------------------------------------------------------------ bootstrap
def test_bootstrap_ci_contains_estimate_and_is_seeded() -> None:
    rng = np.random.default_rng(3)
    v = rng.standard_normal(400) + 2.0
    a = mc.bootstrap_ci(v, n_boot=2000, seed=5)
    assert a.estimate == pytest.approx(float(v.mean()))
    assert a.low < a.estimate < a.high
    assert mc.bootstrap_ci(v, n_boot=2000, seed=5) == a  # same seed, same interval
    assert mc.bootstrap_ci(v, n_boot=2000, seed=6) != a
    # percentile bootstrap of a mean ~ normal interval 1.96 sd / sqrt(n)
    half = 1.96 * v.std(ddof=1) / np.sqrt(v.size)
    assert (a.high - a.low) / 2 == pytest.approx(half, rel=0.1)
    c = mc.bootstrap_ci(np.full(7, 0.25), n_boot=100, seed=0)
    assert (c.estimate, c.low, c.high) == (0.25, 0.25, 0.25)
    assert np.isnan(mc.bootstrap_ci([np.nan, np.nan]).estimate)


def test_bootstrap_ci_matches_explicit_resampling_loop() -> None:
    v = np.random.default_rng(1).exponential(size=25)
    got = mc.bootstrap_ci(v, n_boot=300, seed=9, level=0.9)
    idx = mc.bootstrap_indices(25, 300, 9)
    means = []
    for b in range(300):
        s = 0.0
        for i in idx[b]:
            s += float(v[i])
        means.append(s / 25)
    means.sort()
    lo, hi = np.quantile(np.array(means), [0.05, 0.95])
    assert got.low == pytest.approx(lo, rel=1e-12) and got.high == pytest.approx(hi, rel=1e-12)


def test_paired_difference() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal(50)
    b = a + 0.1 + 0.01 * rng.standard_normal(50)
    same = mc.paired_difference(a, a, n_boot=500, seed=2)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)
    d = mc.paired_difference(b, a, n_boot=500, seed=2)
    assert d.estimate == pytest.approx(float(b.mean() - a.mean()))
    # pairing removes the shared spread: much narrower than the unpaired intervals
    assert d.low > 0.09 and d.high < 0.11
    wa, wb = mc.bootstrap_ci(a, 500, 2), mc.bootstrap_ci(b, 500, 2)
    assert d.high - d.low < 0.2 * (wa.high - wa.low + wb.high - wb.low)
    with pytest.raises(AudioLRPError, match="same examples"):
        mc.paired_difference(a, a[:-1])


def test_difference_of_a_method_with_itself_is_zero_in_a_comparison() -> None:
    model = _model()
    x, y = _data(4)
    comp = mc.compare_methods(model, x, y, "gradient,random", steps=2, n_sanity=0, n_boot=100)
    res = comp.methods["gradient"]
    for values in (res.aopc_mrf, res.aopc_lrf, res.aopc_gap):
        d = comp.difference(values, values)
        assert (d.estimate, d.low, d.high) == (0.0, 0.0, 0.0)
    vs = comp.summary()["methods"]["gradient"]["vs_random"]["mrf"]
    other = comp.methods["random"].aopc_mrf
    assert vs["mean"] == pytest.approx(float(np.mean(res.aopc_mrf - other)))


# ------------------------------------------------------------------------ method parsing
def test_method_specs() -> None:
    assert [s.name for s in mc.method_specs(None)] == list(mc.METHODS)
    assert [s.name for s in mc.method_specs("all")] == list(mc.METHODS)
    specs = mc.method_specs("paper, epsilon-plus,gradient,paper,random")
    assert [s.name for s in specs] == ["paper", "epsilon_plus", "gradient", "random"]
    assert specs[1].method == "lrp" and specs[1].composite == "epsilon_plus"
    assert specs[2].method == "gradient"
    for need in ("paper", "epsilon_plus", "gradient", "gradient_x_input",
                 "integrated_gradients", "smoothgrad", "occlusion", "random"):
        assert need in mc.METHODS
    assert sum(1 for s in mc.method_specs("all") if s.method == "lrp") >= 3
    with pytest.raises(AudioLRPError, match="unknown method"):
        mc.method_specs("paper,lime")
    with pytest.raises(AudioLRPError, match="no method"):
        mc.method_specs(" , ")


# ------------------------------------------------------------------ randomisation cascade
@pytest.mark.parametrize("n_lstm", [1, 2])
def test_cascade_layers_output_first(n_lstm: int) -> None:
    model = _model(n_lstm=n_lstm)
    layers = mc.randomisation_layers(model)
    n_conv = sum(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    assert len(layers) == 2 + n_lstm + n_conv
    names = [layer.name for layer in layers]
    assert names[:2] == ["output", "dense"]
    assert names[2 : 2 + n_lstm] == [f"lstms.{i}" for i in reversed(range(n_lstm))]
    assert names[-1] == "conv.0"
    assert layers[-1].modules == ("conv.0", "conv.1")  # BatchNorm with its convolution


def test_randomise_changes_exactly_the_intended_layers() -> None:
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    layers = mc.randomisation_layers(model)
    rng_state = torch.get_rng_state()
    copies = [mc.randomise_layers(model, layers, k, seed=4) for k in range(len(layers) + 1)]
    assert torch.equal(torch.get_rng_state(), rng_state)  # global RNG untouched
    for k, net in enumerate(copies):
        chosen = {m for layer in layers[:k] for m in layer.modules}
        for name, value in net.state_dict().items():
            module = name.rsplit(".", 1)[0]
            if name.endswith("num_batches_tracked"):
                continue
            changed = not torch.equal(value, before[name])
            assert changed == (module in chosen), (k, name)
    for name, value in model.state_dict().items():  # the model itself is unchanged
        assert torch.equal(value, before[name])
    # cascade: layer j keeps the same new weights at every later step; seeded
    last = copies[-1].state_dict()
    for k in range(1, len(layers)):
        sd = copies[k].state_dict()
        for m in layers[k - 1].modules:
            for name in sd:
                if name.startswith(m + ".") and not name.endswith("num_batches_tracked"):
                    assert torch.equal(sd[name], last[name])
    again = mc.randomise_layers(model, layers, 3, seed=4).state_dict()
    for name, value in copies[3].state_dict().items():
        assert torch.equal(value, again[name])
    other = mc.randomise_layers(model, layers, 1, seed=5).state_dict()
    assert not torch.equal(other["output.weight"], copies[1].state_dict()["output.weight"])
    with pytest.raises(AudioLRPError):
        mc.randomise_layers(model, layers, len(layers) + 1)


# ---------------------------------------------------------------------------- similarity
def _ranks_loop(v: np.ndarray) -> np.ndarray:
    order = sorted(range(v.size), key=lambda i: v[i])
    ranks = np.zeros(v.size)
    i = 0
    while i < v.size:
        j = i
        while j + 1 < v.size and v[order[j + 1]] == v[order[i]]:
            j += 1
        for m in range(i, j + 1):
            ranks[order[m]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _pearson_loop(a: np.ndarray, b: np.ndarray) -> float:
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    num = sum((p - ma) * (q - mb) for p, q in zip(a, b, strict=True))
    da = sum((p - ma) ** 2 for p in a) ** 0.5
    db = sum((q - mb) ** 2 for q in b) ** 0.5
    return num / (da * db)


def test_similarity_measures_match_loops() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 2, 4, 5))
    b = a + rng.standard_normal(a.shape)
    a[0, 0, 0, :3] = 0.0  # ties
    b[1, 1] = np.round(b[1, 1])
    got = mc.rank_correlation_abs(a, b)
    for i in range(3):
        ra = _ranks_loop(np.abs(a[i]).ravel())
        rb = _ranks_loop(np.abs(b[i]).ravel())
        assert got[i] == pytest.approx(_pearson_loop(list(ra), list(rb)), abs=1e-12)
    got = mc.heatmap_pearson(a, b)
    for i in range(3):
        ha = list(a[i].sum(axis=0).ravel())
        hb = list(b[i].sum(axis=0).ravel())
        assert got[i] == pytest.approx(_pearson_loop(ha, hb), abs=1e-12)
    assert mc.rank_correlation_abs(a, -a) == pytest.approx(np.ones(3))  # absolute values
    assert mc.heatmap_pearson(a, -a) == pytest.approx(-np.ones(3))
    assert np.isnan(mc.heatmap_pearson(np.zeros((1, 2, 3, 3)), a[:1, :, :3, :3])[0])


def test_cascade_similarity_and_random_floor() -> None:
    model = _model()
    x, y = _data(3)
    comp = mc.compare_methods(model, x, y, "gradient,random", steps=2, n_sanity=2, n_boot=50)
    layers = mc.randomisation_layers(model)
    grad, rand = comp.methods["gradient"], comp.methods["random"]
    assert grad.spearman_abs is not None and grad.pearson is not None
    assert grad.spearman_abs.shape == (len(layers) + 1, 2)
    np.testing.assert_allclose(grad.spearman_abs[0], 1.0)
    # the trained-vs-randomised similarity is an explicit recomputation
    net = mc.randomise_layers(model, layers, 2, seed=0)
    spec = mc.method_specs("gradient")[0]
    r0 = mc.attribute(model, x[:2], y[:2], spec)
    r2 = mc.attribute(net, x[:2], y[:2], spec)
    np.testing.assert_allclose(grad.spearman_abs[2], mc.rank_correlation_abs(r0, r2))
    np.testing.assert_allclose(grad.pearson[2], mc.heatmap_pearson(r0, r2))
    assert grad.spearman_abs[-1].mean() < 0.9  # randomising the model changes the gradient
    # the random heatmap ignores the model: similarity 1 at every step
    assert rand.spearman_abs is not None
    np.testing.assert_allclose(rand.spearman_abs, 1.0)
    summary = comp.summary()
    assert summary["cascade"] == ["trained"] + [layer.name for layer in layers]
    assert len(summary["methods"]["gradient"]["randomisation"]["pearson"]) == len(layers) + 1


def test_random_floor_is_seeded_and_mrf_equals_lrf_on_average() -> None:
    r = mc.random_relevance((2, 3, 4), 3, seed=1, start=5)
    expect = np.random.default_rng([1, mc.RANDOM_STREAM, 7]).standard_normal((2, 3, 4))
    np.testing.assert_array_equal(r[2], expect.astype(np.float32))
    model = _model()
    x, _ = _data(24, seed=2)
    with torch.no_grad():  # explain the predicted class: a probability that can drop
        y = clip_probabilities(model(torch.from_numpy(x))).argmax(-1).numpy()
    comp = mc.compare_methods(model, x, y, "random,gradient_x_input", steps=4, n_sanity=0,
                              n_boot=1000)
    res = comp.methods["random"]
    d = comp.difference(res.aopc_mrf, res.aopc_lrf)
    assert d.low <= 0.0 <= d.high
    # a real method separates MRF from LRF on the same examples (the test can fail) ...
    gx = comp.methods["gradient_x_input"]
    gap = comp.difference(gx.aopc_mrf, gx.aopc_lrf)
    assert gap.low > 0
    # ... the random floor does not (on average)
    assert abs(d.estimate) < 0.25 * gap.estimate


def test_compare_methods_checks_inputs() -> None:
    model = _model()
    x, y = _data(2)
    with pytest.raises(AudioLRPError, match="do not match"):
        mc.compare_methods(model, x, y[:1], "random")
    with pytest.raises(AudioLRPError, match="steps"):
        mc.compare_methods(model, x, y, "random", steps=0)
    assert not model.training
