"""Validation after every epoch: loss, accuracy and angular error on whole 1-s clips."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from audiolrp.models import clip_probabilities
from audiolrp.signal.ambisonics import angular_error_deg, doa_grid
from audiolrp.signal.augmentation import direction_targets
from audiolrp.training.data import Collate, collate_features, split_batches
from audiolrp.training.losses import framewise_cross_entropy


def run_validation(
    model: nn.Module,
    dataset: Dataset,
    indices: list[int],
    batch_size: int,
    device: torch.device,
    num_workers: int,
    collate: Collate = collate_features,
    targets: torch.Tensor | None = None,
    distance_deg: torch.Tensor | None = None,
    directions: np.ndarray | None = None,
    sigma_deg: float = 0.0,
) -> tuple[list[float], np.ndarray]:
    """Validation on whole clips in float32.

    Returns ``([loss * n, correct, angular error sum (deg), n], errors)`` summed over this
    rank's share. The angular error is between the predicted class direction and the exact
    source direction when ``directions`` (``(n, 2)`` radians, aligned with ``dataset``) is
    given, else the labelled class direction (``distance_deg``: :func:`class_distance_deg`).
    With ``directions`` and ``sigma_deg > 0`` the loss uses direction-centred targets (as in
    training with ``direction_targets``).
    """
    model.eval()
    loss_sum = correct = count = 0.0
    errors: list[np.ndarray] = []
    grid = doa_grid()
    if indices:
        batches = split_batches(indices, batch_size)
        loader = DataLoader(
            dataset, batch_sampler=batches, collate_fn=collate, num_workers=num_workers
        )
        with torch.no_grad():
            for (x, y), idx in zip(loader, batches, strict=True):
                x, y = x.to(device), y.to(device)
                scores = model(x)
                soft = None
                if directions is not None and sigma_deg > 0:
                    d = directions[idx]
                    soft = direction_targets(d[:, 0], d[:, 1], sigma_deg).to(device)
                loss = framewise_cross_entropy(scores, y, targets, soft)
                loss_sum += float(loss) * len(y)
                pred = clip_probabilities(scores).argmax(-1).cpu().numpy()
                correct += float((pred == y.cpu().numpy()).sum())
                if directions is not None:
                    d = directions[idx]
                    errors.append(
                        angular_error_deg(grid[pred, 0], grid[pred, 1], d[:, 0], d[:, 1])
                    )
                elif distance_deg is not None:
                    errors.append(
                        distance_deg[torch.as_tensor(pred), y.cpu()].numpy().astype(np.float64)
                    )
                count += len(y)
    err = np.concatenate(errors) if errors else np.zeros(0)
    return [loss_sum, correct, float(err.sum()), count], err
