"""`audiolrp analyze directions`: where in the sound field the network listened.

For each example (freshly simulated scenes, or a dataset folder that stores the room geometry)
the command predicts, explains the prediction (an LRP preset or another attribution method) and
maps the relevance of every time-frequency bin to the bin's active-intensity direction
(:mod:`audiolrp.analysis.directions`). It writes

* ``directions.json`` -- settings, per-example shares and the set summary (mean shares with
  bootstrap CIs, relevance-vs-energy difference and ratio, SNR and RT60 groups, mean maps);
* ``direction_map_NNN.png`` -- the maps of the first ``--n-maps`` examples (true source,
  first-order image sources and prediction marked; :mod:`audiolrp.plots.sphere`);
* ``direction_map_mean.png`` and ``angle_profile.png`` -- the set's mean maps and the weight by
  angle from the true source.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from audiolrp.cli.analyze import _write_json, analyze_app
from audiolrp.cli.app import MODEL_HELP, parse_range, prepare_output_dir, print_json
from audiolrp.errors import AudioLRPError
from audiolrp.simulation.corpora import corpus_help

EPILOG = """\
Examples:

  audiolrp analyze directions --model intensity --n-examples 100 -o directions-intensity

  audiolrp analyze directions -m hoa2 --snr-db 20,30 --rt60-s 0.2,0.4 --json

  audiolrp analyze directions -m runs/hoa2/model.json --data data/hoa4 --split test
"""

def _range(text: str | None, option: str, example: str) -> tuple[float, float] | None:
    return None if text is None else parse_range(text, option, example)


@analyze_app.command("directions", epilog=EPILOG)
def directions_cmd(
    model: Annotated[str, typer.Option(
        "--model", "-m", help=MODEL_HELP)] = "intensity",
    data: Annotated[Path | None, typer.Option(
        "--data", "-d", help="Dataset folder from `audiolrp simulate` (stores the room "
        "geometry); default: freshly simulated scenes.")] = None,
    split: Annotated[str, typer.Option(help="Dataset split (with --data).")] = "test",
    n_examples: Annotated[int, typer.Option(
        help="Examples (simulated, or the first ones of --data).")] = 100,
    seed: Annotated[int | None, typer.Option(
        help="Seed of the simulated scenes (default: the model card's test seed, else 0).")
    ] = None,
    snr_db: Annotated[str | None, typer.Option(
        "--snr-db", help="SNR range LOW,HIGH in dB of the simulated scenes (default: card's).")
    ] = None,
    rt60_s: Annotated[str | None, typer.Option(
        "--rt60-s", help="RT60 range LOW,HIGH in s of the simulated scenes (default: card's).")
    ] = None,
    corpus: Annotated[str | None, typer.Option(
        help=corpus_help("Speech of the simulated scenes", default="card's"))] = None,
    method: Annotated[str, typer.Option(
        help="LRP preset (paper, epsilon_plus, epsilon_plus_flat, epsilon_alpha2_beta1, "
        "epsilon) or gradient, gradient_x_input, integrated_gradients, smoothgrad, occlusion."
    )] = "paper",
    target: Annotated[str, typer.Option(
        help="Class explained: predicted or true.")] = "predicted",
    grid_deg: Annotated[float, typer.Option(
        help="Spacing of the direction grid of the maps (10 = the 425 DOA classes).")] = 10.0,
    radius_deg: Annotated[float, typer.Option(
        help="Radius of the source and image-source regions.")] = 15.0,
    n_maps: Annotated[int, typer.Option(help="Examples drawn as maps.")] = 3,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples of the CIs.")] = 2000,
    batch_size: Annotated[int, typer.Option(help="Examples per explain batch.")] = 8,
    threads: Annotated[int | None, typer.Option(
        help="torch intra-op threads (default: torch's choice).")] = None,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder (created if missing).")] = Path("analysis-directions"),
    progress: Annotated[bool, typer.Option(help="Progress bar on stderr.")] = True,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the results as JSON instead of a summary.")] = False,
) -> None:
    """Relevance in space: map each time-frequency bin's relevance to the direction of its
    active intensity; shares within --radius-deg of the true source, of its first-order image
    sources and elsewhere, next to the shares of the energy |W|^2 (does the network listen to
    the direct sound more than its energy would suggest?)."""
    if data is not None and not data.is_dir():
        raise AudioLRPError(f"dataset folder {data} not found: create it with "
                            "`audiolrp simulate` or drop --data to simulate scenes")
    from audiolrp.app.directions import (
        analyse_examples,
        dataset_examples,
        simulated_examples,
        write_outputs,
    )
    from audiolrp.lrp import parse_method

    t0 = time.perf_counter()
    for name, v, low in (("--n-examples", n_examples, 1), ("--batch-size", batch_size, 1),
                         ("--n-maps", n_maps, 0), ("--n-boot", n_boot, 10)):
        if v < low:
            raise AudioLRPError(f"{name} must be >= {low}, got {v}")
    if threads is not None and threads < 1:
        raise AudioLRPError(f"--threads must be >= 1, got {threads}")
    if not 0.0 < radius_deg < 90.0:
        raise AudioLRPError(f"--radius-deg {radius_deg} is out of range: pass 0 < r < 90")
    if target not in ("predicted", "true"):
        raise AudioLRPError(f"--target {target!r} is unknown: pass predicted or true")
    try:
        parse_method(method)
    except AudioLRPError as e:  # name the option
        raise AudioLRPError(str(e).replace("unknown method", "unknown --method", 1)) from None
    overrides: dict[str, Any] = {}
    snr, rt60 = (_range(snr_db, "--snr-db", "10,20"), _range(rt60_s, "--rt60-s", "0.2,0.5"))
    if snr is not None:
        overrides["snr_db"] = list(snr)
    if rt60 is not None:
        if rt60[0] <= 0:
            raise AudioLRPError(f"--rt60-s {rt60_s!r} must be positive: pass e.g. 0.2,0.5")
        overrides["rt60_s"] = list(rt60)
    if corpus is not None:
        overrides["speech"] = corpus
    if data is not None and (overrides or seed is not None):
        raise AudioLRPError("--seed, --snr-db, --rt60-s and --corpus describe simulated "
                            "scenes: drop them or drop --data")
    from audiolrp.analysis.directions import direction_grid

    grid = direction_grid(grid_deg)
    prepare_output_dir(out)
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    from audiolrp.app.explainer import Explainer

    loaded = Explainer.load(model).model
    if data is not None:
        examples, test_data = dataset_examples(data, split, loaded, n_examples)
    else:
        card = dict(loaded.config.get("evaluation") or {})
        s = int(card.get("seed", 0)) if seed is None else seed
        examples, test_data = simulated_examples(loaded, n_examples, s, overrides)
    n = int(test_data["n_examples"])
    analyses, rows = analyse_examples(
        loaded, examples, n, method=method, target=target, grid_rad=grid,
        radius_deg=radius_deg, batch_size=batch_size, progress=progress and not as_json,
    )
    t_analyse = time.perf_counter() - t0
    record, files = write_outputs(out, loaded, analyses, rows, test_data, method=method,
                                  target=target, grid_deg=grid_deg, n_maps=n_maps,
                                  n_boot=n_boot)
    record["timing_s"] = {"analysis": round(t_analyse, 2),
                          "total": round(time.perf_counter() - t0, 2)}
    _write_json(out / "directions.json", record)
    if as_json:
        print_json({**record, "files": files})
        return
    echo_summary(record)
    typer.echo(f"wrote {', '.join(files)}")


def echo_summary(record: dict[str, Any]) -> None:
    """The human-readable summary of :func:`directions_cmd`."""
    from audiolrp.analysis.directions import REGIONS, format_ci

    s = record["summary"]
    typer.echo(f"{s['n_examples']} examples, model {record['model']} ({record['method']}), "
               f"regions within {s['radius_deg']:g} deg (chance source share "
               f"{100 * s['cap_fraction']:.1f} %); mean share [95 % CI]:")
    typer.echo(f"  {'weight':20s}" + "".join(f"{r:>26s}" for r in REGIONS))
    for w, regs in (s.get("shares") or {}).items():
        typer.echo(f"  {w:20s}" + "".join(f"{format_ci(regs[r]):>26s}" for r in REGIONS))
    a, b = s["compare"]
    if s.get("difference"):
        typer.echo(f"  {a} - {b}, source: {format_ci(s['difference']['source'])}; ratio "
                   f"{format_ci(s['ratio']['source'], 2)}")
    for key, unit in (("by_snr_db", "dB"), ("by_rt60_s", "s")):
        for g in s.get(key) or []:
            sh = g["source_share"]
            typer.echo(f"  {key[3:]:6s} {g['low']:6.2f}..{g['high']:6.2f} {unit} (n={g['n']:3d}): "
                       f"source share {a} {format_ci(sh.get(a))}, {b} {format_ci(sh.get(b))}")


__all__ = ["directions_cmd"]
