"""Canonisation: fold BatchNorm into the preceding convolution (or dense layer); pool before
a strictly increasing activation.

In eval mode ``BN(W x + b) = W' x + b'`` with ``W' = W * gamma / sqrt(var + eps)`` (per output
channel) and ``b' = (b - mean) * gamma / sqrt(var + eps) + beta``. The LRP rule of the conv is
then applied to ``(W', b')`` and the BatchNorm becomes the identity. :func:`fold_batchnorm`
computes ``(W', b')`` on detached copies (what :func:`audiolrp.lrp.explain` uses: the model is
never touched); :func:`merge_batchnorm` is an in-place variant for users that restores every
parameter and buffer bit for bit on exit.

Pairs are found structurally: a ``Conv1d``/``Conv2d``/``Linear`` immediately followed by a
matching ``BatchNorm1d``/``BatchNorm2d`` inside an ``nn.Sequential`` (the layout of the CRNN).
Any other BatchNorm is treated as a pass-through layer.

**Activation and max-pooling** (:func:`find_activation_pool_pairs`). For a strictly increasing
activation ``g`` (ELU, LeakyReLU with a positive slope, Tanh), ``maxpool(g(a)) = g(maxpool(a))``
and the pooling picks the same winner either way. The LRP of that pair -- the activation passes
relevance through, the pooling gives it all to its winner -- is therefore the same when the
pooling runs first, and the activation then sees ``prod(pool)`` times fewer values (8x for the
CRNN's first block). The one difference: where the activation saturates so that two
pre-activations give the same float (ELU below about -17 in float32), the larger
pre-activation wins instead of the first position.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

import torch
from torch import nn

from audiolrp.errors import UnsupportedModuleError

#: Layers a following BatchNorm folds into, and those BatchNorms.
Foldable = nn.Conv1d | nn.Conv2d | nn.Linear
BatchNorm = nn.BatchNorm1d | nn.BatchNorm2d

_PAIRS = ((nn.Conv2d, nn.BatchNorm2d), (nn.Conv1d, nn.BatchNorm1d), (nn.Linear, nn.BatchNorm1d))


def find_conv_bn_pairs(model: nn.Module) -> dict[Foldable, BatchNorm]:
    """Map each conv/dense layer to the BatchNorm that directly follows it in a Sequential."""
    pairs: dict[Foldable, BatchNorm] = {}
    for seq in model.modules():
        if not isinstance(seq, nn.Sequential):
            continue
        children = list(seq.children())
        for a, b in zip(children[:-1], children[1:], strict=True):
            if any(type(a) is ca and type(b) is cb for ca, cb in _PAIRS):
                if b.running_mean is None:
                    raise UnsupportedModuleError(
                        f"{type(b).__name__} without running statistics cannot be folded; "
                        "use trackrunning_stats=True or Composite(batchnorm='pass')"
                    )
                pairs[cast(Foldable, a)] = cast(BatchNorm, b)
    return pairs


#: Activations that are strictly increasing for every setting checked by
#: :func:`strictly_increasing` (a max-pooling after them picks the winner of their input).
MONOTONE_ACTIVATIONS: tuple[type[nn.Module], ...] = (nn.ELU, nn.LeakyReLU, nn.Tanh)
MAX_POOLS: tuple[type[nn.Module], ...] = (
    nn.MaxPool1d, nn.MaxPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d,
)


def strictly_increasing(module: nn.Module) -> bool:
    """Whether the activation ``module`` is strictly increasing (ELU with ``alpha > 0``,
    LeakyReLU with ``negative_slope > 0``, Tanh); not in place."""
    if not isinstance(module, MONOTONE_ACTIVATIONS) or getattr(module, "inplace", False):
        return False
    if isinstance(module, nn.ELU):
        return module.alpha > 0
    if isinstance(module, nn.LeakyReLU):
        return module.negative_slope > 0
    return True


def find_activation_pool_pairs(model: nn.Module) -> dict[nn.Module, nn.Module]:
    """Map each strictly increasing activation to the max-pooling that directly follows it in
    a Sequential (module docstring: the pooling may run first)."""
    pairs: dict[nn.Module, nn.Module] = {}
    for seq in model.modules():
        if not isinstance(seq, nn.Sequential):
            continue
        children = list(seq.children())
        for a, b in zip(children[:-1], children[1:], strict=True):
            if (strictly_increasing(a) and isinstance(b, MAX_POOLS)
                    and not getattr(b, "return_indices", False) and a not in pairs):
                pairs[a] = b
    return pairs


def fold_batchnorm(layer: Foldable, bn: BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """Folded ``(W', b')`` of ``layer`` followed by ``bn`` (eval mode), as detached tensors.

    Parameters
    ----------
    layer
        ``Conv1d``, ``Conv2d`` or ``Linear`` with weight of shape ``(C_out, ...)``.
    bn
        The following BatchNorm with running statistics over ``C_out`` channels.

    Returns
    -------
    tuple of torch.Tensor
        Weight and bias in the layer's dtype and device.
    """
    w = layer.weight.detach()
    dt = w.dtype
    running_mean, running_var = running_stats(bn)
    mean = running_mean.detach().to(dt)
    var = running_var.detach().to(dt)
    scale = torch.rsqrt(var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight.detach().to(dt)
    b = layer.bias.detach() if layer.bias is not None else torch.zeros_like(mean)
    new_b = (b - mean) * scale
    if bn.bias is not None:
        new_b = new_b + bn.bias.detach().to(dt)
    new_w = w * scale.view(-1, *([1] * (w.dim() - 1)))
    return new_w, new_b


@contextmanager
def merge_batchnorm(model: nn.Module) -> Iterator[dict[Foldable, BatchNorm]]:
    """Fold every Sequential conv->BN pair in place; restore the model bit for bit on exit.

    Inside the context the BatchNorms are set to the identity (mean 0, var 1 - eps, weight 1,
    bias 0) and the convs carry the folded weights; the model's function is unchanged up to
    rounding (eval mode).
    """
    pairs = find_conv_bn_pairs(model)
    backup = {k: v.detach().clone() for k, v in model.state_dict(keep_vars=True).items()}
    try:
        with torch.no_grad():
            for layer, bn in pairs.items():
                w, b = fold_batchnorm(layer, bn)
                layer.weight.copy_(w)
                if layer.bias is None:
                    raise UnsupportedModuleError(
                        f"{type(layer).__name__} without bias cannot be folded in place; "
                        "use audiolrp.lrp.explain (folds on copies)"
                    )
                layer.bias.copy_(b)
                running_mean, running_var = running_stats(bn)
                running_mean.zero_()
                running_var.fill_(1.0 - bn.eps)
                if bn.weight is not None and bn.bias is not None:
                    bn.weight.fill_(1.0)
                    bn.bias.zero_()
        yield pairs
    finally:
        with torch.no_grad():
            for k, v in model.state_dict(keep_vars=True).items():
                v.copy_(backup[k])


def running_stats(bn: BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """``(running_mean, running_var)`` of ``bn``; an error if it tracks no running statistics."""
    if bn.running_mean is None or bn.running_var is None:
        raise UnsupportedModuleError(
            f"{type(bn).__name__} without running statistics cannot be folded; "
            "use trackrunning_stats=True or Composite(batchnorm='pass')"
        )
    return bn.running_mean, bn.running_var


__all__ = [
    "MAX_POOLS",
    "MONOTONE_ACTIVATIONS",
    "BatchNorm",
    "Foldable",
    "find_activation_pool_pairs",
    "find_conv_bn_pairs",
    "fold_batchnorm",
    "merge_batchnorm",
    "running_stats",
    "strictly_increasing",
]
