"""Agreement with lxt's AttnLRP / CP-LRP rules (``lxt.explicit.functional``, Achtibat et al.'s
reference implementation, version 2.1) on a small ``nn.TransformerEncoder`` model.

The lxt side rebuilds the same forward from lxt's functional rules (``linear_epsilon``,
``matmul``, ``softmax``, ``add2``, ``layer_norm``, ``mul2`` for the ``1 / sqrt(d)`` scale, the
identity rule on the activation; CP-LRP: ``special.multi_head_attention_cp``); its input
gradient is its relevance. Ours is ``explain`` with :func:`audiolrp.lrp.transformer_rules`
``(bias="absorb")``: lxt's rules keep bias and stabiliser relevance where they are.

The one difference: lxt stabilises denominators with ``z + eps``, ours with ``z + eps sign(z)``.
With ``eps = 1e-12`` on both sides (float64) they agree to ``rtol = 1e-7`` (plus ``1e-9`` of the
largest relevance, absolute). lxt's CP-LRP fixes ``eps = 1e-6`` in its attention-value matmul;
ours uses the same there, and where a value-path output ``z`` is negative the two stabilisers
differ by ``2e-6``; measured up to 8e-5 of the largest relevance, so that comparison's tolerance
is ``3e-4`` of the largest relevance, absolute. With lxt's stabiliser patched to ours
(``matched``) every case agrees to ``rtol = 1e-7`` (measured about 1e-10 of the largest
relevance): the rules are the same, only the stabiliser's sign convention differs.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from test_attention_lrp import TinyTransformer, _gen

from audiolrp.lrp import (
    AttentionValues,
    BilinearConstant,
    Composite,
    explain,
    transformer_rules,
)
from audiolrp.lrp.rules import sign0

lf = pytest.importorskip(
    "lxt.explicit.functional",
    reason="lxt is not installed (pip install --no-deps lxt==2.1, the 'attn' extra)",
)
lrules = pytest.importorskip("lxt.explicit.rules")
lspecial = pytest.importorskip("lxt.explicit.special")

EPS = 1e-12


def _lin(x: torch.Tensor, mod: torch.nn.Linear) -> torch.Tensor:
    return lf.linear_epsilon(x, mod.weight.detach(), mod.bias.detach(), EPS)


def _ln(x: torch.Tensor, ln: torch.nn.LayerNorm) -> torch.Tensor:
    return lf.layer_norm_grad_fn.apply(x, ln.weight.detach(), ln.bias.detach(), ln.eps, EPS)


def _attention(x: torch.Tensor, mha: torch.nn.MultiheadAttention, cp: bool) -> torch.Tensor:
    e, heads = mha.embed_dim, mha.num_heads
    hd = e // heads
    w, b = mha.in_proj_weight.detach(), mha.in_proj_bias.detach()
    out_proj = mha.out_proj
    if cp:
        return lspecial.multi_head_attention_cp(
            x, x, x, True, heads, hd, w[:e], b[:e], w[e : 2 * e], b[e : 2 * e],
            lambda v: lf.linear_epsilon(v, w[2 * e :], b[2 * e :], EPS),
            lambda o: _lin(o, out_proj), need_weights=False)[0]
    bsz, n_t, _ = x.shape

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.view(bsz, n_t, heads, hd).transpose(1, 2)

    q = split(lf.linear_epsilon(x, w[:e], b[:e], EPS))
    k = split(lf.linear_epsilon(x, w[e : 2 * e], b[e : 2 * e], EPS))
    v = split(lf.linear_epsilon(x, w[2 * e :], b[2 * e :], EPS))
    q = lf.mul2(q, 1.0 / math.sqrt(hd))  # a constant factor: all relevance to q
    scores = lf.matmul(q, k.transpose(-1, -2), epsilon=EPS)
    probs = lf.softmax(scores, -1)
    o = lf.matmul(probs, v, epsilon=EPS).transpose(1, 2).reshape(bsz, n_t, e)
    return _lin(o, out_proj)


def lxt_forward(m: TinyTransformer, x: torch.Tensor, act: str, cp: bool) -> torch.Tensor:
    """:class:`TinyTransformer`'s forward from lxt's rules (post- or pre-norm layers)."""
    fn = F.relu if act == "relu" else F.gelu
    h = _lin(x, m.inp)
    for lay in m.encoder.layers:
        if lay.norm_first:
            h = lf.add2(h, _attention(_ln(h, lay.norm1), lay.self_attn, cp), epsilon=EPS)
            f = _lin(lrules.identity(fn, _lin(_ln(h, lay.norm2), lay.linear1)), lay.linear2)
            h = lf.add2(h, f, epsilon=EPS)
        else:
            h = _ln(lf.add2(h, _attention(h, lay.self_attn, cp), epsilon=EPS), lay.norm1)
            f = _lin(lrules.identity(fn, _lin(h, lay.linear1)), lay.linear2)
            h = _ln(lf.add2(h, f, epsilon=EPS), lay.norm2)
    return _lin(h, m.out)


@pytest.mark.parametrize("matched", [False, True])
@pytest.mark.parametrize("cp", [False, True])
@pytest.mark.parametrize("norm_first,act", [(False, "relu"), (True, "gelu")])
def test_attnlrp_agrees_with_lxt(cp, norm_first, act, matched, monkeypatch):
    if matched:  # lxt with our stabiliser z + eps sign(z): the rules themselves must agree
        def stabilize(t: torch.Tensor, epsilon: float = 1e-6, inplace: bool = False):
            return t + epsilon * sign0(t)

        monkeypatch.setattr(lrules, "_stabilize", stabilize)
        monkeypatch.setattr(lf, "_stabilize", stabilize)
    m = TinyTransformer(21, norm_first=norm_first, activation=act).eval()
    x = torch.randn(2, 5, 3, generator=_gen(30))
    rules = transformer_rules(cp=cp, bias="absorb", eps=EPS, dense_eps=EPS)
    if cp:  # lxt's CP value matmul has eps = 1e-6
        rules[AttentionValues] = BilinearConstant("a", 1e-6, "absorb")
    ours = explain(m, x, composite=Composite(rules, name="lxt-like"))
    xl = x.detach().clone().requires_grad_()
    y = lxt_forward(m, xl, act, cp)
    torch.testing.assert_close(y.detach(), ours.logits, rtol=1e-10, atol=1e-12)
    mask = torch.zeros_like(y)
    mask[torch.arange(2), :, ours.target] = 1.0
    y.backward(y.detach() * mask)
    r_lxt = xl.grad
    scale = float(r_lxt.abs().max())
    rtol, atol = (0.0, 3e-4) if cp and not matched else (1e-7, 1e-9)
    torch.testing.assert_close(ours.relevance, r_lxt, rtol=rtol, atol=atol * scale)
    # and the two differ from our default (conservative) rules, so the test can fail
    ours_eq = explain(m, x, composite="cp_lrp" if cp else "attn_lrp")
    assert float((ours_eq.relevance - r_lxt).abs().max()) > 1e-6 * scale

