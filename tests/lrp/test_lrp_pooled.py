"""Alpha-beta fused with the following max-pooling (``lrp/pooled.py``): the same relevance as
the layer-by-layer rules (float64), in every layout the engine meets."""

from __future__ import annotations

import pytest
import torch
from test_lrp_explain import random_crnn
from torch import nn

import audiolrp.lrp.core as lrp_core
import audiolrp.lrp.pooled as lrp_pooled
from audiolrp.lrp import AlphaBeta, Composite, Epsilon, explain
from audiolrp.lrp.pooled import MaxPool, find_pooled_chains
from audiolrp.lrp.rules import Rule, WinnerTakeAll


def _both(model: nn.Module, x: torch.Tensor, monkeypatch, **kw):
    """(fused, layer-by-layer) explanations of the same call."""
    fused = explain(model, x, return_layers=True, **kw)
    with monkeypatch.context() as mp:
        mp.setattr(lrp_core, "find_pooled_chains", lambda *a, **k: {})
        plain = explain(model, x, return_layers=True, **kw)
    return fused, plain


def _same(a, b) -> None:
    torch.testing.assert_close(a.relevance, b.relevance, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(a.logits, b.logits, rtol=1e-13, atol=1e-14)
    assert a.layer_relevance is not None and b.layer_relevance is not None
    assert a.layer_relevance.keys() == b.layer_relevance.keys()
    for name, s in a.layer_relevance.items():
        torch.testing.assert_close(s, b.layer_relevance[name], rtol=1e-12, atol=1e-14)
    assert torch.equal(a.n_no_positive_units, b.n_no_positive_units)
    torch.testing.assert_close(a.dropped_relevance, b.dropped_relevance, rtol=1e-12, atol=1e-14)


def _frames(net: nn.Module) -> nn.Module:
    class Frames(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, v: torch.Tensor) -> torch.Tensor:
            return self.net(v).unsqueeze(1)

    return Frames()


@pytest.mark.parametrize("preset", ["paper", "epsilon_alpha2_beta1", "epsilon_plus_flat"])
@pytest.mark.parametrize("chunk_bytes", [1, 1 << 30])
def test_fused_equals_layer_by_layer_on_crnns(preset, chunk_bytes, monkeypatch):
    """Random CRNNs (BatchNorm folded, ELU after the pooling), one example per chunk or the
    whole batch at once."""
    monkeypatch.setattr(lrp_pooled, "CHUNK_BYTES", chunk_bytes)
    for seed in range(2):
        m = random_crnn(seed, pool_sizes=(2, 4), n_bins=16)
        x = torch.randn(3, 3, 5, 16, generator=torch.Generator().manual_seed(seed),
                        dtype=torch.float64)
        x0 = x.clone()
        fused, plain = _both(m, x, monkeypatch, composite=preset)
        _same(fused, plain)
        assert torch.equal(x, x0)  # the input is never written to


def test_the_crnn_blocks_are_fused():
    m = random_crnn(0)
    rules: dict[int, Rule | None] = {
        id(mod): AlphaBeta() if isinstance(mod, nn.Conv2d) else None for mod in m.modules()
    }
    rules.update({id(mod): WinnerTakeAll() for mod in m.modules()
                  if isinstance(mod, nn.MaxPool2d)})
    folded = {id(mod) for mod in m.modules() if isinstance(mod, nn.BatchNorm2d)}
    chains = find_pooled_chains(m, rules, folded, lrp_core.find_activation_pool_pairs(m))
    assert len(chains) == 2
    assert all(isinstance(c.act, nn.ELU) and c.spec == MaxPool((1, 2)) for c in chains.values())


def test_conv1d_and_direct_pooling(monkeypatch):
    """Conv1d -> MaxPool1d without activation, and a Conv2d pooled over both axes."""
    torch.manual_seed(3)
    net1 = nn.Sequential(nn.Conv1d(3, 4, 3, padding=1), nn.MaxPool1d(2), nn.ELU(),
                         nn.Conv1d(4, 2, 3), nn.Flatten(1), nn.Linear(2 * 2, 5)).double().eval()
    x1 = torch.randn(2, 3, 8, dtype=torch.float64)
    _same(*_both(_frames(net1), x1, monkeypatch, target=1))
    net2 = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.Tanh(), nn.MaxPool2d(2),
                         nn.Flatten(1), nn.Linear(3 * 2 * 3, 4)).double().eval()
    x2 = torch.randn(2, 2, 4, 6, dtype=torch.float64)
    _same(*_both(_frames(net2), x2, monkeypatch, target=2))


def test_ill_conditioned_layer_falls_back_to_the_split_form(monkeypatch):
    """A winner with z^+ far below q takes the split form, as unfused; a winner that sees only
    zeros (z^+ = q = 0) is a dead unit, counted alike."""
    calls: list[int] = []
    split = AlphaBeta.split_backward

    def spy(self, *args):
        calls.append(1)
        return split(self, *args)

    monkeypatch.setattr(AlphaBeta, "split_backward", spy)
    conv = nn.Conv2d(1, 1, (1, 2), bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[[1.0, -1.0]]]]))
    net = _frames(nn.Sequential(conv, nn.MaxPool2d((1, 2)), nn.Flatten(1),
                                nn.Linear(2, 3)).double().eval())
    comp = Composite({nn.Conv2d: AlphaBeta(), nn.Linear: Epsilon()})
    # a = (-0.999, -2, 3, 0): the first window's winner has z^+ = 1e-3, q = 1.001
    x = torch.tensor([[[[1e-3, 1.0, 3.0, 0.0, 0.0]]]], dtype=torch.float64)
    fused, plain = _both(net, x, monkeypatch, target=0, composite=comp)
    _same(fused, plain)
    assert len(calls) == 2  # fused and layer by layer
    dead, plain_dead = _both(net, torch.zeros_like(x), monkeypatch, target=0, composite=comp)
    _same(dead, plain_dead)
    assert len(calls) == 2 and int(dead.n_no_positive_units[0]) == 2


def test_overlapping_pooling_is_not_fused():
    conv = nn.Conv2d(1, 2, 3, padding=1)
    for pool in (nn.MaxPool2d(3, stride=2), nn.MaxPool2d(2, padding=1),
                 nn.MaxPool2d(2, ceil_mode=True), nn.MaxPool2d(2, return_indices=True)):
        assert MaxPool.of(pool, conv) is None
    assert MaxPool.of(nn.MaxPool1d(2), conv) is None  # 1-D pooling after a 2-D convolution
    assert MaxPool.of(nn.MaxPool2d((1, 4)), conv) == MaxPool((1, 4))
