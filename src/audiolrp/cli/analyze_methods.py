"""`audiolrp analyze methods`: which attribution method can a DOA user trust?

On the same examples (freshly simulated scenes, or a dataset folder) every method -- LRP
presets, gradient, gradient x input, integrated gradients, SmoothGrad, occlusion and a random
floor -- explains the true class, and the command measures
(:mod:`audiolrp.analysis.method_comparison`):

* pixel flipping most/least relevant first with the paper's perturbation: AOPC with bootstrap
  intervals and paired differences vs. the paper preset and vs. random;
* the cascading model-randomisation sanity check (Adebayo et al. 2018);
* the time per example of each method.

It writes ``methods.json`` (all numbers), ``methods.md`` and ``methods.html`` (the report
section), ``flipping_curves.png``, ``aopc_bars.png`` and ``randomisation.png``.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from audiolrp.cli.analyze import _examples, _open_dataset, analyze_app
from audiolrp.cli.app import MODEL_HELP, prepare_output_dir, print_json
from audiolrp.errors import AudioLRPError

EPILOG = """\
Examples:

  audiolrp analyze methods --model intensity --n-examples 100 -o methods-intensity

  audiolrp analyze methods -m hoa2 --methods paper,epsilon-plus,gradient,random --json

  audiolrp analyze methods -m runs/hoa2/model.json --data data/hoa4 --steps 10 --threads 2
"""

FIGURES = {
    "flipping_curves": "flipping_curves.png",
    "aopc_bars": "aopc_bars.png",
    "randomisation": "randomisation.png",
}


def simulated_examples(loaded: Any, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """``n`` fresh test scenes of the model card's test recipe (else its data recipe):
    :func:`audiolrp.evaluation.simulated_test_examples` with ``seed``."""
    from audiolrp.app.speech_choice import choose_speech
    from audiolrp.evaluation import scene_config_from_recipe, simulated_test_examples

    card = dict(loaded.config.get("evaluation") or {})
    recipe = card.get("recipe") or loaded.data_recipe
    # the Debian corpus when installed, else the built-in speech (a fresh install has no Debian)
    speech = choose_speech(None, scene_config_from_recipe(recipe, loaded.order).speech)
    overrides = {"speech": speech.spec}
    xs, ys = [], []
    for audio, label, _ in simulated_test_examples(loaded.feature, loaded.order, n_examples=n,
                                                   seed=seed, recipe=recipe, overrides=overrides):
        xs.append(loaded.features(audio))
        ys.append(label)
    cfg = scene_config_from_recipe(recipe, loaded.order, overrides)
    desc = {"source": "simulated", "seed": seed, "split": "test",
            "scene_config": cfg.to_dict(), "speech": speech.as_dict()}
    return np.stack(xs), np.asarray(ys, dtype=np.int64), desc


def echo_table(header: tuple[str, ...], rows: list[list[str]]) -> None:
    """Print ``rows`` as aligned plain-text columns."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    typer.echo("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for r in rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


@analyze_app.command("methods", epilog=EPILOG)
def methods_cmd(
    model: Annotated[str, typer.Option(
        "--model", "-m", help=MODEL_HELP)] = "intensity",
    data: Annotated[Path | None, typer.Option(
        "--data", "-d", help="Dataset folder (default: freshly simulated test scenes).")] = None,
    split: Annotated[str, typer.Option(help="Dataset split (with --data).")] = "test",
    n_examples: Annotated[int, typer.Option(help="Examples compared.")] = 100,
    seed: Annotated[int, typer.Option(
        help="Seed of the simulated scenes, SmoothGrad's noise, the random floor, the layer "
        "re-initialisation and the bootstrap.")] = 0,
    methods: Annotated[str, typer.Option(
        help="Comma-separated methods or 'all': paper, epsilon_plus, epsilon_plus_flat, "
        "epsilon_alpha2_beta1, epsilon, gradient, gradient_x_input, integrated_gradients, "
        "smoothgrad, occlusion, random.")] = "all",
    steps: Annotated[int, typer.Option(help="Pixel-flipping steps from 0 to 100 %.")] = 20,
    sanity_examples: Annotated[int, typer.Option(
        help="Examples of the randomisation cascade (the first ones; 0 skips it).")] = 8,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples of the intervals.")] = 1000,
    batch_size: Annotated[int, typer.Option(help="Examples per explain call.")] = 8,
    flip_batch_size: Annotated[int, typer.Option(
        help="Perturbed inputs per forward pass.")] = 64,
    threads: Annotated[int | None, typer.Option(
        help="torch intra-op threads (default: torch's choice).")] = None,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder (created if missing).")] = Path("analysis-methods"),
    progress: Annotated[bool, typer.Option(help="Progress messages on stderr.")] = True,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the results as JSON instead of the table.")] = False,
) -> None:
    """Attribution methods side by side: pixel-flipping AOPC (most/least relevant first) with
    bootstrap intervals and paired differences, the cascading model-randomisation sanity
    check, and the time per example of each method."""
    t0 = time.perf_counter()
    for name, v, low in (("--n-examples", n_examples, 1), ("--steps", steps, 1),
                         ("--sanity-examples", sanity_examples, 0),
                         ("--n-boot", n_boot, 10), ("--batch-size", batch_size, 1),
                         ("--flip-batch-size", flip_batch_size, 1), ("--seed", seed, 0)):
        if v < low:
            raise AudioLRPError(f"{name} must be >= {low}, got {v}")
    if threads is not None and threads < 1:
        raise AudioLRPError(f"--threads must be >= 1, got {threads}")
    if data is not None and not data.is_dir():
        raise AudioLRPError(f"dataset folder {data} not found: create it with "
                            "`audiolrp simulate` or drop --data to simulate scenes")
    from audiolrp.analysis import method_comparison as mc

    specs = mc.method_specs(methods)
    prepare_output_dir(out)
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    from audiolrp.app.explainer import Explainer
    from audiolrp.io import atomic_write_bytes, atomic_write_text, json_ready, write_json
    from audiolrp.progress import ElapsedLog
    from audiolrp.report.html import write_report
    from audiolrp.report.methods import (
        comparison_figures,
        methods_markdown,
        methods_section,
        methods_table,
    )

    show = progress and not as_json
    log = ElapsedLog("methods", enabled=show)
    loaded = Explainer.load(model).model
    if data is not None:
        ds = _open_dataset(data, split, loaded.feature, loaded.order)
        x, y = _examples(ds, np.arange(min(len(ds), n_examples)), model=loaded)
        data_desc: dict[str, Any] = {"source": str(data), "split": split}
    else:
        log(f"simulating {n_examples} test scenes (seed {seed})")
        x, y, data_desc = simulated_examples(loaded, n_examples, seed)
    t_data = time.perf_counter() - t0
    comp = mc.compare_methods(
        loaded.model, x, y, specs, steps=steps, n_sanity=sanity_examples, seed=seed,
        n_boot=n_boot, batch_size=batch_size, flip_batch_size=flip_batch_size,
        progress=show, log=log if show else None,
    )
    t_compare = time.perf_counter() - t0 - t_data
    summary = comp.summary()
    figures = comparison_figures(summary)
    files = []
    for key, png in figures.items():
        files.append(str(atomic_write_bytes(out / FIGURES[key], png)))
    command = "audiolrp " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    record = {
        "model": {"name": model, "feature": loaded.feature, "order": loaded.order,
                  "path": str(getattr(loaded, "path", ""))},
        "data": {**data_desc, "n_examples": int(y.size)},
        "command": command,
        "threads": torch.get_num_threads(),
        **summary,
        "timing_s": {"data": round(t_data, 2), "compare": round(t_compare, 2),
                     "total": round(time.perf_counter() - t0, 2)},
    }
    record = json_ready(record)
    files.append(str(write_report(out / "methods.html", "audiolrp analyze methods",
                                  [methods_section(record, figures)],
                                  subtitle=f"model {model}, {y.size} examples")))
    md = methods_markdown(record, [FIGURES[k] for k in figures], command=command)
    files.append(str(atomic_write_text(out / "methods.md", md)))
    json_path = out / "methods.json"
    files.insert(0, str(json_path))
    record["files"] = files
    write_json(json_path, record, allow_nan=False, default=None)
    if as_json:
        print_json(record)
        return
    header, rows = methods_table(record)
    echo_table(header, rows)
    typer.echo(f"{y.size} examples, {steps} steps, randomisation on "
               f"{comp.n_sanity} examples; {record['timing_s']['total']:.0f} s in all")
    typer.echo(f"wrote {', '.join(files)}")


__all__ = ["methods_cmd", "simulated_examples"]
