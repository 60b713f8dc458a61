"""Resampling statistics shared by the analyses: the one bootstrap of examples.

Every interval over examples in audiolrp (pixel-flipping bands, method comparison, relevance
in space) resamples the same way, so results with the same seed and size use the same resamples
and paired differences stay paired.
"""

from __future__ import annotations

import numpy as np

from audiolrp.errors import AudioLRPError


def bootstrap_indices(n: int, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """``(n_boot, n)`` example indices drawn with replacement from ``default_rng(seed)``."""
    if n < 1 or n_boot < 1:
        raise AudioLRPError(f"bootstrap needs n >= 1 examples and n_boot >= 1 (got {n}, {n_boot})")
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


__all__ = ["bootstrap_indices"]
