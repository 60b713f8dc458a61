"""Every rule class against its explicit matrix form, float64.

A layer is written as a matrix: ``A`` (outputs x inputs) is built by pushing unit vectors
through the bias-free layer, the connectivity ``C`` by pushing them through the layer with all
weights set to one (padding positions are no inputs), contributions ``Z_ji = A_ji x_i``. Each
rule's equation is then one matrix expression (docstrings of ``audiolrp.lrp.rules``; paper
Eq. 2 for epsilon), evaluated here independently of the engine's transposed convolutions.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from audiolrp.errors import UnsupportedModuleError
from audiolrp.lrp import (
    AlphaBeta,
    Composite,
    Epsilon,
    Flat,
    Layer,
    LinearRule,
    PassThrough,
    RecurrentEpsilon,
    Rule,
    WinnerTakeAll,
    ZPlus,
    ZRule,
    explain,
)
from audiolrp.lrp.core import LRPEngine, LRPState, default_rule


def engine_relevance(module: nn.Module, x: torch.Tensor, r: torch.Tensor, rules: dict):
    state = LRPState(record=True)
    with LRPEngine(module, Composite(rules), state):
        xg = x.clone().requires_grad_()
        out = module(xg)
        out = out[0] if isinstance(out, tuple) else out
        g = torch.autograd.grad(out, [xg, *state.state_leaves], r, allow_unused=True)
    return g[0], g[1:], state


def as_matrix(fn, in_shape) -> np.ndarray:
    """``A`` with ``fn(x).ravel() = A @ x.ravel()`` for a linear, bias-free ``fn``."""
    n = int(np.prod(in_shape))
    eye = torch.eye(n).reshape(n, *in_shape)
    with torch.no_grad():
        return fn(eye).reshape(n, -1).T.numpy()


def sgn(z: np.ndarray) -> np.ndarray:
    return np.where(z >= 0, 1.0, -1.0)


LAYERS = {
    "linear": (lambda: nn.Linear(6, 4), (6,)),
    "conv1d": (lambda: nn.Conv1d(2, 3, 3, padding=1, stride=2), (2, 7)),
    "conv2d": (lambda: nn.Conv2d(2, 3, (2, 3), padding=(1, 1), dilation=(1, 2)), (2, 4, 5)),
    "conv2d_grouped": (lambda: nn.Conv2d(4, 6, 3, padding=1, groups=2), (4, 3, 4)),
}


def _layer_setup(kind: str, seed: int):
    make, in_shape = LAYERS[kind]
    torch.manual_seed(seed)
    layer = make()
    x = torch.randn(1, *in_shape)
    z = layer(x)
    r = torch.randn_like(z)
    if kind == "linear":
        a = layer.weight.detach().numpy()
        ones = np.ones_like(a)
        bias = layer.bias.detach().numpy()
    else:
        conv = F.conv1d if kind == "conv1d" else F.conv2d
        kw = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation,
                  groups=layer.groups)
        w = layer.weight.detach()
        a = as_matrix(lambda v: conv(v, w, None, **kw), in_shape)
        ones = as_matrix(lambda v: conv(v, torch.ones_like(w), None, **kw), in_shape)
        n_pos = int(np.prod(z.shape[2:]))
        bias = np.repeat(layer.bias.detach().numpy(), n_pos)
    xv, zv, rv = x.numpy().ravel(), z.detach().numpy().ravel(), r.numpy().ravel()
    np.testing.assert_allclose(a @ xv + bias, zv, rtol=1e-12, atol=1e-12)  # A is the layer
    return layer, x, r, a, ones, bias, xv, zv, rv


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("bias_mode", ["equal", "absorb"])
def test_epsilon_matrix_form(kind, bias_mode):
    layer, x, r, a, conn, bias, xv, zv, rv = _layer_setup(kind, 1)
    eps = 0.1
    contrib = a * xv[None, :]  # Z_ji
    den = zv + eps * sgn(zv)
    n_j = np.maximum(conn.sum(1), 1.0)  # real inputs of unit j
    share = conn * ((bias + eps * sgn(zv)) / n_j)[:, None] if bias_mode == "equal" else 0.0
    expected = ((contrib + share) / den[:, None]).T @ rv  # paper Eq. 2 (+ stabiliser, bias)
    got, _, _ = engine_relevance(layer, x, r, {type(layer): Epsilon(eps, bias=bias_mode)})
    np.testing.assert_allclose(got.numpy().ravel(), expected, rtol=1e-10, atol=1e-12)
    if bias_mode == "equal":
        assert float(got.sum()) == pytest.approx(float(r.sum()), rel=1e-10)


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (2.0, 1.0), (3.0, 2.0)])
@pytest.mark.parametrize("path", ["identity", "split"])
def test_alpha_beta_matrix_form(kind, alpha, beta, path, monkeypatch):
    """Both computations of the rule (the |x||W| identity, and x, W split by sign) against
    the matrix form; ``conditioning = 1`` sends every unit with relevance to the split form,
    ``conditioning = 0`` keeps every layer without dead units on the identity."""
    split_calls = []
    original = AlphaBeta.split_backward

    def spy(self, *args):
        split_calls.append(1)
        return original(self, *args)

    monkeypatch.setattr(AlphaBeta, "split_backward", spy)
    monkeypatch.setattr(AlphaBeta, "conditioning", 1.0 if path == "split" else 0.0)
    layer, x, r, a, _, _, xv, _, rv = _layer_setup(kind, 2)
    contrib = a * xv[None, :]
    zp = np.clip(contrib, 0, None)
    zn = np.clip(contrib, None, 0)
    zp_j, zn_j = zp.sum(1), zn.sum(1)
    # a unit without positive (negative) contributions passes nothing on: its row is zero
    p_share = np.divide(zp, zp_j[:, None], out=np.zeros_like(zp), where=zp_j[:, None] > 0)
    n_share = np.divide(zn, zn_j[:, None], out=np.zeros_like(zn), where=zn_j[:, None] < 0)
    expected = (alpha * p_share - beta * n_share).T @ rv
    lost = alpha * rv[zp_j <= 0].sum() - (beta * rv[zn_j >= 0].sum() if beta else 0.0)
    rule = ZPlus() if (alpha, beta) == (1.0, 0.0) else AlphaBeta(alpha, beta)
    got, _, state = engine_relevance(layer, x, r, {type(layer): rule})
    np.testing.assert_allclose(got.numpy().ravel(), expected, rtol=1e-10, atol=1e-12)
    dead = bool((zp_j <= 0).any() or (beta and (zn_j >= 0).any()))
    assert len(split_calls) == (1 if path == "split" or dead else 0)
    dropped = float(state.dead_relevance.sum()) if state.dead_relevance is not None else 0.0
    assert dropped == pytest.approx(lost, abs=1e-12)
    # alpha - beta = 1: all relevance accounted for
    assert float(got.sum()) + dropped == pytest.approx(float(r.sum()), rel=1e-10)


def test_alpha_beta_dead_units_are_reported():
    """Units with relevance but z+ = 0 keep it: reported, not passed on (matrix form)."""
    lin = nn.Linear(3, 4)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 2, 3], [-1, -2, -3], [1, -1, 0], [-2, 0, -1]]))
    x = torch.tensor([[1.0, 0.5, 2.0]])  # units 1 and 3 have no positive contribution
    r = torch.tensor([[1.0, 2.0, -3.0, 4.0]])
    got, _, state = engine_relevance(lin, x, r, {nn.Linear: ZPlus()})
    contrib = lin.weight.detach().numpy() * x.numpy()
    zp = np.clip(contrib, 0, None)
    zp_j = zp.sum(1)
    alive = zp_j > 0
    expected = (zp[alive] / zp_j[alive, None]).T @ r.numpy()[0, alive]
    np.testing.assert_allclose(got.numpy()[0], expected, rtol=1e-12)
    assert int(state.n_dead.sum()) == 2
    assert float(state.dead_relevance.sum()) == pytest.approx(6.0)


def _ill_conditioned_case(dtype: torch.dtype):
    """One dense unit whose z+ is 1e-6 of its summed |contributions| (cancellation for the
    |x||W| identity in float32), one ordinary unit."""
    lin = nn.Linear(3, 2, bias=False).to(dtype)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[-1.0, -1.0, 1e-6], [0.5, -0.25, 1.0]], dtype=dtype))
    x = torch.tensor([[1.0, 1.0, 1.0]], dtype=dtype)
    r = torch.tensor([[1.0, 1.0]], dtype=dtype)
    contrib = lin.weight.detach().double().numpy() * x.double().numpy()
    zp = np.clip(contrib, 0, None)
    expected = (zp / zp.sum(1, keepdims=True)).T @ r.double().numpy()[0]
    return lin, x, r, expected


def test_alpha_beta_falls_back_to_split_form_where_the_identity_cancels(monkeypatch):
    """float32: the unit with z+ = 1e-6 q goes through the split form and its relevance is
    exact to float32 rounding; forcing the identity (conditioning 0) gets it visibly wrong,
    so the fallback is what makes the result right."""
    lin, x, r, expected = _ill_conditioned_case(torch.float32)
    got, _, _ = engine_relevance(lin, x, r, {nn.Linear: ZPlus()})
    np.testing.assert_allclose(got.double().numpy()[0], expected, rtol=1e-5, atol=1e-6)
    monkeypatch.setattr(AlphaBeta, "conditioning", 0.0)
    forced, _, _ = engine_relevance(lin, x, r, {nn.Linear: ZPlus()})
    assert np.abs(forced.double().numpy()[0] - expected).max() > 1e-2


def test_alpha_beta_identity_path_keeps_input_layout():
    """A channels-last computation inside the rule does not leak out: the relevance of a
    contiguous input is contiguous, and the forward output equals the layer's."""
    torch.manual_seed(5)
    conv = nn.Conv2d(3, 4, 3, padding=1).float()
    x = torch.randn(2, 3, 6, 8, dtype=torch.float32)
    r = torch.randn(2, 4, 6, 8, dtype=torch.float32)
    got, _, _ = engine_relevance(conv, x, r, {nn.Conv2d: ZPlus()})
    assert got.is_contiguous()
    state = LRPState()
    with LRPEngine(conv, Composite({nn.Conv2d: ZPlus()}), state), torch.no_grad():
        z = conv(x)
    torch.testing.assert_close(z, conv(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_flat_matrix_form(kind):
    layer, x, r, _, conn, _, _, _, rv = _layer_setup(kind, 3)
    n_j = np.maximum(conn.sum(1), 1.0)
    expected = (conn / n_j[:, None]).T @ rv
    got, _, _ = engine_relevance(layer, x, r, {type(layer): Flat()})
    np.testing.assert_allclose(got.numpy().ravel(), expected, rtol=1e-12, atol=1e-14)


def test_z_rule_average_pooling_matrix_form():
    torch.manual_seed(4)
    pool = nn.AvgPool2d((2, 3), stride=(2, 2))
    x = torch.rand(1, 2, 4, 7) + 0.1
    z = pool(x)
    r = torch.randn_like(z)
    a = as_matrix(pool, (2, 4, 7))
    xv, zv, rv = x.numpy().ravel(), z.numpy().ravel(), r.numpy().ravel()
    eps = 1e-6
    expected = (a * xv[None, :] / (zv + eps * sgn(zv))[:, None]).T @ rv
    got, _, _ = engine_relevance(pool, x, r, {nn.AvgPool2d: ZRule(eps)})
    np.testing.assert_allclose(got.numpy().ravel(), expected, rtol=1e-12)
    assert default_rule("p", pool).__class__ is ZRule  # the default of average pooling


def test_winner_take_all_matrix_form():
    torch.manual_seed(5)
    pool = nn.MaxPool2d((1, 3))
    x = torch.randn(1, 2, 3, 6)
    z = pool(x)
    r = torch.randn_like(z)
    xv = x.numpy().reshape(2, 3, 6)
    sel = np.zeros((z.numel(), x.numel()))  # S_ji = 1 for the winner i of window j
    for j, (c, t, k) in enumerate(np.ndindex(*z.shape[1:])):
        f = 3 * k + int(np.argmax(xv[c, t, 3 * k : 3 * k + 3]))
        sel[j, np.ravel_multi_index((c, t, f), (2, 3, 6))] = 1.0
    expected = sel.T @ r.numpy().ravel()
    for rules in ({}, {nn.MaxPool2d: WinnerTakeAll()}):
        got, _, _ = engine_relevance(pool, x, r, rules)
        np.testing.assert_array_equal(got.numpy().ravel(), expected)


def test_pass_through_is_the_identity_matrix():
    x = torch.randn(1, 3, 4)
    r = torch.randn(1, 3, 4)
    for mod in (nn.ELU(), nn.Tanh()):
        got, _, _ = engine_relevance(mod, x, r, {type(mod): PassThrough()})
        assert torch.equal(got, r)


def test_recurrent_epsilon_one_step_matrix_form():
    """One LSTM step from zero states: R(g) by the 2-input cell split, then Eq. 2 on a_g."""
    torch.manual_seed(6)
    d, hid, eps = 4, 3, 0.01
    lstm = nn.LSTM(d, hid, batch_first=True)
    x = torch.randn(1, 1, d)
    r = torch.randn(1, 1, hid)
    w_ih = lstm.weight_ih_l0.detach().numpy()
    b = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy()
    pre = w_ih @ x.numpy().ravel() + b  # h_0 = 0
    i_t = 1 / (1 + np.exp(-pre[:hid]))
    a_g = pre[2 * hid : 3 * hid]
    c_t = i_t * np.tanh(a_g)  # c_0 = 0
    s_c = sgn(c_t)
    r_c0 = (0.0 + eps * s_c / 2) / (c_t + eps * s_c) * r.numpy().ravel()  # f c_0 = 0
    r_g = (c_t + eps * s_c / 2) / (c_t + eps * s_c) * r.numpy().ravel()
    s_a = sgn(a_g)
    b_g = b[2 * hid : 3 * hid]
    contrib = w_ih[2 * hid : 3 * hid] * x.numpy().ravel()[None, :]  # (H, D)
    m = (contrib + ((b_g + eps * s_a) / (d + hid))[:, None]) / (a_g + eps * s_a)[:, None]
    expected_x = m.T @ r_g
    # h_0 = 0 gets only the bias/stabiliser shares: H per unit
    expected_h0 = ((b_g + eps * s_a) / (d + hid) / (a_g + eps * s_a) * r_g).sum() * hid
    got, leaves, _ = engine_relevance(lstm, x, r, {nn.LSTM: RecurrentEpsilon(eps)})
    np.testing.assert_allclose(got.numpy().ravel(), expected_x, rtol=1e-10)
    g_h0, g_c0 = (float(v.sum()) for v in leaves)
    assert g_h0 == pytest.approx(expected_h0, rel=1e-10)
    assert g_c0 == pytest.approx(float(r_c0.sum()), rel=1e-10)
    assert float(got.sum()) + g_h0 + g_c0 == pytest.approx(float(r.sum()), rel=1e-10)


# ----------------------------------------------------------------------------- the rule API
class _Half(LinearRule):
    """A new rule is one class: half of LRP-0's relevance (``R_i = 1/2 sum_j Z_ji / z_j R_j``)."""

    def backward(self, layer: Layer, saved, r):
        x, z = saved
        s = r / z
        return 0.5 * x * layer.op.transpose(s, layer.weight, x.shape)


def test_a_new_rule_is_one_class():
    layer, x, r, a, _, _, xv, zv, rv = _layer_setup("conv2d", 7)
    got, _, _ = engine_relevance(layer, x, r, {nn.Conv2d: _Half()})
    expected = 0.5 * (a * xv[None, :] / zv[:, None]).T @ rv
    np.testing.assert_allclose(got.numpy().ravel(), expected, rtol=1e-10)


def test_rules_refuse_modules_they_do_not_fit():
    for rule, module in ((ZRule(), nn.Linear(2, 2)), (Epsilon(), nn.MaxPool1d(2)),
                         (RecurrentEpsilon(), nn.Conv1d(1, 1, 1)),
                         (WinnerTakeAll(), nn.Linear(2, 2))):
        assert not rule.fits(module)
        with pytest.raises(UnsupportedModuleError, match="does not fit"):
            explain(nn.Sequential(module).double(), torch.randn(2, 2, 4)[..., : 2],
                    target=0, composite=Composite({type(module): rule}))
    assert isinstance(Rule(), Rule) and PassThrough().fits(nn.Linear(2, 2))


# ----------------------------------------------------------------------------- no model inside
def test_engine_imports_no_concrete_model():
    import ast
    from pathlib import Path

    import audiolrp.lrp as lrp_pkg

    for path in Path(lrp_pkg.__file__).parent.glob("*.py"):
        if path.name == "attribution.py":  # baselines from the normalisation (not the engine)
            continue
        tree = ast.parse(path.read_text())
        names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [n for n in names if n.startswith("audiolrp.models")], path.name


class _Scale(nn.Module):
    """A parameter-free layer that declares itself pass-through for LRP."""

    lrp_pass_through = True

    def forward(self, v):
        return 3.0 * v


class _ClipNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = _Scale()
        self.lin = nn.Linear(4, 5)

    def forward(self, v):
        return self.lin(self.scale(v))  # (B, T, C)

    def clip_probabilities(self, frame_scores):
        return frame_scores[:, -1].softmax(-1)  # this model trusts its last frame only


def test_declared_pass_through_clip_model_and_registry():
    torch.manual_seed(8)
    net = _ClipNet().double()
    x = torch.randn(3, 6, 4)
    e = explain(net, x, return_layers=True)
    torch.testing.assert_close(e.target, net(x)[:, -1].argmax(-1))  # the model's reduction
    assert "scale" not in e.layer_relevance  # pass-through: the relevance of lin's input
    torch.testing.assert_close(e.relevance.sum((1, 2)), e.layer_relevance["lin"])

    class Holder:  # a record holding the network in .model
        model = net

    assert torch.equal(explain(Holder(), x, target=1).relevance,
                       explain(net, x, target=1).relevance)
    from audiolrp.lrp import register_default_rule
    from audiolrp.lrp.core import DEFAULT_RULES

    register_default_rule(nn.Linear, Flat())
    try:
        e_flat = explain(net, x, target=1, composite=Composite({}))
        torch.testing.assert_close(e_flat.relevance,
                                   explain(net, x, target=1, composite=Composite(
                                       {nn.Linear: Flat()})).relevance)
    finally:
        del DEFAULT_RULES[nn.Linear]
    with pytest.raises(UnsupportedModuleError, match="cannot be applied"):
        register_default_rule(nn.Linear, ZRule())
