"""Ship a trained model with its card (used by campaign.sh).

The card's test set keeps the recipe of the earlier cards, so numbers stay comparable across
models: 500 scenes, seed 99, sources on the class grid, SNR 0-30 dB, RT60 0.2-0.8 s, rooms
3-10 x 3-8 x 2.5-4 m, the Debian corpus's test speakers (`card-recipe.json`). More test
sets change one setting each: off-grid directions, off-grid at 10-20 dB SNR, off-grid with
1-4 directional pink-noise sources beside the babble (30-100 % of the noise power), and
(cards from session 9 on) the target talker low-passed at 4 kHz (recipe step 5d).

Usage: python docs/training/export.py RUN/model.json NAME [EXPORT_DIR]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from audiolrp.evaluation import point_noise_overrides
from audiolrp.training import export_model

HERE = Path(__file__).resolve().parent


def main() -> None:
    model_path, name = sys.argv[1], sys.argv[2]
    export_dir = sys.argv[3] if len(sys.argv) > 3 else None
    torch.set_num_threads(1)
    recipe = json.loads((HERE / "card-recipe.json").read_text())
    t0 = time.perf_counter()
    files = export_model(
        model_path,
        name,
        export_dir,
        eval_examples=500,
        eval_seed=99,
        eval_recipe=recipe,
        extra_test_sets={
            "off-grid directions (Debian test speakers)": {"direction_sampling": "uniform"},
            "off-grid, 10-20 dB SNR": {"direction_sampling": "uniform", "snr_db": [10.0, 20.0]},
            "off-grid, 1-4 pink-noise point sources": {
                "direction_sampling": "uniform", **point_noise_overrides(1, 4)
            },
            "talker band-limited to 4 kHz": {"speech_lowpass_hz": [4000.0, 4000.0]},
        },
    )
    print({k: str(v) for k, v in files.items()}, f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
