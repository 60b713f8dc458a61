"""Slow float64 NumPy loop references of the attention/transformer/conformer LRP rules (a test
oracle, not API), written from the equations of ``audiolrp.lrp.attention`` /
``audiolrp.lrp.transformer`` (AttnLRP, Achtibat et al., ICML 2024), independently of the
autograd engine: explicit loops over output units and their inputs, one example at a time,
sequences as ``(T, D)`` arrays.

Each ``*_lrp`` function takes the layer's input(s), its parameters and the relevance of its
output, and returns the relevance of its input(s); ``bias`` is ``"equal"`` (bias and
stabiliser shared equally over the unit's inputs: conservative) or ``"absorb"``.
"""

from __future__ import annotations

import math

import numpy as np
from lrp_reference import _np, _sgn, conv2d_lrp, dense_forward, dense_lrp, maxpool2d
from torch import nn

Array = np.ndarray


# ----------------------------------------------------------------------------- single rules
def layernorm_forward(x: Array, w: Array | None, b: Array | None, ln_eps: float) -> Array:
    """LayerNorm over the last axis of ``x`` (T, D), row by row."""
    y = np.zeros_like(x)
    for t in range(x.shape[0]):
        mu = x[t].mean()
        sigma = math.sqrt(((x[t] - mu) ** 2).mean() + ln_eps)
        y[t] = (x[t] - mu) / sigma * (1.0 if w is None else w) + (0.0 if b is None else b)
    return y


def layernorm_lrp(
    x: Array, w: Array | None, b: Array | None, ln_eps: float, r: Array, eps: float,
    bias: str = "equal",
) -> Array:
    """Epsilon rule of LayerNorm with sigma constant: ``y_j = sum_i A_ji x_i + b_j``,
    ``A_ji = w_j (delta_ji - 1/D) / sigma``; loops over rows, outputs ``j`` and inputs ``i``."""
    n_t, d = x.shape
    out = np.zeros_like(x)
    for t in range(n_t):
        mu = x[t].mean()
        sigma = math.sqrt(((x[t] - mu) ** 2).mean() + ln_eps)
        for j in range(d):
            wj = 1.0 if w is None else w[j]
            bj = 0.0 if b is None else b[j]
            a_row = np.array([wj * ((i == j) - 1.0 / d) / sigma for i in range(d)])
            z = (a_row * x[t]).sum() + bj
            s = _sgn(z)
            share = (bj + eps * s) / d if bias == "equal" else 0.0
            for i in range(d):
                out[t, i] += (x[t, i] * a_row[i] + share) / (z + eps * s) * r[t, j]
    return out


def softmax_forward(x: Array) -> Array:
    """Softmax over the last axis, row by row (``-inf`` entries give 0)."""
    p = np.zeros_like(x)
    for idx in np.ndindex(x.shape[:-1]):
        row = x[idx]
        e = np.exp(row - row.max())
        p[idx] = e / e.sum()
    return p


def softmax_lrp(x: Array, r: Array) -> Array:
    """AttnLRP Prop. 3.1: ``R_i = x_i (R_i - p_i sum_j R_j)`` per row; ``-inf`` inputs get 0."""
    p = softmax_forward(x)
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape[:-1]):
        total = r[idx].sum()
        for i in range(x.shape[-1]):
            xi = x[idx + (i,)]
            if np.isneginf(xi):
                continue
            out[idx + (i,)] = xi * (r[idx + (i,)] - p[idx + (i,)] * total)
    return out


def matmul_lrp(
    a: Array, b: Array, scale: float, r: Array, eps: float, rule: str = "uniform",
    bias: str = "equal",
) -> tuple[Array, Array]:
    """``z = (scale a) @ b`` for ``a`` (J, K), ``b`` (K, L): relevance of both factors.

    ``rule="uniform"``: each term ``scale a_ji b_il`` by the epsilon rule, split 50/50 (AttnLRP
    Prop. 3.3); ``"constant_a"``: ``a`` is a constant, all to ``b`` (CP-LRP). Loops over
    ``j, l, i``.
    """
    n_j, n_k = a.shape
    n_l = b.shape[1]
    ra, rb = np.zeros_like(a), np.zeros_like(b)
    for j in range(n_j):
        for l_ in range(n_l):
            terms = np.array([scale * a[j, i] * b[i, l_] for i in range(n_k)])
            z = terms.sum()
            s = _sgn(z)
            den = z + eps * s
            for i in range(n_k):
                if rule == "uniform":
                    share = eps * s / (2 * n_k) if bias == "equal" else 0.0
                    ra[j, i] += (terms[i] / 2 + share) / den * r[j, l_]
                    rb[i, l_] += (terms[i] / 2 + share) / den * r[j, l_]
                else:
                    share = eps * s / n_k if bias == "equal" else 0.0
                    rb[i, l_] += (terms[i] + share) / den * r[j, l_]
    return ra, rb


def add_lrp(a: Array, b: Array, r: Array, eps: float, bias: str = "equal") -> tuple[Array, Array]:
    """Epsilon rule of ``z = a + b`` element by element."""
    ra, rb = np.zeros_like(a), np.zeros_like(b)
    for idx in np.ndindex(a.shape):
        z = a[idx] + b[idx]
        s = _sgn(z)
        half = eps * s / 2 if bias == "equal" else 0.0
        ra[idx] = (a[idx] + half) / (z + eps * s) * r[idx]
        rb[idx] = (b[idx] + half) / (z + eps * s) * r[idx]
    return ra, rb


def conv1d_forward(x: Array, w: Array, b: Array | None, padding: int, groups: int) -> Array:
    """Grouped 1-D convolution of ONE example ``x`` (C, T), stride 1, zero padding."""
    return conv1d_lrp(x, w, b, None, padding, groups)[0]


def conv1d_lrp(
    x: Array, w: Array, b: Array | None, r: Array | None, padding: int, groups: int,
    eps: float = 0.01, bias: str = "equal",
) -> tuple[Array, Array]:
    """Forward and epsilon-rule relevance of a grouped ``Conv1d`` (stride 1) for ONE example:
    loops over output channels and positions; only the group's real (non-padding) inputs are
    inputs of a unit. Returns ``(z, R_in)``."""
    c_in, n_t = x.shape
    c_out, c_per, k = w.shape
    out_per = c_out // groups
    n_out = n_t + 2 * padding - k + 1
    z = np.zeros((c_out, n_out))
    rin = np.zeros_like(x)
    for co in range(c_out):
        g = co // out_per
        chans = range(g * c_per, (g + 1) * c_per)
        for t in range(n_out):
            contrib = {}
            for ci_local, ci in enumerate(chans):
                for kk in range(k):
                    ti = t + kk - padding
                    if 0 <= ti < n_t:
                        contrib[(ci, ti)] = x[ci, ti] * w[co, ci_local, kk]
            bj = 0.0 if b is None else b[co]
            zz = sum(contrib.values()) + bj
            z[co, t] = zz
            if r is None:
                continue
            s = _sgn(zz)
            n = max(len(contrib), 1)
            share = (bj + eps * s) / n if bias == "equal" else 0.0
            for (ci, ti), c in contrib.items():
                rin[ci, ti] += (c + share) / (zz + eps * s) * r[co, t]
    return z, rin


# ----------------------------------------------------------------------------- attention
def mha_lrp(
    mha: nn.MultiheadAttention, x: Array, r: Array | None, cp: bool = False,
    eps: float = 1e-6, dense_eps: float = 0.01, bias: str = "equal",
) -> tuple[Array, Array]:
    """Self-attention of ONE sequence ``x`` (T, E) (no mask): forward and relevance of ``x``
    through the value path (CP) or AttnLRP. Returns ``(out, R_x)``."""
    e, heads = mha.embed_dim, mha.num_heads
    hd = e // heads
    w_in, b_in = _np(mha.in_proj_weight), _np(mha.in_proj_bias)
    ws = [w_in[i * e : (i + 1) * e] for i in range(3)]
    bs = [b_in[i * e : (i + 1) * e] for i in range(3)]
    q, k, v = (dense_forward(x, w_, b_) for w_, b_ in zip(ws, bs, strict=True))
    scale = 1.0 / math.sqrt(hd)
    o = np.zeros_like(q)
    cache = []
    for h in range(heads):
        sl = slice(h * hd, (h + 1) * hd)
        scores = (q[:, sl] * scale) @ k[:, sl].T
        p = softmax_forward(scores)
        o[:, sl] = p @ v[:, sl]
        cache.append((sl, scores, p))
    wo, bo = _np(mha.out_proj.weight), _np(mha.out_proj.bias)
    out = dense_forward(o, wo, bo)
    if r is None:
        return out, np.zeros_like(x)
    r_o = dense_lrp(o, wo, bo, r, "epsilon", dense_eps, bias=bias)[0]
    rq, rk, rv = np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)
    for sl, scores, p in cache:
        rule = "constant_a" if cp else "uniform"
        r_p, rv[:, sl] = matmul_lrp(p, v[:, sl], 1.0, r_o[:, sl], eps, rule, bias)
        if cp:
            continue
        r_s = softmax_lrp(scores, r_p)
        rq[:, sl], r_kt = matmul_lrp(q[:, sl], k[:, sl].T, scale, r_s, eps, "uniform", bias)
        rk[:, sl] = r_kt.T
    r_x = np.zeros_like(x)
    for rr, inp, w_, b_ in zip((rq, rk, rv), (x, x, x), ws, bs, strict=True):
        r_x += dense_lrp(inp, w_, b_, rr, "epsilon", dense_eps, bias=bias)[0]
    return out, r_x


def _ln_params(ln: nn.LayerNorm) -> tuple[Array | None, Array | None, float]:
    w = None if ln.weight is None else _np(ln.weight)
    b = None if ln.bias is None else _np(ln.bias)
    return w, b, ln.eps


def _act(name: str, z: Array) -> Array:
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "gelu":
        from scipy.special import erf

        return 0.5 * z * (1.0 + erf(z / math.sqrt(2.0)))
    if name == "silu":
        return z / (1.0 + np.exp(-z))
    if name == "elu":
        return np.where(z > 0, z, np.expm1(np.minimum(z, 0)))
    raise ValueError(name)


def encoder_layer_lrp(
    lay: nn.TransformerEncoderLayer, x: Array, r: Array | None, act: str, cp: bool = False,
    eps: float = 1e-6, dense_eps: float = 0.01, bias: str = "equal",
) -> tuple[Array, Array]:
    """``nn.TransformerEncoderLayer`` (post- or pre-norm, eval) on ONE sequence ``(T, E)``:
    forward and relevance (residuals by :func:`add_lrp`, activation pass-through)."""
    n1, n2 = _ln_params(lay.norm1), _ln_params(lay.norm2)
    w1, b1 = _np(lay.linear1.weight), _np(lay.linear1.bias)
    w2, b2 = _np(lay.linear2.weight), _np(lay.linear2.bias)

    def ff(h: Array, rr: Array | None) -> tuple[Array, Array | None]:
        z1 = dense_forward(h, w1, b1)
        a1 = _act(act, z1)
        out = dense_forward(a1, w2, b2)
        if rr is None:
            return out, None
        r_a = dense_lrp(a1, w2, b2, rr, "epsilon", dense_eps, bias=bias)[0]
        return out, dense_lrp(h, w1, b1, r_a, "epsilon", dense_eps, bias=bias)[0]

    def sa(h: Array, rr: Array | None) -> tuple[Array, Array | None]:
        out, r_h = mha_lrp(lay.self_attn, h, rr, cp, eps, dense_eps, bias)
        return out, (None if rr is None else r_h)

    if lay.norm_first:
        h1 = layernorm_forward(x, *n1)
        s_out = sa(h1, None)[0]
        x1 = x + s_out
        h2 = layernorm_forward(x1, *n2)
        f_out = ff(h2, None)[0]
        y = x1 + f_out
        if r is None:
            return y, np.zeros_like(x)
        r_x1, r_f = add_lrp(x1, f_out, r, eps, bias)
        r_x1 = r_x1 + layernorm_lrp(x1, *n2, ff(h2, r_f)[1], eps, bias)
        r_x, r_s = add_lrp(x, s_out, r_x1, eps, bias)
        return y, r_x + layernorm_lrp(x, *n1, sa(h1, r_s)[1], eps, bias)
    s_out = sa(x, None)[0]
    u1 = x + s_out
    x1 = layernorm_forward(u1, *n1)
    f_out = ff(x1, None)[0]
    u2 = x1 + f_out
    y = layernorm_forward(u2, *n2)
    if r is None:
        return y, np.zeros_like(x)
    r_u2 = layernorm_lrp(u2, *n2, r, eps, bias)
    r_x1, r_f = add_lrp(x1, f_out, r_u2, eps, bias)
    r_x1 = r_x1 + ff(x1, r_f)[1]
    r_u1 = layernorm_lrp(u1, *n1, r_x1, eps, bias)
    r_x, r_s = add_lrp(x, s_out, r_u1, eps, bias)
    return y, r_x + sa(x, r_s)[1]


def start_relevance(logits: Array, target: int) -> Array:
    """Relevance of the output ``(T, C)``: the target's score at every frame."""
    r = np.zeros_like(logits)
    r[:, target] = logits[:, target]
    return r


# ----------------------------------------------------------------------------- conformer
def _lin(mod: nn.Linear) -> tuple[Array, Array]:
    return _np(mod.weight), _np(mod.bias)


def _feed_forward_lrp(ff: nn.Sequential, x: Array, r: Array | None, eps: float,
                      dense_eps: float) -> tuple[Array, Array | None]:
    """Half-step FF (LayerNorm, Linear, SiLU, Linear, x 1/2): forward, relevance of ``x``
    (the 1/2 and SiLU pass relevance through)."""
    ln, lin1, lin2, half = ff[0], ff[1], ff[4], ff[6].factor
    h = layernorm_forward(x, *_ln_params(ln))
    z1 = dense_forward(h, *_lin(lin1))
    a1 = _act("silu", z1)
    out = half * dense_forward(a1, *_lin(lin2))
    if r is None:
        return out, None
    r = dense_lrp(a1, *_lin(lin2), r, "epsilon", dense_eps)[0]
    r = dense_lrp(h, *_lin(lin1), r, "epsilon", dense_eps)[0]
    return out, layernorm_lrp(x, *_ln_params(ln), r, eps)


def _conv_module_lrp(cm: nn.Module, x: Array, r: Array | None, eps: float,
                     dense_eps: float) -> tuple[Array, Array | None]:
    """Convolution module (LayerNorm, pointwise, GLU, depthwise + folded BatchNorm, SiLU,
    pointwise) on ``x`` (T, d): forward and relevance of ``x``."""
    pw1, glu, dw, bn, _, pw2 = list(cm.convs)[:6]
    h = layernorm_forward(x, *_ln_params(cm.norm)).T  # (d, T)
    scale = _np(bn.weight) / np.sqrt(_np(bn.running_var) + bn.eps)
    w_dw = _np(dw.weight) * scale[:, None, None]
    b_dw = (_np(dw.bias) - _np(bn.running_mean)) * scale + _np(bn.bias)
    pad, groups = dw.padding[0], dw.groups
    z1 = conv1d_forward(h, _np(pw1.weight), _np(pw1.bias), 0, 1)
    d = z1.shape[0] // 2
    g = z1[:d] / (1.0 + np.exp(-z1[d:]))  # GLU
    z2 = conv1d_forward(g, w_dw, b_dw, pad, groups)
    a2 = _act("silu", z2)
    out = conv1d_forward(a2, _np(pw2.weight), _np(pw2.bias), 0, 1)
    if r is None:
        return out.T, None
    rr = conv1d_lrp(a2, _np(pw2.weight), _np(pw2.bias), r.T, 0, 1, dense_eps)[1]
    rr = conv1d_lrp(g, w_dw, b_dw, rr, pad, groups, dense_eps)[1]
    rr = np.concatenate([rr, np.zeros_like(rr)], 0)  # GLU: the gate gets nothing
    rr = conv1d_lrp(h, _np(pw1.weight), _np(pw1.bias), rr, 0, 1, dense_eps)[1]
    return out.T, layernorm_lrp(x, *_ln_params(cm.norm), rr.T, eps)


def conformer_block_lrp(block: nn.Module, x: Array, r: Array | None, cp: bool = False,
                        eps: float = 1e-6, dense_eps: float = 0.01) -> tuple[Array, Array]:
    """One :class:`audiolrp.models.conformer.ConformerBlock` on ``x`` (T, d): forward and the
    relevance of ``x`` (residuals by :func:`add_lrp`, positions as an added constant)."""
    att = block.attention
    pe = _np(att.positions.pe)[: x.shape[0]]
    f1 = _feed_forward_lrp(block.feed_forward1, x, None, eps, dense_eps)[0]
    x1 = x + f1
    h = layernorm_forward(x1, *_ln_params(att.norm)) + pe
    a_out = mha_lrp(att.attention, h, None)[0]
    x2 = x1 + a_out
    c_out = _conv_module_lrp(block.convolution, x2, None, eps, dense_eps)[0]
    x3 = x2 + c_out
    f2 = _feed_forward_lrp(block.feed_forward2, x3, None, eps, dense_eps)[0]
    x4 = x3 + f2
    y = layernorm_forward(x4, *_ln_params(block.norm))
    if r is None:
        return y, np.zeros_like(x)
    r4 = layernorm_lrp(x4, *_ln_params(block.norm), r, eps)
    r3, rf = add_lrp(x3, f2, r4, eps)
    r3 = r3 + _feed_forward_lrp(block.feed_forward2, x3, rf, eps, dense_eps)[1]
    r2, rc = add_lrp(x2, c_out, r3, eps)
    r2 = r2 + _conv_module_lrp(block.convolution, x2, rc, eps, dense_eps)[1]
    r1, ra = add_lrp(x1, a_out, r2, eps)
    r_h = mha_lrp(att.attention, h, ra, cp, eps, dense_eps)[1]  # h = LN(x1) + PE: pass
    r1 = r1 + layernorm_lrp(x1, *_ln_params(att.norm), r_h, eps)
    r0, rf1 = add_lrp(x, f1, r1, eps)
    return y, r0 + _feed_forward_lrp(block.feed_forward1, x, rf1, eps, dense_eps)[1]


def conformer_lrp(model: nn.Module, x: Array, target: int | None, cp: bool = False,
                  eps: float = 1e-6, dense_eps: float = 0.01) -> tuple[Array, dict]:
    """LRP of a :class:`audiolrp.models.conformer.ConformerDOA` for ONE example (C, T, F) with
    the ``attn_lrp`` (``cp=False``) or ``cp_lrp`` rules: the CRNN front end as in
    ``lrp_reference.crnn_lrp`` (alpha1-beta0 on the BatchNorm-folded convolutions,
    winner-take-all pooling), epsilon on the dense layers and 1-D convolutions, the block rules
    above. Returns ``(R_x, info)`` with ``info`` keys ``logits``, ``start``, ``dropped``."""
    mean, std = _np(model.normalization.mean), _np(model.normalization.std)
    h = (x - mean[:, None, None]) / std[:, None, None]
    acts = []
    mods = list(model.conv)
    for i in range(0, len(mods), 4):
        conv, bn, _, pool = mods[i : i + 4]
        scale = _np(bn.weight) / np.sqrt(_np(bn.running_var) + bn.eps)
        w = _np(conv.weight) * scale[:, None, None, None]
        b = (_np(conv.bias) - _np(bn.running_mean)) * scale + _np(bn.bias)
        z = conv2d_lrp(h, w, b, None, padding=tuple(conv.padding))[0]
        a = _act("elu", z)
        acts.append((h, w, b, conv, a, pool))
        h = maxpool2d(a, tuple(pool.kernel_size))[0]
    c, n_t, f = h.shape
    seq = h.transpose(1, 0, 2).reshape(n_t, c * f)
    hs = [dense_forward(seq, *_lin(model.projection))]
    for block in model.blocks:
        hs.append(conformer_block_lrp(block, hs[-1], None)[0])
    z1 = dense_forward(hs[-1], *_lin(model.dense))
    a1 = _act("elu", z1)
    logits = dense_forward(a1, *_lin(model.output))
    info: dict = {"logits": logits}
    if target is None:
        return np.zeros_like(x), info
    r = start_relevance(logits, target)
    info["start"] = r.sum()
    r = dense_lrp(a1, *_lin(model.output), r, "epsilon", dense_eps)[0]
    r = dense_lrp(hs[-1], *_lin(model.dense), r, "epsilon", dense_eps)[0]
    for block, hb in zip(reversed(model.blocks), reversed(hs[:-1]), strict=True):
        r = conformer_block_lrp(block, hb, r, cp, eps, dense_eps)[1]
    r = dense_lrp(seq, *_lin(model.projection), r, "epsilon", dense_eps)[0]
    r = r.reshape(n_t, c, f).transpose(1, 0, 2)
    dropped = 0.0
    for k in range(len(acts) - 1, -1, -1):
        h_in, w, b, conv, a, pool = acts[k]
        r = maxpool2d(a, tuple(pool.kernel_size), r)[1]
        _, r, dr, _ = conv2d_lrp(h_in, w, b, r, padding=tuple(conv.padding), rule="alphabeta")
        dropped += dr
    info["dropped"] = dropped
    return r, info


__all__ = [
    "add_lrp",
    "conformer_block_lrp",
    "conformer_lrp",
    "conv1d_forward",
    "conv1d_lrp",
    "conv2d_lrp",
    "encoder_layer_lrp",
    "layernorm_forward",
    "layernorm_lrp",
    "matmul_lrp",
    "maxpool2d",
    "mha_lrp",
    "softmax_forward",
    "softmax_lrp",
    "start_relevance",
]
