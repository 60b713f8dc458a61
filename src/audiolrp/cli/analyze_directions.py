"""`audiolrp analyze directions`: where in the sound field the network listened.

For each example (freshly simulated scenes, or a dataset folder that stores the room geometry)
the command predicts, explains the prediction (an LRP preset or another attribution method) and
maps the relevance of every time-frequency bin to the bin's active-intensity direction
(:mod:`audiolrp.analysis.directions`). It writes

* ``directions.json`` -- settings, per-example shares and the set summary (mean shares with
  bootstrap CIs, relevance-vs-energy difference and ratio, SNR and RT60 groups, mean maps);
  shares there are fractions (0..1) of each weight's total, as data; the printed table shows
  them in percent, as the report pages do;
* ``direction_map_NNN.png`` -- the maps of the first ``--n-maps`` examples (true source,
  first-order image sources and prediction marked; :mod:`audiolrp.plots.sphere`);
* ``direction_map_mean.png`` and ``angle_profile.png`` -- the set's mean maps and the weight by
  angle from the true source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from audiolrp.cli.analyze import analyze_app
from audiolrp.cli.app import (
    CorpusOption,
    JsonOption,
    ModelOption,
    OutDirOption,
    ProgressOption,
    Rt60Option,
    SnrDbOption,
    SplitOption,
    ThreadsOption,
    check_at_least,
    check_threads,
    parse_range,
    prepare_output_dir,
    print_json,
)
from audiolrp.errors import AudioLRPError

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
    model: ModelOption = "intensity",
    data: Annotated[Path | None, typer.Option(
        "--data", "-d", help="Dataset folder from `audiolrp simulate` (stores the room "
        "geometry); default: freshly simulated scenes.")] = None,
    split: SplitOption = "test",
    n_examples: Annotated[int, typer.Option(
        help="Examples (simulated, or the first ones of --data).")] = 100,
    seed: Annotated[int | None, typer.Option(
        help="Seed of the simulated scenes (default: the model card's test seed, else 0).")
    ] = None,
    snr_db: SnrDbOption = None,
    rt60_s: Rt60Option = None,
    corpus: CorpusOption = None,
    method: Annotated[str | None, typer.Option(
        help="LRP preset (paper, epsilon_plus, epsilon_plus_flat, epsilon_alpha2_beta1, "
        "epsilon, attn_lrp, cp_lrp) or gradient, gradient_x_input, integrated_gradients, "
        "smoothgrad, occlusion; default: paper for a CRNN, attn_lrp for a conformer."
    )] = None,
    target: Annotated[str, typer.Option(
        help="Class explained: predicted or true.")] = "predicted",
    grid_deg: Annotated[float, typer.Option(
        help="Spacing of the direction grid of the maps (10 = the 425 DOA classes).")] = 10.0,
    radius_deg: Annotated[float, typer.Option(
        help="Radius of the source and image-source regions.")] = 15.0,
    n_maps: Annotated[int, typer.Option(help="Examples drawn as maps.")] = 3,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples of the CIs.")] = 2000,
    batch_size: Annotated[int, typer.Option(help="Examples per explain batch.")] = 8,
    threads: ThreadsOption = None,
    out: OutDirOption = Path("analysis-directions"),
    progress: ProgressOption = True,
    as_json: JsonOption = False,
) -> None:
    """Relevance in space: map each time-frequency bin's relevance to the direction of its
    active intensity; shares within --radius-deg of the true source, of its first-order image
    sources and elsewhere, next to the shares of the energy |W|^2 (does the network listen to
    the direct sound more than its energy would suggest?)."""
    if data is not None and not data.is_dir():
        raise AudioLRPError(f"dataset folder {data} not found: create it with "
                            "`audiolrp simulate` or drop --data to simulate scenes")
    check_at_least(("--n-examples", n_examples, 1), ("--batch-size", batch_size, 1),
                   ("--n-maps", n_maps, 0), ("--n-boot", n_boot, 10), ("--threads", threads, 1))
    _check_method_options(method, target, radius_deg)
    overrides = _scene_overrides(snr_db, rt60_s, corpus)
    if data is not None and (overrides or seed is not None):
        raise AudioLRPError("--seed, --snr-db, --rt60-s and --corpus describe simulated "
                            "scenes: drop them or drop --data")
    from audiolrp.analysis.directions import direction_grid

    direction_grid(grid_deg)  # a bad spacing fails before any folder is made
    prepare_output_dir(out)
    check_threads(threads)
    from audiolrp.app.directions import run_directions

    record, files = run_directions(
        model, out, data=data, split=split, n_examples=n_examples, seed=seed,
        overrides=overrides, method=method, target=target, grid_deg=grid_deg,
        radius_deg=radius_deg, n_maps=n_maps, n_boot=n_boot, batch_size=batch_size,
        progress=progress and not as_json)
    if as_json:
        print_json({**record, "files": files})
        return
    echo_summary(record)
    typer.echo(f"wrote {', '.join(files)}")


def _check_method_options(method: str | None, target: str, radius_deg: float) -> None:
    """One-line errors for --method, --target and --radius-deg."""
    if not 0.0 < radius_deg < 90.0:
        raise AudioLRPError(f"--radius-deg {radius_deg} is out of range: pass 0 < r < 90")
    if target not in ("predicted", "true"):
        raise AudioLRPError(f"--target {target!r} is unknown: pass predicted or true")
    from audiolrp.lrp import parse_method

    if method is None:  # the model's preset
        return
    try:
        parse_method(method)
    except AudioLRPError as e:  # name the option
        raise AudioLRPError(str(e).replace("unknown method", "unknown --method", 1)) from None


def _scene_overrides(snr_db: str | None, rt60_s: str | None,
                     corpus: str | None) -> dict[str, Any]:
    """SceneConfig overrides of --snr-db, --rt60-s and --corpus."""
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
    return overrides


def echo_summary(record: dict[str, Any]) -> None:
    """The human-readable summary of :func:`directions_cmd`: shares in percent, as on every
    report page (``directions.json`` keeps them as fractions)."""
    from audiolrp.analysis.directions import REGIONS, format_ci, percent_ci

    s = record["summary"]
    typer.echo(f"{s['n_examples']} examples, model {record['model']} ({record['method']}), "
               f"regions within {s['radius_deg']:g} deg (chance source share "
               f"{100 * s['cap_fraction']:.1f} %); mean share in % [95 % CI]:")
    typer.echo(f"  {'weight':20s}" + "".join(f"{r:>24s}" for r in REGIONS))
    for w, regs in (s.get("shares") or {}).items():
        typer.echo(f"  {w:20s}" + "".join(f"{percent_ci(regs[r]):>24s}" for r in REGIONS))
    a, b = s["compare"]
    if s.get("difference"):
        typer.echo(f"  {a} - {b}, source: {percent_ci(s['difference']['source'])} points; "
                   f"ratio {format_ci(s['ratio']['source'], 2)}")
    for key, unit in (("by_snr_db", "dB"), ("by_rt60_s", "s")):
        for g in s.get(key) or []:
            sh = g["source_share"]
            typer.echo(f"  {key[3:]:6s} {g['low']:6.2f}..{g['high']:6.2f} {unit} (n={g['n']:3d}): "
                       f"source share {a} {percent_ci(sh.get(a))}, {b} {percent_ci(sh.get(b))}")


__all__ = ["directions_cmd"]
