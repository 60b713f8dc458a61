"""LRP for the other parts of transformer and conformer blocks, and the canonizer that makes
``nn.TransformerEncoder`` / ``nn.TransformerEncoderLayer`` / ``nn.MultiheadAttention``
explainable without changing a model's code (AttnLRP, Achtibat et al., ICML 2024).

Rules (one class each; notation of :mod:`audiolrp.lrp.rules`, ``s_j = sign(z_j)``):

* :class:`AddEpsilon` for residual additions ``z = a + b`` (an :class:`Add` module, or any
  module declaring ``lrp_sum = True``; AttnLRP Eq. 8 on a sum): relevance split in proportion
  to the summands, ``R_a = (a + eps s / 2) / (z + eps s) R`` and ``R_b`` likewise
  (``bias="equal"``: exactly conservative; ``"absorb"``: lxt's ``add2``, the stabiliser keeps
  ``eps s / (z + eps s) R``).
* :class:`LayerNormEpsilon` for ``nn.LayerNorm`` (AttnLRP Prop. 3.4 with Eq. 8, lxt's
  ``layer_norm``): the normaliser ``sigma`` is a constant, so ``y = gamma (x - mean x) / sigma
  + beta`` is a linear layer ``y_j = sum_i A_ji x_i + beta_j`` with
  ``A_ji = gamma_j (delta_ji - 1 / D) / sigma``, and the epsilon rule gives
  ``R_i = x_i (g_i - mean g) [+ sum_j (beta_j + eps s_j) R_j / (y_j + eps s_j) / D]`` with
  ``g_j = gamma_j R_j / (sigma (y_j + eps s_j))``. ``bias="equal"``: exactly conservative;
  ``"absorb"``: beta and the stabiliser keep their share (lxt).
* :class:`GLUValue` for ``nn.GLU`` ``y = a * sigmoid(b)``: the gate is a constant factor,
  all relevance flows to the value half, ``R_a = R``, ``R_b = 0`` (conservative).
* GELU and SiLU (and ReLU, ELU, Tanh as before): :class:`~audiolrp.lrp.rules.PassThrough`,
  AttnLRP's identity rule (Eq. 9) for element-wise activations (conservative).
* Depthwise ``Conv1d`` (``groups > 1``) is a linear layer: the dense/conv rules of
  :mod:`audiolrp.lrp.rules` cover it (tested against a loop reference).
* Positional encodings added as constants (``x + pe``): autograd passes the relevance of the
  sum to ``x`` unchanged, so the constant takes none and ``x`` carries its share (the same
  holds for a module declaring ``lrp_pass_through = True``, as
  :class:`audiolrp.models.conformer.SinusoidalPositionalEncoding` does).

The canonizer :class:`TransformerCanonizer` (in every :class:`~audiolrp.lrp.Composite` by
default) replaces, for one :func:`~audiolrp.lrp.explain` call, the ``forward`` of each
``nn.MultiheadAttention`` by :class:`~audiolrp.lrp.attention.ExplicitAttention`, of each
``nn.TransformerEncoderLayer`` by :class:`ExplicitEncoderLayer` (residuals as :class:`Add`
modules, the activation as a module; torch's fused fast path is never taken) and of each
``nn.TransformerEncoder`` by a plain loop over its layers; the new modules hang under the
original as ``lrp_canonical`` so the composite's rules reach them. Everything is undone on
exit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from audiolrp.errors import UnsupportedModuleError
from audiolrp.lrp.attention import BinaryRule, ExplicitAttention, _check_bias, _module
from audiolrp.lrp.core import register_default_rule
from audiolrp.lrp.rules import Layer, PassThrough, Rule, sign0

#: Name of the submodule the canonizer attaches to a canonised module.
CANONICAL = "lrp_canonical"


class Add(nn.Module):
    """``z = a + b`` as a module (a residual connection), so that a rule can be attached."""

    #: read by the composites: this module returns the sum of its two inputs
    lrp_sum: ClassVar[bool] = True

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``a + b``."""
        return a + b


def is_sum(module: nn.Module) -> bool:
    """Whether ``module`` returns the sum of its two inputs (:class:`Add` or a module that
    declares ``lrp_sum = True``)."""
    return bool(getattr(module, "lrp_sum", False))


# ----------------------------------------------------------------------------- rules
class AddEpsilon(BinaryRule):
    """Epsilon rule of a sum ``z = a + b`` (module docstring):
    ``R_a = (a + eps s / 2) / (z + eps s) R``, ``R_b = (b + eps s / 2) / (z + eps s) R``
    (``bias="absorb"``: without the ``eps s / 2`` terms).

    Parameters
    ----------
    eps
        Stabiliser.
    bias
        ``"equal"`` (conserves exactly) or ``"absorb"`` (lxt's ``add2``).
    """

    name = "add_epsilon"

    def __init__(self, eps: float = 1e-6, bias: str = "equal") -> None:
        _check_bias("AddEpsilon", eps, bias)
        self.eps = float(eps)
        self.bias = bias

    def fits_type(self, module_type: type[nn.Module]) -> bool:  # noqa: D102
        return bool(getattr(module_type, "lrp_sum", False))

    def backward2(  # noqa: D102
        self, layer: Layer, saved: tuple[torch.Tensor, ...], r: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        a, b, z = saved
        stab = self.eps * sign0(z)
        s = r / (z + stab)
        half = stab * 0.5 if self.bias == "equal" else 0.0
        r_a = ((a + half) * s).sum_to_size(a.shape)
        r_b = ((b + half) * s).sum_to_size(b.shape)
        return r_a, r_b


class LayerNormEpsilon(Rule):
    """Epsilon rule of ``nn.LayerNorm`` with the normaliser as a constant (module docstring):
    ``R_i = x_i (g_i - mean g) [+ sum_j (beta_j + eps s_j) R_j / (y_j + eps s_j) / D]``,
    ``g_j = gamma_j R_j / (sigma (y_j + eps s_j))``, means and sums over the normalised axes.

    Parameters
    ----------
    eps
        Stabiliser.
    bias
        ``"equal"`` (conserves exactly) or ``"absorb"`` (lxt's ``layer_norm``).
    """

    name = "layernorm_epsilon"
    applies_to: ClassVar[tuple[type[nn.Module], ...]] = (nn.LayerNorm,)

    def __init__(self, eps: float = 1e-6, bias: str = "equal") -> None:
        _check_bias("LayerNormEpsilon", eps, bias)
        self.eps = float(eps)
        self.bias = bias

    def forward(  # noqa: D102
        self, layer: Layer, x: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor | None, ...]]:
        y = layer.call(x)
        return y, (x, y)

    def backward(  # noqa: D102
        self, layer: Layer, saved: tuple[torch.Tensor | None, ...], r: torch.Tensor
    ) -> torch.Tensor:
        x, y = saved
        assert x is not None and y is not None
        ln: nn.LayerNorm = _module(layer, nn.LayerNorm)
        dims = tuple(range(-len(ln.normalized_shape), 0))
        var = x.var(dims, unbiased=False, keepdim=True)
        inv_sigma = torch.rsqrt(var + ln.eps)  # 1 / sigma, a constant
        stab = self.eps * sign0(y)
        s = r / (y + stab)  # R_j / (y_j + eps s_j)
        g = s * inv_sigma if ln.weight is None else s * ln.weight.detach() * inv_sigma
        r_in = x * (g - g.mean(dims, keepdim=True))  # x_i (A^T s)_i
        if self.bias == "equal":
            c = stab if ln.bias is None else stab + ln.bias.detach()
            r_in = r_in + (c * s).mean(dims, keepdim=True)  # sum_j c_j s_j / D
        return r_in


class GLUValue(Rule):
    """``nn.GLU`` ``y = a * sigmoid(b)`` with the gate as a constant: ``R_a = R``, ``R_b = 0``
    (the epsilon rule of ``y_j = a_j w_j`` with the fixed weight ``w_j = sigmoid(b_j)``)."""

    name = "glu_value"
    applies_to: ClassVar[tuple[type[nn.Module], ...]] = (nn.GLU,)

    def forward(  # noqa: D102
        self, layer: Layer, x: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor | None, ...]]:
        return layer.call(x), ()

    def backward(  # noqa: D102
        self, layer: Layer, saved: tuple[torch.Tensor | None, ...], r: torch.Tensor
    ) -> torch.Tensor:
        dim = _module(layer, nn.GLU).dim
        return torch.cat([r, torch.zeros_like(r)], dim)


class Canonised(Rule):
    """The "rule" of a module the canonizer rewrote (``nn.MultiheadAttention``,
    ``nn.TransformerEncoderLayer``, ``nn.TransformerEncoder``): its canonical forward runs as
    it is and the rules of its parts propagate the relevance. Refuses a module the canonizer
    did not rewrite (a composite built with ``canonizers=()``)."""

    name = "canonised"
    applies_to: ClassVar[tuple[type[nn.Module], ...]] = (
        nn.MultiheadAttention, nn.TransformerEncoderLayer, nn.TransformerEncoder,
    )

    def install(self, module: nn.Module, layer: Layer) -> None:  # noqa: D102
        if "forward" not in module.__dict__:
            raise UnsupportedModuleError(
                f"module {layer.name or '<root>'!r} ({type(module).__name__}) needs the "
                "transformer canonizer; keep the default Composite(canonizers=...)"
            )
        return None


# ----------------------------------------------------------------------------- encoder layer
class ExplicitEncoderLayer(nn.Module):
    """``nn.TransformerEncoderLayer``'s forward (eval mode) with its residual additions as
    :class:`Add` modules and its activation as a module; numerically the same function."""

    def __init__(self, layer: nn.TransformerEncoderLayer) -> None:
        super().__init__()
        self.add_attention = Add()
        self.add_feedforward = Add()
        act = layer.activation
        if not isinstance(act, nn.Module):
            act = _activation_module(act)
            self.activation = act  # a new module: gets its rule
        self._act: tuple[Callable[..., torch.Tensor]] = (act,)
        self._owner = (layer,)

    def forward(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor | None = None,
        src_key_padding_mask: torch.Tensor | None = None,
        is_causal: bool = False,
    ) -> torch.Tensor:
        """As ``nn.TransformerEncoderLayer.forward``."""
        lay = self._owner[0]
        x = src
        if lay.norm_first:
            x = self.add_attention(
                x, self._attention(lay.norm1(x), src_mask, src_key_padding_mask, is_causal))
            x = self.add_feedforward(x, self._feedforward(lay.norm2(x)))
        else:
            x = lay.norm1(self.add_attention(
                x, self._attention(x, src_mask, src_key_padding_mask, is_causal)))
            x = lay.norm2(self.add_feedforward(x, self._feedforward(x)))
        return x

    def _attention(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None,
        kpm: torch.Tensor | None,
        is_causal: bool,
    ) -> torch.Tensor:
        lay = self._owner[0]
        out = lay.self_attn(x, x, x, attn_mask=mask, key_padding_mask=kpm,
                            need_weights=False, is_causal=is_causal)[0]
        return lay.dropout1(out)

    def _feedforward(self, x: torch.Tensor) -> torch.Tensor:
        lay = self._owner[0]
        h = lay.linear2(lay.dropout(self._act[0](lay.linear1(x))))
        return lay.dropout2(h)


def _activation_module(fn: Callable[..., Any]) -> nn.Module:
    """The module of a functional activation of ``nn.TransformerEncoderLayer``."""
    if fn is F.relu:
        return nn.ReLU()
    if fn is F.gelu:
        return nn.GELU()
    raise UnsupportedModuleError(
        f"TransformerEncoderLayer activation {fn!r} is a function without an LRP rule; pass "
        "activation='relu', 'gelu' or a module (e.g. nn.SiLU())"
    )


def _encoder_forward(encoder: nn.TransformerEncoder) -> Callable[..., torch.Tensor]:
    """``nn.TransformerEncoder``'s forward as a plain loop (no nested tensors, no fast path)."""

    def forward(
        src: torch.Tensor,
        mask: torch.Tensor | None = None,
        src_key_padding_mask: torch.Tensor | None = None,
        is_causal: bool | None = None,
    ) -> torch.Tensor:
        out = src
        for mod in encoder.layers:
            out = mod(out, src_mask=mask, is_causal=bool(is_causal),
                      src_key_padding_mask=src_key_padding_mask)
        return encoder.norm(out) if encoder.norm is not None else out

    return forward


# ----------------------------------------------------------------------------- canonizer
class TransformerCanonizer:
    """Rewrites torch's attention/transformer modules into explainable compositions for the
    duration of one explain() call (module docstring). :meth:`apply` returns the undo."""

    def apply(self, model: nn.Module) -> Callable[[], None]:
        """Canonise every ``nn.MultiheadAttention``, ``nn.TransformerEncoderLayer`` and
        ``nn.TransformerEncoder`` in ``model``; return the function that restores them."""
        done: list[nn.Module] = []

        def undo() -> None:
            while done:
                module = done.pop()
                module.__dict__.pop("forward", None)
                module._modules.pop(CANONICAL, None)

        try:
            for module in list(model.modules()):
                explicit: nn.Module | None = None
                if isinstance(module, nn.MultiheadAttention):
                    explicit = ExplicitAttention(module)
                    forward: Callable[..., Any] = explicit.forward
                elif isinstance(module, nn.TransformerEncoderLayer):
                    explicit = ExplicitEncoderLayer(module)
                    forward = explicit.forward
                elif isinstance(module, nn.TransformerEncoder):
                    forward = _encoder_forward(module)
                else:
                    continue
                if "forward" in module.__dict__:
                    raise UnsupportedModuleError(
                        f"{type(module).__name__} already has an instance forward (patched?); "
                        "remove the patch before explaining"
                    )
                done.append(module)
                if explicit is not None:
                    module.add_module(CANONICAL, explicit)
                _set_forward(module, forward)
        except BaseException:
            undo()
            raise
        return undo

    def __repr__(self) -> str:
        return "TransformerCanonizer()"


def _set_forward(module: nn.Module, forward: Callable[..., Any]) -> None:
    """An instance-level ``forward`` (removed again by the undo)."""
    module.forward = forward


for _act in (nn.GELU, nn.SiLU):
    register_default_rule(_act, PassThrough())
register_default_rule(Add, AddEpsilon())
register_default_rule(nn.LayerNorm, LayerNormEpsilon())
register_default_rule(nn.GLU, GLUValue())
for _mod in Canonised.applies_to:
    register_default_rule(_mod, Canonised())

__all__ = [
    "CANONICAL",
    "Add",
    "AddEpsilon",
    "Canonised",
    "ExplicitEncoderLayer",
    "GLUValue",
    "LayerNormEpsilon",
    "TransformerCanonizer",
    "is_sum",
]
