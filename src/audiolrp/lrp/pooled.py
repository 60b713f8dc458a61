"""Alpha-beta on a convolution whose output goes straight to a max-pooling, in one step.

In the CRNN every convolution is followed by (folded) BatchNorm, a strictly increasing
activation and a max-pooling over frequency. With the winner-take-all rule on the pooling, the
relevance at the convolution's output is zero except at the winners of the pooling, so the
alpha-beta rule (:class:`~audiolrp.lrp.rules.AlphaBeta`) needs ``z^+ = (a + q) / 2`` (and
``z^-``) only there, and ``s^+ = R / z^+`` is the pooled ratio put back at the winners. The
engine (``core.py``) gives such a chain this fused form; the result is the same rule:

* forward: ``a = W x`` (no bias), its max-pooling with the winners' indices, ``q = |W| |x|``
  gathered at the winners; the module output is ``maxpool(a) + b``, which is the float of
  ``maxpool(a + b)`` (the bias is constant over a pooling window and rounding is monotone;
  where rounding makes two values equal the winner can be another of the equal values);
* backward: the conditioning check and ``s^+ = R / z^+`` on pooled values, ``s^+`` put back
  at the winners (what the pooling's gradient does), then the same transposed convolution
  and ``R_i = x_i / 2 (W^T u)_i + |x_i| / 2 (|W|^T u)_i`` as the unfused rule. An
  ill-conditioned layer falls back to the rule's split form, as unfused.

So the full-resolution tensors (``z``, ``z^+``, ``s^+`` of the first layer: 64 channels x
50 frames x 512 bins per example) are written once each instead of by half a dozen
element-wise passes, and large layers are computed in chunks of examples whose
full-resolution tensors stay in the processor's cache (:data:`CHUNK_BYTES`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from audiolrp.errors import UnsupportedModuleError
from audiolrp.lrp.rules import (
    AlphaBeta,
    Layer,
    LinearOp,
    Rule,
    WinnerTakeAll,
    _linear,
    _memory_format,
    _safe_ratio,
    _well_conditioned,
)

if TYPE_CHECKING:  # pragma: no cover
    from audiolrp.lrp.core import LRPState

#: Bytes of one full-resolution float tensor per chunk of examples (the pre-pooling output of
#: a layer); the batch is split so that a chunk's tensors stay in the cache between the
#: convolution, the pooling and the gather (measured: about 1.8x faster for the CRNN's first
#: layer than the whole batch at once).
CHUNK_BYTES = 4 << 20


@dataclass(frozen=True)
class MaxPool:
    """A non-overlapping max-pooling (``stride = kernel``, no padding or dilation) applied to
    the output of a Conv1d/Conv2d, as a 2-D pooling (a 1-D layer gets a unit height)."""

    kernel: tuple[int, int]

    @staticmethod
    def of(pool: nn.Module, conv: nn.Module) -> MaxPool | None:
        """The pooling's :class:`MaxPool`, or None if the fused form does not apply."""
        two_d = isinstance(conv, nn.Conv2d) and isinstance(pool, nn.MaxPool2d)
        if not (two_d or isinstance(conv, nn.Conv1d) and isinstance(pool, nn.MaxPool1d)):
            return None
        if pool.return_indices or pool.ceil_mode:
            return None
        nd = 2 if two_d else 1

        def tup(v: Any) -> tuple[int, ...]:
            return tuple(v) if isinstance(v, tuple | list) else (int(v),) * nd

        kernel, stride = tup(pool.kernel_size), tup(pool.stride or pool.kernel_size)
        if kernel != stride or any(tup(pool.padding)) or any(d != 1 for d in tup(pool.dilation)):
            return None
        return MaxPool((kernel[0], kernel[1]) if two_d else (1, kernel[0]))

    def pool(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(maxpool(a), indices)`` of a 4-D tensor."""
        return F.max_pool2d(a, self.kernel, self.kernel, return_indices=True)

    def unpool_into(self, u: torch.Tensor, idx: torch.Tensor, out: torch.Tensor) -> None:
        """``out`` := zero but ``u`` at the winners ``idx`` (the pooling's gradient)."""
        torch.ops.aten.max_pool2d_with_indices_backward.grad_input(
            u, out, list(self.kernel), list(self.kernel), [0, 0], [1, 1], False, idx,
            grad_input=out,
        )

    def pool_into(self, a: torch.Tensor, out: torch.Tensor, idx: torch.Tensor) -> None:
        """:meth:`pool` written into ``out`` and ``idx`` (views of the batch's tensors)."""
        torch._C._nn.max_pool2d_with_indices(  # type: ignore[call-arg]
            a, self.kernel, self.kernel, (0, 0), (1, 1), False, out=(out, idx)
        )


def _planes(t: torch.Tensor) -> tuple[torch.Tensor, int] | None:
    """A view of the 4-D ``t`` with each channel's plane flattened, and the plane's axis (the
    indices of a max-pooling index these planes); None if no view has that form."""
    if t.is_contiguous():
        return t.flatten(2), 2
    if t.is_contiguous(memory_format=torch.channels_last):
        return t.permute(0, 2, 3, 1).reshape(t.shape[0], -1, t.shape[1]), 1  # NHWC: a view
    return None


def _take_into(out: torch.Tensor, t: torch.Tensor, idx: torch.Tensor) -> None:
    """``out = t`` at the pooling winners ``idx`` (same shape and layout as ``out``)."""
    pt, pi, po = _planes(t), _planes(idx), _planes(out)
    if pt is None or pi is None or po is None or not pt[1] == pi[1] == po[1]:
        out.copy_(t.flatten(2).gather(2, idx.flatten(2)).view(idx.shape))
        return
    torch.gather(pt[0], pt[1], pi[0], out=po[0])


def _transpose(op: LinearOp, g: torch.Tensor, w: torch.Tensor, x_shape: torch.Size) -> torch.Tensor:
    """``W^T g`` of a 2-D convolution; for stride 1 and no groups as the convolution of ``g``
    with the flipped, transposed kernel (oneDNN's forward kernels are about 10 % faster on
    channels-last tensors than its backward-data kernels), else :meth:`LinearOp.transpose`."""
    k = w.shape[2:]
    pad = [d * (kk - 1) - p for d, kk, p in zip(op.dilation, k, op.padding, strict=True)]
    if op.groups != 1 or any(st != 1 for st in op.stride) or min(pad) < 0:
        return op.transpose(g, w, x_shape)
    fmt = torch.contiguous_format if g.is_contiguous() else torch.channels_last
    wt = w.flip(2, 3).transpose(0, 1).contiguous(memory_format=fmt)
    return F.conv2d(g, wt, None, 1, pad, op.dilation)


def _chunks(n: int, per_example: int) -> list[tuple[int, int]]:
    step = max(1, CHUNK_BYTES // max(1, per_example))
    return [(i, min(n, i + step)) for i in range(0, n, step)]


class _PooledAlphaBeta(torch.autograd.Function):
    """Forward: the convolution and its max-pooling; backward: the alpha-beta rule."""

    @staticmethod
    def forward(  # noqa: D102
        ctx: Any,
        x: torch.Tensor,
        rule: AlphaBeta,
        layer: Layer,
        pool: MaxPool,
        act: Callable[[torch.Tensor], torch.Tensor] | None,
    ) -> Any:
        op, w = _linear(layer)
        fmt = _memory_format(op, x, w)
        one_d = op.kind == "conv1d"
        x4 = x.unsqueeze(2) if one_d else x
        # the input in ``fmt``, converted chunk by chunk below (in cache)
        x_f = x4 if x4.is_contiguous(memory_format=fmt) else torch.empty_like(
            x4, memory_format=fmt
        )
        op4 = LinearOp("conv2d", *_as_2d(op)) if one_d else op
        w4 = w.unsqueeze(2) if one_d else w
        wc = w4.contiguous(memory_format=fmt)
        wa = w4.abs().contiguous(memory_format=fmt)
        n = x4.shape[0]
        out_hw = _out_hw(op4, x4, wc)
        shape = (n, wc.shape[0], out_hw[0] // pool.kernel[0], out_hw[1] // pool.kernel[1])
        a_pool = torch.empty(shape, dtype=x.dtype, device=x.device, memory_format=fmt)
        q_pool = torch.empty_like(a_pool)
        idx_pool = torch.empty_like(a_pool, dtype=torch.int64)
        z = torch.empty_like(a_pool)
        bias = op4.bias_view(layer.bias, a_pool) if layer.bias is not None else None
        for s, e in _chunks(n, wc.shape[0] * _numel(out_hw) * x4.element_size()):
            xc = x_f[s:e]
            if x_f is not x4:
                xc.copy_(x4[s:e])
            a = op4.forward(xc, wc, None)  # sum_i x_i w_ij
            pool.pool_into(a, a_pool[s:e], idx_pool[s:e])
            del a
            q = op4.forward(xc.abs(), wa, None)  # sum_i |x_i w_ij|
            _take_into(q_pool[s:e], q, idx_pool[s:e])
            del q
            zc = torch.add(a_pool[s:e], bias, out=z[s:e]) if bias is not None else a_pool[s:e]
            if act is not None:  # applied after the pooling, on the chunk still in cache
                zc = act(zc)
                if zc.shape != a_pool[s:e].shape:
                    raise UnsupportedModuleError(
                        f"activation after {layer.name!r} changed the shape; give it a rule "
                        "other than pass-through"
                    )
            if zc.data_ptr() != z[s:e].data_ptr():
                z[s:e] = zc
        ctx.save_for_backward(x_f, a_pool, q_pool, idx_pool)
        ctx.rule, ctx.layer, ctx.pool, ctx.op4 = rule, layer, pool, op4
        ctx.one_d, ctx.fmt = one_d, fmt
        ctx.in_fmt = torch.contiguous_format if x4.is_contiguous() else fmt
        return z.squeeze(2) if one_d else z

    @staticmethod
    def backward(ctx: Any, r: torch.Tensor) -> Any:  # noqa: D102
        x4, a_pool, q_pool, idx = ctx.saved_tensors
        rule: AlphaBeta = ctx.rule
        layer: Layer = ctx.layer
        r4 = r.unsqueeze(2) if ctx.one_d else r
        r_in = _pooled_backward(
            rule, layer, ctx.pool, ctx.op4, x4, (a_pool, q_pool, idx), r4, (ctx.fmt, ctx.in_fmt)
        )
        if ctx.one_d:
            r_in = r_in.squeeze(2)
        if rule.recorded:
            layer.log.add_layer(layer.name, r_in)
        return r_in, None, None, None, None


def _as_2d(op: LinearOp) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int]:
    """``(stride, padding, dilation, groups)`` of a Conv1d as a Conv2d of unit height."""
    return (1, *op.stride), (0, *op.padding), (1, *op.dilation), op.groups


def _pooled_backward(
    rule: AlphaBeta,
    layer: Layer,
    pool: MaxPool,
    op: LinearOp,
    x: torch.Tensor,
    pooled: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    r: torch.Tensor,
    fmts: tuple[torch.memory_format, torch.memory_format],
) -> torch.Tensor:
    """Input relevance of the fused layer for the pooled output relevance ``r``, from the
    input ``x`` (in the layout ``fmt`` of the convolutions) and the pooled ``(a, q, winner
    indices)`` of the forward; returned in the layout ``in_fmt`` of the module's input."""
    fmt, in_fmt = fmts
    a_pool, q_pool, idx = pooled
    w = layer.weight
    assert w is not None
    w4 = w.unsqueeze(2) if w.dim() == 3 else w
    r = r.contiguous(memory_format=fmt)
    full = (w4.shape[0], *_out_hw(op, x, w4))  # one example's layer output
    n = x.shape[0]
    pair = op.groups == 1 and not rule.beta  # W^T u and |W|^T u as one transposed convolution
    wts = [torch.cat([w4, w4.abs()], 1)] if pair else [w4, w4.abs()]
    wts = [wt.contiguous(memory_format=fmt) for wt in wts]
    out = torch.empty_like(x, memory_format=in_fmt)
    chunks = _chunks(n, _numel(full) * x.element_size())
    bufs = [torch.empty((chunks[0][1], *full), dtype=x.dtype, device=x.device,
                        memory_format=fmt) for _ in range(2 if rule.beta else 1)]
    n_dead = torch.zeros(n, dtype=torch.int64, device=x.device)
    lost = torch.zeros(n, dtype=x.dtype, device=x.device)
    for s, e in chunks:
        log = type(layer.log)()  # a fresh LRPState: the chunk's dead units, kept if it succeeds
        parts = _ratios(rule, a_pool[s:e], q_pool[s:e], r[s:e], log)
        if parts is None:  # ill-conditioned: the whole layer in the split form
            r_full = torch.empty((n, *full), dtype=x.dtype, device=x.device, memory_format=fmt)
            pool.unpool_into(r, idx, r_full)
            layer2 = layer if op is layer.op else _layer_2d(layer, op, w4)
            return rule.split_backward(layer2, x, r_full)
        if log.n_dead is not None and log.dead_relevance is not None:
            n_dead[s:e] += log.n_dead
            lost[s:e] += log.dead_relevance
        if not pair and len(parts) == 1:
            parts = parts * 2  # u = v, two transposed convolutions (grouped layer)
        gs = []
        for buf, part, wt in zip(bufs * (len(parts) // len(bufs)), parts, wts, strict=True):
            bc = buf[: e - s]
            pool.unpool_into(part, idx[s:e], bc)
            c_in = wt.shape[1] * op.groups
            gs.append(_transpose(op, bc, wt, torch.Size((e - s, c_in, *x.shape[2:]))))
        g, h = gs[0].split(x.shape[1], 1) if pair else gs  # W^T u, |W|^T v
        xs = x[s:e]
        same = in_fmt == fmt
        # (choosing W^T u + |W|^T u or W^T u - |W|^T u by the sign of x is 4x slower)
        oc = torch.mul(xs, g, out=out[s:e]) if same else torch.mul(xs, g)
        oc.addcmul_(xs.abs(), h).mul_(0.5)
        if not same:
            out[s:e] = oc  # in cache: a cheap layout conversion
    if bool((n_dead > 0).any()):
        layer.log.add_dead(n_dead, lost)
    return out


def _ratios(
    rule: AlphaBeta, a: torch.Tensor, q: torch.Tensor, r: torch.Tensor, log: LRPState
) -> list[torch.Tensor] | None:
    """``[u]`` (``beta = 0``: ``u = alpha R / z^+``) or ``[u, v]`` with ``u, v = alpha s^+
    -+ beta s^-`` at the winners of one chunk (:class:`~audiolrp.lrp.rules.AlphaBeta`), or
    None where ``z^+`` (``z^-``) would cancel (the split form is then needed); dead units are
    reported to ``log``."""
    zp = torch.add(a, q).mul_(0.5)  # z^+ = (a + q) / 2
    zn = torch.sub(a, q).mul_(0.5) if rule.beta else None  # z^- = (a - q) / 2
    tol = rule.conditioning
    if not (_well_conditioned(zp, q, r, tol)
            and (zn is None or _well_conditioned(-zn, q, r, tol))):
        return None
    sp = _safe_ratio(r, zp, 1.0, rule.alpha, log)  # s^+ = R_j / z_j^+
    if zn is None:
        return [sp.mul_(rule.alpha) if rule.alpha != 1.0 else sp]
    sn = _safe_ratio(r, zn, -1.0, -rule.beta, log)  # s^- = R_j / z_j^-
    return [torch.mul(sp, rule.alpha).sub_(sn, alpha=rule.beta),
            torch.mul(sp, rule.alpha).add_(sn, alpha=rule.beta)]


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _out_hw(op: LinearOp, x: torch.Tensor, w: torch.Tensor) -> tuple[int, int]:
    """Height and width of the (2-D) convolution's output."""
    hw = []
    for d in range(2):
        size = x.shape[2 + d] + 2 * op.padding[d] - op.dilation[d] * (w.shape[2 + d] - 1) - 1
        hw.append(size // op.stride[d] + 1)
    return hw[0], hw[1]


def _layer_2d(layer: Layer, op: LinearOp, w4: torch.Tensor) -> Layer:
    """``layer`` as the 2-D convolution of unit height the fused form computes."""
    return Layer(layer.name, layer.log, layer.call, w4, layer.bias, op)


@dataclass(frozen=True)
class PooledChain:
    """A convolution whose output reaches a max-pooling directly: its operator, the pooling
    (module and :class:`MaxPool`) and the strictly increasing activation between them (run
    after the pooling), if any."""

    op: LinearOp
    spec: MaxPool
    pool: nn.Module
    act: nn.Module | None


def find_pooled_chains(
    model: nn.Module,
    rule_of: dict[int, Rule | None],
    folded_bns: set[int],
    pooled_first: dict[nn.Module, nn.Module],
) -> dict[int, PooledChain]:
    """``id(conv)`` -> :class:`PooledChain` for each ``Conv1d``/``Conv2d`` with an alpha-beta
    rule followed in a Sequential by an optional folded BatchNorm (``id`` in ``folded_bns``),
    an optional activation that may run after the pooling (``pooled_first``: activation ->
    pooling) and a non-overlapping max-pooling with the winner-take-all rule."""
    chains: dict[int, PooledChain] = {}
    for seq in model.modules():
        if not isinstance(seq, nn.Sequential):
            continue
        kids = list(seq.children())
        for i, conv in enumerate(kids):
            if not isinstance(rule_of.get(id(conv)), AlphaBeta):
                continue
            if not isinstance(conv, nn.Conv1d | nn.Conv2d) or conv.padding_mode != "zeros":
                continue
            j = i + 1
            if j < len(kids) and id(kids[j]) in folded_bns:
                j += 1
            act = kids[j] if j < len(kids) and kids[j] in pooled_first else None
            if act is not None:
                j += 1
            if j >= len(kids) or type(rule_of.get(id(kids[j]))) is not WinnerTakeAll:
                continue
            if act is not None and pooled_first[act] is not kids[j]:
                continue
            spec = MaxPool.of(kids[j], conv)
            op, pre_pad, _ = LinearOp.of(conv)
            if spec is not None and pre_pad is None:
                chains[id(conv)] = PooledChain(op, spec, kids[j], act)
    return chains


def install_pooled(
    rule: AlphaBeta,
    layer: Layer,
    pool: MaxPool,
    act: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> Callable[..., Any]:
    """The forward of a Conv1d/Conv2d with ``rule`` whose output goes to ``pool`` (through
    folded BatchNorm and the strictly increasing activation ``act``, run after the pooling,
    whose relevance passes through): the convolution, its bias, the pooling and the activation
    in one step."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        return _PooledAlphaBeta.apply(x, rule, layer, pool, act)

    return forward


__all__ = ["CHUNK_BYTES", "MaxPool", "PooledChain", "find_pooled_chains", "install_pooled"]
