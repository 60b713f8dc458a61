"""Array helpers shared by the analyses."""

from __future__ import annotations

import numpy as np


def as_numpy(a: object) -> np.ndarray:
    """NumPy view/copy of ``a``; torch tensors are detached and moved to the CPU first."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)
