"""LSTM/GRU rule against a re-implementation of Arras et al.'s equations (loops over time/cells)."""

from __future__ import annotations

import lrp_reference as ref
import numpy as np
import pytest
import torch
from torch import nn

from audiolrp.lrp import Composite, RecurrentEpsilon, unrolled_forward
from audiolrp.lrp.core import LRPEngine, LRPState


def _np(t):
    return t.detach().numpy()


def run_engine(rnn, x, r_out=None, r_hn=None, eps=0.01):
    """Relevance of ``x`` and of the initial states for relevance on output / h_n."""
    state = LRPState(record=True)
    with LRPEngine(rnn, Composite({type(rnn): RecurrentEpsilon(eps)}), state):
        xg = x.clone().requires_grad_()
        out = rnn(xg)
        y, hn = out[0], (out[1][0] if isinstance(rnn, nn.LSTM) else out[1])
        outs, grads = [], []
        if r_out is not None:
            outs.append(y)
            grads.append(r_out)
        if r_hn is not None:
            outs.append(hn)
            grads.append(r_hn)
        g = torch.autograd.grad(outs, [xg, *state.state_leaves], grads, allow_unused=True)
    init = sum(float(t.sum()) for t in g[1:] if t is not None)
    return g[0], init


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU])
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
@pytest.mark.parametrize("bidir,layers,batch_first", [(False, 1, True), (True, 2, False)])
def test_unrolled_forward_matches_fused(cls, dtype, tol, bidir, layers, batch_first):
    torch.manual_seed(0)
    rnn = cls(6, 5, num_layers=layers, bidirectional=bidir, batch_first=batch_first).to(dtype)
    x = torch.randn(3, 50, 6, dtype=dtype)
    if not batch_first:
        x = x.transpose(0, 1).contiguous()
    a, b = rnn(x), unrolled_forward(rnn, x)
    assert (a[0] - b[0]).abs().max() <= tol
    ha, hb = (a[1][0], b[1][0]) if cls is nn.LSTM else (a[1], b[1])
    assert (ha - hb).abs().max() <= tol
    if cls is nn.LSTM:
        assert (a[1][1] - b[1][1]).abs().max() <= tol


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU])
@pytest.mark.parametrize("bidir", [False, True])
def test_last_step_only_matches_arras(cls, bidir):
    """Arras et al.'s setting: relevance only on the final hidden state of each direction."""
    torch.manual_seed(1)
    rnn = cls(4, 3, bidirectional=bidir, batch_first=True)
    x = torch.randn(2, 6, 4)
    n_dir = 2 if bidir else 1
    r_hn = torch.randn(n_dir, 2, 3)
    got, init = run_engine(rnn, x, r_hn=r_hn)
    total_init = 0.0
    for b in range(2):
        r_last = _np(r_hn[:, b]).reshape(-1)
        _, exp, ir = ref.rnn_stack_lrp(rnn, _np(x[b]), None, 0.01, r_last=r_last)
        np.testing.assert_allclose(_np(got[b]), exp, rtol=1e-9, atol=1e-12)
        total_init += ir
    assert init == pytest.approx(total_init, rel=1e-9)
    # same thing through the output sequence: inject only at the last step of each direction
    r_out = torch.zeros(2, 6, n_dir * 3)
    r_out[:, -1, :3] = r_hn[0]
    if bidir:
        r_out[:, 0, 3:] = r_hn[1]
    got2, _ = run_engine(rnn, x, r_out=r_out)
    torch.testing.assert_close(got2, got, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU])
def test_per_step_injection_stacked_bidirectional(cls):
    torch.manual_seed(2)
    rnn = cls(5, 4, num_layers=2, bidirectional=True, batch_first=False)
    x = torch.randn(7, 2, 5)  # time-major
    r_out = torch.randn(7, 2, 8)
    got, init = run_engine(rnn, x, r_out=r_out)
    total_init = 0.0
    for b in range(2):
        _, exp, ir = ref.rnn_stack_lrp(rnn, _np(x[:, b]), _np(r_out[:, b]), 0.01)
        np.testing.assert_allclose(_np(got[:, b]), exp, rtol=1e-9, atol=1e-12)
        total_init += ir
    assert init == pytest.approx(total_init, rel=1e-9)
    # conservation through the recurrent layers (eps-rule redistributes bias and stabiliser)
    assert float(got.sum()) + init == pytest.approx(float(r_out.sum()), rel=1e-10, abs=1e-10)


def test_lstm_ref_without_injection_is_zero_and_engine_agrees():
    torch.manual_seed(3)
    rnn = nn.LSTM(3, 2, batch_first=True)
    x = torch.randn(1, 4, 3)
    # nothing injected: the reference (whose forward pass is torch's) gives exactly zero, and
    # so does the engine
    out, exp, ir = ref.rnn_stack_lrp(rnn, _np(x[0]), np.zeros((4, 2)), 0.01)
    np.testing.assert_allclose(out, _np(rnn(x)[0][0]), rtol=1e-5, atol=1e-6)
    assert not np.any(exp) and ir == 0.0
    got, init = run_engine(rnn, x, r_out=torch.zeros(1, 4, 2))
    np.testing.assert_array_equal(_np(got[0]), exp)
    assert init == 0.0
    # injected at step 1 only: no relevance reaches the later inputs (they cannot have
    # influenced h_1), the earlier ones get it; the engine agrees step by step
    r_out = torch.zeros(1, 4, 2)
    r_out[0, 1] = torch.tensor([0.7, -0.3])
    _, exp, ir = ref.rnn_stack_lrp(rnn, _np(x[0]), _np(r_out[0]), 0.01)
    assert np.all(np.abs(exp[:2]).sum(-1) > 0) and not np.any(exp[2:])
    got, init = run_engine(rnn, x, r_out=r_out)
    np.testing.assert_allclose(_np(got[0]), exp, rtol=1e-9, atol=1e-12)
    assert init == pytest.approx(ir, rel=1e-9, abs=1e-12)


def test_given_initial_state_gets_relevance():
    torch.manual_seed(4)
    rnn = nn.LSTM(3, 2, batch_first=True)
    x = torch.randn(2, 5, 3)
    h0, c0 = torch.randn(1, 2, 2), torch.randn(1, 2, 2)
    state = LRPState()
    with LRPEngine(rnn, Composite({nn.LSTM: RecurrentEpsilon(0.01)}), state):
        xg = x.clone().requires_grad_()
        y, _ = rnn(xg, (h0, c0))
        r = torch.rand_like(y)
        g = torch.autograd.grad(y, [xg, *state.state_leaves], r)
    assert len(state.state_leaves) == 2
    total = float(g[0].sum() + g[1].sum() + g[2].sum())
    assert total == pytest.approx(float(r.sum()), rel=1e-10)
    ref_y = nn.LSTM.forward(rnn, x, (h0, c0))[0]
    torch.testing.assert_close(y, ref_y, rtol=1e-12, atol=1e-12)


def test_proj_size_is_unsupported():
    from audiolrp.errors import UnsupportedModuleError

    rnn = nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(UnsupportedModuleError, match="proj_size"):
        run_engine(rnn, torch.randn(5, 1, 3), r_out=torch.randn(5, 1, 2))
