"""LRP rules: one class per rule, each carrying its own forward and backward.

"Relevance as gradient": during :func:`audiolrp.lrp.explain` a module's ``forward`` is replaced
by its rule's forward, and the autograd backward of that forward *is* the rule: it receives the
relevance ``R_j`` of the module's outputs (as the gradient) and returns the relevance ``R_i`` of
its inputs (as the gradient of the input).

A rule is a subclass of :class:`Rule` with

* ``applies_to``: the module types it may be given to (the engine refuses other modules);
* ``forward(layer, x) -> (z, saved)``: the module's output and the tensors ``backward`` needs;
* ``backward(layer, saved, r) -> r_in``: the rule's equation.

Adding a rule means adding one such class (and giving it to modules in a
:class:`~audiolrp.lrp.composites.Composite`); the engine (``core.py``) has no list of rules.
The recurrent rule (:class:`~audiolrp.lrp.lstm.RecurrentEpsilon`) lives in ``lstm.py`` with
its unrolled forward and backward.
Rules for dense layers and convolutions subclass :class:`LinearRule` and write only
``backward``: those layers are seen as one linear operator ``z = W x + b`` (:class:`LinearOp`),
so one equation covers ``Linear``, ``Conv1d`` and ``Conv2d``.

Notation (paper, Eqs. 1-2): inputs ``x_i``, weights ``w_ij``, bias ``b_j``, pre-activation
``z_j = b_j + sum_i x_i w_ij``, ``s_j = sign(z_j)`` with ``sign(0) = +1``, ``N_j`` the number of
(non-padding) inputs connected to unit ``j``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.grad import conv1d_input, conv2d_input

from audiolrp.errors import AudioLRPError, UnsupportedModuleError

if TYPE_CHECKING:  # pragma: no cover
    from audiolrp.lrp.core import LRPState

#: Module types of the layer rules (dense/conv, pooling, recurrent).
LINEAR_MODULES: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d)
AVG_POOLS: tuple[type[nn.Module], ...] = (
    nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
)
RNNS: tuple[type[nn.Module], ...] = (nn.LSTM, nn.GRU)


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

    @staticmethod
    def of(module: nn.Module) -> tuple[LinearOp, tuple[int, ...] | None, str]:
        """The operator of a ``Linear``/``Conv1d``/``Conv2d`` module, plus an explicit
        pre-padding (``None`` if the operator pads with zeros itself) and its ``F.pad`` mode."""
        if isinstance(module, nn.Linear):
            return LinearOp("linear"), None, "constant"
        if not isinstance(module, nn.Conv1d | nn.Conv2d):
            raise UnsupportedModuleError(
                f"{type(module).__name__} is not a Linear/Conv1d/Conv2d layer; give it a rule "
                "made for its type"
            )
        kind = "conv1d" if isinstance(module, nn.Conv1d) else "conv2d"
        nd = 1 if kind == "conv1d" else 2
        pre_pad = None
        mode = "constant" if module.padding_mode == "zeros" else module.padding_mode
        padding: tuple[int, ...]
        if isinstance(module.padding, str):
            if module.padding == "valid":
                padding = (0,) * nd
            else:
                totals = [
                    d * (k - 1) for d, k in zip(module.dilation, module.kernel_size, strict=True)
                ]
                if all(t % 2 == 0 for t in totals) and mode == "constant":
                    padding = tuple(t // 2 for t in totals)
                else:
                    pre_pad, padding = tuple(module._reversed_padding_repeated_twice), (0,) * nd
        else:
            padding = tuple(module.padding)
            if mode != "constant" and any(padding):
                pre_pad, padding = tuple(module._reversed_padding_repeated_twice), (0,) * nd
        op = LinearOp(kind, tuple(module.stride), padding, tuple(module.dilation), module.groups)
        return op, pre_pad, mode

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

    def bias_view(self, bias: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``b_j`` shaped to broadcast against the output ``z``."""
        if self.kind == "linear":
            return bias
        return bias.view(1, -1, *([1] * (z.dim() - 2)))


# ----------------------------------------------------------------------------- the rule API
@dataclass(frozen=True)
class Layer:
    """What a rule knows about the module it is installed on (built by the engine).

    Attributes
    ----------
    name
        Module name in ``model.named_modules()`` (``""`` for the root).
    log
        Book-keeping of the explain() call: per-layer sums, dead units, initial-state leaves
        (:class:`audiolrp.lrp.core.LRPState`).
    call
        The module's own forward (before the rule replaced it).
    weight, bias
        Detached parameters of a dense/conv layer, with a following BatchNorm folded in by the
        canonizer; None for other modules.
    op
        The layer as a :class:`LinearOp` (set by :meth:`LinearRule.install`).
    """

    name: str
    log: LRPState
    call: Callable[..., Any]
    weight: torch.Tensor | None = None
    bias: torch.Tensor | None = None
    op: LinearOp | None = None


class _RuleFunction(torch.autograd.Function):
    """Forward = ``rule.forward``; backward = ``rule.backward`` (relevance as gradient)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, rule: Rule, layer: Layer) -> Any:  # noqa: D102
        z, saved = rule.forward(layer, x)
        ctx.save_for_backward(*saved)
        ctx.rule, ctx.layer = rule, layer
        ctx.contiguous_input = x.is_contiguous()
        return z

    @staticmethod
    def backward(ctx: Any, r: torch.Tensor) -> Any:  # noqa: D102
        rule: Rule = ctx.rule
        layer: Layer = ctx.layer
        r_in = rule.backward(layer, ctx.saved_tensors, r)
        if ctx.contiguous_input and not r_in.is_contiguous():
            # relevance in the input's layout (a rule may compute in channels-last)
            r_in = r_in.contiguous()
        if rule.recorded:
            layer.log.add_layer(layer.name, r_in)
        return r_in, None, None


class Rule:
    """Base class of all rules.

    Subclasses set ``applies_to`` and implement :meth:`forward` and :meth:`backward`; rules
    that need more than one input/output tensor (recurrent layers) or none at all
    (:class:`WinnerTakeAll`) override :meth:`install` instead.
    """

    name = "rule"
    #: module types the rule may be given to; empty: any module
    applies_to: ClassVar[tuple[type[nn.Module], ...]] = ()
    #: whether the backward records the relevance sum at the module's input (per-layer sums)
    recorded: ClassVar[bool] = True

    def fits(self, module: nn.Module) -> bool:
        """Whether this rule may be applied to ``module``."""
        return self.fits_type(type(module))

    def fits_type(self, module_type: type[nn.Module]) -> bool:
        """Whether this rule may be applied to modules of ``module_type``."""
        return not self.applies_to or issubclass(module_type, self.applies_to)

    def install(self, module: nn.Module, layer: Layer) -> Callable[..., Any] | None:
        """The forward that replaces ``module.forward`` during explain() (None: keep it, the
        module's autograd gradient is the rule)."""

        def forward(x: torch.Tensor) -> torch.Tensor:
            return _RuleFunction.apply(x, self, layer)

        return forward

    def forward(
        self, layer: Layer, x: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor | None, ...]]:
        """The module's output ``z`` and the tensors :meth:`backward` receives as ``saved``."""
        raise NotImplementedError

    def backward(
        self, layer: Layer, saved: tuple[torch.Tensor | None, ...], r: torch.Tensor
    ) -> torch.Tensor:
        """Input relevance ``R_i`` for output relevance ``r = R_j``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class LinearRule(Rule):
    """A rule for a layer ``z = W x + b`` (Linear, Conv1d, Conv2d): subclasses write
    ``backward``; ``layer.op``, ``layer.weight`` and ``layer.bias`` describe the layer and
    ``saved = (x, z)`` (``z`` is None unless ``needs_output``)."""

    applies_to = LINEAR_MODULES
    #: whether ``backward`` uses the layer output ``z`` (kept in memory only then)
    needs_output: ClassVar[bool] = True

    def install(self, module: nn.Module, layer: Layer) -> Callable[..., Any]:  # noqa: D102
        op, pre_pad, mode = LinearOp.of(module)
        layer = replace(layer, op=op)

        def forward(x: torch.Tensor) -> torch.Tensor:
            if pre_pad is not None:
                x = F.pad(x, pre_pad, mode=mode)
            return _RuleFunction.apply(x, self, layer)

        return forward

    def forward(  # noqa: D102
        self, layer: Layer, x: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor | None, ...]]:
        op, weight = _linear(layer)
        z = op.forward(x, weight, layer.bias)
        return z, (x, z if self.needs_output else None)


def _linear(layer: Layer) -> tuple[LinearOp, torch.Tensor]:
    if layer.op is None or layer.weight is None:  # pragma: no cover - set by install
        raise AudioLRPError(f"layer {layer.name!r} was not installed as a linear layer")
    return layer.op, layer.weight


# ----------------------------------------------------------------------------- linear rules
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
        self, layer: Layer, saved: tuple[torch.Tensor | None, ...], r: torch.Tensor
    ) -> torch.Tensor:
        x, z = saved
        assert x is not None and z is not None
        op, w = _linear(layer)
        s_z = sign0(z)
        s = r / (z + self.eps * s_z)  # R_j / (z_j + eps s_j)
        r_in = x * op.transpose(s, w, x.shape)  # sum_j x_i w_ij s_j
        if self.bias == "equal":  # + sum_j (b_j + eps s_j) / N_j s_j
            c = self.eps * s_z
            if layer.bias is not None:
                c = c + op.bias_view(layer.bias, z)
            r_in = r_in + op.spread(c * s / op.fan_in(x, w), w, x.shape)
        return r_in


class AlphaBeta(LinearRule):
    """LRP-alpha-beta on signed contributions, bias excluded from the denominators.

    ``R_i = sum_j [alpha (x_i w_ij)^+ / z_j^+ - beta (x_i w_ij)^- / z_j^-] R_j`` with
    ``z_j^+ = sum_i (x_i w_ij)^+`` and ``z_j^- = sum_i (x_i w_ij)^-``. ``(x w)^+`` collects
    positive inputs with positive weights *and* negative inputs with negative weights
    (``(x w)^+ = x^+ w^+ + x^- w^-``), so the rule is correct for negative inputs (normalised
    spectra, ELU outputs). A unit with relevance but ``z_j^+ = 0`` (resp. ``z_j^- = 0``) cannot
    pass its share on; such units are counted in ``Explanation.n_no_positive_units`` and their
    relevance in ``Explanation.dropped_relevance``.

    **How it is computed.** With ``(x w)^+- = (x w +- |x| |w|) / 2`` the rule needs only the
    layer's own sum ``a_j = sum_i x_i w_ij`` and ``q_j = sum_i |x_i| |w_ij|`` (one more pass
    of the layer, on ``|x|`` with ``|W|``):

    * ``z^+ = (a + q) / 2`` and ``z^- = (a - q) / 2``;
    * ``R_i = x_i / 2 (W^T u)_i + |x_i| / 2 (|W|^T v)_i`` with ``s^+- = R / z^+-``,
      ``u = alpha s^+ - beta s^-`` and ``v = alpha s^+ + beta s^-``.

    This is exact algebra and costs one pass of the layer less than splitting ``x`` and ``W``
    by sign (:meth:`split_backward`), whose ``z^+`` needs a layer with twice the inputs. It
    loses precision where ``z_j^+`` is tiny against ``q_j`` (cancellation): if a unit that
    carries relevance has ``z_j^+ <= tol q_j`` with ``q_j > 0`` (or, with ``beta > 0``,
    ``-z_j^- <= tol q_j``), the layer is computed in the split form instead
    (``tol`` = :attr:`conditioning`); this includes dead units, whose ``z^+ = 0`` only the
    split form resolves exactly. On the trained CRNNs ``z^+ / q`` stays above 0.02 for
    every unit, so the split form is the rare exception.
    """

    name = "alpha_beta"
    needs_output = False
    #: ``tol`` of the class docstring: float32 keeps about 1e-4 relative precision of ``z^+``
    #: at ``z^+ = tol q``
    conditioning: ClassVar[float] = 1e-2

    def __init__(self, alpha: float = 1.0, beta: float = 0.0) -> None:
        if alpha - beta != 1 or beta < 0:
            raise AudioLRPError(
                f"AlphaBeta(alpha={alpha}, beta={beta}) violates alpha - beta = 1, beta >= 0; "
                "pass e.g. AlphaBeta(1, 0) or AlphaBeta(2, 1)"
            )
        self.alpha = float(alpha)
        self.beta = float(beta)

    def forward(  # noqa: D102
        self, layer: Layer, x: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor | None, ...]]:
        op, w = _linear(layer)
        fmt = _memory_format(op, x, w)
        x = x.contiguous(memory_format=fmt)
        a = op.forward(x, w.contiguous(memory_format=fmt), None)  # sum_i x_i w_ij
        q = op.forward(x.abs(), w.abs().contiguous(memory_format=fmt), None)  # sum |x_i w_ij|
        # a new tensor even without bias: ``a`` is saved and the next module may work in place
        z = a + op.bias_view(layer.bias, a) if layer.bias is not None else a.clone()
        return z, (x, a, q)

    def backward(  # noqa: D102
        self, layer: Layer, saved: tuple[torch.Tensor | None, ...], r: torch.Tensor
    ) -> torch.Tensor:
        x, a, q = saved
        assert x is not None and a is not None and q is not None
        op, w = _linear(layer)
        fmt = _memory_format(op, x, w)
        r = r.contiguous(memory_format=fmt)
        zp = torch.add(a, q).mul_(0.5)  # z^+
        zn = torch.sub(a, q).mul_(0.5) if self.beta else None  # z^-
        tol = self.conditioning
        if not (_well_conditioned(zp, q, r, tol)
                and (zn is None or _well_conditioned(-zn, q, r, tol))):
            del zp, zn
            return self.split_backward(layer, x, r)
        sp = _safe_ratio(r, zp, 1.0, self.alpha, layer.log)  # s^+ = R_j / z_j^+
        if zn is None:  # u = v = alpha s^+
            u = sp.mul_(self.alpha) if self.alpha != 1.0 else sp
            g, h = _bwd(op, op.groups == 1, x.shape, w, w.abs(), u, fmt)  # W^T u, |W|^T u
        else:
            sn = _safe_ratio(r, zn, -1.0, -self.beta, layer.log)  # s^- = R_j / z_j^-
            u = torch.mul(sp, self.alpha).sub_(sn, alpha=self.beta)
            v = torch.mul(sp, self.alpha).add_(sn, alpha=self.beta)
            del sp, sn
            g = op.transpose(u, w.contiguous(memory_format=fmt), x.shape)
            h = op.transpose(v, w.abs().contiguous(memory_format=fmt), x.shape)
        return (x * g).addcmul_(x.abs(), h).mul_(0.5)

    def split_backward(self, layer: Layer, x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        """The rule with ``x`` and ``W`` split by sign: ``z^+ = W^+ x^+ + W^- x^-``,
        ``R_i = alpha [x_i^+ (W^{+T} s^+)_i + x_i^- (W^{-T} s^+)_i] - beta [...]`` (exact to
        rounding; used where the identity of the class docstring would cancel)."""
        op, w = _linear(layer)
        log = layer.log
        fmt = _memory_format(op, x, w)
        buf, xp, xn = _signs(op, x, fmt)  # x^+, x^-
        wp, wn = w.clamp(min=0), w.clamp(max=0)  # w^+, w^-
        r = r.contiguous(memory_format=fmt)
        pair = buf is not None
        zp = _fwd(op, buf, xp, xn, wp, wn, fmt)  # z^+ = W^+ x^+ + W^- x^-
        sp = _safe_ratio(r, zp, 1.0, self.alpha, log)  # R_j / z_j^+
        del zp
        gp, gn = _bwd(op, pair, x.shape, wp, wn, sp, fmt)  # W^+T s, W^-T s
        del sp
        r_in = (xp * gp).addcmul_(xn, gn)  # sum_j (x_i w_ij)^+ / z_j^+ R_j
        if self.alpha != 1.0:
            r_in = r_in * self.alpha
        if self.beta:
            zn = _fwd(op, buf, xp, xn, wn, wp, fmt)  # z^- = W^- x^+ + W^+ x^-
            sn = _safe_ratio(r, zn, -1.0, -self.beta, log)
            hp, hn = _bwd(op, pair, x.shape, wn, wp, sn, fmt)
            r_in = r_in - self.beta * (xp * hp).addcmul_(xn, hn)
        return r_in


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
        self, layer: Layer, saved: tuple[torch.Tensor | None, ...], r: torch.Tensor
    ) -> torch.Tensor:
        x = saved[0]
        assert x is not None
        op, w = _linear(layer)
        return op.spread(r / op.fan_in(x, w), w, x.shape)


# ----------------------------------------------------------------------------- other layers
class PassThrough(Rule):
    """Identity: relevance passes unchanged (``R_i = R_j``, equal input and output shapes).

    The default of activations (ELU, ReLU, LeakyReLU, Tanh), unfolded BatchNorm and layers that
    declare ``lrp_pass_through = True`` (the model's input normalisation).
    """

    name = "pass"
    recorded = False  # R_in equals R_out: nothing new to record

    def forward(  # noqa: D102
        self, layer: Layer, x: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor | None, ...]]:
        y = layer.call(x)
        if y.shape != x.shape:
            raise UnsupportedModuleError(
                f"pass-through rule needs equal input/output shapes, got {tuple(x.shape)} -> "
                f"{tuple(y.shape)}; give this module another rule"
            )
        return (y.clone() if y is x else y), ()

    def backward(  # noqa: D102
        self, layer: Layer, saved: tuple[torch.Tensor | None, ...], r: torch.Tensor
    ) -> torch.Tensor:
        return r


class WinnerTakeAll(Rule):
    """Max pooling: all relevance of a pooled unit goes to the input that won the max.

    That is autograd's own max-pool gradient, so the module keeps its forward. Also usable on
    any parameter-free module whose gradient should route relevance (shape operations).
    """

    name = "winner_take_all"

    def fits_type(self, module_type: type[nn.Module]) -> bool:  # noqa: D102
        return not issubclass(module_type, LINEAR_MODULES + AVG_POOLS + RNNS)

    def install(self, module: nn.Module, layer: Layer) -> None:  # noqa: D102
        return None


class ZRule(Rule):
    """Proportional rule for average pooling: ``R_i = sum_j x_i a_ij / z_j R_j`` (tiny eps).

    ``a_ij`` are the pooling weights; ``sum_j a_ij s_j`` is the pooling's gradient, so the
    rule is ``R = x * d(a . x)/dx |_(s)`` with ``s_j = R_j / (z_j + eps s_j)``.
    """

    name = "z"
    applies_to = AVG_POOLS

    def __init__(self, eps: float = 1e-12) -> None:
        self.eps = float(eps)

    def forward(  # noqa: D102
        self, layer: Layer, x: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor | None, ...]]:
        z = layer.call(x)
        return z, (x, z)

    def backward(  # noqa: D102
        self, layer: Layer, saved: tuple[torch.Tensor | None, ...], r: torch.Tensor
    ) -> torch.Tensor:
        x, z = saved
        assert x is not None and z is not None
        s = r / (z + self.eps * sign0(z))
        with torch.enable_grad():
            xd = x.detach().requires_grad_()
            (g,) = torch.autograd.grad(layer.call(xd), xd, s)  # sum_j a_ij s_j
        return x * g


# ----------------------------------------------------------------------------- alpha-beta parts
def _memory_format(op: LinearOp, x: torch.Tensor, weight: torch.Tensor) -> torch.memory_format:
    """Memory layout of alpha-beta's own convolutions (``z^+`` and its transpose).

    Channels-last for an ungrouped 2-D convolution on CPU in float32, where oneDNN's
    channels-last kernels are faster than NCHW (about twice for the CRNN's first convolution,
    12 or 36 -> 64 channels at full resolution, including the layout conversions); contiguous
    otherwise. Only the rounding of the sums of ``z^+`` and ``W^T s`` changes; the layer's
    forward output is computed as before.
    """
    if (op.kind == "conv2d" and op.groups == 1 and x.device.type == "cpu"
            and x.dtype == torch.float32):
        return torch.channels_last
    return torch.contiguous_format


def _signs(
    op: LinearOp, x: torch.Tensor, fmt: torch.memory_format = torch.contiguous_format
) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:
    """``(buffer, x^+, x^-)``; for ungrouped layers ``x^+, x^-`` are the two halves of one
    buffer (channel axis for convs, feature axis for dense layers; laid out as ``fmt``), so the
    fused convolution needs no concatenation; otherwise the buffer is None."""
    if op.groups != 1:
        return None, x.clamp(min=0), x.clamp(max=0)
    dim = x.dim() - 1 if op.kind == "linear" else 1
    shape = list(x.shape)
    shape[dim] *= 2
    buf = torch.empty(shape, dtype=x.dtype, device=x.device, memory_format=fmt)
    xp, xn = buf.split(x.shape[dim], dim)
    x = x.contiguous(memory_format=fmt)  # same layout as buf: the clamps copy runs of channels
    torch.clamp(x, min=0, out=xp)
    torch.clamp(x, max=0, out=xn)
    return buf, xp, xn


def _fwd(
    op: LinearOp,
    buf: torch.Tensor | None,
    xp: torch.Tensor,
    xn: torch.Tensor,
    wa: torch.Tensor,
    wb: torch.Tensor,
    fmt: torch.memory_format = torch.contiguous_format,
) -> torch.Tensor:
    """``W_a x^+ + W_b x^-``."""
    if buf is not None:
        return op.forward(buf, torch.cat([wa, wb], 1).contiguous(memory_format=fmt), None)
    return op.forward(xp, wa, None) + op.forward(xn, wb, None)


def _bwd(
    op: LinearOp,
    pair: bool,
    x_shape: torch.Size,
    wa: torch.Tensor,
    wb: torch.Tensor,
    s: torch.Tensor,
    fmt: torch.memory_format = torch.contiguous_format,
) -> tuple[torch.Tensor, ...]:
    """``(W_a^T s, W_b^T s)``; with ``pair`` (ungrouped layers) as one transpose of the layer
    with both weights side by side (twice the inputs)."""
    if pair:
        dim = len(x_shape) - 1 if op.kind == "linear" else 1
        w = torch.cat([wa, wb], 1).contiguous(memory_format=fmt)
        shape = list(x_shape)
        shape[dim] *= 2
        g = op.transpose(s, w, torch.Size(shape))
        return g.split(x_shape[dim], dim)
    return op.transpose(s, wa, x_shape), op.transpose(s, wb, x_shape)


def _well_conditioned(
    zp: torch.Tensor, q: torch.Tensor, r: torch.Tensor, tol: float
) -> bool:
    """Whether no unit with relevance ``r != 0`` and ``q > 0`` has ``zp <= tol q`` (``zp``
    computed as ``(a + q) / 2`` is then precise to about ``eps / tol``); units with ``q = 0``
    see only zeros and have ``zp = 0`` exactly."""
    if zp.numel() == 0 or bool(torch.sub(zp, q, alpha=tol).amin() > 0):
        return True  # one reduction in the usual case
    bad = (zp <= q * tol) & (q > 0) & (r != 0)
    return not bool(bad.any())


def _safe_ratio(
    r: torch.Tensor, den: torch.Tensor, sign: float, weight: float, log: LRPState
) -> torch.Tensor:
    """``r / den`` where ``sign * den > 0``, else 0; units with relevance but a zero (or wrongly
    signed) denominator are reported to ``log`` with their relevance times ``weight``."""
    # one reduction instead of a full boolean mask in the usual case (every unit alive)
    if den.numel() == 0 or bool(den.amin() > 0 if sign > 0 else den.amax() < 0):
        return torch.div(r, den, out=den)  # den is a temporary: reuse its memory
    ok = den > 0 if sign > 0 else den < 0
    lost = torch.where(ok, 0.0, r)
    log.add_dead(lost != 0, lost * weight)
    return r / torch.where(ok, den, torch.inf)


__all__ = [
    "AVG_POOLS",
    "LINEAR_MODULES",
    "RNNS",
    "AlphaBeta",
    "Epsilon",
    "Flat",
    "Layer",
    "LinearOp",
    "LinearRule",
    "PassThrough",
    "Rule",
    "WinnerTakeAll",
    "ZPlus",
    "ZRule",
    "sign0",
]
