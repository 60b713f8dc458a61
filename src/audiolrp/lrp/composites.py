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

Presets for attention and conformer models (:data:`ATTENTION_PRESETS`; AttnLRP, Achtibat et
al., ICML 2024; the rules are in :mod:`~audiolrp.lrp.attention` and
:mod:`~audiolrp.lrp.transformer`):

``"attn_lrp"``
    As ``"paper"`` on 2-D convolutions (BatchNorm folded) and LSTMs; :class:`Epsilon` (0.01)
    on dense layers and 1-D (also depthwise) convolutions; AttnLRP inside attention
    (:class:`SoftmaxAttnLRP`, :class:`BilinearUniform` on both attention matmuls, eps 1e-6);
    :class:`AddEpsilon` on residual additions, :class:`LayerNormEpsilon` on LayerNorm,
    :class:`GLUValue` on GLU, pass-through on GELU/SiLU. Every rule conserves exactly except
    the softmax's (AttnLRP Prop. 3.1).
``"cp_lrp"``
    As ``"attn_lrp"`` but CP-LRP inside attention: the attention weights are constants
    (:class:`BilinearConstant` on ``A v``), relevance flows through the value path only;
    conserves exactly.

:func:`transformer_rules` returns these rules (with ``bias="absorb"``: lxt's variants) to
combine in a :class:`Composite`. Presets are registered with ``@register_composite("name")``.

Every composite carries the canonizers that run before the rules are installed (default:
:class:`~audiolrp.lrp.transformer.TransformerCanonizer`, which rewrites torch's attention and
transformer-encoder modules for one explain() call and is a no-op on other models).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from torch import nn

from audiolrp.errors import AudioLRPError
from audiolrp.lrp.attention import (
    AttentionScores,
    AttentionValues,
    BilinearConstant,
    BilinearUniform,
    SoftmaxAttnLRP,
)
from audiolrp.lrp.core import DEFAULT_RULES
from audiolrp.lrp.lstm import RecurrentEpsilon
from audiolrp.lrp.rules import AlphaBeta, Epsilon, Flat, Rule, ZPlus
from audiolrp.lrp.transformer import (
    Add,
    AddEpsilon,
    LayerNormEpsilon,
    TransformerCanonizer,
    is_sum,
)

RuleKey = str | type


class Canonizer(Protocol):
    """Rewrites modules of a model for one explain() call: :meth:`apply` returns the undo."""

    def apply(self, model: nn.Module) -> Callable[[], None]:
        """Rewrite ``model``; return the function that restores it."""
        ...


#: Canonizers of every composite unless it is given others.
DEFAULT_CANONIZERS: tuple[Canonizer, ...] = (TransformerCanonizer(),)


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
    canonizers
        Run (in order) before the rules are installed and undone afterwards; default
        :data:`DEFAULT_CANONIZERS` (torch's attention/transformer modules made explainable).

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
        canonizers: Sequence[Canonizer] | None = None,
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
        self.canonizers: tuple[Canonizer, ...] = (
            DEFAULT_CANONIZERS if canonizers is None else tuple(canonizers)
        )

    def rule_for(self, name: str, module: nn.Module, is_first: bool = False) -> Rule | None:
        """The rule for ``module`` called ``name`` (None: engine default). A module that
        declares ``lrp_sum = True`` (a residual addition of a model) counts as an
        :class:`~audiolrp.lrp.transformer.Add`."""
        if name in self.rules:
            return self.rules[name]
        if is_first and self.first_layer is not None:
            return self.first_layer
        for cls in type(module).__mro__:
            if cls in self.rules:
                return self.rules[cls]
        if is_sum(module):
            return self.rules.get(Add, DEFAULT_RULES.get(Add))
        return None

    def __repr__(self) -> str:
        return f"Composite(name={self.name!r}, rules={self.rules!r}, batchnorm={self.batchnorm!r})"


def _base(conv_rule: Rule, eps: float = 0.01) -> dict[RuleKey, Rule]:
    return {
        nn.Conv1d: conv_rule,
        nn.Conv2d: conv_rule,
        nn.Linear: Epsilon(eps),
        nn.LSTM: RecurrentEpsilon(eps),
        nn.GRU: RecurrentEpsilon(eps),
    }


def transformer_rules(
    cp: bool = False, bias: str = "equal", eps: float = 1e-6, dense_eps: float = 0.01
) -> dict[RuleKey, Rule]:
    """The rules of the ``attn_lrp`` (``cp=False``) and ``cp_lrp`` (``cp=True``) presets for
    the layers of a transformer/conformer (module docstring), to combine with others in a
    :class:`Composite`.

    Parameters
    ----------
    cp
        CP-LRP: the attention weights are constants (:class:`BilinearConstant` on
        :class:`AttentionValues`), relevance flows through the value path only.
    bias
        ``"equal"`` (every rule but the softmax conserves exactly) or ``"absorb"`` (bias and
        stabiliser keep their relevance, as in lxt).
    eps
        Stabiliser of the matmul, addition and LayerNorm rules.
    dense_eps
        Stabiliser of the dense layers and 1-D convolutions (:class:`Epsilon`).
    """
    values: Rule = BilinearConstant("a", eps, bias) if cp else BilinearUniform(eps, bias)
    return {
        nn.Linear: Epsilon(dense_eps, bias=bias),
        nn.Conv1d: Epsilon(dense_eps, bias=bias),
        AttentionScores: BilinearUniform(eps, bias),
        AttentionValues: values,
        nn.Softmax: SoftmaxAttnLRP(),
        Add: AddEpsilon(eps, bias),
        nn.LayerNorm: LayerNormEpsilon(eps, bias),
    }


#: Registered composites: name -> (group, builder taking the BatchNorm treatment).
COMPOSITES: dict[str, tuple[str, Callable[[str], Composite]]] = {}


def register_composite(
    name: str, group: str = "cnn"
) -> Callable[[Callable[[str], Composite]], Callable[[str], Composite]]:
    """Register a preset: ``@register_composite("name")`` over a function
    ``(batchnorm) -> Composite``. ``group``: ``"cnn"`` (listed in :data:`PRESETS`, the
    presets of convolutional-recurrent models) or ``"attention"`` (:data:`ATTENTION_PRESETS`).
    """
    if group not in ("cnn", "attention"):
        raise AudioLRPError(f"composite group {group!r} is unknown; pass 'cnn' or 'attention'")

    def decorate(build: Callable[[str], Composite]) -> Callable[[str], Composite]:
        COMPOSITES[name] = (group, build)
        return build

    return decorate


@register_composite("paper")
def _paper(bn: str) -> Composite:
    return Composite(_base(ZPlus()), batchnorm=bn, name="paper")


@register_composite("epsilon_plus")
def _epsilon_plus(bn: str) -> Composite:
    return Composite(_base(ZPlus()), batchnorm=bn, name="epsilon_plus")


@register_composite("epsilon_plus_flat")
def _epsilon_plus_flat(bn: str) -> Composite:
    return Composite(_base(ZPlus()), first_layer=Flat(), batchnorm=bn, name="epsilon_plus_flat")


@register_composite("epsilon_alpha2_beta1")
def _epsilon_alpha2_beta1(bn: str) -> Composite:
    return Composite(_base(AlphaBeta(2.0, 1.0)), batchnorm=bn, name="epsilon_alpha2_beta1")


@register_composite("epsilon")
def _epsilon(bn: str) -> Composite:
    return Composite(_base(Epsilon(0.01)), batchnorm=bn, name="epsilon")


@register_composite("attn_lrp", group="attention")
def _attn_lrp(bn: str) -> Composite:
    return Composite({**_base(ZPlus()), **transformer_rules()}, batchnorm=bn, name="attn_lrp")


@register_composite("cp_lrp", group="attention")
def _cp_lrp(bn: str) -> Composite:
    return Composite({**_base(ZPlus()), **transformer_rules(cp=True)}, batchnorm=bn,
                     name="cp_lrp")


#: Names of the registered presets for convolutional-recurrent models (the paper's family).
PRESETS: tuple[str, ...] = tuple(n for n, (g, _) in COMPOSITES.items() if g == "cnn")
#: Names of the registered presets for attention/conformer models.
ATTENTION_PRESETS: tuple[str, ...] = tuple(
    n for n, (g, _) in COMPOSITES.items() if g == "attention"
)


def get_composite(spec: str | Composite, batchnorm: str | None = None) -> Composite:
    """Return a registered preset by name (see module docs) or pass a :class:`Composite`
    through.

    Parameters
    ----------
    spec
        Preset name (:data:`PRESETS`, :data:`ATTENTION_PRESETS` or any name registered with
        :func:`register_composite`) or composite.
    batchnorm
        Optional override of the BatchNorm treatment (``"fold"`` or ``"pass"``) for presets.
    """
    if isinstance(spec, Composite):
        return spec
    if spec not in COMPOSITES:
        raise AudioLRPError(
            f"composite {spec!r} is unknown; pass one of {', '.join(COMPOSITES)} or a Composite"
        )
    return COMPOSITES[spec][1](batchnorm or "fold")


__all__ = [
    "ATTENTION_PRESETS",
    "COMPOSITES",
    "PRESETS",
    "Composite",
    "get_composite",
    "register_composite",
    "transformer_rules",
]
