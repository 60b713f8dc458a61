"""LRP for (Bi)LSTM and GRU layers: unrolled forward, rule-computing backward.

The fused ``nn.LSTM``/``nn.GRU`` kernels cannot produce a modified backward, so during
:func:`audiolrp.lrp.explain` their forward is replaced by an explicit computation with the same
weights, unrolled over time only (the input projections of all steps are one matmul). Each
direction of each layer is one :class:`torch.autograd.Function` whose backward computes the rule.

LSTM rule (Arras et al. 2017, "Explaining Recurrent Neural Network Predictions in Sentiment
Analysis"), with the paper's per-step injection. With ``c_t = f_t c_{t-1} + i_t g_t``,
``h_t = o_t tanh(c_t)``, ``g_t = tanh(a_t)``, ``a_t = W_gx x_t + W_gh h_{t-1} + b_g``,
going backwards in time::

    R(h_t)     = R_out(t) + R_rec(h_t)                      (injection at EVERY step)
    R(c_t)     = R(h_t) + R_rec(c_t)                         (h_t -> c_t takes all; o_t gets 0)
    R(c_{t-1}) += (f_t c_{t-1} + eps s/2) / (c_t + eps s) R(c_t)   (eps-rule, 2 inputs)
    R(g_t)      = (i_t g_t    + eps s/2) / (c_t + eps s) R(c_t)
    q_t         = R(g_t) / (a_t + eps s_a)
    R(x_t)      = x_t W_gx^T q_t + (b_g + eps s_a) . q_t / (D + H)
    R_rec(h_{t-1}) = h_{t-1} W_gh^T q_t + (b_g + eps s_a) . q_t / (D + H)

Gates receive no relevance (signal-take-all). Relevance arriving at the zero initial states
``h_0, c_0`` (their bias/stabiliser shares) is returned as their gradient and reported.

GRU rule (our choice, same principle): ``h_t = (1 - z_t) n_t + z_t h_{t-1}`` is split between
its two terms by the eps-rule (stabiliser halved), the candidate ``n_t = tanh(a_t)`` with
``a_t = W_nx x_t + b_nx + r_t (W_nh h_{t-1} + b_nh)`` is the signal; its relevance goes to
``x_t`` and ``h_{t-1}`` by the eps-rule on ``a_t`` with the reset gate ``r_t`` treated as a
fixed weight factor, bias ``b_nx + r_t b_nh`` and stabiliser shared equally over ``D + H``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from audiolrp.errors import AudioLRPError, UnsupportedModuleError
from audiolrp.lrp.rules import RNNS, Layer, Rule, sign0


@contextmanager
def _one_thread(x: torch.Tensor) -> Iterator[None]:
    """Run the time loop with one intra-op thread on CPU.

    Each step is a handful of tiny ops ((B, H) x (H, 4H) matmuls); OpenMP synchronisation costs
    more than it gains, catastrophically so on an oversubscribed machine (measured ~70x per
    small matmul with 2 threads on 2 busy cores). The previous setting is restored.
    """
    n = torch.get_num_threads()
    if x.is_cuda or n == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


class _Tap(torch.autograd.Function):
    """Identity whose backward reports the relevance passing through (per-layer sums)."""

    @staticmethod
    def forward(  # noqa: D102
        ctx: Any,
        x: torch.Tensor,
        report: Callable[[torch.Tensor], None],
    ) -> Any:
        ctx.report = report
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> Any:  # noqa: D102
        ctx.report(g)
        return g, None


class _LSTMDirection(torch.autograd.Function):
    """One direction of one LSTM layer; backward = Arras et al. rule with injection."""

    @staticmethod
    def forward(  # noqa: D102
        ctx: Any,
        x: torch.Tensor,
        h0: torch.Tensor,
        c0: torch.Tensor,
        w_ih: torch.Tensor,
        w_hh: torch.Tensor,
        b: torch.Tensor,
        eps: float,
        record: Any,
    ) -> Any:
        bsz, n_t, _ = x.shape
        hid = w_hh.shape[1]
        xp = torch.addmm(b, x.reshape(bsz * n_t, -1), w_ih.t()).view(bsz, n_t, 4 * hid)
        w_hh_t = w_hh.t()
        hs = x.new_empty(bsz, n_t + 1, hid)
        cs = x.new_empty(bsz, n_t + 1, hid)
        fs = x.new_empty(bsz, n_t, hid)
        igs = x.new_empty(bsz, n_t, hid)
        zgs = x.new_empty(bsz, n_t, hid)
        hs[:, 0] = h0
        cs[:, 0] = c0
        h, c = h0, c0
        with _one_thread(x):
            for t in range(n_t):
                a = torch.addmm(xp[:, t], h, w_hh_t)
                sig = torch.sigmoid(a)
                i, f, o = sig[:, :hid], sig[:, hid : 2 * hid], sig[:, 3 * hid :]
                zg = a[:, 2 * hid : 3 * hid]
                ig = i * torch.tanh(zg)
                c = f * c + ig
                h = o * torch.tanh(c)
                hs[:, t + 1] = h
                cs[:, t + 1] = c
                fs[:, t] = f
                igs[:, t] = ig
                zgs[:, t] = zg
        ctx.save_for_backward(x, hs, cs, fs, igs, zgs, w_ih, w_hh, b)
        ctx.eps = eps
        return hs[:, 1:].clone(), h.clone(), c.clone()

    @staticmethod
    def backward(  # noqa: D102
        ctx: Any,
        r_out: torch.Tensor,
        r_hn: torch.Tensor,
        r_cn: torch.Tensor,
    ) -> Any:
        x, hs, cs, fs, igs, zgs, w_ih, w_hh, b = ctx.saved_tensors
        eps = ctx.eps
        bsz, n_t, d_in = x.shape
        hid = w_hh.shape[1]
        w_gx = w_ih[2 * hid : 3 * hid]
        w_gh = w_hh[2 * hid : 3 * hid]
        b_g = b[2 * hid : 3 * hid]
        n_share = float(d_in + hid)
        # Everything that does not depend on the backward recursion, for all steps at once.
        sc = sign0(cs[:, 1:])
        den_c = cs[:, 1:] + eps * sc
        num_c = fs * cs[:, :-1] + 0.5 * eps * sc
        num_g = igs + 0.5 * eps * sc
        sa = sign0(zgs)
        den_a = zgs + eps * sa
        ba = b_g + eps * sa
        qs = x.new_empty(bsz, n_t, hid)
        shares = x.new_empty(bsz, n_t, 1)
        r_h = r_hn
        r_c = r_cn
        with _one_thread(x):
            for t in range(n_t - 1, -1, -1):
                r_ct = r_c + r_h + r_out[:, t]
                k = r_ct / den_c[:, t]
                r_c = num_c[:, t] * k
                q = num_g[:, t] * k / den_a[:, t]
                share = (ba[:, t] * q).sum(-1, keepdim=True) / n_share
                r_h = hs[:, t] * (q @ w_gh) + share
                qs[:, t] = q
                shares[:, t] = share
        r_x = x * (qs @ w_gx) + shares
        return r_x, r_h, r_c, None, None, None, None, None


class _GRUDirection(torch.autograd.Function):
    """One direction of one GRU layer; backward = signal-take-all eps rule (module docs)."""

    @staticmethod
    def forward(  # noqa: D102
        ctx: Any,
        x: torch.Tensor,
        h0: torch.Tensor,
        w_ih: torch.Tensor,
        w_hh: torch.Tensor,
        b_ih: torch.Tensor,
        b_hh: torch.Tensor,
        eps: float,
        record: Any,
    ) -> Any:
        bsz, n_t, _ = x.shape
        hid = w_hh.shape[1]
        gx = torch.addmm(b_ih, x.reshape(bsz * n_t, -1), w_ih.t()).view(bsz, n_t, 3 * hid)
        w_hh_t = w_hh.t()
        hs = x.new_empty(bsz, n_t + 1, hid)
        zs = x.new_empty(bsz, n_t, hid)
        ns = x.new_empty(bsz, n_t, hid)
        ans = x.new_empty(bsz, n_t, hid)
        rs = x.new_empty(bsz, n_t, hid)
        hs[:, 0] = h0
        h = h0
        with _one_thread(x):
            for t in range(n_t):
                gh = torch.addmm(b_hh, h, w_hh_t)
                rz = torch.sigmoid(gx[:, t, : 2 * hid] + gh[:, : 2 * hid])
                r, z = rz[:, :hid], rz[:, hid:]
                an = gx[:, t, 2 * hid :] + r * gh[:, 2 * hid :]
                n = torch.tanh(an)
                h = (1 - z) * n + z * h
                hs[:, t + 1] = h
                zs[:, t] = z
                ns[:, t] = n
                ans[:, t] = an
                rs[:, t] = r
        ctx.save_for_backward(x, hs, zs, ns, ans, rs, w_ih, w_hh, b_ih, b_hh)
        ctx.eps = eps
        return hs[:, 1:].clone(), h.clone()

    @staticmethod
    def backward(ctx: Any, r_out: torch.Tensor, r_hn: torch.Tensor) -> Any:  # noqa: D102
        x, hs, zs, ns, ans, rs, w_ih, w_hh, b_ih, b_hh = ctx.saved_tensors
        eps = ctx.eps
        bsz, n_t, d_in = x.shape
        hid = w_hh.shape[1]
        w_nx = w_ih[2 * hid :]
        w_nh = w_hh[2 * hid :]
        n_share = float(d_in + hid)
        sh = sign0(hs[:, 1:])
        den_h = hs[:, 1:] + eps * sh
        num_n = (1 - zs) * ns + 0.5 * eps * sh
        num_h = zs * hs[:, :-1] + 0.5 * eps * sh
        sa = sign0(ans)
        den_a = ans + eps * sa
        ba = b_ih[2 * hid :] + rs * b_hh[2 * hid :] + eps * sa
        qs = x.new_empty(bsz, n_t, hid)
        shares = x.new_empty(bsz, n_t, 1)
        r_h = r_hn
        with _one_thread(x):
            for t in range(n_t - 1, -1, -1):
                k = (r_h + r_out[:, t]) / den_h[:, t]
                q = num_n[:, t] * k / den_a[:, t]
                share = (ba[:, t] * q).sum(-1, keepdim=True) / n_share
                r_h = num_h[:, t] * k + hs[:, t] * ((q * rs[:, t]) @ w_nh) + share
                qs[:, t] = q
                shares[:, t] = share
        r_x = x * (qs @ w_nx) + shares
        return r_x, r_h, None, None, None, None, None, None


def _check_rnn(module: nn.RNNBase) -> None:
    if getattr(module, "proj_size", 0):
        raise UnsupportedModuleError(
            f"{type(module).__name__} with proj_size={module.proj_size} has no LRP rule; "
            "use proj_size=0"
        )
    if not isinstance(module, nn.LSTM | nn.GRU):
        raise UnsupportedModuleError(
            f"{type(module).__name__} has no LRP rule; use nn.LSTM or nn.GRU"
        )


def make_rnn_forward(
    module: nn.RNNBase,
    eps: float,
    register_state: Callable[[torch.Tensor], None],
    report: Callable[[torch.Tensor], None] | None = None,
) -> Callable[..., Any]:
    """Return a replacement ``forward`` for ``nn.LSTM``/``nn.GRU`` computing the LRP rule.

    Parameters
    ----------
    module
        The recurrent module (its weights are used, never modified).
    eps
        Stabiliser of :class:`RecurrentEpsilon`.
    register_state
        Called with the leaf tensor holding the initial states so that the caller can collect
        the relevance landing on them.
    report
        Optional callback receiving the relevance of the module's input in the backward pass.
    """
    _check_rnn(module)
    is_lstm = isinstance(module, nn.LSTM)
    n_dir = 2 if module.bidirectional else 1
    hid = module.hidden_size

    def forward(inp: torch.Tensor, hx: Any = None) -> Any:
        if isinstance(inp, nn.utils.rnn.PackedSequence):
            raise UnsupportedModuleError(
                f"{type(module).__name__} got a PackedSequence; LRP needs padded tensors"
            )
        unbatched = inp.dim() == 2
        x = inp.unsqueeze(1 if not module.batch_first else 0) if unbatched else inp
        if not module.batch_first:
            x = x.transpose(0, 1)
        if report is not None:
            x = _Tap.apply(x, report)
        bsz = x.shape[0]
        n_states = module.num_layers * n_dir
        if hx is None:
            h0 = x.new_zeros(n_states, bsz, hid).requires_grad_()
            register_state(h0)
            c0 = None
            if is_lstm:
                c0 = x.new_zeros(n_states, bsz, hid).requires_grad_()
                register_state(c0)
        else:
            h0, c0 = (hx if is_lstm else (hx, None))
            if unbatched:
                h0 = h0.unsqueeze(1)
                c0 = c0.unsqueeze(1) if c0 is not None else None
            if not h0.requires_grad:
                h0 = h0.detach().clone().requires_grad_()
                register_state(h0)
            if c0 is not None and not c0.requires_grad:
                c0 = c0.detach().clone().requires_grad_()
                register_state(c0)
        layer_in = x
        hn: list[torch.Tensor] = []
        cn: list[torch.Tensor] = []
        for layer in range(module.num_layers):
            outs = []
            for d in range(n_dir):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                w_ih = getattr(module, "weight_ih" + sfx).detach()
                w_hh = getattr(module, "weight_hh" + sfx).detach()
                if module.bias:
                    b_ih = getattr(module, "bias_ih" + sfx).detach()
                    b_hh = getattr(module, "bias_hh" + sfx).detach()
                else:
                    b_ih = w_ih.new_zeros(w_ih.shape[0])
                    b_hh = w_hh.new_zeros(w_hh.shape[0])
                xin = layer_in.flip(1) if d else layer_in
                k = layer * n_dir + d
                if is_lstm:
                    assert c0 is not None  # made above for LSTMs
                    out, h_last, c_last = _LSTMDirection.apply(
                        xin, h0[k], c0[k], w_ih, w_hh, b_ih + b_hh, eps, None
                    )
                    cn.append(c_last)
                else:
                    out, h_last = _GRUDirection.apply(
                        xin, h0[k], w_ih, w_hh, b_ih, b_hh, eps, None
                    )
                hn.append(h_last)
                outs.append(out.flip(1) if d else out)
            layer_in = torch.cat(outs, -1) if n_dir == 2 else outs[0]
        out = layer_in
        if not module.batch_first:
            out = out.transpose(0, 1)
        h_n = torch.stack(hn, 0)
        c_n = torch.stack(cn, 0) if is_lstm else None
        if unbatched:
            out = out.squeeze(1 if not module.batch_first else 0)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        return (out, (h_n, c_n)) if is_lstm else (out, h_n)

    return forward


class RecurrentEpsilon(Rule):
    """LSTM/GRU rule of Arras et al. (2017) with per-step injection (module docs).

    Its forward is the unrolled LSTM/GRU (:func:`make_rnn_forward`) and its backward the rule:
    one autograd Function per direction and layer (:class:`_LSTMDirection`,
    :class:`_GRUDirection`), whose backward is the equations of the module docs.

    Parameters
    ----------
    eps
        Stabiliser of the eps-rule used for the memory-cell split and the candidate's
        pre-activation (paper: 0.01); bias and stabiliser are redistributed equally.
    """

    name = "recurrent_epsilon"
    applies_to = RNNS

    def __init__(self, eps: float = 0.01) -> None:
        if eps < 0:
            raise AudioLRPError(f"RecurrentEpsilon eps={eps} is negative; pass eps >= 0")
        self.eps = float(eps)

    def install(self, module: nn.Module, layer: Layer) -> Callable[..., Any]:  # noqa: D102
        log, name = layer.log, layer.name

        def report(g: torch.Tensor) -> None:
            log.add_layer(name, g)

        if not isinstance(module, nn.RNNBase):  # pragma: no cover - applies_to checked
            raise UnsupportedModuleError(f"{type(module).__name__} is not a recurrent layer")
        return make_rnn_forward(module, self.eps, log.state_leaves.append, report)


def unrolled_forward(module: nn.RNNBase, x: torch.Tensor, hx: Any = None) -> Any:
    """Run ``module`` through the unrolled implementation (used to verify it equals nn.LSTM)."""
    fwd = make_rnn_forward(module, 0.01, lambda t: None)
    return fwd(x, hx)


__all__ = ["RecurrentEpsilon", "make_rnn_forward", "unrolled_forward"]
