"""Benchmark: `audiolrp locate` on a long recording: real-time factor and peak memory.

Writes a ``--minutes``-long 4-channel (first-order) AmbiX recording at 48 kHz (a simulated
scene repeated at levels drawn from -40..-10 dBFS, 32-bit float WAV), then runs the command's
library path (:func:`audiolrp.app.locate.locate_recording`) in a fresh process and prints

* the wall time and the real-time factor (recording length / wall time),
* the peak resident memory of that process against the size the whole file would take in
  float64 at 48 kHz (streaming keeps memory independent of the length).

Run: ``.venv/bin/python benchmarks/bench_locate.py --minutes 10 --model hoa1``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = """
import resource, sys, time, json
import torch
from audiolrp import models
from audiolrp.app.locate import locate_recording
torch.set_num_threads(int(sys.argv[4]))
lm = models.load(sys.argv[2])
t0 = time.perf_counter()
views = int(sys.argv[5])
loc = locate_recording(lm, sys.argv[1], hop_s=float(sys.argv[3]), views=views or None)
dt = time.perf_counter() - t0
print(json.dumps({"wall_s": dt, "n_windows": loc.n_windows,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    import json

    import soundfile as sf

    from audiolrp.audio_io import resample
    from audiolrp.simulation import scenes

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", default="1,10",
                    help="recording lengths to measure (comma-separated minutes)")
    ap.add_argument("--model", default="hoa1")
    ap.add_argument("--hop-s", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--views", default="1",
                    help="sound-field views per window to measure, comma-separated (0: the "
                         "model's own; `locate --views`)")
    args = ap.parse_args()
    fs = 48000
    sc = scenes.simulate_scene(scenes.SceneConfig(order=1), 0, split="test")
    block = resample(sc.mixture.astype(np.float64), 16000, fs)  # 1 s at 48 kHz
    for minutes in [float(m) for m in args.minutes.split(",") if m]:
        n_blocks = int(round(minutes * 60))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "long.wav"
            with sf.SoundFile(path, "w", fs, 4, subtype="FLOAT") as f:
                rng = np.random.default_rng(0)
                for _ in range(n_blocks):
                    f.write((block * 10 ** (rng.uniform(-40, -10) / 20) / 0.05).T)
            size_mb = n_blocks * fs * 4 * 8 / 2**20
            for views in [int(v) for v in args.views.split(",") if v]:
                t0 = time.perf_counter()
                out = subprocess.run([sys.executable, "-c", CHILD, str(path), args.model,
                                      str(args.hop_s), str(args.threads), str(views)],
                                     capture_output=True, text=True, check=True)
                total = time.perf_counter() - t0
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"{minutes:g} min, 4 channels, 48 kHz; model {args.model}, hop "
                      f"{args.hop_s} s, {r['n_windows']} windows, {args.threads} torch threads, "
                      f"views {views or 'of the model'}")
                print(f"  locate: {r['wall_s']:.1f} s -> {n_blocks / r['wall_s']:.1f}x faster "
                      f"than real time (with start-up and model load: {total:.1f} s, "
                      f"{n_blocks / total:.1f}x)")
                print(f"  peak memory of the process: {r['peak_rss_mb']:.0f} MB (the file as "
                      f"float64: {size_mb:.0f} MB)")


if __name__ == "__main__":
    main()
