"""AttnLRP / CP-LRP through attention, LayerNorm, GLU, residuals and depthwise convolutions:
each rule against its float64 loop reference (``attention_reference.py``), whole
``nn.TransformerEncoder`` models against the composed reference (1e-8), conservation (exact
for CP-LRP, the softmax's gap measured for AttnLRP), and the canonizer's bookkeeping."""

from __future__ import annotations

import attention_reference as aref
import lrp_reference as ref
import numpy as np
import pytest
import torch
from torch import nn

from audiolrp.errors import AudioLRPError, UnsupportedModuleError
from audiolrp.lrp import (
    ATTENTION_PRESETS,
    PRESETS,
    Add,
    AttentionScores,
    BilinearConstant,
    BilinearUniform,
    Composite,
    Epsilon,
    MatMul,
    PassThrough,
    ZPlus,
    explain,
    get_composite,
    register_composite,
    transformer_rules,
)
from audiolrp.lrp.attention import ExplicitAttention
from audiolrp.lrp.composites import COMPOSITES
from audiolrp.lrp.transformer import CANONICAL, TransformerCanonizer

RTOL, ATOL = 1e-8, 1e-11


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _check(e, r_ref: np.ndarray, b: int) -> None:
    np.testing.assert_allclose(e.relevance[b].numpy(), r_ref, rtol=RTOL,
                               atol=ATOL * max(1.0, float(np.abs(r_ref).max())))


# ----------------------------------------------------------------------------- single rules
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("bias", ["equal", "absorb"])
def test_layernorm_rule_matches_loop_reference(affine, bias):
    torch.manual_seed(0)
    ln = nn.LayerNorm(5, elementwise_affine=affine)
    if affine:
        with torch.no_grad():
            ln.weight.copy_(torch.randn(5, generator=_gen(1)))
            ln.bias.copy_(torch.randn(5, generator=_gen(2)))
    m = nn.Sequential(ln).eval()
    x = torch.randn(2, 4, 5, generator=_gen(3)) * 2 + 0.5
    comp = Composite(transformer_rules(bias=bias, eps=1e-3))
    e = explain(m, x, target=2, composite=comp)
    w = ln.weight.detach().numpy() if affine else None
    bb = ln.bias.detach().numpy() if affine else None
    for b in range(2):
        xb = x[b].numpy()
        y = aref.layernorm_forward(xb, w, bb, ln.eps)
        np.testing.assert_allclose(e.logits[b].numpy(), y, rtol=1e-12, atol=1e-12)
        r = aref.layernorm_lrp(xb, w, bb, ln.eps, aref.start_relevance(y, 2), 1e-3, bias)
        _check(e, r, b)
    err = e.conservation_error().abs()
    if bias == "equal" or not affine:
        # conservative by construction (absorb without beta loses only the stabiliser share)
        assert bool((err <= (1e-10 if bias == "equal" else 1e-3) * e.start_relevance.abs()).all())


class _MaskedSoftmax(nn.Module):
    """``softmax(x + mask)`` with a ``-inf`` entry in the mask (an added constant)."""

    def __init__(self) -> None:
        super().__init__()
        mask = torch.zeros(3, 6)
        mask[1, 2] = float("-inf")
        self.register_buffer("mask", mask)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.softmax(x + self.mask)


def test_softmax_rule_matches_loop_reference_and_is_not_conservative():
    m = _MaskedSoftmax().eval()
    x = torch.randn(2, 3, 6, generator=_gen(4))
    e = explain(m, x, target=1)
    for b in range(2):
        xb = x[b].numpy() + m.mask.numpy()
        p = aref.softmax_forward(xb)
        r = aref.softmax_lrp(xb, aref.start_relevance(p, 1))
        _check(e, r, b)
    assert float(e.relevance[:, 1, 2].abs().max()) == 0.0  # masked: no relevance
    # Prop. 3.1 keeps the decomposition's bias: sum R(x) = sum x R - (sum x p) sum R
    assert float(e.conservation_error().abs().min()) > 1e-3


class _Bilinear(nn.Module):
    """``x (B, J, 2K) -> MatMul(x[..., :K], x[..., K:])`` (``b^T`` for attention scores)."""

    def __init__(self, mm: MatMul, k: int) -> None:
        super().__init__()
        self.mm, self.k = mm, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mm(x[..., : self.k], x[..., self.k :])


@pytest.mark.parametrize("kind", ["uniform", "constant_a", "scores"])
@pytest.mark.parametrize("bias", ["equal", "absorb"])
def test_matmul_rules_match_loop_reference(kind, bias):
    k = 4
    mm = AttentionScores(k) if kind == "scores" else MatMul()
    rule = (BilinearConstant("a", 1e-3, bias) if kind == "constant_a"
            else BilinearUniform(1e-3, bias))
    m = _Bilinear(mm, k).eval()
    x = torch.randn(2, k, 2 * k, generator=_gen(5))
    e = explain(m, x, target=3, composite=Composite({MatMul: rule}))
    for b in range(2):
        a_, b_ = x[b, :, :k].numpy(), x[b, :, k:].numpy()
        if kind == "scores":
            z = (a_ * mm.scale) @ b_.T
            ra, rbt = aref.matmul_lrp(a_, b_.T, mm.scale, aref.start_relevance(z, 3), 1e-3,
                                      "uniform", bias)
            rb = rbt.T
        else:
            z = a_ @ b_
            ra, rb = aref.matmul_lrp(a_, b_, 1.0, aref.start_relevance(z, 3), 1e-3,
                                     "uniform" if kind != "constant_a" else "constant_a", bias)
        np.testing.assert_allclose(e.logits[b].numpy(), z, rtol=1e-12)
        _check(e, np.concatenate([ra, rb], -1), b)
    if bias == "equal":  # conservative by construction
        assert bool((e.conservation_error().abs() <= 1e-10 * e.start_relevance.abs()).all())


class _Residual(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.d, self.add = d, Add()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.add(x[..., : self.d], x[..., self.d :])


@pytest.mark.parametrize("bias", ["equal", "absorb"])
def test_residual_addition_matches_loop_reference(bias):
    m = _Residual(3).eval()
    x = torch.randn(2, 4, 6, generator=_gen(6))
    e = explain(m, x, target=0, composite=Composite(transformer_rules(bias=bias, eps=1e-2)))
    for b in range(2):
        a_, b_ = x[b, :, :3].numpy(), x[b, :, 3:].numpy()
        ra, rb = aref.add_lrp(a_, b_, aref.start_relevance(a_ + b_, 0), 1e-2, bias)
        _check(e, np.concatenate([ra, rb], -1), b)
    if bias == "equal":
        assert bool((e.conservation_error().abs() <= 1e-12 * e.start_relevance.abs()).all())


def test_glu_gives_all_relevance_to_the_value_half_and_activations_pass():
    torch.manual_seed(1)
    m = nn.Sequential(nn.Linear(3, 8), nn.GLU(-1), nn.SiLU(), nn.Linear(4, 5), nn.GELU()).eval()
    x = torch.randn(2, 6, 3, generator=_gen(7))
    e = explain(m, x, target=4, composite="attn_lrp")
    for b in range(2):
        xb = x[b].numpy()
        w1, b1 = m[0].weight.detach().numpy(), m[0].bias.detach().numpy()
        w2, b2 = m[3].weight.detach().numpy(), m[3].bias.detach().numpy()
        z1 = ref.dense_forward(xb, w1, b1)
        a = z1[:, :4] / (1 + np.exp(-z1[:, 4:]))
        h = aref._act("silu", a)
        y = aref._act("gelu", ref.dense_forward(h, w2, b2))
        np.testing.assert_allclose(e.logits[b].numpy(), y, rtol=1e-12)
        r = aref.start_relevance(y, 4)  # GELU: pass-through (AttnLRP Eq. 9)
        r = ref.dense_lrp(h, w2, b2, r, "epsilon", 0.01)[0]  # SiLU: pass-through
        r_z1 = np.concatenate([r, np.zeros_like(r)], -1)  # GLU: the gate gets nothing
        _check(e, ref.dense_lrp(xb, w1, b1, r_z1, "epsilon", 0.01)[0], b)
    assert bool((e.conservation_error().abs() <= 1e-10 * e.start_relevance.abs()).all())


@pytest.mark.parametrize("groups,c_in,c_out", [(4, 4, 4), (2, 4, 6), (1, 3, 2)])
def test_grouped_conv1d_epsilon_matches_loop_reference(groups, c_in, c_out):
    torch.manual_seed(groups)
    conv = nn.Conv1d(c_in, c_out, 3, padding=1, groups=groups)
    m = nn.Sequential(conv).eval()
    x = torch.randn(2, c_in, 7, generator=_gen(8))
    e = explain(m, x, target=5, composite=Composite({nn.Conv1d: Epsilon(0.01)}))
    w, bias = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    for b in range(2):
        z = aref.conv1d_forward(x[b].numpy(), w, bias, 1, groups)
        np.testing.assert_allclose(e.logits[b].numpy(), z, rtol=1e-12, atol=1e-14)
        r = aref.conv1d_lrp(x[b].numpy(), w, bias, aref.start_relevance(z, 5), 1, groups)[1]
        _check(e, r, b)
    assert bool((e.conservation_error().abs() <= 1e-10 * e.start_relevance.abs()).all())


def test_grouped_conv1d_zplus_conserves():
    torch.manual_seed(3)
    m = nn.Sequential(nn.Conv1d(4, 4, 5, padding=2, groups=4)).eval()
    x = torch.randn(2, 4, 9, generator=_gen(9))
    e = explain(m, x, target=3, composite=Composite({nn.Conv1d: ZPlus()}))
    assert bool((e.conservation_error().abs() <= 1e-10 * e.start_relevance.abs()).all())


# ----------------------------------------------------------------------------- attention
def _mha(seed: int, e: int = 6, heads: int = 2, **kw) -> nn.MultiheadAttention:
    torch.manual_seed(seed)
    mha = nn.MultiheadAttention(e, heads, **kw).eval()
    with torch.no_grad():
        for p in mha.parameters():
            p.copy_(torch.randn(p.shape, generator=_gen(seed + 17)) * 0.5)
    return mha


@pytest.mark.parametrize("batch_first", [True, False])
def test_canonical_attention_is_the_same_function(batch_first):
    mha = _mha(0, batch_first=batch_first)
    ex = ExplicitAttention(mha)
    q = torch.randn(5, 3, 6, generator=_gen(10))
    kv = torch.randn(4, 3, 6, generator=_gen(11))
    if batch_first:
        q, kv = q.transpose(0, 1), kv.transpose(0, 1)
    kpm = torch.zeros(3, 4, dtype=torch.bool)
    kpm[1, 2] = True
    amask = torch.randn(5, 4, generator=_gen(12))
    cases = [dict(), dict(key_padding_mask=kpm), dict(attn_mask=amask),
             dict(attn_mask=amask > 1.0, key_padding_mask=kpm, average_attn_weights=False)]
    for kw in cases:
        y0, w0 = mha(q, kv, kv, **kw)
        y1, w1 = ex(q, kv, kv, **kw)
        torch.testing.assert_close(y1, y0, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(w1, w0, rtol=1e-12, atol=1e-12)
    # unbatched, separate key/value sizes
    mha2 = _mha(1, kdim=3, vdim=4)
    q2, k2, v2 = torch.randn(5, 6), torch.randn(4, 3), torch.randn(4, 4)
    torch.testing.assert_close(ExplicitAttention(mha2)(q2, k2, v2)[0], mha2(q2, k2, v2)[0])
    with pytest.raises(UnsupportedModuleError, match="add_bias_kv"):
        ExplicitAttention(nn.MultiheadAttention(6, 2, add_bias_kv=True))


class _Attn(nn.Module):
    def __init__(self, seed: int) -> None:
        super().__init__()
        self.attn = _mha(seed, batch_first=True)
        self.out = nn.Linear(6, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.attn(x, x, x)[0])


@pytest.mark.parametrize("preset", ["attn_lrp", "cp_lrp"])
def test_multihead_attention_matches_loop_reference(preset):
    m = _Attn(2).eval()
    x = torch.randn(2, 5, 6, generator=_gen(13))
    e = explain(m, x, composite=preset)
    cp = preset == "cp_lrp"
    for b in range(2):
        xb = x[b].numpy()
        h, _ = aref.mha_lrp(m.attn, xb, None)
        wo, bo = m.out.weight.detach().numpy(), m.out.bias.detach().numpy()
        y = ref.dense_forward(h, wo, bo)
        np.testing.assert_allclose(e.logits[b].numpy(), y, rtol=1e-10, atol=1e-12)
        r = ref.dense_lrp(h, wo, bo, aref.start_relevance(y, int(e.target[b])), "epsilon",
                          0.01)[0]
        _check(e, aref.mha_lrp(m.attn, xb, r, cp=cp)[1], b)
    if cp:  # CP-LRP: conservative by construction
        assert bool((e.conservation_error().abs() <= 1e-10 * e.start_relevance.abs()).all())


# ----------------------------------------------------------------------------- encoders
class TinyTransformer(nn.Module):
    """Linear -> nn.TransformerEncoder (2 layers) -> Linear, output ``(B, T, C)``."""

    def __init__(self, seed: int, norm_first: bool = False, activation: object = "relu",
                 d_in: int = 3, e: int = 6, n_classes: int = 5) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.inp = nn.Linear(d_in, e)
        layer = nn.TransformerEncoderLayer(e, 2, 8, dropout=0.1, activation=activation,
                                           batch_first=True, norm_first=norm_first)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.out = nn.Linear(e, n_classes)
        with torch.no_grad():
            g = _gen(seed + 100)
            for name, p in self.named_parameters():
                if "norm" in name:
                    p.add_(torch.randn(p.shape, generator=g) * 0.3)
                else:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.encoder(self.inp(x)))


def transformer_reference(m: TinyTransformer, x: np.ndarray, target: int | None, act: str,
                          cp: bool, bias: str = "equal") -> tuple[np.ndarray, np.ndarray]:
    """Composed loop reference of :class:`TinyTransformer` for ONE example: (logits, R_x)."""
    wi, bi = m.inp.weight.detach().numpy(), m.inp.bias.detach().numpy()
    wo, bo = m.out.weight.detach().numpy(), m.out.bias.detach().numpy()
    hs = [ref.dense_forward(x, wi, bi)]
    for lay in m.encoder.layers:
        hs.append(aref.encoder_layer_lrp(lay, hs[-1], None, act)[0])
    logits = ref.dense_forward(hs[-1], wo, bo)
    if target is None:
        return logits, np.zeros_like(x)
    r = ref.dense_lrp(hs[-1], wo, bo, aref.start_relevance(logits, target), "epsilon", 0.01,
                      bias=bias)[0]
    for lay, h in zip(reversed(m.encoder.layers), reversed(hs[:-1]), strict=True):
        r = aref.encoder_layer_lrp(lay, h, r, act, cp=cp, bias=bias)[1]
    return logits, ref.dense_lrp(x, wi, bi, r, "epsilon", 0.01, bias=bias)[0]


@pytest.mark.parametrize("preset", ["attn_lrp", "cp_lrp"])
@pytest.mark.parametrize("norm_first,act", [(False, "relu"), (True, "gelu")])
def test_transformer_encoder_matches_float64_reference(preset, norm_first, act):
    """explain() on an unmodified nn.TransformerEncoder model equals the loop reference."""
    m = TinyTransformer(3, norm_first=norm_first, activation=act).eval()
    x = torch.randn(2, 5, 3, generator=_gen(14))
    y0 = m(x)
    state = {k: v.clone() for k, v in m.state_dict().items()}
    e = explain(m, x, composite=preset)
    torch.testing.assert_close(e.logits, y0, rtol=1e-12, atol=1e-12)
    for b in range(2):
        logits, r = transformer_reference(m, x[b].numpy(), int(e.target[b]), act,
                                          preset == "cp_lrp")
        np.testing.assert_allclose(e.logits[b].numpy(), logits, rtol=1e-10, atol=1e-12)
        _check(e, r, b)
    # the model is untouched: no canonical modules, no instance forwards, same weights
    assert not any(CANONICAL in n for n, _ in m.named_modules())
    assert not any("forward" in mod.__dict__ for mod in m.modules())
    for k, v in m.state_dict().items():
        assert torch.equal(v, state[k])
    torch.testing.assert_close(m(x), y0, rtol=0, atol=0)


def test_conservation_exact_for_cp_lrp_and_the_softmax_gap_for_attn_lrp():
    """Every rule but AttnLRP's softmax is conservative: CP-LRP (no relevance through the
    softmax) conserves to rounding, AttnLRP's gap is the softmax's (Prop. 3.1)."""
    m = TinyTransformer(4).eval()
    x = torch.randn(3, 6, 3, generator=_gen(15))
    e_cp = explain(m, x, composite="cp_lrp")
    assert bool((e_cp.conservation_error().abs() <= 1e-10 * e_cp.start_relevance.abs()).all())
    e_at = explain(m, x, composite="attn_lrp")
    gap = (e_at.conservation_error() / e_at.start_relevance).abs()
    assert bool((gap > 1e-6).all())  # not conservative, and measurably so
    # with the softmax as a constant-weight layer (CP) the same model conserves: the gap is
    # the softmax's alone
    comp = Composite({**transformer_rules(), "encoder.layers.0.self_attn.lrp_canonical.values":
                      BilinearConstant("a"),
                      "encoder.layers.1.self_attn.lrp_canonical.values": BilinearConstant("a")})
    e_mix = explain(m, x, composite=comp)
    assert bool((e_mix.conservation_error().abs() <= 1e-10 * e_mix.start_relevance.abs()).all())


def test_paper_preset_explains_a_transformer_with_the_attention_defaults():
    m = TinyTransformer(5).eval()
    x = torch.randn(2, 4, 3, generator=_gen(16))
    e_paper = explain(m, x, composite="paper")
    e_attn = explain(m, x, composite="attn_lrp")
    torch.testing.assert_close(e_paper.relevance, e_attn.relevance, rtol=1e-12, atol=1e-14)


def test_layer_relevance_is_recorded_for_residuals():
    m = TinyTransformer(6).eval()
    x = torch.randn(2, 4, 3, generator=_gen(17))
    e = explain(m, x, composite="cp_lrp", return_layers=True)
    key = "encoder.layers.1.lrp_canonical.add_feedforward"
    assert key in e.layer_relevance
    torch.testing.assert_close(e.layer_relevance["out"], e.start_relevance, rtol=1e-10, atol=0)


def test_canonizer_is_required_and_undone():
    m = TinyTransformer(7).eval()
    x = torch.randn(1, 4, 3, generator=_gen(18))
    with pytest.raises(UnsupportedModuleError, match="canonizer"):
        explain(m, x, composite=Composite(transformer_rules(), canonizers=()))
    assert not any(CANONICAL in n for n, _ in m.named_modules())
    undo = TransformerCanonizer().apply(m)
    assert any(CANONICAL in n for n, _ in m.named_modules())
    undo()
    assert not any("forward" in mod.__dict__ for mod in m.modules())
    with pytest.raises(UnsupportedModuleError, match="activation"):
        explain(TinyTransformer(8, activation=torch.tanh).eval(), x, composite="attn_lrp")


def test_composite_registry():
    assert PRESETS == ("paper", "epsilon_plus", "epsilon_plus_flat", "epsilon_alpha2_beta1",
                       "epsilon")
    assert ATTENTION_PRESETS == ("attn_lrp", "cp_lrp")
    assert get_composite("cp_lrp").name == "cp_lrp"
    with pytest.raises(AudioLRPError, match="unknown"):
        get_composite("nope")

    @register_composite("test_all_pass")
    def _all_pass(bn: str) -> Composite:
        return Composite({nn.Linear: Epsilon(0.0)}, batchnorm=bn, name="test_all_pass")

    try:
        assert get_composite("test_all_pass").name == "test_all_pass"
        assert isinstance(get_composite("attn_lrp").rules[nn.Softmax], type(
            transformer_rules()[nn.Softmax]))
        assert isinstance(PassThrough(), PassThrough)
    finally:
        del COMPOSITES["test_all_pass"]
