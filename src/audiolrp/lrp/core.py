"""Engine: installs each module's rule for one explain() call and removes it afterwards.

During :func:`audiolrp.lrp.explain` every module that has a rule gets an instance-level
``forward`` from :meth:`Rule.install <audiolrp.lrp.rules.Rule.install>`, whose autograd backward
computes the rule ("relevance as gradient"). Which rule a module gets: the composite's (by name
or type), else the default for its type (:data:`DEFAULT_RULES`, extensible with
:func:`register_default_rule`), else :class:`~audiolrp.lrp.rules.PassThrough` when the module
declares ``lrp_pass_through = True`` (a per-channel normalisation layer of a model, say).
The engine knows torch layer types, never a concrete model.

Two canonisations (``canonizers.py``) change how, not what, is computed: BatchNorm is folded
into the preceding layer's weights (``Composite(batchnorm="fold")``), and a strictly increasing
activation with the pass-through rule that is followed by a max-pooling with the
winner-take-all rule runs *after* the pooling (same values, same winners, the activation on
fewer values). A convolution with an alpha-beta rule whose output reaches a max-pooling with
the winner-take-all rule (through a folded BatchNorm and such an activation, if any) is computed
in one step with its pooling (``pooled.py``): the rule needs ``z^+`` only at the pooling's
winners.

Nothing of the model is modified: the original ``forward`` attributes are restored on exit,
BatchNorm folding is done on detached copies of the weights, parameters never receive
``.grad``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from audiolrp.errors import UnsupportedModuleError
from audiolrp.lrp.canonizers import (
    MAX_POOLS,
    BatchNorm,
    Foldable,
    find_activation_pool_pairs,
    find_conv_bn_pairs,
    fold_batchnorm,
)
from audiolrp.lrp.pooled import find_pooled_chains, install_pooled
from audiolrp.lrp.rules import (
    AVG_POOLS,
    LINEAR_MODULES,
    RNNS,
    AlphaBeta,
    Layer,
    PassThrough,
    Rule,
    WinnerTakeAll,
    ZRule,
)

#: Modules that autograd already handles correctly (shape ops, eval-mode dropout).
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
ACTIVATIONS: tuple[type[nn.Module], ...] = (nn.ELU, nn.ReLU, nn.LeakyReLU, nn.Tanh)
BATCHNORMS: tuple[type[nn.Module], ...] = (nn.BatchNorm1d, nn.BatchNorm2d)

#: Rule of each module type that the composite does not mention (None: autograd's gradient,
#: for modules that only move values around). Types without an entry (and not declaring
#: ``lrp_pass_through``) raise :class:`UnsupportedModuleError` if they are torch layers or
#: have parameters of their own; other custom modules go through autograd.
DEFAULT_RULES: dict[type[nn.Module], Rule | None] = {
    **{t: PassThrough() for t in ACTIVATIONS + BATCHNORMS},
    **{t: WinnerTakeAll() for t in MAX_POOLS},
    **{t: ZRule() for t in AVG_POOLS},
    **{t: None for t in AUTOGRAD_MODULES},
}


def register_default_rule(module_type: type[nn.Module], rule: Rule | None) -> None:
    """Give every module of ``module_type`` (and its subclasses) ``rule`` unless a composite
    says otherwise (None: autograd's gradient)."""
    if rule is not None and not rule.fits_type(module_type):
        raise UnsupportedModuleError(
            f"rule {rule!r} cannot be applied to {module_type.__name__}; pick a rule made for "
            "this layer type"
        )
    DEFAULT_RULES[module_type] = rule


def default_rule(name: str, module: nn.Module) -> Rule | None:
    """The rule of ``module`` when the composite has none, or raise UnsupportedModuleError."""
    for cls in type(module).__mro__:
        if cls in DEFAULT_RULES:
            return DEFAULT_RULES[cls]
    if getattr(module, "lrp_pass_through", False):
        return PassThrough()
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
    return None


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


class LRPEngine:
    """Context manager installing the rules given by a composite on ``model``.

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
        self._undo: list[Callable[[], None]] = []  # the composite's canonizers, undone on exit

    def _set_forward(self, module: nn.Module, fn: Callable[..., Any]) -> None:
        had = "forward" in module.__dict__
        self._saved.append((module, had, module.__dict__.get("forward")))
        module.forward = fn

    def __enter__(self) -> LRPEngine:
        try:
            for canonizer in getattr(self.composite, "canonizers", ()):
                self._undo.append(canonizer.apply(self.model))
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
        while self._undo:
            self._undo.pop()()

    def _install(self) -> None:
        named = list(self.model.named_modules())
        pairs: dict[Foldable, BatchNorm] = {}
        if self.composite.batchnorm == "fold":
            pairs = find_conv_bn_pairs(self.model)
        folded_bns = {id(bn) for bn in pairs.values()}
        rules = self._rules(named, folded_bns)
        names = {id(m): n for n, m in named}
        # activation -> pooling pairs whose rules allow the pooling to run first
        swapped = {
            act: pool
            for act, pool in find_activation_pool_pairs(self.model).items()
            if type(rules.get(names[id(act)])) is PassThrough
            and type(rules.get(names[id(pool)])) is WinnerTakeAll
        }
        fused = find_pooled_chains(self.model, {id(m): rules.get(n) for n, m in named},
                                   folded_bns, swapped)
        own = {id(m): m.forward for _, m in named}  # forwards before any replacement
        skip = folded_bns | {id(act) for act in swapped}  # folded / applied after the pooling
        skip |= {id(chain.pool) for chain in fused.values()}  # part of the fused layer
        pooled_first = {id(pool): act for act, pool in swapped.items()}
        for name, module in named:
            if id(module) in skip:
                self._set_forward(module, _identity)
                continue
            rule = rules.get(name)
            if rule is None:
                continue
            weight, bias = _parameters(module, pairs)
            layer = Layer(name, self.state, own[id(module)], weight, bias)
            chain = fused.get(id(module))
            forward: Callable[..., Any] | None
            if chain is not None:
                assert isinstance(rule, AlphaBeta)  # checked by find_pooled_chains
                act_call = own[id(chain.act)] if chain.act is not None else None
                forward = install_pooled(rule, replace(layer, op=chain.op), chain.spec, act_call)
                act = None  # applied inside, its relevance passing through
            else:
                forward = rule.install(module, layer)
                act = pooled_first.get(id(module))
            if act is not None:
                act_name = names[id(act)]
                act_forward = rules[act_name].install(
                    act, Layer(act_name, self.state, own[id(act)])
                )
                assert act_forward is not None  # PassThrough installs a forward
                forward = _then(own[id(module)] if forward is None else forward, act_forward)
            if forward is not None:
                self._set_forward(module, forward)

    def _rules(self, named: list[tuple[str, nn.Module]], folded_bns: set[int]) -> dict[str, Rule]:
        """Module name -> rule (composite's, else the default) of every module with a rule."""
        first = next((n for n, m in named if isinstance(m, LINEAR_MODULES)), None)
        rules: dict[str, Rule] = {}
        for name, module in named:
            if id(module) in folded_bns:
                continue
            rule = self.composite.rule_for(name, module, is_first=(name == first))
            if rule is None:
                rule = default_rule(name, module)
            elif not rule.fits(module):
                raise UnsupportedModuleError(
                    f"rule {rule!r} does not fit module {name!r} ({type(module).__name__}); "
                    "pick a rule made for this layer type"
                )
            if rule is not None:
                rules[name] = rule
        return rules


def _then(
    first: Callable[..., torch.Tensor], second: Callable[..., torch.Tensor]
) -> Callable[..., torch.Tensor]:
    """``x -> second(first(x))``."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        return second(first(x))

    return forward


def _parameters(
    module: nn.Module, pairs: dict[Foldable, BatchNorm]
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Detached ``(weight, bias)`` of a dense/conv layer (BatchNorm folded in if paired)."""
    if not isinstance(module, nn.Linear | nn.Conv1d | nn.Conv2d):
        return None, None
    if module in pairs:
        return fold_batchnorm(module, pairs[module])
    return module.weight.detach(), (module.bias.detach() if module.bias is not None else None)


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


__all__ = [
    "AUTOGRAD_MODULES",
    "DEFAULT_RULES",
    "RNNS",
    "LRPEngine",
    "LRPState",
    "default_rule",
    "register_default_rule",
]
