"""What limits the shipped models on their cards' test set: the same scenes with one condition
eased at a time, split by talker group, beside the spectra of the test talkers.

The card test set (500 scenes, seed 99, ``experiments/card-recipe.json``) mixes two kinds of
held-out voice from the Debian corpus: ``asterisk-it`` (studio prompts, like the training
voices) and the Dutch Fish Fillets voices (``fillets-nl-*``; game dialogue). This script
re-simulates the card's scenes (same seed: same rooms, directions and speech) under

* ``card``: the card's recipe (SNR 0-30 dB of diffuse babble, RT60 0.2-0.8 s);
* ``no noise``: SNR 60 dB (babble negligible), everything else unchanged;
* ``dry room``: RT60 0.2-0.3 s at the card's SNR;
* ``no noise, dry room``: both;
* ``talker 4 kHz``: the target talker low-passed at 4 kHz (recipe step 5d; the babble keeps
  its full band), as if recorded at 8 kHz like the game voices;
* ``talker 4 kHz, no noise``: that at SNR 60 dB;

and prints, per model and condition, exact-class accuracy for each talker group, mean / median
error vs the true direction, and the classic broadband intensity-vector estimator on the same
clips. A second table describes the talkers' recordings (every test talker and the training
voices with at least 100 files; first 80 files each, read as the scenes read them): the share
of power above 4 kHz, the share of VAD-active 20-ms frames (``vad_activity``, the detector that
decides which speech windows scenes may use), and the 2nd percentile of the level change over
50 ms (how fast the speech stops; dry studio speech falls faster).

Run: ``.venv/bin/python benchmarks/eval_conditions.py [--models intensity,hoa1,hoa2,hoa3,hoa4]
[--conditions 'card;dry room'] [--no-talkers] [--n 500] [--json]`` (needs ``audiolrp corpus
debian``; about 30 s per model and condition on one core; ``--models`` also takes saved model
paths).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from audiolrp.constants import FS_HZ
from audiolrp.evaluation import evaluate
from audiolrp.simulation.speech import open_corpus
from audiolrp.simulation.speech.audio import frame_energy, load_speech_file, vad_activity

RECIPE = Path(__file__).resolve().parents[1] / "experiments" / "card-recipe.json"

CONDITIONS: dict[str, dict] = {
    "card": {},
    "no noise": {"snr_db": [60.0, 60.0]},
    "dry room": {"rt60_s": [0.2, 0.3]},
    "no noise, dry room": {"snr_db": [60.0, 60.0], "rt60_s": [0.2, 0.3]},
    "talker 4 kHz": {"speech_lowpass_hz": [4000.0, 4000.0]},
    "talker 4 kHz, no noise": {"speech_lowpass_hz": [4000.0, 4000.0], "snr_db": [60.0, 60.0]},
}

STUDIO_TALKER = "asterisk-it"


def talker_statistics(n_files: int = 80) -> list[dict]:
    """Recording statistics of the Debian corpus's test talkers (see the module docstring)."""
    corpus = open_corpus("debian")
    rows = []
    for split in ("train", "test"):
        split_files = corpus.files(split)
        for spk in corpus.speakers(split):
            files = [f for f in split_files if f.parent.name == spk]
            if split == "test" or len(files) >= 100:  # every test talker, the main train voices
                rows.append(_recording_statistics(spk, split, files[:n_files]))
    return rows


def _recording_statistics(spk: str, split: str, files: list[Path]) -> dict:
    hf, act, drop = [], [], []
    for f in files:
        y = load_speech_file(f, downmix=True)  # 16 kHz mono float32, as the scenes read it
        spec = np.abs(np.fft.rfft(y.astype(np.float64))) ** 2
        freq = np.fft.rfftfreq(len(y), 1.0 / FS_HZ)
        hf.append(spec[freq > 4000.0].sum() / max(spec.sum(), 1e-30))
        act.append(np.mean(vad_activity(y)))
        level_db = 10 * np.log10(frame_energy(y, FS_HZ // 100).astype(np.float64) + 1e-12)
        if len(level_db) > 5:
            drop.append(np.percentile(level_db[5:] - level_db[:-5], 2))
    return {
        "talker": spk,
        "split": split,
        "files": len(files),
        "power_above_4khz": float(np.mean(hf)),
        "activity": float(np.mean(act)),
        "drop_50ms_db": float(np.mean(drop)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="intensity,hoa1,hoa2,hoa3,hoa4")
    ap.add_argument("--conditions", default=";".join(CONDITIONS),
                    help="semicolon-separated subset of: " + "; ".join(CONDITIONS))
    ap.add_argument("--no-talkers", action="store_true", help="skip the talker table")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--seed", type=int, default=99)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    names = [c.strip() for c in args.conditions.split(";")]
    unknown = sorted(set(names) - set(CONDITIONS))
    if unknown:
        ap.error(f"unknown conditions {unknown}; use {'; '.join(CONDITIONS)}")
    conditions = {c: CONDITIONS[c] for c in names}
    torch.set_num_threads(1)
    recipe = json.loads(RECIPE.read_text())
    results: dict = {"n": args.n, "seed": args.seed, "conditions": conditions, "models": {}}
    t0 = time.perf_counter()
    for model in args.models.split(","):
        rows = {}
        for cond, overrides in conditions.items():
            r = evaluate(model, recipe=recipe, n_examples=args.n, seed=args.seed,
                         overrides=overrides or None, plot=False)
            p = r.predictions
            correct = p.pred == p.label
            studio = np.array([s == STUDIO_TALKER for s in p.speaker])
            err = r.metrics["error_vs_true_direction_deg"]
            base = r.metrics["baseline_intensity_vector"]["error_vs_true_direction_deg"]
            rows[cond] = {
                "accuracy": float(correct.mean()),
                "accuracy_studio_talker": float(correct[studio].mean()),
                "accuracy_game_talkers": float(correct[~studio].mean()),
                "n_studio_talker": int(studio.sum()),
                "mean_error_deg": float(err["mean"]),
                "median_error_deg": float(err["median"]),
                "classic_mean_error_deg": float(base["mean"]),
                "classic_median_error_deg": float(base["median"]),
            }
        results["models"][model] = rows
    results["talkers"] = [] if args.no_talkers else talker_statistics()
    results["seconds"] = round(time.perf_counter() - t0, 1)
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print(f"{args.n} card scenes (seed {args.seed}); accuracy = exact class; "
          f"studio = {STUDIO_TALKER}, game = fillets-nl-*")
    print(f"{'model':10s} {'condition':20s} {'acc':>6s} {'studio':>7s} {'game':>6s} "
          f"{'mean/median deg':>16s} {'classic mean/median':>20s}")
    for model, rows in results["models"].items():
        for cond, m in rows.items():
            print(f"{model:10s} {cond:20s} {m['accuracy']:6.3f} {m['accuracy_studio_talker']:7.3f} "
                  f"{m['accuracy_game_talkers']:6.3f} "
                  f"{m['mean_error_deg']:7.2f} / {m['median_error_deg']:5.2f} "
                  f"{m['classic_mean_error_deg']:10.2f} / {m['classic_median_error_deg']:5.2f}")
    print(f"\n{'talker':26s} {'split':5s} {'files':>5s} {'power >4 kHz':>12s} {'activity':>8s} "
          f"{'50-ms drop (dB)':>15s}")
    for t in results["talkers"]:
        print(f"{t['talker']:26s} {t['split']:5s} {t['files']:5d} {t['power_above_4khz']:12.4f} "
              f"{t['activity']:8.2f} {t['drop_50ms_db']:15.1f}")
    print(f"\n{results['seconds']:.0f} s")


if __name__ == "__main__":
    main()
