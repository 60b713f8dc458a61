"""Learning curves of the issue-10 pilots and long runs: validation angular error vs examples.

Reads the per-epoch logs copied next to this script (``<run>.csv``, written by
``audiolrp train``) and ``start.json`` (validation error of each run's initial model on the
same validation set), and writes ``learning-curves.png``. Run from the repository root:
``.venv/bin/python experiments/plot_learning_curves.py``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script, not the library: choosing a backend is fine here
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
RUNS = {
    "pilot-int-A": ("intensity pilot A: class targets, plateau (no augmentation)", "intensity"),
    "pilot-int-B": ("intensity pilot B: augmentation + direction targets, cosine", "intensity"),
    "long-intensity": ("intensity long run (recipe B)", "intensity"),
    "long-hoa2": ("hoa2 long run (recipe B)", "hoa2"),
    "s4-intensity": ("intensity stage 4 (recipe B from lr 3e-4)", "intensity"),
    "s4-hoa2": ("hoa2 stage 4 (recipe B from lr 3e-4)", "hoa2"),
    "pn-intensity": ("intensity + point-source noise (pilot, not shipped)", "intensity"),
    "pn-hoa2": ("hoa2 stage 5: + point-source noise", "hoa2"),
    "pn3-intensity": ("intensity stage 5: + pink point-source noise", "intensity"),
    "pn4-intensity": ("intensity stage 6: + speech point-source noise", "intensity"),
    "pn5-intensity": ("intensity stage 7: continued (lr 5e-5)", "intensity"),
    "s6-hoa2": ("hoa2 stage 6: + speech point-source noise", "hoa2"),
    "s7-hoa2": ("hoa2 stage 7: continued (lr 1e-4)", "hoa2"),
    "s8-hoa2": ("hoa2 stage 8: continued (lr 5e-5)", "hoa2"),
    "s9-hoa2": ("hoa2 continued, lr 7e-5 (not shipped)", "hoa2"),
    "pn6-intensity": ("intensity continued, lr 7e-5 (not shipped)", "intensity"),
    "t1-hoa2": ("hoa2 stage t1: + talker-tilt scenes", "hoa2"),
    "t1-intensity": ("intensity stage t1: + talker-tilt scenes", "intensity"),
    "t2-hoa2": ("hoa2 stage 9 continued, lr 5e-5 (not shipped)", "hoa2"),
    "v1-intensity": ("intensity + balanced-speech scenes (not shipped)", "intensity"),
    "v1-hoa2": ("hoa2 + balanced-speech scenes (not shipped)", "hoa2"),
    "h1-hoa1": ("hoa1 stage 10: hoa2 stage 9 at first order", "hoa1"),
    "h2-hoa1": ("hoa1 stage 11: continued (lr 1.5e-4)", "hoa1"),
    "h3-hoa1": ("hoa1 stage 11 continued, lr 1e-4 (not shipped)", "hoa1"),
    "x1-intensity": ("intensity from a random start, 8 epochs (not shipped)", "intensity"),
}
#: A run that continues another: its curve starts where the other's ended (x and y).
CONTINUES = {"s4-intensity": "long-intensity", "s4-hoa2": "long-hoa2",
             "pn-intensity": "s4-intensity", "pn-hoa2": "s4-hoa2",
             "pn3-intensity": "s4-intensity", "pn4-intensity": "pn3-intensity",
             "pn5-intensity": "pn4-intensity",
             "s6-hoa2": "pn-hoa2", "s7-hoa2": "s6-hoa2", "s8-hoa2": "s7-hoa2",
             "s9-hoa2": "s8-hoa2", "pn6-intensity": "pn5-intensity",
             "t1-hoa2": "s8-hoa2", "t1-intensity": "pn5-intensity", "t2-hoa2": "t1-hoa2",
             "v1-intensity": "pn5-intensity", "v1-hoa2": "t1-hoa2", "h1-hoa1": "t1-hoa2",
             "h2-hoa1": "h1-hoa1", "h3-hoa1": "h2-hoa1"}
#: Runs whose start was not measured on this validation set (another input layout): no
#: starting point is drawn.
NO_START = {"h1-hoa1", "x1-intensity"}


def _rows(run: str) -> list[dict[str, str]]:
    return list(csv.DictReader((HERE / f"{run}.csv").open()))


def _start_x(run: str) -> float:
    """Thousands of examples seen before ``run`` (along its chain of continued runs)."""
    if run not in CONTINUES:
        return 0.0
    prev = CONTINUES[run]
    return _start_x(prev) + int(_rows(prev)[-1]["examples_seen"]) / 1000


def main() -> None:
    start = json.loads((HERE / "start.json").read_text())
    fig, axes = plt.subplots(1, 2, figsize=(11, 6), sharey=False)
    # one colour per run (more runs than tab20 has: tab20b continues it)
    colors = [*plt.get_cmap("tab20").colors, *plt.get_cmap("tab20b").colors]
    for i, (run, (label, model)) in enumerate(RUNS.items()):
        path = HERE / f"{run}.csv"
        if not path.exists():
            continue
        rows = _rows(run)
        before = _rows(CONTINUES[run]) if run in CONTINUES else []
        # the stage-3 runs kept their best epoch, which the next stage starts from
        best = next((r for r in reversed(before) if r["is_best"] == "True"), None)
        x0 = _start_x(run)
        x = [x0 + int(r["examples_seen"]) / 1000 for r in rows]
        x = x if run in NO_START else [x0, *x]
        for ax, key in ((axes[0], "val_mean_error_deg"), (axes[1], "val_median_error_deg")):
            y = [float(r[key]) for r in rows]
            if run not in NO_START:
                y = [float(best[key]) if best else start[model][key], *y]
            color = colors[(2 * i) % 20 + (2 * i) // 20] if i < 20 else colors[20 + 2 * (i - 20)]
            style = {"marker": "s", "linestyle": "--"} if model == "hoa1" else {"marker": "o"}
            ax.plot(x, y, label=label, color=color, **style)
    for ax, title in zip(axes, ("mean", "median"), strict=True):
        ax.set_xlabel("training examples seen from stage 3 on (thousands; pilots: their own)")
        ax.set_ylabel(f"validation {title} angular error (deg)")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, ncol=3, loc="lower center")
    fig.suptitle("Validation: 800 off-grid scenes, -5..35 dB SNR, RT60 0.15-1.0 s, unseen speakers")
    fig.tight_layout(rect=(0, 0.22, 1, 1))
    fig.savefig(HERE / "learning-curves.png", dpi=110)


if __name__ == "__main__":
    main()
