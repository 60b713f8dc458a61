"""Layer-wise Relevance Propagation engine (plain PyTorch) for convolutional-recurrent models.

Public API::

    from audiolrp.lrp import explain, Composite, Epsilon, AlphaBeta
    expl = explain(model, x)                      # paper preset, target = predicted clip class
    expl.relevance                                # same shape as x

See ``docs/lrp.md`` for the rules (paper Eq. 2, alpha-beta, Arras et al.'s LSTM rule with
per-step injection), presets, conservation and benchmark figures.
"""

from audiolrp.errors import UnsupportedModuleError
from audiolrp.lrp.canonizers import find_conv_bn_pairs, fold_batchnorm, merge_batchnorm
from audiolrp.lrp.composites import PRESETS, Composite, get_composite
from audiolrp.lrp.explain import METHODS, Explanation, explain
from audiolrp.lrp.lstm import unrolled_forward
from audiolrp.lrp.rules import (
    AlphaBeta,
    Epsilon,
    Flat,
    PassThrough,
    RecurrentEpsilon,
    Rule,
    WinnerTakeAll,
    ZPlus,
    ZRule,
)

__all__ = [
    "METHODS",
    "PRESETS",
    "AlphaBeta",
    "Composite",
    "Epsilon",
    "Explanation",
    "Flat",
    "PassThrough",
    "RecurrentEpsilon",
    "Rule",
    "UnsupportedModuleError",
    "WinnerTakeAll",
    "ZPlus",
    "ZRule",
    "explain",
    "find_conv_bn_pairs",
    "fold_batchnorm",
    "get_composite",
    "merge_batchnorm",
    "unrolled_forward",
]
