"""explain() on the conformer DOA model: the float64 loop reference (1e-8), conservation (CP-LRP:
up to the front end's dropped alpha-beta relevance; AttnLRP: the softmax's gap measured), and the
model untouched afterwards."""

from __future__ import annotations

import attention_reference as aref
import numpy as np
import pytest
import torch
from torch import nn

from audiolrp.lrp import explain
from audiolrp.models.conformer import ConformerDOA

SMALL = dict(n_filters=4, pool_sizes=(2, 2), n_bins=8, d_model=8, n_heads=2, n_blocks=2,
             ff_mult=2, conv_kernel=3, n_dense=5, n_classes=6)


def random_conformer(seed: int, n_in: int = 3) -> ConformerDOA:
    """Small conformer with random weights, BatchNorm statistics and input statistics."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    m = ConformerDOA(n_in, norm_mean=torch.randn(n_in, generator=gen),
                     norm_std=torch.rand(n_in, generator=gen) + 0.5, **SMALL).double()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d | nn.BatchNorm1d):
                c = mod.num_features
                mod.running_mean.copy_(torch.randn(c, generator=gen) * 0.3)
                mod.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
                mod.weight.copy_(torch.randn(c, generator=gen))
                mod.bias.copy_(torch.randn(c, generator=gen) * 0.1)
            elif isinstance(mod, nn.LayerNorm):
                mod.weight.add_(torch.randn(mod.weight.shape, generator=gen) * 0.3)
                mod.bias.copy_(torch.randn(mod.bias.shape, generator=gen) * 0.3)
    return m.eval()


def _x(seed: int, b: int = 2) -> torch.Tensor:
    return torch.randn(b, 3, 5, 8, generator=torch.Generator().manual_seed(200 + seed))


@pytest.mark.parametrize("preset", ["attn_lrp", "cp_lrp"])
def test_conformer_matches_float64_loop_reference(preset):
    m = random_conformer(1)
    x = _x(1)
    y0 = m(x)
    state = {k: v.clone() for k, v in m.state_dict().items()}
    e = explain(m, x, composite=preset)
    torch.testing.assert_close(e.logits, y0, rtol=1e-12, atol=1e-12)
    for b in range(x.shape[0]):
        r, info = aref.conformer_lrp(m, x[b].numpy(), int(e.target[b]), cp=preset == "cp_lrp")
        np.testing.assert_allclose(info["logits"], e.logits[b].numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(e.relevance[b].numpy(), r, rtol=1e-8,
                                   atol=1e-11 * max(1.0, float(np.abs(r).max())))
        assert float(e.start_relevance[b]) == pytest.approx(info["start"], rel=1e-12)
        assert float(e.dropped_relevance[b]) == pytest.approx(info["dropped"], abs=1e-12)
    for k, v in m.state_dict().items():
        assert torch.equal(v, state[k])
    assert not any("forward" in mod.__dict__ for mod in m.modules())
    torch.testing.assert_close(m(x), y0, rtol=0, atol=0)


def test_conformer_conservation():
    """CP-LRP: every rule conservative, only dead alpha1-beta0 units of the front end drop
    relevance (accounted for). AttnLRP: the softmax's Taylor bias is the gap."""
    m = random_conformer(2)
    x = _x(2, b=3)
    e_cp = explain(m, x, composite="cp_lrp", return_layers=True)
    start = e_cp.start_relevance.abs()
    assert bool((e_cp.conservation_error().abs() <= 1e-10 * start).all())
    torch.testing.assert_close(e_cp.layer_relevance["blocks.1.residual4"], e_cp.start_relevance,
                               rtol=1e-10, atol=0)
    torch.testing.assert_close(e_cp.layer_relevance["projection"], e_cp.start_relevance,
                               rtol=1e-10, atol=0)
    e_at = explain(m, x, composite="attn_lrp", return_layers=True)
    assert bool((e_at.conservation_error().abs() > 1e-8 * start).all())
    # the dense head and the last block's output keep exactly what the target score injected
    torch.testing.assert_close(e_at.layer_relevance["blocks.1.residual4"], e_at.start_relevance,
                               rtol=1e-10, atol=0)
