"""Layer-wise Relevance Propagation engine (plain PyTorch) for convolutional-recurrent models.

Public API::

    from audiolrp.lrp import explain, Composite, Epsilon, AlphaBeta
    expl = explain(model, x)                      # paper preset, target = predicted clip class
    expl.relevance                                # same shape as x

See ``docs/lrp.md`` for the rules (paper Eq. 2, alpha-beta, Arras et al.'s LSTM rule with
per-step injection), presets, conservation and benchmark figures. Attention, transformer and
conformer models (``nn.MultiheadAttention``, ``nn.TransformerEncoder``, LayerNorm, GLU, ...)
are explained with AttnLRP (``composite="attn_lrp"``) or CP-LRP (``"cp_lrp"``). A rule is one class
(:class:`Rule`: ``applies_to``, ``forward``, ``backward``; dense/conv rules subclass
:class:`LinearRule` and write ``backward`` only); :func:`register_default_rule` gives a module
type a rule for every composite.
"""

from audiolrp.errors import UnsupportedModuleError
from audiolrp.lrp.attention import (
    AttentionScores,
    AttentionValues,
    BilinearConstant,
    BilinearUniform,
    MatMul,
    SoftmaxAttnLRP,
)
from audiolrp.lrp.canonizers import find_conv_bn_pairs, fold_batchnorm, merge_batchnorm
from audiolrp.lrp.composites import (
    ATTENTION_PRESETS,
    PRESETS,
    Composite,
    get_composite,
    register_composite,
    transformer_rules,
)
from audiolrp.lrp.core import register_default_rule
from audiolrp.lrp.explain import (
    METHODS,
    ClipModel,
    Explanation,
    explain,
    explain_batches,
    parse_method,
)
from audiolrp.lrp.lstm import RecurrentEpsilon, unrolled_forward
from audiolrp.lrp.rules import (
    AlphaBeta,
    Epsilon,
    Flat,
    Layer,
    LinearRule,
    PassThrough,
    Rule,
    WinnerTakeAll,
    ZPlus,
    ZRule,
)
from audiolrp.lrp.transformer import (
    Add,
    AddEpsilon,
    GLUValue,
    LayerNormEpsilon,
    TransformerCanonizer,
)

__all__ = [
    "ATTENTION_PRESETS",
    "METHODS",
    "PRESETS",
    "Add",
    "AddEpsilon",
    "AlphaBeta",
    "AttentionScores",
    "AttentionValues",
    "BilinearConstant",
    "BilinearUniform",
    "GLUValue",
    "LayerNormEpsilon",
    "MatMul",
    "SoftmaxAttnLRP",
    "TransformerCanonizer",
    "ClipModel",
    "Composite",
    "Epsilon",
    "Explanation",
    "Flat",
    "Layer",
    "LinearRule",
    "PassThrough",
    "RecurrentEpsilon",
    "Rule",
    "UnsupportedModuleError",
    "WinnerTakeAll",
    "ZPlus",
    "ZRule",
    "explain",
    "explain_batches",
    "parse_method",
    "find_conv_bn_pairs",
    "fold_batchnorm",
    "get_composite",
    "merge_batchnorm",
    "register_composite",
    "register_default_rule",
    "transformer_rules",
    "unrolled_forward",
]
