"""Writing figures to files: :func:`save_figure` (atomic, format from the suffix)."""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure

from audiolrp.io import atomic_path


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 150) -> Path:
    """Save ``fig`` (format from the suffix, e.g. PNG) atomically: temp file + rename."""
    path = Path(path)
    fmt = path.suffix.lstrip(".") or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)
    return path


__all__ = ["save_figure"]
