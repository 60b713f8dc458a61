"""LRP through attention: the softmax, the two attention matmuls, and ``nn.MultiheadAttention``
written as a composition of small modules (AttnLRP, Achtibat et al., ICML 2024).

Scaled dot-product attention of one head is
``A = softmax(S + M)``, ``S = (q / sqrt(d)) k^T``, ``o = A v`` (``M``: the additive mask,
``-inf`` where a position may not attend). Its relevance is propagated by three rules, each a
class with its own backward (the notation of :mod:`audiolrp.lrp.rules`: ``s_j = sign(z_j)``):

* :class:`SoftmaxAttnLRP` (AttnLRP Prop. 3.1, the Taylor decomposition of the softmax at ``x``
  with its bias): ``R_i = x_i (R_i - p_i sum_j R_j)`` with ``p = softmax(x)``. It is **not
  conservative**: ``sum_i R_i(x) = sum_i x_i R_i - (sum_i x_i p_i) sum_j R_j``, the rest is the
  relevance of the decomposition's bias (measured in ``tests/lrp/test_attention_lrp.py``).
  Masked inputs (``-inf``) get none.
* :class:`BilinearUniform` (AttnLRP Prop. 3.3, Eqs. 8 and 7): the epsilon rule on the terms
  ``a_ji b_il`` of ``z_jl = sum_i a_ji b_il``, each term's relevance split 50/50 between its
  two factors: ``R(a_ji) = a_ji sum_l b_il R_jl / (2 (z_jl + eps s_jl))`` and
  ``R(b_il) = b_il sum_j a_ji R_jl / (2 (z_jl + eps s_jl))``. With ``bias="equal"`` (default)
  the stabiliser's share ``eps s_jl R_jl / (z_jl + eps s_jl)`` is spread equally over the
  ``2 K`` factor slots of ``z_jl``, so the rule conserves exactly; ``bias="absorb"`` drops it
  (lxt's ``matmul``, conservative up to the stabiliser).
* :class:`BilinearConstant` (CP-LRP, Ali et al. 2022; AttnLRP App. A.2.3): one factor (the
  attention weights) is a constant, the product is a linear layer in the other one:
  ``R(b_il) = b_il sum_j a_ji R_jl / (z_jl + eps s_jl)`` (+ the stabiliser's share over ``K``
  with ``bias="equal"``); the constant factor, hence the softmax and the query/key path, get
  none. Conservative.

:class:`ExplicitAttention` is ``nn.MultiheadAttention``'s forward as such modules: three
:class:`Projection` (``nn.Linear`` views of the packed in-projection, so the composite's dense
rule applies), :class:`AttentionScores`, ``nn.Softmax``, :class:`AttentionValues` and the
module's own ``out_proj``. The transformer canonizer (:mod:`audiolrp.lrp.transformer`) swaps it
in during :func:`audiolrp.lrp.explain` and restores the module afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn

from audiolrp.errors import AudioLRPError, UnsupportedModuleError
from audiolrp.lrp.core import register_default_rule
from audiolrp.lrp.rules import Layer, Rule, sign0


# ----------------------------------------------------------------------------- modules
class MatMul(nn.Module):
    """Bilinear product ``z = (scale a) @ b`` (``b^T`` with ``transpose_b``) over the last two
    axes, batched over the leading ones; a module so that a rule can be attached.

    Parameters
    ----------
    scale
        Constant factor of the first operand (``1 / sqrt(d)`` for attention scores).
    transpose_b
        Multiply by ``b^T`` (``q k^T``).
    """

    def __init__(self, scale: float = 1.0, transpose_b: bool = False) -> None:
        super().__init__()
        self.scale = float(scale)
        self.transpose_b = bool(transpose_b)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``(scale a) @ b`` (or ``@ b^T``)."""
        if self.scale != 1.0:
            a = a * self.scale
        return torch.matmul(a, b.transpose(-1, -2) if self.transpose_b else b)

    def extra_repr(self) -> str:  # noqa: D102
        return f"scale={self.scale:g}, transpose_b={self.transpose_b}"


class AttentionScores(MatMul):
    """``S = (q / sqrt(d)) k^T``: queries against keys (its own type, so a composite can give
    it a rule apart from :class:`AttentionValues`)."""

    def __init__(self, head_dim: int) -> None:
        super().__init__(scale=1.0 / math.sqrt(head_dim), transpose_b=True)


class AttentionValues(MatMul):
    """``o = A v``: attention weights times values (CP-LRP treats ``A`` as a constant here)."""

    def __init__(self) -> None:
        super().__init__()


class Projection(nn.Linear):
    """A dense layer whose weight and bias are views of another module's tensors (the q, k, v
    rows of ``nn.MultiheadAttention.in_proj_weight``); the composite's ``nn.Linear`` rule
    applies to it. Holds no parameters of its own."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
        nn.Module.__init__(self)
        self.in_features = int(weight.shape[1])
        self.out_features = int(weight.shape[0])
        # plain attributes: views of the owner's tensors, not registered Parameters
        setattr(self, "weight", weight)  # noqa: B010 (nn.Linear declares them as Parameters)
        setattr(self, "bias", bias)  # noqa: B010


# ----------------------------------------------------------------------------- two-input rules
class _BinaryRuleFunction(torch.autograd.Function):
    """Forward = ``rule.forward2``; backward = ``rule.backward2`` (relevance as gradient)."""

    @staticmethod
    def forward(  # noqa: D102
        ctx: Any, a: torch.Tensor, b: torch.Tensor, rule: BinaryRule, layer: Layer
    ) -> Any:
        z, saved = rule.forward2(layer, a, b)
        ctx.save_for_backward(*saved)
        ctx.rule, ctx.layer = rule, layer
        return z

    @staticmethod
    def backward(ctx: Any, r: torch.Tensor) -> Any:  # noqa: D102
        rule: BinaryRule = ctx.rule
        layer: Layer = ctx.layer
        r_a, r_b = rule.backward2(layer, ctx.saved_tensors, r)
        if rule.recorded:
            bsz = r.shape[0]
            layer.log.add_layer(layer.name, r_a.reshape(bsz, -1).sum(1, keepdim=True)
                                + r_b.reshape(bsz, -1).sum(1, keepdim=True))
        return r_a, r_b, None, None


class BinaryRule(Rule):
    """A rule for a module with two tensor inputs ``z = f(a, b)``: subclasses write
    :meth:`forward2` and :meth:`backward2` (returning the relevance of both inputs)."""

    def install(self, module: nn.Module, layer: Layer) -> Callable[..., Any]:  # noqa: D102
        def forward(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return _BinaryRuleFunction.apply(a, b, self, layer)

        return forward

    def forward2(
        self, layer: Layer, a: torch.Tensor, b: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """The module's output and the tensors :meth:`backward2` receives as ``saved``."""
        z = layer.call(a, b)
        return z, (a, b, z)

    def backward2(
        self, layer: Layer, saved: tuple[torch.Tensor, ...], r: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(R_a, R_b)`` for output relevance ``r``."""
        raise NotImplementedError


def _check_bias(name: str, eps: float, bias: str) -> None:
    if eps < 0:
        raise AudioLRPError(f"{name} eps={eps} is negative; pass eps >= 0")
    if bias not in ("equal", "absorb"):
        raise AudioLRPError(f"{name} bias={bias!r} is unknown; pass 'equal' or 'absorb'")


def _matmul_parts(
    module: MatMul, a: torch.Tensor, b: torch.Tensor, s: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sum_l scale b_il s_jl, sum_j scale a_ji s_jl)`` laid out like ``a`` and ``b``: the
    gradients of ``<s, (scale a) @ b>`` (``b`` stored transposed with ``transpose_b``)."""
    bt = b.transpose(-1, -2) if module.transpose_b else b  # (..., K, L)
    ga = torch.matmul(s, bt.transpose(-1, -2)) * module.scale  # (..., J, K)
    gb = torch.matmul(a.transpose(-1, -2) * module.scale, s)  # (..., K, L)
    if module.transpose_b:
        gb = gb.transpose(-1, -2)
    return ga.sum_to_size(a.shape), gb.sum_to_size(b.shape)


def _matmul_shares(
    module: MatMul, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sum_l c_jl, sum_j c_jl)`` broadcast to every factor slot ``a_ji`` / ``b_il``."""
    ca = c.sum(-1, keepdim=True).expand(*c.shape[:-1], a.shape[-1])  # (..., J, K)
    cb = c.sum(-2, keepdim=True)  # (..., 1, L)
    cb = cb.transpose(-1, -2) if module.transpose_b else cb
    return ca.sum_to_size(a.shape), cb.expand_as(torch.empty_like(b)).sum_to_size(b.shape)


class BilinearUniform(BinaryRule):
    """AttnLRP's matmul rule (Prop. 3.3): epsilon rule on the product terms, each split 50/50
    between its two factors (module docstring).

    ``R(a_ji) = a_ji sum_l b_il R_jl / (2 (z_jl + eps s_jl)) [+ sum_l c_jl / (2 K)]``,
    ``R(b_il) = b_il sum_j a_ji R_jl / (2 (z_jl + eps s_jl)) [+ sum_j c_jl / (2 K)]`` with
    ``c_jl = eps s_jl R_jl / (z_jl + eps s_jl)`` the stabiliser's share (``bias="equal"``).

    Parameters
    ----------
    eps
        Stabiliser.
    bias
        ``"equal"`` (conserves exactly) or ``"absorb"`` (lxt's ``matmul``).
    """

    name = "bilinear_uniform"
    recorded = False  # inside attention the leading axis is batch x heads
    applies_to: ClassVar[tuple[type[nn.Module], ...]] = (MatMul,)

    def __init__(self, eps: float = 1e-6, bias: str = "equal") -> None:
        _check_bias("BilinearUniform", eps, bias)
        self.eps = float(eps)
        self.bias = bias

    def backward2(  # noqa: D102
        self, layer: Layer, saved: tuple[torch.Tensor, ...], r: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        a, b, z = saved
        module = _module(layer, MatMul)
        s_z = sign0(z) * self.eps
        s = r / (z + s_z)  # R_jl / (z_jl + eps s_jl)
        ga, gb = _matmul_parts(module, a, b, s)
        r_a, r_b = a * ga * 0.5, b * gb * 0.5
        if self.bias == "equal":
            k = a.shape[-1]
            ca, cb = _matmul_shares(module, a, b, s_z * s)
            r_a, r_b = r_a + ca / (2 * k), r_b + cb / (2 * k)
        return r_a, r_b


class BilinearConstant(BinaryRule):
    """CP-LRP: one factor of the product is a constant, the other gets all relevance by the
    epsilon rule of the linear layer it then is (module docstring).

    With ``constant="a"`` (the attention weights of :class:`AttentionValues`):
    ``R(b_il) = b_il sum_j a_ji R_jl / (z_jl + eps s_jl) [+ sum_j c_jl / K]``, ``R(a) = 0``.

    Parameters
    ----------
    constant
        ``"a"`` or ``"b"``: the factor treated as a constant.
    eps, bias
        As :class:`BilinearUniform`.
    """

    name = "bilinear_constant"
    recorded = False  # inside attention the leading axis is batch x heads
    applies_to: ClassVar[tuple[type[nn.Module], ...]] = (MatMul,)

    def __init__(self, constant: str = "a", eps: float = 1e-6, bias: str = "equal") -> None:
        if constant not in ("a", "b"):
            raise AudioLRPError(f"BilinearConstant constant={constant!r}; pass 'a' or 'b'")
        _check_bias("BilinearConstant", eps, bias)
        self.constant = constant
        self.eps = float(eps)
        self.bias = bias

    def backward2(  # noqa: D102
        self, layer: Layer, saved: tuple[torch.Tensor, ...], r: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        a, b, z = saved
        module = _module(layer, MatMul)
        s_z = sign0(z) * self.eps
        s = r / (z + s_z)
        ga, gb = _matmul_parts(module, a, b, s)
        r_a, r_b = a * ga, b * gb
        if self.bias == "equal":
            ca, cb = _matmul_shares(module, a, b, s_z * s)
            k = a.shape[-1]
            r_a, r_b = r_a + ca / k, r_b + cb / k
        if self.constant == "a":
            return torch.zeros_like(a), r_b
        return r_a, torch.zeros_like(b)


def _module(layer: Layer, kind: type[nn.Module]) -> Any:
    """The module a rule was installed on (its bound forward's owner)."""
    module = getattr(layer.call, "__self__", None)
    if not isinstance(module, kind):  # pragma: no cover - install() guarantees it
        raise UnsupportedModuleError(f"layer {layer.name!r} is not a {kind.__name__}")
    return module


# ----------------------------------------------------------------------------- softmax
class SoftmaxAttnLRP(Rule):
    """AttnLRP's softmax rule (Prop. 3.1): ``R_i = x_i (R_i - p_i sum_j R_j)`` along the
    softmax axis, ``p = softmax(x)``; masked inputs (``x_i = -inf``) get none.

    Not conservative: ``sum_i R_i(x) = sum_i x_i R_i - (sum_i x_i p_i) sum_j R_j``; the rest of
    ``sum_j R_j`` is the relevance of the Taylor decomposition's bias, which
    :meth:`~audiolrp.lrp.Explanation.conservation_error` then shows. Not recorded in
    ``layer_relevance`` (inside attention its leading axis is batch x heads).
    """

    name = "softmax_attnlrp"
    recorded = False
    applies_to: ClassVar[tuple[type[nn.Module], ...]] = (nn.Softmax,)

    def install(  # noqa: D102
        self, module: nn.Module, layer: Layer
    ) -> Callable[..., Any] | None:
        if getattr(module, "dim", None) is None:
            raise UnsupportedModuleError(
                f"softmax {layer.name!r} has dim=None; construct it with an explicit dim "
                "(nn.Softmax(dim=-1))"
            )
        return super().install(module, layer)

    def forward(  # noqa: D102
        self, layer: Layer, x: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor | None, ...]]:
        p = layer.call(x)
        return p, (x, p)

    def backward(  # noqa: D102
        self, layer: Layer, saved: tuple[torch.Tensor | None, ...], r: torch.Tensor
    ) -> torch.Tensor:
        x, p = saved
        assert x is not None and p is not None
        dim = _module(layer, nn.Softmax).dim
        x = torch.where(torch.isneginf(x), 0.0, x)  # masked positions: no relevance
        return x * (r - p * r.sum(dim, keepdim=True))


# ----------------------------------------------------------------------------- attention
def _additive_mask(
    mask: torch.Tensor | None, like: torch.Tensor, name: str
) -> torch.Tensor | None:
    """A boolean mask (True: may not attend) as ``0 / -inf``; a float mask as it is."""
    if mask is None:
        return None
    if mask.dtype == torch.bool:
        return torch.zeros_like(mask, dtype=like.dtype).masked_fill(mask, float("-inf"))
    if not mask.is_floating_point():
        raise UnsupportedModuleError(f"{name} must be bool or float, got {mask.dtype}")
    return mask.to(like.dtype)


class ExplicitAttention(nn.Module):
    """``nn.MultiheadAttention``'s forward (eval mode) as a composition of small modules, for
    LRP; numerically the same function (to rounding).

    Parameters
    ----------
    mha
        The attention module; its tensors are used as views, nothing is copied. Not supported:
        ``add_bias_kv``, ``add_zero_attn``.
    """

    def __init__(self, mha: nn.MultiheadAttention) -> None:
        super().__init__()
        if mha.bias_k is not None or mha.bias_v is not None or mha.add_zero_attn:
            raise UnsupportedModuleError(
                "nn.MultiheadAttention with add_bias_kv or add_zero_attn has no LRP rule; build "
                "it without them"
            )
        e = mha.embed_dim
        if mha._qkv_same_embed_dim:
            w = mha.in_proj_weight
            wq, wk, wv = w[:e], w[e : 2 * e], w[2 * e :]
        else:
            wq, wk, wv = mha.q_proj_weight, mha.k_proj_weight, mha.v_proj_weight
        b = mha.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e : 2 * e], b[2 * e :])
        self.q_proj = Projection(wq, bq)
        self.k_proj = Projection(wk, bk)
        self.v_proj = Projection(wv, bv)
        self.scores = AttentionScores(mha.head_dim)
        self.softmax = nn.Softmax(dim=-1)
        self.values = AttentionValues()
        self._owner = (mha,)  # a tuple: not registered as a submodule (no cycle)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        key_padding_mask: torch.Tensor | None = None,
        need_weights: bool = True,
        attn_mask: torch.Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """As ``nn.MultiheadAttention.forward`` (same arguments and returns)."""
        mha = self._owner[0]
        unbatched = query.dim() == 2
        if unbatched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif mha.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        n_l, bsz, e = query.shape
        n_s, heads = key.shape[0], mha.num_heads
        hd = e // heads
        q = self.q_proj(query).reshape(n_l, bsz * heads, hd).transpose(0, 1)
        k = self.k_proj(key).reshape(n_s, bsz * heads, hd).transpose(0, 1)
        v = self.v_proj(value).reshape(n_s, bsz * heads, hd).transpose(0, 1)
        mask = self._mask(attn_mask, key_padding_mask, is_causal, q, bsz, n_l, n_s)
        scores = self.scores(q, k)  # (B H, L, S)
        if mask is not None:
            scores = scores + mask  # a constant: it takes no relevance
        weights = self.softmax(scores)
        out = self.values(weights, v).transpose(0, 1).reshape(n_l, bsz, e)
        out = mha.out_proj(out)
        if unbatched:
            out = out.squeeze(1)
        elif mha.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        w = weights.detach().view(bsz, heads, n_l, n_s)
        w = w.mean(1) if average_attn_weights else w
        return out, (w.squeeze(0) if unbatched else w)

    @staticmethod
    def _mask(
        attn_mask: torch.Tensor | None,
        key_padding_mask: torch.Tensor | None,
        is_causal: bool,
        q: torch.Tensor,
        bsz: int,
        n_l: int,
        n_s: int,
    ) -> torch.Tensor | None:
        """The additive mask ``(B H | 1, L, S)`` of the scores (None: no mask)."""
        mask = _additive_mask(attn_mask, q, "attn_mask")
        if mask is None and is_causal:
            causal = torch.ones(n_l, n_s, dtype=torch.bool, device=q.device).triu(1)
            mask = _additive_mask(causal, q, "attn_mask")
        if mask is not None and mask.dim() == 2:
            mask = mask.unsqueeze(0)
        kpm = _additive_mask(key_padding_mask, q, "key_padding_mask")
        if kpm is not None:
            heads = q.shape[0] // bsz
            kpm = kpm.view(bsz, 1, 1, n_s).expand(bsz, heads, 1, n_s).reshape(-1, 1, n_s)
            mask = kpm if mask is None else mask + kpm
        return mask


#: Default rules (every composite that does not name these types): AttnLRP.
register_default_rule(MatMul, BilinearUniform())
register_default_rule(nn.Softmax, SoftmaxAttnLRP())

__all__ = [
    "AttentionScores",
    "AttentionValues",
    "BilinearConstant",
    "BilinearUniform",
    "BinaryRule",
    "ExplicitAttention",
    "MatMul",
    "Projection",
    "SoftmaxAttnLRP",
]
