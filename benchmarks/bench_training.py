"""Training throughput: the default recipe vs the float32 whole-clip baseline, in one run.

For the full-size CRNN (Table 1) of both shipped models -- ``intensity`` (6 channels) and
``hoa2`` (18 channels) -- measures examples per second of one training step (forward,
frame-wise cross-entropy, backward, gradient clipping, Adam) at batch 32 on all torch threads:

* ``baseline``: float32, contiguous memory, whole 50-frame clips (the recipe before issue 10);
* each option on its own and stacked: ``channels_last``, bf16 autocast (float32 master
  weights), random 25-frame crops;
* ``default + data``: the default recipe with the data path included -- order-2 audio, exact
  sound-field augmentation, features computed per batch, direction targets
  (:class:`audiolrp.training.DirectionBatches` on an in-memory dataset).

Prints examples/s and the ratio to the baseline, measured in this one run. Timings are the
median of ``--steps`` steps after warm-up.

Run: ``.venv/bin/python benchmarks/bench_training.py [--steps 12] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import numpy as np
import torch


class _InMemory(torch.utils.data.Dataset):
    """Random order-2 audio with directions, shaped like a FeatureDataset for DirectionBatches."""

    def __init__(self, n: int, feature: str, seed: int = 0) -> None:
        from audiolrp.signal.features import compute_features

        rng = np.random.default_rng(seed)
        self._audio = rng.standard_normal((n, 9, 16000)).astype(np.float32) * 0.05
        self._dirs = rng.uniform([-np.pi, -1.4], [np.pi, 1.4], size=(n, 2))
        self.feature, self.order = feature, (1 if feature == "intensity" else 2)
        self._compute = compute_features

    def __len__(self) -> int:
        return len(self._audio)

    def audio(self, i: int, part: str = "mixture", order: int | None = None) -> np.ndarray:
        k = ((order if order is not None else self.order) + 1) ** 2
        return self._audio[i, :k]

    def meta(self, i: int) -> dict[str, Any]:
        return {"azimuth_rad": float(self._dirs[i, 0]), "elevation_rad": float(self._dirs[i, 1])}

    def features_from_audio(self, audio: torch.Tensor) -> torch.Tensor:
        x = audio if audio.is_complex() else audio.float()
        return self._compute(x, self.feature, self.order).float()


def _step_rate(
    feature: str,
    *,
    channels_last: bool,
    bf16: bool,
    crop: int,
    batch: int,
    steps: int,
    with_data: bool = False,
) -> float:
    from audiolrp.models import build_model
    from audiolrp.training import (
        DirectionBatches,
        TrainConfig,
        framewise_cross_entropy,
        random_time_crops,
    )

    torch.manual_seed(0)
    model = build_model(feature, 2 if feature == "hoa" else 1, size="full")
    if channels_last:
        model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    n_in = model.n_in
    x_full = torch.randn(batch, n_in, 50, 512)
    y = torch.randint(0, 425, (batch,))
    rng = np.random.default_rng(0)
    maker = None
    if with_data:
        cfg = TrainConfig(
            feature=feature, order=2, augment=True, label_sigma_deg=8.0, crop_frames=crop
        )
        maker = DirectionBatches(_InMemory(batch * 4, feature), cfg, torch.device("cpu"))
    times = []
    model.train()
    for i in range(steps + 3):
        t0 = time.perf_counter()
        q = None
        if maker is not None:
            x, y, q = maker(list(range((i % 4) * batch, (i % 4 + 1) * batch)), 0, i)
        else:
            x = random_time_crops(x_full, crop, rng)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            scores = model(x)
        loss = framewise_cross_entropy(scores.float(), y, None, q)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if i >= 3:
            times.append(time.perf_counter() - t0)
    return batch / statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    variants = [
        ("baseline (fp32, 50 frames)", {"channels_last": False, "bf16": False, "crop": 0}),
        ("channels_last", {"channels_last": True, "bf16": False, "crop": 0}),
        ("bf16 autocast", {"channels_last": False, "bf16": True, "crop": 0}),
        ("25-frame crops", {"channels_last": False, "bf16": False, "crop": 25}),
        ("default (all three)", {"channels_last": True, "bf16": True, "crop": 25}),
        (
            "default + data (augment, features)",
            {"channels_last": True, "bf16": True, "crop": 25, "with_data": True},
        ),
    ]
    results: dict[str, dict[str, float]] = {}
    for feature, name in (("intensity", "intensity"), ("hoa", "hoa2")):
        rows: dict[str, float] = {}
        for label, kw in variants:
            rows[label] = _step_rate(feature, batch=args.batch, steps=args.steps, **kw)
        results[name] = rows
    if args.json:
        print(json.dumps({"threads": torch.get_num_threads(), "results": results}, indent=1))
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}")
    for name, rows in results.items():
        base = rows["baseline (fp32, 50 frames)"]
        print(f"\n{name}:")
        for label, rate in rows.items():
            print(f"  {label:38s} {rate:7.1f} ex/s   x{rate / base:.2f}")


if __name__ == "__main__":
    main()
