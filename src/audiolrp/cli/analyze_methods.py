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
from pathlib import Path
from typing import Annotated

import typer

from audiolrp.cli.analyze import analyze_app
from audiolrp.cli.app import (
    DataOption,
    JsonOption,
    ModelOption,
    OutDirOption,
    ProgressOption,
    SplitOption,
    ThreadsOption,
    check_at_least,
    check_threads,
    prepare_output_dir,
    print_json,
)
from audiolrp.errors import AudioLRPError

EPILOG = """\
Examples:

  audiolrp analyze methods --model intensity --n-examples 100 -o methods-intensity

  audiolrp analyze methods -m hoa2 --methods paper,epsilon-plus,gradient,random --json

  audiolrp analyze methods -m runs/hoa2/model.json --data data/hoa4 --steps 10 --threads 2
"""

def echo_table(header: tuple[str, ...], rows: list[list[str]]) -> None:
    """Print ``rows`` as aligned plain-text columns."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    typer.echo("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for r in rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


@analyze_app.command("methods", epilog=EPILOG)
def methods_cmd(
    model: ModelOption = "intensity",
    data: DataOption = None,
    split: SplitOption = "test",
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
    threads: ThreadsOption = None,
    out: OutDirOption = Path("analysis-methods"),
    progress: ProgressOption = True,
    as_json: JsonOption = False,
) -> None:
    """Attribution methods side by side: pixel-flipping AOPC (most/least relevant first) with
    bootstrap intervals and paired differences, the cascading model-randomisation sanity
    check, and the time per example of each method."""
    check_at_least(("--n-examples", n_examples, 1), ("--steps", steps, 1),
                   ("--sanity-examples", sanity_examples, 0), ("--n-boot", n_boot, 10),
                   ("--batch-size", batch_size, 1), ("--flip-batch-size", flip_batch_size, 1),
                   ("--seed", seed, 0), ("--threads", threads, 1))
    if data is not None and not data.is_dir():
        raise AudioLRPError(f"dataset folder {data} not found: create it with "
                            "`audiolrp simulate` or drop --data to simulate scenes")
    from audiolrp.analysis.method_comparison import method_specs

    method_specs(methods)  # an unknown method fails before any folder is made
    prepare_output_dir(out)
    check_threads(threads)
    import torch

    from audiolrp.app.methods import run_methods
    from audiolrp.report.methods import methods_table, write_methods_report

    command = "audiolrp " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    record, summary = run_methods(
        model, data=data, split=split, n_examples=n_examples, seed=seed, methods=methods,
        steps=steps, sanity_examples=sanity_examples, n_boot=n_boot, batch_size=batch_size,
        flip_batch_size=flip_batch_size, show=progress and not as_json, command=command,
        threads=torch.get_num_threads())
    files = write_methods_report(out, record, summary, model)
    if as_json:
        print_json(record)
        return
    header, rows = methods_table(record)
    echo_table(header, rows)
    typer.echo(f"{record['data']['n_examples']} examples, {steps} steps, randomisation on "
               f"{record['n_sanity_examples']} examples; {record['timing_s']['total']:.0f} s "
               "in all")
    typer.echo(f"wrote {', '.join(files)}")


__all__ = ["echo_table", "methods_cmd"]
