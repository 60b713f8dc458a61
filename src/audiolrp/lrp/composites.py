"""Composites: which rule each layer gets, plus named presets.

A :class:`Composite` maps module *names* (``"output"``, ``"conv.0"``) and module *types*
(``nn.Conv2d``) to rules; names win over types, an exact type over a base class. Modules not
mentioned use the engine's defaults: pass-through for activations, ``InputNormalization`` and
unfolded BatchNorm, winner-take-all for max pooling, the z-rule for average pooling.

Presets (``eps = 0.01`` with equal bias/stabiliser redistribution on all dense and recurrent
layers, so every layer conserves relevance):

``"paper"``
    Conv: alpha1-beta0 (:class:`ZPlus`); dense: :class:`Epsilon` (0.01); LSTM/GRU:
    :class:`RecurrentEpsilon` (0.01); BatchNorm folded into the preceding conv.
``"epsilon_plus"``
    Same rules as ``"paper"`` (the usual name of this combination).
``"epsilon_plus_flat"``
    As ``"epsilon_plus"`` but the first conv/dense layer uses :class:`Flat`.
``"epsilon_alpha2_beta1"``
    Conv: :class:`AlphaBeta` (2, 1); dense/recurrent as ``"paper"``.
``"epsilon"``
    :class:`Epsilon` (0.01) on conv and dense layers, :class:`RecurrentEpsilon` (0.01).
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import nn

from audiolrp.errors import AudioLRPError
from audiolrp.lrp.lstm import RecurrentEpsilon
from audiolrp.lrp.rules import AlphaBeta, Epsilon, Flat, Rule, ZPlus

RuleKey = str | type


class Composite:
    """Per-layer rule assignment.

    Parameters
    ----------
    rules
        Mapping from module name (str) or module type to a :class:`Rule`.
    first_layer
        Optional rule for the first ``Conv``/``Linear`` module in ``named_modules()`` order
        (e.g. :class:`Flat`); a name entry in ``rules`` still wins.
    batchnorm
        ``"fold"`` (fold BN into the preceding conv in a Sequential) or ``"pass"`` (BN is a
        pass-through layer).
    name
        Label used in reports.

    Examples
    --------
    >>> Composite(rules={nn.Conv2d: AlphaBeta(2, 1), "output": Epsilon(1e-6)})  # doctest: +SKIP
    """

    def __init__(
        self,
        rules: Mapping[RuleKey, Rule] | None = None,
        first_layer: Rule | None = None,
        batchnorm: str = "fold",
        name: str = "custom",
    ) -> None:
        if batchnorm not in ("fold", "pass"):
            raise AudioLRPError(f"batchnorm={batchnorm!r} is unknown; pass 'fold' or 'pass'")
        self.rules: dict[RuleKey, Rule] = dict(rules or {})
        for key, rule in self.rules.items():
            if not isinstance(rule, Rule):
                raise AudioLRPError(
                    f"rule for {key!r} is {rule!r}, not a Rule; use e.g. Epsilon(0.01)"
                )
            if not isinstance(key, str) and not (
                isinstance(key, type) and issubclass(key, nn.Module)
            ):
                raise AudioLRPError(f"composite key {key!r} is neither a module name nor a type")
        self.first_layer = first_layer
        self.batchnorm = batchnorm
        self.name = name

    def rule_for(self, name: str, module: nn.Module, is_first: bool = False) -> Rule | None:
        """The rule for ``module`` called ``name`` (None: engine default)."""
        if name in self.rules:
            return self.rules[name]
        if is_first and self.first_layer is not None:
            return self.first_layer
        for cls in type(module).__mro__:
            if cls in self.rules:
                return self.rules[cls]
        return None

    def __repr__(self) -> str:
        return f"Composite(name={self.name!r}, rules={self.rules!r}, batchnorm={self.batchnorm!r})"


def _base(conv_rule: Rule, eps: float = 0.01, **kw: object) -> dict[RuleKey, Rule]:
    return {
        nn.Conv1d: conv_rule,
        nn.Conv2d: conv_rule,
        nn.Linear: Epsilon(eps),
        nn.LSTM: RecurrentEpsilon(eps),
        nn.GRU: RecurrentEpsilon(eps),
    }


PRESETS = ("paper", "epsilon_plus", "epsilon_plus_flat", "epsilon_alpha2_beta1", "epsilon")


def get_composite(spec: str | Composite, batchnorm: str | None = None) -> Composite:
    """Return a preset by name (see module docs) or pass a :class:`Composite` through.

    Parameters
    ----------
    spec
        Preset name or composite.
    batchnorm
        Optional override of the BatchNorm treatment (``"fold"`` or ``"pass"``) for presets.
    """
    if isinstance(spec, Composite):
        return spec
    bn = batchnorm or "fold"
    if spec in ("paper", "epsilon_plus"):
        return Composite(_base(ZPlus()), batchnorm=bn, name=spec)
    if spec == "epsilon_plus_flat":
        return Composite(_base(ZPlus()), first_layer=Flat(), batchnorm=bn, name=spec)
    if spec == "epsilon_alpha2_beta1":
        return Composite(_base(AlphaBeta(2.0, 1.0)), batchnorm=bn, name=spec)
    if spec == "epsilon":
        return Composite(_base(Epsilon(0.01)), batchnorm=bn, name=spec)
    raise AudioLRPError(
        f"composite {spec!r} is unknown; pass one of {', '.join(PRESETS)} or a Composite"
    )


__all__ = ["PRESETS", "Composite", "get_composite"]
