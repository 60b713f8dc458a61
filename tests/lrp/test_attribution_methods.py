"""Integrated gradients, SmoothGrad and occlusion (through Captum) against float64 loops."""

from __future__ import annotations

import math

import pytest
import torch

from audiolrp.errors import AudioLRPError
from audiolrp.lrp import METHODS, explain, parse_method
from audiolrp.models import CRNN

NEW = ("integrated_gradients", "smoothgrad", "occlusion")
N_T, N_F = 20, 64


def small_crnn(seed: int = 0) -> CRNN:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    m = CRNN(
        n_in=6,
        n_filters=4,
        lstm_hidden=4,
        n_dense=8,
        n_bins=N_F,
        pool_sizes=(4, 4, 2),
        norm_mean=torch.randn(6, generator=gen),
        norm_std=torch.rand(6, generator=gen) + 0.5,
    ).double()
    return m.eval()


@pytest.fixture(scope="module")
def model() -> CRNN:
    return small_crnn()


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return torch.randn(3, 6, N_T, N_F, generator=torch.Generator().manual_seed(5))


def f_ref(model, x, target, frames=None, probability=False):
    """The explained scalar, written out: target score (or probability) summed over frames."""
    out = model(x)
    y = out.softmax(-1) if probability else out
    idx = torch.arange(out.shape[1]) if frames is None else torch.as_tensor(frames)
    return torch.stack([y[b, idx, int(target[b])].sum() for b in range(x.shape[0])])


def norm_zero(model, x):
    """Default baseline: the input the normalisation maps to zero (its per-channel mean)."""
    return model.normalization.mean.view(1, -1, 1, 1).expand_as(x).clone()


def test_methods_are_listed():
    assert set(NEW) <= set(METHODS)


@pytest.mark.parametrize(("start", "frames"), [("score", None), ("probability", [2, 7, 19])])
def test_integrated_gradients_completeness(model, x, start, frames):
    probability = start == "probability"
    errs = {}
    for n in (4, 128):
        e = explain(
            model, x, method="integrated_gradients", n_steps=n, start=start, frames=frames
        )
        with torch.no_grad():
            diff = f_ref(model, x, e.target, frames, probability) - f_ref(
                model, norm_zero(model, x), e.target, frames, probability
            )
        torch.testing.assert_close(e.start_relevance, diff, rtol=1e-12, atol=1e-12)
        assert e.relevance.shape == x.shape
        errs[n] = (e.relevance.sum(dim=(1, 2, 3)) - diff).abs()
        torch.testing.assert_close(e.conservation_error().abs(), errs[n])
    # the integration error shrinks with more steps and is small at 128 steps
    assert float(errs[128].max()) < float(errs[4].max()) / 5, errs
    assert bool((errs[128] <= 5e-3 * diff.abs() + 1e-6).all()), (errs[128], diff)


def test_integrated_gradients_baseline_and_chunking(model, x):
    e1 = explain(model, x, method="integrated_gradients", n_steps=8, baseline=0.5)
    e2 = explain(
        model, x, method="integrated_gradients", n_steps=8, baseline=torch.full_like(x, 0.5),
        chunk_size=6,
    )
    torch.testing.assert_close(e1.relevance, e2.relevance, rtol=1e-10, atol=1e-12)
    with torch.no_grad():
        diff = f_ref(model, x, e1.target) - f_ref(model, torch.full_like(x, 0.5), e1.target)
    torch.testing.assert_close(e1.start_relevance, diff)


def occlusion_loop(model, x, target, base, patch, stride, frames=None):
    """Captum's convention: window starts k * stride, k = 0 .. ceil((D - w) / s), the last ones
    cropped at the edge; each value gets the mean of f(x) - f(occluded) over its windows."""
    (pt, pf), (st, sf) = patch, stride
    n_t, n_f = x.shape[-2:]
    with torch.no_grad():
        fx = f_ref(model, x, target, frames)
        attr = torch.zeros_like(x)
        count = torch.zeros_like(x)
        for kt in range(math.ceil((n_t - pt) / st) + 1):
            for kf in range(math.ceil((n_f - pf) / sf) + 1):
                t0, f0 = kt * st, kf * sf
                sl = (slice(None), slice(None), slice(t0, t0 + pt), slice(f0, f0 + pf))
                xp = x.clone()
                xp[sl] = base[sl]
                d = fx - f_ref(model, xp, target, frames)
                attr[sl] += d.view(-1, 1, 1, 1)
                count[sl] += 1
    assert bool((count > 0).all())
    return attr / count


@pytest.mark.parametrize(
    ("patch", "stride", "baseline", "frames"),
    [
        ((5, 16), None, None, None),  # default: non-overlapping, baseline = normalised zero
        ((4, 8), (3, 5), None, [0, 3, 11]),  # overlapping, cropped at the edges
        ((6, 10), (6, 7), -0.25, None),  # constant baseline, uneven tiling
    ],
)
def test_occlusion_matches_loop(model, x, patch, stride, baseline, frames):
    e = explain(
        model, x, method="occlusion", patch=patch, stride=stride, baseline=baseline,
        frames=frames, chunk_size=7,
    )
    base = norm_zero(model, x) if baseline is None else torch.full_like(x, baseline)
    ref = occlusion_loop(model, x, e.target, base, patch, stride or patch, frames)
    torch.testing.assert_close(e.relevance, ref, rtol=1e-10, atol=1e-12)
    with torch.no_grad():
        torch.testing.assert_close(e.start_relevance, f_ref(model, x, e.target, frames))


def smoothgrad_loop(model, x, target, n, noise_std, seed):
    gen = torch.Generator().manual_seed(seed)
    sigma = noise_std * x.std(dim=(2, 3), keepdim=True, unbiased=False)
    total = torch.zeros_like(x)
    for _ in range(n):
        xn = (x + sigma * torch.randn(x.shape, generator=gen)).requires_grad_()
        (g,) = torch.autograd.grad(f_ref(model, xn, target).sum(), xn)
        total += g
    return total / n


def test_smoothgrad_seeded_and_matches_loop(model, x):
    kw = dict(method="smoothgrad", n_samples=12, noise_std=0.2)
    a = explain(model, x, seed=3, **kw)
    b = explain(model, x, seed=3, chunk_size=4, **kw)  # other chunking, same noise
    c = explain(model, x, seed=4, **kw)
    torch.testing.assert_close(a.relevance, b.relevance, rtol=1e-12, atol=1e-14)
    assert torch.equal(a.relevance, explain(model, x, seed=3, **kw).relevance)
    assert float((a.relevance - c.relevance).abs().max()) > 1e-3 * float(a.relevance.abs().max())
    ref = smoothgrad_loop(model, x, a.target, 12, 0.2, 3)
    torch.testing.assert_close(a.relevance, ref, rtol=1e-10, atol=1e-12)
    # the global RNG is not touched
    state = torch.get_rng_state()
    explain(model, x, seed=3, **kw)
    assert torch.equal(state, torch.get_rng_state())


def test_smoothgrad_without_noise_is_the_gradient(model, x):
    g = explain(model, x, method="gradient")
    s = explain(model, x, method="smoothgrad", n_samples=2, noise_std=0.0)
    torch.testing.assert_close(s.relevance, g.relevance, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("method", NEW)
def test_every_method_through_the_bilstm_batch_of_three(model, x, method):
    params = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    e = explain(model, x, method=method, target=[1, 200, 424], n_steps=4, n_samples=3)
    assert model.training and all(m.training for m in model.modules())
    model.eval()
    assert e.relevance.shape == x.shape and e.relevance.dtype == x.dtype
    assert bool(torch.isfinite(e.relevance).all()) and float(e.relevance.abs().sum()) > 0
    assert e.target.tolist() == [1, 200, 424]
    assert e.method == method and e.composite == method
    assert e.logits.shape == (3, N_T, 425)
    assert all(p.grad is None for p in model.parameters())
    for k, v in model.state_dict().items():
        assert torch.equal(v, params[k]), k
    # through the BiLSTM: explaining frame 0 alone, frames 10.. (beyond the three 3x3
    # convolutions' receptive field of +-3 frames) get attribution only via the backward
    # direction of the recurrence
    e0 = explain(model, x, method=method, frames=[0], n_steps=4, n_samples=3)
    late = e0.relevance[..., 10:, :].abs().sum(dim=(1, 2, 3))
    assert bool((late > 0).all()), late


def test_float32_model(x):
    m = small_crnn().float()
    for method in NEW:
        e = explain(m, x.float(), method=method, n_steps=4, n_samples=2)
        assert e.relevance.dtype == torch.float32 and e.relevance.shape == x.shape


@pytest.mark.parametrize(
    ("method", "kwargs", "word"),
    [
        ("integrated_gradients", {"n_steps": 0}, "n_steps"),
        ("integrated_gradients", {"n_steps": 2.5}, "n_steps"),
        ("integrated_gradients", {"baseline": torch.zeros(2, 6, N_T, N_F)}, "baseline"),
        ("integrated_gradients", {"baseline": float("nan")}, "baseline"),
        ("integrated_gradients", {"baseline": "zero"}, "baseline"),
        ("smoothgrad", {"n_samples": -1}, "n_samples"),
        ("smoothgrad", {"noise_std": -0.1}, "noise_std"),
        ("smoothgrad", {"noise_std": float("inf")}, "noise_std"),
        ("smoothgrad", {"seed": -3}, "seed"),
        ("smoothgrad", {"chunk_size": 0}, "chunk_size"),
        ("occlusion", {"patch": (5,)}, "patch"),
        ("occlusion", {"patch": (0, 4)}, "patch"),
        ("occlusion", {"patch": (N_T + 1, 4)}, "patch"),
        ("occlusion", {"patch": (4, 4), "stride": (5, 4)}, "stride"),
        ("occlusion", {"stride": (1, True)}, "stride"),
        ("occlusion", {"frames": [N_T]}, "frames"),
        ("integrated_gradients", {"target": 425}, "target"),
        ("smoothgrad", {"start": "logit"}, "start"),
    ],
)
def test_bad_arguments(model, x, method, kwargs, word):
    with pytest.raises(AudioLRPError, match=word) as err:
        explain(model, x, method=method, **kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "name,expected",
    [
        ("paper", ("lrp", "paper")),
        ("Epsilon-Plus", ("lrp", "epsilon_plus")),
        (" epsilon_alpha2_beta1 ", ("lrp", "epsilon_alpha2_beta1")),
        ("gradient-x-input", ("gradient_x_input", "paper")),
        ("integrated_gradients", ("integrated_gradients", "paper")),
        ("occlusion", ("occlusion", "paper")),
    ],
)
def test_parse_method_names(name, expected):
    assert parse_method(name) == expected


@pytest.mark.parametrize("name", ["lrp", "random", "saliency", ""])
def test_parse_method_rejects_other_names(name):
    with pytest.raises(AudioLRPError, match="unknown method"):
        parse_method(name)
