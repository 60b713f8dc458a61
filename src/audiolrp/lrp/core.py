"""Engine: installs module-local rule forwards for one explain() call and removes them.

During :func:`audiolrp.lrp.explain` every supported module gets an instance-level ``forward``
whose autograd backward computes its LRP rule ("relevance as gradient": the gradient handed to a
module's backward is the relevance of its outputs, the gradient it returns is the relevance of
its inputs). Nothing of the model is modified: the original ``forward`` attributes are restored
on exit, BatchNorm folding is done on detached copies of the weights (see ``canonizers.py``),
parameters never receive ``.grad``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from audiolrp.errors import UnsupportedModuleError
from audiolrp.lrp.canonizers import BatchNorm, Foldable, find_conv_bn_pairs, fold_batchnorm
from audiolrp.lrp.lstm import make_rnn_forward
from audiolrp.lrp.rules import (
    LinearOp,
    LinearRule,
    PassThrough,
    RecurrentEpsilon,
    Rule,
    WinnerTakeAll,
    ZRule,
    sign0,
)
from audiolrp.models import InputNormalization

#: Modules that autograd already handles correctly (shape ops, eval-mode dropout, max pooling
#: whose gradient routes everything to the winner).
AUTOGRAD_MODULES: tuple[type[nn.Module], ...] = (
    nn.Sequential,
    nn.ModuleList,
    nn.ModuleDict,
    nn.Flatten,
    nn.Unflatten,
    nn.Identity,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
)
LINEAR_MODULES = (nn.Linear, nn.Conv1d, nn.Conv2d)
ACTIVATIONS = (nn.ELU, nn.ReLU, nn.LeakyReLU, nn.Tanh)
MAX_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)
AVG_POOLS = (nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)
BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
RNNS = (nn.LSTM, nn.GRU)


class LRPState:
    """Book-keeping of one explain() call (filled during the backward pass).

    Attributes
    ----------
    layers
        Module name -> ``(B,)`` sum of the relevance at the module's input, in backward order.
    n_dead, dead_relevance
        ``(B,)`` number of alpha-beta units with relevance but no positive (or, for beta > 0,
        no negative) contribution, and the relevance they could not pass on.
    state_leaves
        Leaf tensors of recurrent initial states whose gradient is their relevance.
    """

    def __init__(self, record: bool = False) -> None:
        self.record = record
        self.layers: dict[str, torch.Tensor] = {}
        self.n_dead: torch.Tensor | None = None
        self.dead_relevance: torch.Tensor | None = None
        self.state_leaves: list[torch.Tensor] = []

    def add_dead(self, dead: torch.Tensor, lost: torch.Tensor) -> None:
        """Accumulate per-example counts of dead units and their relevance."""
        dims = tuple(range(1, dead.dim()))
        n = dead.sum(dims) if dims else dead.long()
        lo = lost.sum(dims) if dims else lost
        self.n_dead = n if self.n_dead is None else self.n_dead + n
        self.dead_relevance = lo if self.dead_relevance is None else self.dead_relevance + lo

    def add_layer(self, name: str, r_in: torch.Tensor) -> None:
        """Record the per-example relevance sum at the input of module ``name``."""
        if not self.record:
            return
        dims = tuple(range(1, r_in.dim()))
        s = r_in.detach().sum(dims) if dims else r_in.detach()
        self.layers[name] = self.layers[name] + s if name in self.layers else s


# ----------------------------------------------------------------------------- autograd Functions
class _LinearRuleFn(torch.autograd.Function):
    @staticmethod
    def forward(  # noqa: D102
        ctx: Any,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        op: LinearOp,
        rule: LinearRule,
        state: LRPState,
        name: str,
    ) -> Any:
        z = op.forward(x, weight, bias)
        # the output is kept only for rules whose backward needs it (memory of large convs)
        ctx.save_for_backward(x, weight, bias, z if rule.needs_output else None)
        ctx.op, ctx.rule, ctx.state, ctx.name = op, rule, state, name
        return z

    @staticmethod
    def backward(ctx: Any, r: torch.Tensor) -> Any:  # noqa: D102
        x, weight, bias, z = ctx.saved_tensors
        r_in = ctx.rule.backward(ctx.op, x, weight, bias, z, r, ctx.state)
        ctx.state.add_layer(ctx.name, r_in)
        return r_in, None, None, None, None, None, None


class _PassFn(torch.autograd.Function):
    """Forward ``fn(x)``, backward identity (relevance passes unchanged)."""

    @staticmethod
    def forward(  # noqa: D102
        ctx: Any,
        x: torch.Tensor,
        fn: Callable[[torch.Tensor], torch.Tensor],
    ) -> Any:
        y = fn(x)
        if y.shape != x.shape:
            raise UnsupportedModuleError(
                f"pass-through rule needs equal input/output shapes, got {tuple(x.shape)} -> "
                f"{tuple(y.shape)}; give this module another rule"
            )
        return y.clone() if y is x else y

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> Any:  # noqa: D102
        return g, None


class _ZRuleFn(torch.autograd.Function):
    """Proportional (z-) rule for a linear parameter-free map such as average pooling."""

    @staticmethod
    def forward(  # noqa: D102
        ctx: Any,
        x: torch.Tensor,
        fn: Callable[[torch.Tensor], torch.Tensor],
        eps: float,
        state: LRPState,
        name: str,
    ) -> Any:
        z = fn(x)
        ctx.save_for_backward(x, z)
        ctx.fn, ctx.eps, ctx.state, ctx.name = fn, eps, state, name
        return z

    @staticmethod
    def backward(ctx: Any, r: torch.Tensor) -> Any:  # noqa: D102
        x, z = ctx.saved_tensors
        s = r / (z + ctx.eps * sign0(z))
        with torch.enable_grad():
            xd = x.detach().requires_grad_()
            (g,) = torch.autograd.grad(ctx.fn(xd), xd, s)
        r_in = x * g
        ctx.state.add_layer(ctx.name, r_in)
        return r_in, None, None, None, None


# ----------------------------------------------------------------------------- engine
def _conv_op(module: nn.Conv1d | nn.Conv2d) -> tuple[LinearOp, tuple[int, ...] | None, str]:
    """LinearOp of a conv plus an explicit pre-padding (or None) and its mode."""
    kind = "conv1d" if isinstance(module, nn.Conv1d) else "conv2d"
    nd = 1 if kind == "conv1d" else 2
    pre_pad = None
    mode = "constant" if module.padding_mode == "zeros" else module.padding_mode
    padding: tuple[int, ...]
    if isinstance(module.padding, str):
        if module.padding == "valid":
            padding = (0,) * nd
        else:
            totals = [d * (k - 1) for d, k in zip(module.dilation, module.kernel_size, strict=True)]
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


_LAYER_KINDS: tuple[tuple[tuple[type[nn.Module], ...], str], ...] = (
    (LINEAR_MODULES, "linear"),
    (RNNS, "rnn"),
    (MAX_POOLS, "maxpool"),
    (AVG_POOLS, "avgpool"),
)


def _layer_kind(module: nn.Module) -> str | None:
    """Engine kind of a linear, recurrent or pooling layer (``None`` for any other module)."""
    for types, kind in _LAYER_KINDS:
        if isinstance(module, types):
            return kind
    return None


def classify(name: str, module: nn.Module) -> str:
    """Kind of a module for the engine, or raise :class:`UnsupportedModuleError`."""
    if isinstance(module, BATCHNORMS):
        return "batchnorm"
    kind = _layer_kind(module)
    if kind is not None:
        return kind
    if isinstance(module, ACTIVATIONS):
        return "pass"
    if isinstance(module, InputNormalization):
        return "pass"
    if isinstance(module, AUTOGRAD_MODULES):
        return "autograd"
    label = name or "<root>"
    if type(module).__module__.startswith("torch."):
        raise UnsupportedModuleError(
            f"module {label!r} ({type(module).__name__}) has no LRP rule; replace it or map it "
            "to a rule in Composite(rules=...)"
        )
    if any(True for _ in module.parameters(recurse=False)):
        raise UnsupportedModuleError(
            f"module {label!r} ({type(module).__name__}) has its own parameters and no LRP rule; "
            "map it to a rule in Composite(rules=...)"
        )
    return "autograd"


class LRPEngine:
    """Context manager installing the rule forwards given by a composite on ``model``.

    Parameters
    ----------
    model
        Any model assembled from supported modules.
    composite
        A :class:`audiolrp.lrp.composites.Composite`.
    state
        Receives counters, per-layer sums and the initial-state leaves.
    """

    def __init__(self, model: nn.Module, composite: Any, state: LRPState) -> None:
        self.model = model
        self.composite = composite
        self.state = state
        self._saved: list[tuple[nn.Module, bool, Any]] = []

    def _set_forward(self, module: nn.Module, fn: Callable[..., Any]) -> None:
        had = "forward" in module.__dict__
        self._saved.append((module, had, module.__dict__.get("forward")))
        module.forward = fn

    def __enter__(self) -> LRPEngine:
        try:
            self._install()
        except BaseException:
            self._restore()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()

    def _restore(self) -> None:
        while self._saved:
            module, had, prev = self._saved.pop()
            if had:
                module.forward = prev
            else:
                del module.forward

    def _install(self) -> None:
        comp = self.composite
        named = list(self.model.named_modules())
        pairs: dict[Foldable, BatchNorm] = {}
        if comp.batchnorm == "fold":
            pairs = find_conv_bn_pairs(self.model)
        folded_bns = {id(bn) for bn in pairs.values()}
        first = next((n for n, m in named if isinstance(m, LINEAR_MODULES)), None)
        for name, module in named:
            rule = comp.rule_for(name, module, is_first=(name == first))
            kind = classify(name, module) if rule is None else _explicit_kind(module, rule)
            if kind == "autograd" or kind == "maxpool":
                if rule is not None and not isinstance(rule, WinnerTakeAll | PassThrough):
                    _bad_rule(name, module, rule)
                continue
            if kind == "batchnorm" and id(module) in folded_bns and rule is None:
                self._set_forward(module, _identity)
            elif kind in ("pass", "batchnorm") or isinstance(rule, PassThrough):
                self._set_forward(module, _pass_forward(module.forward))
            elif kind == "linear":
                if not isinstance(rule, LinearRule):
                    _bad_rule(name, module, rule)
                layer = cast(Foldable, module)  # LINEAR_MODULES are all Foldable
                self._set_forward(module, self._linear_forward(name, layer, rule, pairs))
            elif kind == "avgpool":
                eps = rule.eps if isinstance(rule, ZRule) else 1e-12
                self._set_forward(module, _zrule_forward(module.forward, eps, self.state, name))
            elif kind == "rnn":
                if not isinstance(rule, RecurrentEpsilon):
                    _bad_rule(name, module, rule)
                def report(g: torch.Tensor, name: str = name, st: LRPState = self.state) -> None:
                    st.add_layer(name, g)

                self._set_forward(
                    module,
                    make_rnn_forward(module, rule.eps, self.state.state_leaves.append, report),
                )

    def _linear_forward(
        self, name: str, module: Foldable, rule: LinearRule, pairs: dict[Foldable, BatchNorm]
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        weight = module.weight.detach()
        bias = module.bias.detach() if module.bias is not None else None
        if module in pairs:
            weight, bias = fold_batchnorm(module, pairs[module])
        if isinstance(module, nn.Linear):
            op, pre_pad, mode = LinearOp("linear"), None, "constant"
        else:
            op, pre_pad, mode = _conv_op(module)
        state = self.state

        def forward(x: torch.Tensor) -> torch.Tensor:
            if pre_pad is not None:
                x = F.pad(x, pre_pad, mode=mode)
            return _LinearRuleFn.apply(x, weight, bias, op, rule, state, name)

        return forward


def _explicit_kind(module: nn.Module, rule: Rule) -> str:
    kind = _layer_kind(module)
    if kind is not None:
        return kind
    if isinstance(rule, PassThrough):
        return "pass"
    if isinstance(rule, WinnerTakeAll):
        return "autograd"
    raise UnsupportedModuleError(
        f"rule {rule!r} cannot be applied to {type(module).__name__}; use PassThrough or a "
        "module type the rule is made for"
    )


def _bad_rule(name: str, module: nn.Module, rule: Rule | None) -> None:
    raise UnsupportedModuleError(
        f"rule {rule!r} does not fit module {name!r} ({type(module).__name__}); pick a rule made "
        "for this layer type"
    )


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _pass_forward(orig: Callable[..., torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    def forward(x: torch.Tensor) -> torch.Tensor:
        return _PassFn.apply(x, orig)

    return forward


def _zrule_forward(
    orig: Callable[..., torch.Tensor], eps: float, state: LRPState, name: str
) -> Callable[[torch.Tensor], torch.Tensor]:
    def forward(x: torch.Tensor) -> torch.Tensor:
        return _ZRuleFn.apply(x, orig, eps, state, name)

    return forward


__all__ = ["LRPEngine", "LRPState", "classify"]
