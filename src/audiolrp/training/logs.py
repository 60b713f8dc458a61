"""The training log: one row per epoch in ``log.csv`` and ``log.json``."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from audiolrp.io import atomic_write_bytes, write_json

#: Columns of ``log.csv`` (``log.json`` holds the same rows).
LOG_COLUMNS = (
    "epoch",
    "step",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "val_mean_error_deg",
    "val_median_error_deg",
    "examples_seen",
    "lr",
    "epoch_time_s",
    "is_best",
)


def write_logs(out_dir: Path, history: list[dict[str, Any]]) -> None:
    """Write every epoch's row so far to ``out_dir/log.csv`` and ``out_dir/log.json``."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(LOG_COLUMNS), extrasaction="ignore")
    writer.writeheader()
    for row in history:
        writer.writerow(row)
    atomic_write_bytes(out_dir / "log.csv", buf.getvalue().encode())
    write_json(out_dir / "log.json", history, indent=1)
