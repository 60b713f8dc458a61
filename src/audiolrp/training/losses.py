"""The training loss: frame-wise cross-entropy against one-hot or soft angular targets.

The paper's loss is the softmax cross-entropy of every frame against the clip label (the
label is repeated for all 50 frames, since the CRNN returns pre-softmax scores per frame). The
optional soft targets (``label_sigma_deg > 0``) spread a label over its neighbouring classes
with a Gaussian in the great-circle angle, so near misses cost less than far ones.
"""

from __future__ import annotations

import torch
from torch import nn

from audiolrp.signal.ambisonics import doa_grid
from audiolrp.signal.augmentation import direction_targets


def angular_label_targets(sigma_deg: float) -> torch.Tensor:
    """Soft frame targets: row ``y`` is a Gaussian over the angle from class ``y``.

    ``q_k(y) = exp(-d(k, y)^2 / (2 sigma^2)) / sum_j exp(-d(j, y)^2 / (2 sigma^2))`` with
    ``d`` the great-circle angle (degrees) between the class directions of :func:`doa_grid`.
    Because the grid is nearly uniform (neighbours 8.6-10 deg apart), ``sigma_deg`` of about
    the neighbour spacing spreads a label over its ring of neighbours. ``sigma_deg -> 0`` gives
    the one-hot targets of the paper's cross-entropy. Returns float32 ``(425, 425)``; rows sum
    to 1.
    """
    grid = doa_grid()
    return direction_targets(grid[:, 0], grid[:, 1], sigma_deg)


def framewise_cross_entropy(
    scores: torch.Tensor,
    labels: torch.Tensor,
    targets: torch.Tensor | None = None,
    soft_targets: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean cross-entropy of every frame's pre-softmax scores against the clip label.

    Parameters
    ----------
    scores
        ``(B, T, n_classes)`` pre-softmax scores.
    labels
        ``(B,)`` class indices, repeated for all ``T`` frames.
    targets
        ``None``: one-hot targets (the paper). Otherwise an ``(n_classes, n_classes)``
        table whose row ``y`` is the target distribution of label ``y``
        (:func:`angular_label_targets`); the loss is ``-sum_k q_k(y) log softmax(s)_k``
        averaged over all frames.
    soft_targets
        ``(B, n_classes)`` target distribution per example (e.g. centred on the exact source
        direction, :func:`audiolrp.signal.augmentation.direction_targets`); overrides ``targets``.
    """
    b, t, c = scores.shape
    if soft_targets is not None:
        log_p = nn.functional.log_softmax(scores.float(), dim=-1)
        q = soft_targets.to(device=scores.device, dtype=log_p.dtype)
        return -(log_p * q[:, None, :]).sum(-1).mean()
    if targets is None:
        return nn.functional.cross_entropy(scores.reshape(b * t, c), labels.repeat_interleave(t))
    log_p = nn.functional.log_softmax(scores, dim=-1)  # (B, T, C)
    q = targets.to(device=scores.device, dtype=scores.dtype)[labels]  # (B, C)
    return -(log_p * q[:, None, :]).sum(-1).mean()
