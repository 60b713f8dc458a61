"""Slow float64 NumPy reference implementation of the LRP rules (a test oracle, not public API).

Written independently of the autograd engine: explicit loops over output units (dense
layers), output positions (convolutions), time steps and memory cells (LSTM/GRU), one example
at a time. The LSTM code follows the structure of Arras et al.'s published ``LRP_for_LSTM``
numpy code (``lrp_linear`` with ``bias_nb_units``, ``eps`` and ``bias_factor``), written from
the paper's equations, extended by the paper's per-step relevance injection.

One deliberate difference from the published numpy code: the memory-cell split
``c_t = f_t c_{t-1} + i_t g_t`` is done per cell with ``bias_nb_units = 2`` (each cell has two
inputs), whereas the published code calls ``lrp_linear`` with an identity matrix and
``bias_nb_units = 2 d``, which spreads each cell's stabiliser share over all ``d`` cells. Both
conserve relevance; ours keeps a cell's share inside the cell.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

Array = np.ndarray


def _sgn(z: Array | float) -> Array:
    return np.where(np.asarray(z) >= 0, 1.0, -1.0)


def lrp_linear(
    hin: Array,
    w: Array,
    b: Array,
    hout: Array,
    rout: Array,
    bias_nb_units: int,
    eps: float,
    bias_factor: float = 1.0,
) -> Array:
    """Arras et al.'s eps-rule for ``hout = hin @ w + b`` (w: (D, M)), loop over outputs ``j``.

    ``R_i = sum_j (hin_i w_ij + bias_factor (b_j + eps s_j) / bias_nb_units)
    / (hout_j + eps s_j) R_j``.
    """
    rin = np.zeros(hin.shape[0])
    for j in range(w.shape[1]):
        s = _sgn(hout[j])
        numer = hin * w[:, j] + bias_factor * (b[j] + eps * s) / bias_nb_units
        rin += numer / (hout[j] + eps * s) * rout[j]
    return rin


# ----------------------------------------------------------------------------- dense / conv
def dense_forward(x: Array, w: Array, b: Array | None) -> Array:
    """``z = x W^T + b`` for ``x`` of shape (..., D), loop over output units."""
    z = np.zeros((*x.shape[:-1], w.shape[0]))
    for j in range(w.shape[0]):
        z[..., j] = (x * w[j]).sum(-1) + (0.0 if b is None else b[j])
    return z


def dense_lrp(
    x: Array, w: Array, b: Array | None, r: Array, rule: str, eps: float = 0.01,
    alpha: float = 1.0, beta: float = 0.0, bias: str = "equal",
) -> tuple[Array, float, int]:
    """Relevance of a dense layer's inputs for rows of ``x`` (..., D); loops over units.

    Returns ``(R_in, dropped, n_dead)``. ``rule``: ``"epsilon"``, ``"alphabeta"``, ``"flat"``.
    """
    xs = x.reshape(-1, x.shape[-1])
    rs = r.reshape(-1, w.shape[0])
    out = np.zeros_like(xs)
    dropped, n_dead = 0.0, 0
    n_in = xs.shape[1]
    for row in range(xs.shape[0]):
        for j in range(w.shape[0]):
            c = xs[row] * w[j]
            rj = rs[row, j]
            bj = 0.0 if b is None else b[j]
            if rule == "epsilon":
                z = c.sum() + bj
                s = _sgn(z)
                share = (bj + eps * s) / n_in if bias == "equal" else 0.0
                out[row] += (c + share) / (z + eps * s) * rj
            elif rule == "flat":
                out[row] += rj / n_in
            else:
                d, k = _alphabeta_unit(c, rj, alpha, beta)
                out[row] += d
                dropped += k[0]
                n_dead += k[1]
    return out.reshape(x.shape), dropped, n_dead


def _alphabeta_unit(c: Array, rj: float, alpha: float, beta: float) -> tuple[Array, tuple]:
    cp, cn = np.clip(c, 0, None), np.clip(c, None, 0)
    zp, zn = cp.sum(), cn.sum()
    out = np.zeros_like(c)
    dropped, dead = 0.0, False
    if zp > 0:
        out += alpha * cp / zp * rj
    elif rj != 0:
        dropped += alpha * rj
        dead = True
    if beta:
        if zn < 0:
            out -= beta * cn / zn * rj
        elif rj != 0:
            dropped -= beta * rj
            dead = True
    return out, (dropped, int(dead))


def conv2d_lrp(
    x: Array, w: Array, b: Array | None, r: Array | None, rule: str = "epsilon",
    stride=(1, 1), padding=(0, 0), dilation=(1, 1), eps: float = 0.01,
    alpha: float = 1.0, beta: float = 0.0, bias: str = "equal",
) -> tuple[Array, Array, float, int]:
    """Forward ``z`` and input relevance of a conv (groups=1) for ONE example ``x`` (C, H, W).

    Loops over output positions; at each position the contributions of the receptive field to
    every output channel are formed explicitly (padding positions are not inputs). ``r`` may
    be None (forward only). Returns ``(z, R_in, dropped, n_dead)``.
    """
    c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    xp = np.zeros((c_in, h + 2 * padding[0], wd + 2 * padding[1]))
    valid = np.zeros_like(xp)
    xp[:, padding[0] : padding[0] + h, padding[1] : padding[1] + wd] = x
    valid[:, padding[0] : padding[0] + h, padding[1] : padding[1] + wd] = 1.0
    oh = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    z = np.zeros((c_out, oh, ow))
    rin = np.zeros_like(xp)
    dropped, n_dead = 0.0, 0
    for a in range(oh):
        rows = a * stride[0] + dilation[0] * np.arange(kh)
        for bb in range(ow):
            cols = bb * stride[1] + dilation[1] * np.arange(kw)
            patch = xp[:, rows][:, :, cols]  # (C, kh, kw)
            vmask = valid[:, rows][:, :, cols]
            contrib = w * patch[None]  # (C_out, C, kh, kw)
            zz = contrib.reshape(c_out, -1).sum(1) + (0.0 if b is None else b)
            z[:, a, bb] = zz
            if r is None:
                continue
            acc = np.zeros_like(patch)
            n_valid = max(vmask.sum(), 1.0)  # a unit seeing only padding passes nothing on
            for co in range(c_out):
                rj = r[co, a, bb]
                if rule == "epsilon":
                    s = _sgn(zz[co])
                    bj = 0.0 if b is None else b[co]
                    share = vmask * (bj + eps * s) / n_valid if bias == "equal" else 0.0
                    acc += (contrib[co] + share) / (zz[co] + eps * s) * rj
                elif rule == "flat":
                    acc += vmask / n_valid * rj
                else:
                    d, k = _alphabeta_unit(contrib[co], rj, alpha, beta)
                    acc += d
                    dropped += k[0]
                    n_dead += k[1]
            rin[:, rows[:, None], cols[None, :]] += acc
    rin = rin[:, padding[0] : padding[0] + h, padding[1] : padding[1] + wd]
    return z, rin, dropped, n_dead


def maxpool2d(x: Array, k: tuple[int, int], r: Array | None = None) -> tuple[Array, Array | None]:
    """Max pooling (kernel = stride, no padding) of one example and winner-take-all relevance."""
    c, h, w = x.shape
    oh, ow = h // k[0], w // k[1]
    z = np.zeros((c, oh, ow))
    rin = None if r is None else np.zeros_like(x)
    for ch in range(c):
        for a in range(oh):
            for bb in range(ow):
                win = x[ch, a * k[0] : (a + 1) * k[0], bb * k[1] : (bb + 1) * k[1]]
                idx = np.unravel_index(np.argmax(win), win.shape)
                z[ch, a, bb] = win[idx]
                if rin is not None:
                    rin[ch, a * k[0] + idx[0], bb * k[1] + idx[1]] += r[ch, a, bb]
    return z, rin


# ----------------------------------------------------------------------------- recurrent
def _sigmoid(v: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-v))


def lstm_lrp(
    x: Array, w_ih: Array, w_hh: Array, b_ih: Array, b_hh: Array, r_out: Array | None,
    eps: float = 0.01, r_h_last: Array | None = None, r_c_last: Array | None = None,
) -> tuple[Array, Array, Array, Array]:
    """One LSTM direction for ONE example ``x`` (T, D): forward and Arras et al.'s LRP.

    Relevance ``r_out`` (T, H) is injected at every step (paper); ``r_h_last``/``r_c_last``
    start at the last step (Arras et al.'s original setting). Returns
    ``(h (T, H), R_x (T, D), R_h0 (H,), R_c0 (H,))``.
    """
    n_t, d = x.shape
    hid = w_hh.shape[1]
    idx_i, idx_f = np.arange(0, hid), np.arange(hid, 2 * hid)
    idx_g, idx_o = np.arange(2 * hid, 3 * hid), np.arange(3 * hid, 4 * hid)
    gates_pre = np.zeros((n_t, 4 * hid))
    gates = np.zeros((n_t, 4 * hid))
    h = np.zeros((n_t + 1, hid))  # h[t + 1] is h_t; h[0] the initial state
    c = np.zeros((n_t + 1, hid))
    for t in range(n_t):
        gates_pre[t] = w_ih @ x[t] + w_hh @ h[t] + b_ih + b_hh
        gates[t, idx_i] = _sigmoid(gates_pre[t, idx_i])
        gates[t, idx_f] = _sigmoid(gates_pre[t, idx_f])
        gates[t, idx_o] = _sigmoid(gates_pre[t, idx_o])
        gates[t, idx_g] = np.tanh(gates_pre[t, idx_g])
        c[t + 1] = gates[t, idx_f] * c[t] + gates[t, idx_i] * gates[t, idx_g]
        h[t + 1] = gates[t, idx_o] * np.tanh(c[t + 1])
    rx = np.zeros((n_t, d))
    rh = np.zeros((n_t + 1, hid))
    rc = np.zeros((n_t + 1, hid))
    rg = np.zeros((n_t, hid))
    if r_h_last is not None:
        rh[n_t] += r_h_last
    if r_c_last is not None:
        rc[n_t] += r_c_last
    b_g = b_ih[idx_g] + b_hh[idx_g]
    for t in range(n_t - 1, -1, -1):
        if r_out is not None:
            rh[t + 1] += r_out[t]
        rc[t + 1] += rh[t + 1]  # h_t = o_t tanh(c_t): all relevance to c_t
        for j in range(hid):  # memory-cell split, 2 inputs per cell
            hin = np.array([gates[t, idx_f[j]] * c[t, j], gates[t, idx_i[j]] * gates[t, idx_g[j]]])
            rr = lrp_linear(hin, np.ones((2, 1)), np.zeros(1), np.array([c[t + 1, j]]),
                            np.array([rc[t + 1, j]]), 2, eps)
            rc[t, j] += rr[0]
            rg[t, j] = rr[1]
        hout = gates_pre[t, idx_g]
        rx[t] = lrp_linear(x[t], w_ih[idx_g].T, b_g, hout, rg[t], d + hid, eps)
        rh[t] += lrp_linear(h[t], w_hh[idx_g].T, b_g, hout, rg[t], d + hid, eps)
    return h[1:], rx, rh[0], rc[0]


def gru_lrp(
    x: Array, w_ih: Array, w_hh: Array, b_ih: Array, b_hh: Array, r_out: Array | None,
    eps: float = 0.01, r_h_last: Array | None = None,
) -> tuple[Array, Array, Array]:
    """One GRU direction for ONE example: forward and the signal-take-all eps rule.

    Returns ``(h (T, H), R_x (T, D), R_h0 (H,))``.
    """
    n_t, d = x.shape
    hid = w_hh.shape[1]
    h = np.zeros((n_t + 1, hid))
    z = np.zeros((n_t, hid))
    n = np.zeros((n_t, hid))
    a = np.zeros((n_t, hid))
    rgate = np.zeros((n_t, hid))
    for t in range(n_t):
        gx = w_ih @ x[t] + b_ih
        gh = w_hh @ h[t] + b_hh
        rgate[t] = _sigmoid(gx[:hid] + gh[:hid])
        z[t] = _sigmoid(gx[hid : 2 * hid] + gh[hid : 2 * hid])
        a[t] = gx[2 * hid :] + rgate[t] * gh[2 * hid :]
        n[t] = np.tanh(a[t])
        h[t + 1] = (1 - z[t]) * n[t] + z[t] * h[t]
    rx = np.zeros((n_t, d))
    rh = np.zeros((n_t + 1, hid))
    if r_h_last is not None:
        rh[n_t] += r_h_last
    w_nx, w_nh = w_ih[2 * hid :], w_hh[2 * hid :]
    for t in range(n_t - 1, -1, -1):
        if r_out is not None:
            rh[t + 1] += r_out[t]
        rn = np.zeros(hid)
        for j in range(hid):
            hin = np.array([(1 - z[t, j]) * n[t, j], z[t, j] * h[t, j]])
            rr = lrp_linear(hin, np.ones((2, 1)), np.zeros(1), np.array([h[t + 1, j]]),
                            np.array([rh[t + 1, j]]), 2, eps)
            rn[j] = rr[0]
            rh[t, j] += rr[1]
        bias = b_ih[2 * hid :] + rgate[t] * b_hh[2 * hid :]
        rx[t] = lrp_linear(x[t], w_nx.T, bias, a[t], rn, d + hid, eps)
        rh[t] += lrp_linear(h[t], (w_nh * rgate[t][:, None]).T, bias, a[t], rn, d + hid, eps)
    return h[1:], rx, rh[0]


def _np(t: torch.Tensor) -> Array:
    return t.detach().cpu().double().numpy()


def rnn_stack_lrp(
    module: nn.LSTM | nn.GRU, x: Array, r_out: Array | None, eps: float = 0.01,
    r_last: Array | None = None,
) -> tuple[Array, Array, float]:
    """Stacked (bi)LSTM/GRU of ONE example ``x`` (T, D) (time-major, no batch).

    ``r_out`` (T, dirs*H) is injected at every step; ``r_last`` (dirs*H,) starts at the last
    processed step of each direction (time T-1 forwards, time 0 backwards) of the TOP layer.
    Returns ``(output, R_x, initial_state_relevance)``.
    """
    n_dir = 2 if module.bidirectional else 1
    hid = module.hidden_size
    layer_in = x
    cache = []
    for layer in range(module.num_layers):
        outs = []
        for dd in range(n_dir):
            sfx = f"_l{layer}" + ("_reverse" if dd else "")
            p = [_np(getattr(module, n + sfx)) for n in ("weight_ih", "weight_hh")]
            p += [_np(getattr(module, n + sfx)) for n in ("bias_ih", "bias_hh")]
            xin = layer_in[::-1] if dd else layer_in
            hh = (lstm_lrp if isinstance(module, nn.LSTM) else gru_lrp)(xin, *p, None)[0]
            outs.append(hh[::-1] if dd else hh)
            cache.append((layer, dd, xin, p))
        layer_in = np.concatenate(outs, -1)
    output = layer_in
    r_layer = np.zeros_like(output) if r_out is None else r_out.copy()
    init_rel = 0.0
    for layer in range(module.num_layers - 1, -1, -1):
        r_next = None
        for dd in range(n_dir):
            _, _, xin, p = next(cc for cc in cache if cc[0] == layer and cc[1] == dd)
            ro = r_layer[:, dd * hid : (dd + 1) * hid]
            ro = ro[::-1] if dd else ro
            rl = None
            if r_last is not None and layer == module.num_layers - 1:
                rl = r_last[dd * hid : (dd + 1) * hid]
            if isinstance(module, nn.LSTM):
                _, rx, rh0, rc0 = lstm_lrp(xin, *p, ro, eps, r_h_last=rl)
                init_rel += rh0.sum() + rc0.sum()
            else:
                _, rx, rh0 = gru_lrp(xin, *p, ro, eps, r_h_last=rl)
                init_rel += rh0.sum()
            rx = rx[::-1] if dd else rx
            r_next = rx if r_next is None else r_next + rx
        r_layer = r_next
    return output, r_layer, init_rel


# ----------------------------------------------------------------------------- CRNN
#: conv rules of the presets, as arguments of :func:`conv2d_lrp`; the first-layer rule of
#: ``epsilon_plus_flat`` overrides the first convolution.
PRESET_RULES: dict[str, dict] = {
    "paper": dict(conv=dict(rule="alphabeta", alpha=1.0, beta=0.0), first=None),
    "epsilon_plus": dict(conv=dict(rule="alphabeta", alpha=1.0, beta=0.0), first=None),
    "epsilon_plus_flat": dict(conv=dict(rule="alphabeta", alpha=1.0, beta=0.0),
                              first=dict(rule="flat")),
    "epsilon_alpha2_beta1": dict(conv=dict(rule="alphabeta", alpha=2.0, beta=1.0), first=None),
    "epsilon": dict(conv=dict(rule="epsilon"), first=None),
}


def crnn_lrp(
    model: nn.Module, x: Array, target: int, eps: float = 0.01, preset: str = "paper",
    fold_bn: bool = True,
) -> tuple[Array, dict]:
    """LRP of an :class:`audiolrp.models.CRNN` for ONE example (C, T, F) with a preset's rules.

    Forward and backward are recomputed here in NumPy float64 (eval mode). Every preset uses
    LRP-epsilon (``eps``, bias shared equally) on the dense layers and Arras et al.'s rule on
    the LSTMs; the conv rule (and the first conv's rule) come from :data:`PRESET_RULES`.
    ``fold_bn``: BatchNorm folded into the conv (the rule sees the folded weights), else the
    BatchNorm is a pass-through layer and the rule sees the conv's own weights. Relevance
    starts at the target's pre-softmax score at every frame. Returns ``(R_x, info)`` with
    ``info`` keys ``logits``, ``start``, ``init``, ``dropped``, ``n_dead``.
    """
    rules = PRESET_RULES[preset]
    mean, std = _np(model.normalization.mean), _np(model.normalization.std)
    h = (x - mean[:, None, None]) / std[:, None, None]
    acts = []
    mods = list(model.conv)
    for i in range(0, len(mods), 4):
        conv, bn, _, pool = mods[i : i + 4]
        scale = _np(bn.weight) / np.sqrt(_np(bn.running_var) + bn.eps)
        shift = _np(bn.bias) - _np(bn.running_mean) * scale
        if fold_bn:
            w = _np(conv.weight) * scale[:, None, None, None]
            b = (_np(conv.bias) - _np(bn.running_mean)) * scale + _np(bn.bias)
            z = conv2d_lrp(h, w, b, None, padding=tuple(conv.padding))[0]
        else:
            w, b = _np(conv.weight), _np(conv.bias)
            z = conv2d_lrp(h, w, b, None, padding=tuple(conv.padding))[0]
            z = z * scale[:, None, None] + shift[:, None, None]  # BatchNorm (eval)
        a = np.where(z > 0, z, np.expm1(np.minimum(z, 0)))  # ELU (alpha = 1)
        pooled, _ = maxpool2d(a, tuple(pool.kernel_size))
        acts.append((h, w, b, conv, a, pool))
        h = pooled
    c, t, f = h.shape
    seq = h.transpose(1, 0, 2).reshape(t, c * f)
    lstm_ins = []
    for lstm in model.lstms:
        lstm_ins.append(seq)
        seq = rnn_stack_lrp(lstm, seq, None, eps)[0]
    w1, b1 = _np(model.dense.weight), _np(model.dense.bias)
    z1 = dense_forward(seq, w1, b1)
    a1 = np.where(z1 > 0, z1, np.expm1(np.minimum(z1, 0)))
    w2, b2 = _np(model.output.weight), _np(model.output.bias)
    logits = dense_forward(a1, w2, b2)
    r = np.zeros_like(logits)
    r[:, target] = logits[:, target]
    start = r.sum()
    r = dense_lrp(a1, w2, b2, r, "epsilon", eps)[0]
    r = dense_lrp(seq, w1, b1, r, "epsilon", eps)[0]
    init = 0.0
    for lstm, xin in zip(reversed(list(model.lstms)), reversed(lstm_ins), strict=True):
        _, r, ir = rnn_stack_lrp(lstm, xin, r, eps)
        init += ir
    r = r.reshape(t, c, f).transpose(1, 0, 2)
    dropped, n_dead = 0.0, 0
    for k in range(len(acts) - 1, -1, -1):
        h_in, w, b, conv, a, pool = acts[k]
        _, r = maxpool2d(a, tuple(pool.kernel_size), r)
        kw = rules["first"] if k == 0 and rules["first"] is not None else rules["conv"]
        _, r, dr, nd = conv2d_lrp(h_in, w, b, r, padding=tuple(conv.padding), eps=eps, **kw)
        dropped += dr
        n_dead += nd
    info = {"logits": logits, "start": start, "init": init, "dropped": dropped, "n_dead": n_dead}
    return r, info


__all__ = [
    "PRESET_RULES",
    "conv2d_lrp",
    "crnn_lrp",
    "dense_forward",
    "dense_lrp",
    "gru_lrp",
    "lrp_linear",
    "lstm_lrp",
    "maxpool2d",
    "rnn_stack_lrp",
]
