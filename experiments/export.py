"""Ship a trained model with its card (used by campaign.sh).

The policy (the card test set of every shipped card, its extra test sets) is the library's:
:func:`audiolrp.training.export.export_card_model`; this script only runs it with one torch
thread and prints the written files and the time.

Usage: python experiments/export.py RUN/model.json NAME [EXPORT_DIR]
"""

from __future__ import annotations

import sys
import time

import torch

from audiolrp.training.export import export_card_model


def main() -> None:
    model_path, name = sys.argv[1], sys.argv[2]
    export_dir = sys.argv[3] if len(sys.argv) > 3 else None
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    files = export_card_model(model_path, name, export_dir)
    print({k: str(v) for k, v in files.items()}, f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
