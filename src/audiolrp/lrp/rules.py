"""LRP rules as modified backward passes ("relevance = gradient" formulation).

Every rule maps the relevance ``R_j`` of a layer's outputs (handed to the backward pass as the
gradient) to the relevance ``R_i`` of its inputs (returned as the gradient of the input). Layers
with weights are written as a linear operator ``z = W x + b`` (dense layer or convolution, see
:class:`LinearOp`), so one implementation covers ``Linear``, ``Conv1d`` and ``Conv2d``.

Notation (paper, Eqs. 1-2): inputs ``x_i``, weights ``w_ij``, bias ``b_j``, pre-activation
``z_j = b_j + sum_i x_i w_ij``, ``s_j = sign(z_j)`` with ``sign(0) = +1``, ``N_j`` the number of
(non-padding) inputs connected to unit ``j``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch.nn.grad import conv1d_input, conv2d_input

from audiolrp.errors import AudioLRPError

if TYPE_CHECKING:  # pragma: no cover
    from audiolrp.lrp.core import LRPState


def sign0(z: torch.Tensor) -> torch.Tensor:
    """``sign`` with ``sign(0) = +1`` (so stabilised denominators are never zero)."""
    return torch.where(z >= 0, 1.0, -1.0).to(z.dtype)


# ----------------------------------------------------------------------------- linear operator
@dataclass(frozen=True)
class LinearOp:
    """A dense layer or a zero-padded convolution seen as the linear map ``x -> W x``.

    Parameters
    ----------
    kind
        ``"linear"``, ``"conv1d"`` or ``"conv2d"``.
    stride, padding, dilation, groups
        Convolution arguments (ignored for ``"linear"``); ``padding`` is a tuple of ints.
    """

    kind: str
    stride: tuple[int, ...] = (1,)
    padding: tuple[int, ...] = (0,)
    dilation: tuple[int, ...] = (1,)
    groups: int = 1

    def forward(
        self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> torch.Tensor:
        """``z = W x + b``."""
        if self.kind == "linear":
            return F.linear(x, weight, bias)
        conv = F.conv1d if self.kind == "conv1d" else F.conv2d
        return conv(x, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def transpose(
        self, g: torch.Tensor, weight: torch.Tensor, x_shape: torch.Size
    ) -> torch.Tensor:
        """``W^T g``: the gradient of ``W x`` with respect to ``x`` for upstream ``g``."""
        if self.kind == "linear":
            return g @ weight
        fn = conv1d_input if self.kind == "conv1d" else conv2d_input
        return fn(x_shape, weight, g, self.stride, self.padding, self.dilation, self.groups)

    def spread(self, u: torch.Tensor, weight: torch.Tensor, x_shape: torch.Size) -> torch.Tensor:
        """``sum_j [i connected to j] u_j``: ``W^T u`` with all weights set to one."""
        if self.kind == "linear":
            return u.sum(-1, keepdim=True).expand(x_shape)
        return self.transpose(u, torch.ones_like(weight), x_shape)

    def fan_in(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor | float:
        """``N_j``: the number of real (non-padding) inputs of each output unit."""
        if self.kind == "linear":
            return float(x.shape[-1])
        ones = torch.ones((1, *x.shape[1:]), dtype=x.dtype, device=x.device)
        # a unit that sees only padding has nowhere to send its share: N = 1 avoids 0/0
        return self.forward(ones, torch.ones_like(weight), None).clamp(min=1.0)


# ----------------------------------------------------------------------------- rule classes
class Rule:
    """Base class of all rules; ``name`` is used in documentation and reprs."""

    name = "rule"

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class LinearRule(Rule):
    """A rule for a layer ``z = W x + b`` (Linear, Conv1d, Conv2d)."""

    #: whether ``backward`` uses the layer output ``z`` (else it receives None)
    needs_output = True

    def backward(
        self,
        op: LinearOp,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        z: torch.Tensor,
        r: torch.Tensor,
        state: LRPState | None,
    ) -> torch.Tensor:
        """Return the input relevance ``R_i`` for output relevance ``r = R_j``."""
        raise NotImplementedError


class Epsilon(LinearRule):
    """LRP-epsilon (paper Eq. 2 with stabiliser ``eps * s_j``).

    ``R_i = sum_j [x_i w_ij + (b_j + eps s_j) / N_j] / (z_j + eps s_j) * R_j``
    with ``bias="equal"`` (default; the layer conserves relevance exactly), or
    ``R_i = sum_j x_i w_ij / (z_j + eps s_j) * R_j`` with ``bias="absorb"`` (bias and
    stabiliser keep their share).

    Parameters
    ----------
    eps
        Stabiliser (paper: 0.01).
    bias
        ``"equal"`` or ``"absorb"``.
    """

    name = "epsilon"

    def __init__(self, eps: float = 0.01, bias: str = "equal") -> None:
        if eps < 0:
            raise AudioLRPError(f"Epsilon eps={eps} is negative; pass eps >= 0")
        if bias not in ("equal", "absorb"):
            raise AudioLRPError(f"Epsilon bias={bias!r} is unknown; pass 'equal' or 'absorb'")
        self.eps = float(eps)
        self.bias = bias

    def backward(  # noqa: D102
        self,
        op: LinearOp,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        z: torch.Tensor,
        r: torch.Tensor,
        state: LRPState | None,
    ) -> torch.Tensor:
        sgn = sign0(z)
        s = r / (z + self.eps * sgn)
        r_in = x * op.transpose(s, weight, x.shape)
        if self.bias == "equal":
            c = self.eps * sgn
            if bias is not None:
                c = c + _broadcast_bias(op, bias, z)
            r_in = r_in + op.spread(c * s / op.fan_in(x, weight), weight, x.shape)
        return r_in


class AlphaBeta(LinearRule):
    """LRP-alpha-beta on signed contributions, bias excluded from the denominators.

    ``R_i = sum_j [alpha (x_i w_ij)^+ / z_j^+ - beta (x_i w_ij)^- / z_j^-] R_j`` with
    ``z_j^+ = sum_i (x_i w_ij)^+`` and ``z_j^- = sum_i (x_i w_ij)^-``. ``(x w)^+`` collects
    positive inputs with positive weights *and* negative inputs with negative weights, so the
    rule is correct for negative inputs (normalised spectra, ELU outputs). A unit with
    relevance but ``z_j^+ = 0`` (resp. ``z_j^- = 0``) cannot pass its share on; such units are
    counted in ``Explanation.n_no_positive_units`` and their relevance in
    ``Explanation.dropped_relevance``.
    """

    name = "alpha_beta"
    needs_output = False

    def __init__(self, alpha: float = 1.0, beta: float = 0.0) -> None:
        if alpha - beta != 1 or beta < 0:
            raise AudioLRPError(
                f"AlphaBeta(alpha={alpha}, beta={beta}) violates alpha - beta = 1, beta >= 0; "
                "pass e.g. AlphaBeta(1, 0) or AlphaBeta(2, 1)"
            )
        self.alpha = float(alpha)
        self.beta = float(beta)

    @staticmethod
    def _signs(
        op: LinearOp, x: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:
        """``(buffer, x^+, x^-)``; for ungrouped layers ``x^+, x^-`` are the two halves of one
        buffer (channel axis for convs, feature axis for dense layers), so the fused
        convolution needs no concatenation; otherwise the buffer is None."""
        if op.groups != 1:
            return None, x.clamp(min=0), x.clamp(max=0)
        dim = x.dim() - 1 if op.kind == "linear" else 1
        shape = list(x.shape)
        shape[dim] *= 2
        buf = x.new_empty(shape)
        xp, xn = buf.split(x.shape[dim], dim)
        torch.clamp(x, min=0, out=xp)
        torch.clamp(x, max=0, out=xn)
        return buf, xp, xn

    @staticmethod
    def _fwd(
        op: LinearOp,
        buf: torch.Tensor | None,
        xp: torch.Tensor,
        xn: torch.Tensor,
        wa: torch.Tensor,
        wb: torch.Tensor,
    ) -> torch.Tensor:
        """``W_a x^+ + W_b x^-``."""
        if buf is not None:
            return op.forward(buf, torch.cat([wa, wb], 1), None)
        return op.forward(xp, wa, None) + op.forward(xn, wb, None)

    @staticmethod
    def _bwd(
        op: LinearOp,
        buf: torch.Tensor | None,
        x_shape: torch.Size,
        wa: torch.Tensor,
        wb: torch.Tensor,
        s: torch.Tensor,
    ) -> tuple[torch.Tensor, ...]:
        """``(W_a^T s, W_b^T s)``."""
        if buf is not None:
            dim = len(x_shape) - 1 if op.kind == "linear" else 1
            g = op.transpose(s, torch.cat([wa, wb], 1), buf.shape)
            return g.split(x_shape[dim], dim)
        return op.transpose(s, wa, x_shape), op.transpose(s, wb, x_shape)

    def backward(  # noqa: D102
        self,
        op: LinearOp,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        z: torch.Tensor,
        r: torch.Tensor,
        state: LRPState | None,
    ) -> torch.Tensor:
        buf, xp, xn = self._signs(op, x)
        wp, wn = weight.clamp(min=0), weight.clamp(max=0)
        zp = self._fwd(op, buf, xp, xn, wp, wn)
        sp = self._safe_ratio(r, zp, zp > 0, self.alpha, state)
        del zp
        gp, gn = self._bwd(op, buf, x.shape, wp, wn, sp)
        del sp
        r_in = (xp * gp).addcmul_(xn, gn)
        if self.alpha != 1.0:
            r_in = r_in * self.alpha
        if self.beta:
            zn = self._fwd(op, buf, xp, xn, wn, wp)
            sn = self._safe_ratio(r, zn, zn < 0, -self.beta, state)
            hp, hn = self._bwd(op, buf, x.shape, wn, wp, sn)
            r_in = r_in - self.beta * (xp * hp).addcmul_(xn, hn)
        return r_in

    @staticmethod
    def _safe_ratio(
        r: torch.Tensor, den: torch.Tensor, ok: torch.Tensor, weight: float, state: LRPState | None
    ) -> torch.Tensor:
        """``r / den`` where ``ok``, else 0; units with relevance but ``not ok`` are reported."""
        if bool(ok.all()):
            return torch.div(r, den, out=den)  # den is a temporary: reuse its memory
        lost = torch.where(ok, 0.0, r)
        if state is not None:
            state.add_dead(lost != 0, lost * weight)
        return r / torch.where(ok, den, torch.inf)


class ZPlus(AlphaBeta):
    """LRP-alpha1-beta0 ("plus" rule): only positive contributions ``(x_i w_ij)^+``."""

    name = "zplus"

    def __init__(self) -> None:
        super().__init__(1.0, 0.0)


class Flat(LinearRule):
    """Flat rule: ``R_i = sum_j R_j / N_j`` over the real inputs connected to unit ``j``."""

    name = "flat"
    needs_output = False

    def backward(  # noqa: D102
        self,
        op: LinearOp,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        z: torch.Tensor,
        r: torch.Tensor,
        state: LRPState | None,
    ) -> torch.Tensor:
        return op.spread(r / op.fan_in(x, weight), weight, x.shape)


class PassThrough(Rule):
    """Identity: relevance passes unchanged (ELU, ReLU, Tanh, normalisation, unfolded BN)."""

    name = "pass"


class WinnerTakeAll(Rule):
    """Max pooling: all relevance of a pooled unit goes to the input that won the max."""

    name = "winner_take_all"


class ZRule(Rule):
    """Proportional rule for average pooling: ``R_i = sum_j x_i a_ij / z_j R_j`` (tiny eps)."""

    name = "z"

    def __init__(self, eps: float = 1e-12) -> None:
        self.eps = float(eps)


class RecurrentEpsilon(Rule):
    """LSTM/GRU rule of Arras et al. (2017) with per-step injection (see ``lstm.py``).

    Parameters
    ----------
    eps
        Stabiliser of the eps-rule used for the memory-cell split and the candidate's
        pre-activation (paper: 0.01); bias and stabiliser are redistributed equally.
    """

    name = "recurrent_epsilon"

    def __init__(self, eps: float = 0.01) -> None:
        if eps < 0:
            raise AudioLRPError(f"RecurrentEpsilon eps={eps} is negative; pass eps >= 0")
        self.eps = float(eps)


def _broadcast_bias(op: LinearOp, bias: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    if op.kind == "linear":
        return bias
    return bias.view(1, -1, *([1] * (z.dim() - 2)))


__all__ = [
    "AlphaBeta",
    "Epsilon",
    "Flat",
    "LinearOp",
    "LinearRule",
    "PassThrough",
    "RecurrentEpsilon",
    "Rule",
    "WinnerTakeAll",
    "ZPlus",
    "ZRule",
    "sign0",
]
