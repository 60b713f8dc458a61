"""Model inputs of dataset examples for the analyses (`audiolrp analyze channels`, `flip`,
`methods` with ``--data``): the dataset split of a model, and its examples' inputs computed
through the model's one audio -> input path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from audiolrp.data.datasets import FeatureDataset
from audiolrp.errors import AudioLRPError
from audiolrp.progress import progress_bar


def check_dataset_dir(root: Path) -> None:
    """One-line error when the dataset folder ``root`` does not exist."""
    if not root.is_dir():
        raise AudioLRPError(f"dataset folder {root} not found: create it with `audiolrp simulate`")


def open_dataset(root: Path, split: str, feature: str, order: int) -> FeatureDataset:
    """Split ``split`` of the dataset folder ``root`` with a model's features (a kind of
    fixed order ignores ``order``)."""
    check_dataset_dir(root)
    return FeatureDataset(root, split, feature=feature, order=order)


def dataset_inputs(
    ds: Any, indices: np.ndarray, progress: bool = False, model: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs ``(N, C, T, F)`` float32 and labels ``(N,)`` of dataset examples: with a
    ``model`` (anything with ``.features(audio)``, ``.order``) from the stored audio through
    the model's one audio -> input path (level gain included); else the dataset's features.
    With ``progress``, a bar on stderr."""
    bar = progress_bar(len(indices), enabled=progress and len(indices) > 1, unit="example")
    from_audio = model is not None and callable(getattr(ds, "audio", None))
    xs, ys = [], []
    for i in indices:
        if from_audio:
            xs.append(model.features(np.asarray(ds.audio(int(i), order=max(1, model.order)))))
            meta = ds.meta(int(i))
            ys.append(int(meta["label"]) if "label" in meta else int(ds[int(i)][1]))
        else:
            item = ds[int(i)]
            xs.append(np.asarray(item[0], dtype=np.float32))
            ys.append(int(item[1]))
        bar(1)
    if not xs:
        raise AudioLRPError("no examples selected: check --split and --n-examples")
    return np.stack(xs), np.asarray(ys, dtype=np.int64)


__all__ = ["check_dataset_dir", "dataset_inputs", "open_dataset"]
