"""LRP rules of dense/conv/pooling layers against explicit float64 loop implementations."""

from __future__ import annotations

import lrp_reference as ref
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from audiolrp.lrp import AlphaBeta, Composite, Epsilon, Flat, ZPlus
from audiolrp.lrp.core import LRPEngine, LRPState

RULES = {
    "eps": (Epsilon(0.01), dict(rule="epsilon", eps=0.01)),
    "eps_absorb": (Epsilon(0.5, bias="absorb"), dict(rule="epsilon", eps=0.5, bias="absorb")),
    "plus": (ZPlus(), dict(rule="alphabeta", alpha=1.0, beta=0.0)),
    "a2b1": (AlphaBeta(2, 1), dict(rule="alphabeta", alpha=2.0, beta=1.0)),
    "flat": (Flat(), dict(rule="flat")),
}


def engine_relevance(module: nn.Module, x: torch.Tensor, r_out: torch.Tensor, rules: dict):
    """Input relevance of one module via the engine for an arbitrary output relevance."""
    state = LRPState(record=True)
    with LRPEngine(module, Composite(rules), state):
        xg = x.clone().requires_grad_()
        (g,) = torch.autograd.grad(module(xg), xg, r_out)
    return g, state


def _np(t):
    return t.detach().numpy()


@pytest.mark.parametrize("name", list(RULES))
def test_linear_rule_matches_loops(name):
    rule, kw = RULES[name]
    gen = torch.Generator().manual_seed(1)
    lin = nn.Linear(7, 5)
    x = torch.randn(2, 3, 7, generator=gen)  # (batch, frames, features)
    r = torch.randn(2, 3, 5, generator=gen)
    got, state = engine_relevance(lin, x, r, {nn.Linear: rule})
    kw = dict(kw)
    bias = kw.pop("bias", "equal")
    exp, dropped, n_dead = ref.dense_lrp(
        _np(x), _np(lin.weight), _np(lin.bias), _np(r), bias=bias, **kw
    )
    np.testing.assert_allclose(_np(got), exp, rtol=1e-10, atol=1e-12)
    if kw["rule"] == "alphabeta":
        assert float(state.dead_relevance.sum() if state.dead_relevance is not None else 0) == (
            pytest.approx(dropped, abs=1e-12)
        )


@pytest.mark.parametrize("name", list(RULES))
@pytest.mark.parametrize(
    "conv_kw",
    [
        dict(kernel_size=3, padding=1),
        dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
    ],
)
def test_conv2d_rule_matches_loops(name, conv_kw):
    rule, kw = RULES[name]
    gen = torch.Generator().manual_seed(2)
    conv = nn.Conv2d(3, 4, **conv_kw)
    x = torch.randn(2, 3, 5, 6, generator=gen)
    z = conv(x)
    r = torch.randn(z.shape, generator=gen)
    got, state = engine_relevance(conv, x, r, {nn.Conv2d: rule})
    for b in range(2):
        z_ref, exp, _, _ = ref.conv2d_lrp(
            _np(x[b]), _np(conv.weight), _np(conv.bias), _np(r[b]),
            stride=conv.stride, padding=conv.padding, dilation=conv.dilation, **kw,
        )
        np.testing.assert_allclose(z_ref, _np(z[b]), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(_np(got[b]), exp, rtol=1e-9, atol=1e-12)


def test_conv1d_and_padding_modes():
    gen = torch.Generator().manual_seed(3)
    conv = nn.Conv1d(2, 3, kernel_size=3, padding=1)
    x = torch.randn(2, 2, 8, generator=gen)
    r = torch.randn(2, 3, 8, generator=gen)
    got, _ = engine_relevance(conv, x, r, {nn.Conv1d: Epsilon(0.01)})
    for b in range(2):
        _, exp, _, _ = ref.conv2d_lrp(
            _np(x[b])[:, None], _np(conv.weight)[:, :, None], _np(conv.bias), _np(r[b])[:, None],
            padding=(0, 1),
        )
        np.testing.assert_allclose(_np(got[b]), exp[:, 0], rtol=1e-9, atol=1e-12)
    # reflect padding: padded copies send their relevance back to the mirrored inputs
    conv_r = nn.Conv1d(2, 3, kernel_size=3, padding=1, padding_mode="reflect")
    got_r, _ = engine_relevance(conv_r, x, r, {nn.Conv1d: Epsilon(0.01)})
    assert torch.allclose(got_r.sum(), r.sum(), rtol=1e-10)


def test_grouped_conv_and_same_padding_conserve():
    gen = torch.Generator().manual_seed(4)
    conv = nn.Conv2d(4, 6, kernel_size=3, padding="same", groups=2)
    x = torch.randn(2, 4, 5, 5, generator=gen)
    r = torch.rand(2, 6, 5, 5, generator=gen)
    for rule in (Epsilon(0.01), Flat()):
        got, _ = engine_relevance(conv, x, r, {nn.Conv2d: rule})
        assert torch.allclose(got.sum(), r.sum(), rtol=1e-10)
    got, state = engine_relevance(conv, x, r, {nn.Conv2d: ZPlus()})
    dead = state.dead_relevance.sum() if state.dead_relevance is not None else 0.0
    assert torch.allclose(got.sum() + dead, r.sum(), rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(
    d_in=st.integers(1, 6), d_out=st.integers(1, 6), batch=st.integers(1, 3),
    seed=st.integers(0, 2**16), which=st.sampled_from(list(RULES)),
)
def test_linear_rules_hypothesis(d_in, d_out, batch, seed, which):
    rule, kw = RULES[which]
    torch.manual_seed(seed)
    lin = nn.Linear(d_in, d_out)
    x, r = torch.randn(batch, d_in), torch.randn(batch, d_out)
    got, state = engine_relevance(lin, x, r, {nn.Linear: rule})
    kw = dict(kw)
    bias = kw.pop("bias", "equal")
    exp, dropped, _ = ref.dense_lrp(_np(x), _np(lin.weight), _np(lin.bias), _np(r), bias=bias, **kw)
    np.testing.assert_allclose(_np(got), exp, rtol=1e-9, atol=1e-10)
    if bias == "equal" or kw["rule"] != "epsilon":
        lost = float(state.dead_relevance.sum()) if state.dead_relevance is not None else 0.0
        assert float(got.sum()) + lost == pytest.approx(float(r.sum()), rel=1e-9, abs=1e-9)


@settings(max_examples=15, deadline=None)
@given(
    c_in=st.integers(1, 3), c_out=st.integers(1, 3), h=st.integers(3, 6), w=st.integers(3, 6),
    k=st.integers(1, 3), stride=st.integers(1, 2), pad=st.integers(0, 1),
    seed=st.integers(0, 2**16), which=st.sampled_from(["eps", "plus", "a2b1", "flat"]),
)
def test_conv_rules_hypothesis(c_in, c_out, h, w, k, stride, pad, seed, which):
    rule, kw = RULES[which]
    torch.manual_seed(seed)
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=pad)
    x = torch.randn(1, c_in, h, w)
    z = conv(x)
    r = torch.randn(z.shape)
    got, _ = engine_relevance(conv, x, r, {nn.Conv2d: rule})
    assert bool(torch.isfinite(got).all())
    _, exp, _, _ = ref.conv2d_lrp(
        _np(x[0]), _np(conv.weight), _np(conv.bias), _np(r[0]), stride=(stride,) * 2,
        padding=(pad,) * 2, **kw,
    )
    np.testing.assert_allclose(_np(got[0]), exp, rtol=1e-9, atol=1e-10, equal_nan=False)


def test_maxpool_winner_take_all_and_avgpool_z_rule():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(2, 3, 4, 8, generator=gen)
    r = torch.randn(2, 3, 4, 2, generator=gen)
    got, _ = engine_relevance(nn.MaxPool2d((1, 4)), x, r, {})
    for b in range(2):
        np.testing.assert_allclose(_np(got[b]), ref.maxpool2d(_np(x[b]), (1, 4), _np(r[b]))[1])
    # average pooling: R_i = x_i / (k z_j) R_j (proportional), explicit loop
    pool = nn.AvgPool2d((1, 4))
    got, _ = engine_relevance(pool, x, r, {})
    exp = np.zeros(x.shape)
    xn, rn = _np(x), _np(r)
    for idx in np.ndindex(*r.shape):
        b, c, t, j = idx
        win = xn[b, c, t, 4 * j : 4 * j + 4]
        exp[b, c, t, 4 * j : 4 * j + 4] = win / win.sum() * rn[idx]
    np.testing.assert_allclose(_np(got), exp, rtol=1e-8)


def test_pass_through_layers_are_identity():
    from audiolrp.models import InputNormalization

    x = torch.randn(2, 3, 4, 5)
    r = torch.randn(2, 3, 4, 5)
    for mod in (nn.ELU(), nn.ReLU(), nn.LeakyReLU(0.1), nn.Tanh(), nn.BatchNorm2d(3).eval(),
                InputNormalization(3, [1, 2, 3], [2, 3, 4])):
        got, _ = engine_relevance(mod, x, r, {})
        assert torch.equal(got, r), type(mod).__name__
