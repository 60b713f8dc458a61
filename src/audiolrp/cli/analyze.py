"""`audiolrp analyze`: dataset-level analyses of the paper (Figs. 2-4) and beyond.

Subcommands (all thin wrappers around :mod:`audiolrp.analysis` and :mod:`audiolrp.app`; heavy
modules are imported lazily):

* ``channels`` -- channel relevance per DOA group +-x/+-y (Fig. 3) and the correlation of
  relevance shares with the DOA components over all classes;
* ``flip`` -- pixel-flipping curves with 95 % bands and AOPC per channel group (Fig. 4);
* ``auralize`` -- relevance-filtered audio (Eq. 3, Eq. 4) and the Fig. 2 panels of one clip;
* ``replicate`` -- the replication study of the paper's three findings;
* ``methods`` (:mod:`audiolrp.cli.analyze_methods`) -- attribution methods side by side;
* ``directions`` (:mod:`audiolrp.cli.analyze_directions`) -- relevance in space.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import numpy as np
import typer

from audiolrp.cli.app import MODEL_HELP, app, prepare_output_dir, print_json
from audiolrp.errors import AudioLRPError
from audiolrp.io import json_ready, write_json
from audiolrp.simulation.corpora import corpus_help

if TYPE_CHECKING:
    from audiolrp.signal.layout import InputLayout

analyze_app = typer.Typer(
    name="analyze",
    help="Relevance analyses on a model and a dataset or simulated scenes: channels (channel "
    "relevance, Fig. 3), flip (pixel flipping, Fig. 4), auralize (listen to relevance, Eq. 3/4, "
    "Fig. 2), replicate (the paper's three findings with explicit criteria), methods (LRP vs. "
    "gradient, IG, SmoothGrad, occlusion, random) and directions (where in the sound field the "
    "network listened).",
    no_args_is_help=True,
)
app.add_typer(analyze_app, name="analyze")

ModelOpt = Annotated[str, typer.Option("--model", "-m", help=MODEL_HELP)]
DataOpt = Annotated[Path, typer.Option("--data", "-d", help="Simulated dataset folder.")]
OutOpt = Annotated[
    Path, typer.Option("--out", "-o", help="Output folder (created if missing).")
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the results as JSON instead of a summary.")
]
ProgressOpt = Annotated[bool, typer.Option(help="Progress bars on stderr.")]
MaxExamplesAlias = Annotated[
    int | None, typer.Option("--max-examples", hidden=True, help="Old name of --n-examples.")
]

CHANNELS_EPILOG = """\
Examples:

  audiolrp analyze channels --model intensity --data data/hoa4 -o fig3

  audiolrp analyze channels -m hoa2 -d data/hoa4 --n-examples 200 --per-bin --json
"""

FLIP_EPILOG = """\
Examples:

  audiolrp analyze flip --model intensity --data data/hoa4 -o fig4

  audiolrp analyze flip -m intensity -d data/hoa4 --orders most_relevant,random --json
"""

AURALIZE_EPILOG = """\
Examples:

  audiolrp analyze auralize --model hoa2 --audio scene.wav -o fig2

  audiolrp analyze auralize -m hoa2 -a scene.wav --direct direct.wav --acn 1 --json
"""

REPLICATE_EPILOG = """\
Examples:

  audiolrp analyze replicate -o docs/replication

  audiolrp analyze replicate --n-channel 100 --n-general 50 --stages channels,flip --json
"""


def _load_model(name_or_path: str) -> Any:
    """The :class:`audiolrp.app.explainer.Explainer` of a model name or path."""
    from audiolrp.app.explainer import Explainer

    return Explainer.load(name_or_path)


def _check_dataset_dir(root: Path) -> None:
    if not root.is_dir():
        raise AudioLRPError(f"dataset folder {root} not found: create it with `audiolrp simulate`")


def _open_dataset(root: Path, split: str, feature: str, order: int) -> Any:
    from audiolrp.app.dataset_inputs import open_dataset

    return open_dataset(root, split, feature, order)


def _examples(
    ds: Any, indices: np.ndarray, progress: bool = False, model: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`audiolrp.app.dataset_inputs.dataset_inputs` (imported when run)."""
    from audiolrp.app.dataset_inputs import dataset_inputs

    return dataset_inputs(ds, indices, progress, model)


def _explain(
    ex: Any, x: np.ndarray, y: np.ndarray, batch_size: int, progress: bool
) -> np.ndarray:
    """LRP relevance of the true classes ``y`` of ``x`` in batches of ``batch_size``, with a
    progress bar on stderr (``progress``)."""
    from audiolrp.progress import progress_bar

    ex.batch_size = batch_size
    bar = progress_bar(len(x), enabled=progress and len(x) > batch_size, unit="example")
    parts = []
    for i in range(0, len(x), batch_size):
        parts.append(ex.explain(x[i:i + batch_size], y[i:i + batch_size])[0])
        bar(len(parts[-1]))
    return np.concatenate(parts)


def _n_examples(n_examples: int, max_examples: int | None) -> int:
    """``--n-examples`` (or its old name ``--max-examples``), at least 1."""
    n = n_examples if max_examples is None else max_examples
    if n < 1:
        raise AudioLRPError(f"--n-examples must be >= 1, got {n}")
    return n


def _write_json(path: Path, obj: Any) -> None:
    write_json(path, json_ready(obj), allow_nan=False, default=None)


def _layout(feature: str, order: int) -> InputLayout:
    from audiolrp.signal.layout import InputLayout

    return InputLayout(feature, order)


@analyze_app.command("channels", epilog=CHANNELS_EPILOG)
def channels_cmd(
    model: ModelOpt,
    data: DataOpt,
    out: OutOpt = Path("analysis-channels"),
    split: Annotated[str, typer.Option(help="Dataset split.")] = "test",
    n_examples: Annotated[int, typer.Option(help="Examples per analysis (paper: 1000).")] = 1000,
    per_bin: Annotated[bool, typer.Option(help="Sum |R| per bin instead of |sum R|.")] = False,
    batch_size: Annotated[int, typer.Option(help="LRP batch size.", min=1)] = 8,
    progress: ProgressOpt = True,
    as_json: JsonOpt = False,
    max_examples: MaxExamplesAlias = None,
) -> None:
    """Channel relevance (Fig. 3) for examples with DOA classes at +-e_x, +-e_y, and the
    correlation of relevance shares with |DOA components| over all examples."""
    n_max = _n_examples(n_examples, max_examples)
    show = progress and not as_json
    _check_dataset_dir(data)
    prepare_output_dir(out)
    from audiolrp.analysis import channel_relevance as cr
    from audiolrp.plots import plot_channel_relevance, plot_direction_correlation, save_figure
    from audiolrp.signal.ambisonics import doa_grid, unit_vector

    ex = _load_model(model)
    feature, order = ex.feature, ex.order
    ds = _open_dataset(data, split, feature, order)
    classes = cr.axis_direction_classes()
    labels_all = getattr(ds, "labels", None)
    if labels_all is None:
        labels_all = [int(ds[i][1]) for i in range(len(ds))]
    labels_all = np.asarray(labels_all, dtype=np.int64)
    groups_all = cr.axis_groups(labels_all, classes)
    axis_idx = np.flatnonzero(groups_all != "")[:n_max]
    all_idx = np.arange(min(len(ds), n_max))
    names = _layout(feature, order).names
    summary: dict[str, Any] = {"feature": feature, "order": order, "classes": classes,
                               "mode": "sum |R|" if per_bin else "|sum R|"}
    if axis_idx.size:
        x, y = _examples(ds, axis_idx, show, ex)
        rel = _explain(ex, x, y, batch_size, show)
        vals = cr.relevance_shares(cr.channel_relevance(rel, per_bin=per_bin))
        present = [g for g in classes if np.any(groups_all[axis_idx] == g)]
        stats = cr.channel_relevance_stats(vals, groups_all[axis_idx], names, present)
        save_figure(plot_channel_relevance(stats), out / "fig3_channel_relevance.png")
        summary["axis_groups"] = stats.as_rows()
    x, y = _examples(ds, all_idx, show, ex)
    rel = _explain(ex, x, y, batch_size, show)
    vals = cr.relevance_shares(cr.channel_relevance(rel, per_bin=per_bin))
    grid = np.asarray(doa_grid())
    xyz = unit_vector(grid[y, 0], grid[y, 1])
    corr = cr.relevance_direction_correlation(vals, xyz, _layout(feature, order).axes, names)
    save_figure(plot_direction_correlation(corr), out / "fig3_direction_correlation.png")
    summary["correlation"] = {
        n: {"pearson_r": corr.pearson_r[c], "spearman_rho": corr.spearman_rho[c]}
        for c, n in enumerate(names)
    }
    summary["mean_share"] = dict(zip(names, vals.mean(0).tolist(), strict=True))
    _write_json(out / "channel_relevance.json", summary)
    written = ["channel_relevance.json", "fig3_direction_correlation.png"]
    if axis_idx.size:
        written.insert(1, "fig3_channel_relevance.png")
    files = [str(out / n) for n in written]
    if as_json:
        print_json({**summary, "n_axis_examples": int(axis_idx.size),
                    "n_examples": int(all_idx.size), "files": files})
        return
    typer.echo(f"{axis_idx.size} axis examples, {all_idx.size} examples "
               f"({summary['mode']}); mean relevance share per channel:")
    for name, share in summary["mean_share"].items():
        typer.echo(f"  {name:12s} {share:7.3f}")
    typer.echo(f"wrote {', '.join(files)}")


@analyze_app.command("flip", epilog=FLIP_EPILOG)
def flip_cmd(
    model: ModelOpt,
    data: DataOpt,
    out: OutOpt = Path("analysis-flip"),
    split: Annotated[str, typer.Option(help="Dataset split.")] = "test",
    n_examples: Annotated[int, typer.Option(help="Examples (paper: 2583).")] = 500,
    steps: Annotated[int, typer.Option(help="Perturbation steps from 0 to 100 %.")] = 20,
    groups: Annotated[str, typer.Option(
        help="Comma-separated channel groups: all, active, reactive (intensity); all, "
        "magnitude, phase, 'order n' (HOA).")] = "all,active,reactive",
    orders: Annotated[str, typer.Option(
        help="Comma-separated flip orders: most_relevant, least_relevant, random.")
    ] = "most_relevant",
    baseline: Annotated[str, typer.Option(
        help="zero-normalised, zero-raw, mean or noise.")] = "zero-normalised",
    batch_size: Annotated[int, typer.Option(help="Forward batch size.", min=1)] = 64,
    seed: Annotated[int, typer.Option(help="Seed (random order, noise baseline).")] = 0,
    progress: ProgressOpt = True,
    as_json: JsonOpt = False,
    max_examples: MaxExamplesAlias = None,
) -> None:
    """Pixel flipping (Fig. 4): true-class probability vs. fraction of flipped bins."""
    n_max = _n_examples(n_examples, max_examples)
    show = progress and not as_json
    _check_dataset_dir(data)
    prepare_output_dir(out)
    from audiolrp.analysis import pixel_flipping as pf
    from audiolrp.plots import plot_pixel_flipping, save_figure

    ex = _load_model(model)
    net, feature, order = ex.model.model, ex.feature, ex.order
    known = _layout(feature, order).groups
    wanted = [g.strip() for g in groups.split(",") if g.strip()]
    if groups == "all,active,reactive":  # the default: all and the layout's two halves
        wanted = list(_layout(feature, order).default_groups)
    bad = [g for g in wanted if g not in known]
    if bad:
        raise AudioLRPError(f"unknown channel group(s) {bad}: choose from {list(known)}")
    ds = _open_dataset(data, split, feature, order)
    x, y = _examples(ds, np.arange(min(len(ds), n_max)), show, ex)
    rel = _explain(ex, x, y, 8, show)
    results = {}
    for g in wanted:
        for o in [s.strip() for s in orders.split(",") if s.strip()]:
            results[f"{g}, {o.replace('_', ' ')}"] = pf.pixel_flipping(
                net, x, rel, y, n_steps=steps, order=cast(pf.Order, o), channels=known[g],
                baseline=cast(pf.Baseline, baseline), batch_size=batch_size, seed=seed,
                progress=show,
            )
    save_figure(plot_pixel_flipping(results), out / "fig4_pixel_flipping.png")
    record = {
        "n_examples": int(x.shape[0]), "baseline": baseline, "score": "clip probability",
        "curves": {k: {"fractions": r.fractions, "mean": r.mean, "ci95": r.ci,
                       "aopc": r.aopc} for k, r in results.items()},
    }
    _write_json(out / "pixel_flipping.json", record)
    files = [str(out / "pixel_flipping.json"), str(out / "fig4_pixel_flipping.png")]
    if as_json:
        print_json({**record, "files": files})
        return
    for k, r in results.items():
        typer.echo(f"{k:40s} AOPC {r.aopc:.4f}")
    typer.echo(f"wrote {', '.join(files)}")


@analyze_app.command("auralize", epilog=AURALIZE_EPILOG)
def auralize_cmd(
    model: ModelOpt,
    audio: Annotated[Path, typer.Option("--audio", "-a", help="1-s AmbiX WAV (16 kHz).")],
    out: OutOpt = Path("analysis-auralize"),
    direct: Annotated[Path | None, typer.Option(help="Noise-free direct sound WAV (Fig. 2c).")]
    = None,
    acn: Annotated[int, typer.Option(help="Ambisonics channel shown in Fig. 2.")] = 0,
    target: Annotated[int | None, typer.Option(help="Class to explain (default: predicted).")]
    = None,
    negative: Annotated[str, typer.Option(help="clip, abs or signed.")] = "clip",
    as_json: JsonOpt = False,
) -> None:
    """Relevance-filtered audio (Eq. 3/4) of one clip plus the four panels of Fig. 2."""
    from audiolrp.app.recordings import check_audio_path

    for path in (audio, direct):
        if path is not None:
            check_audio_path(path)
    if negative not in ("clip", "abs", "signed"):
        raise AudioLRPError(f"--negative {negative!r} is unknown: pass clip, abs or signed")
    prepare_output_dir(out)
    from audiolrp.analysis import auralization as au
    from audiolrp.analysis import heatmaps as hm
    from audiolrp.audio_io import read_audio
    from audiolrp.plots import fig2_panels, relevance_map_label, save_figure

    ex = _load_model(model)
    feature, order = ex.feature, ex.order

    def read(p: Path) -> np.ndarray:
        data, fs = read_audio(p, "float64")
        need = _layout(feature, order).n_audio_channels
        if fs != 16000 or data.shape[0] < 16000 or data.shape[1] < need:
            raise AudioLRPError(
                f"{p} is {fs} Hz, {data.shape[0]} samples, {data.shape[1]} channels: pass "
                f">= 1 s of 16 kHz AmbiX audio with >= {need} channels"
            )
        return data[:16000, :need].T

    mix = read(audio)
    if not 0 <= acn < mix.shape[0]:
        raise AudioLRPError(f"--acn {acn} is out of range: pass 0..{mix.shape[0] - 1}")
    feats = ex.features(mix[None])
    rel, pred = ex.explain(feats, None if target is None else [target])
    tgt = int(pred[0]) if target is None else target
    heat = hm.audio_channel_heatmaps(rel[0], feature, order)
    filtered = au.auralize(mix, heat, negative=negative)  # type: ignore[arg-type]
    paths = au.write_auralization(out, filtered, stem="relevant")
    fig = fig2_panels(mix[acn], heat[acn], read(direct)[acn] if direct else None,
                      filtered[acn], channel_label=f"Ambisonics channel {acn}",
                      relevance_label=relevance_map_label(feature))
    save_figure(fig, out / "fig2_panels.png")
    files = [str(p) for p in paths.values()] + [str(out / "fig2_panels.png")]
    if as_json:
        print_json({"class": tgt, "acn": acn, "negative": negative, "files": files})
        return
    typer.echo(f"explained class {tgt} (ACN {acn}, negative relevance: {negative})")
    typer.echo(f"wrote {', '.join(files)}")


__all__ = ["analyze_app", "app"]


@analyze_app.command("replicate", epilog=REPLICATE_EPILOG)
def replicate_cmd(
    intensity_model: Annotated[str, typer.Option(
        help="Intensity CRNN (findings 1-3): shipped name or saved NAME.json.")] = "intensity",
    hoa_models: Annotated[str, typer.Option(
        "--hoa-models", "--hoa-model",
        help="Comma-separated HOA CRNNs (findings 2, 3, per-order channel table).")
    ] = "hoa1,hoa2,hoa3,hoa4",
    out: OutOpt = Path("docs/replication"),
    n_channel: Annotated[int, typer.Option(
        help="Fig. 3 scenes, split equally over the +-x/+-y classes (paper: 1000).")] = 1000,
    n_general: Annotated[int, typer.Option(
        help="Random-DOA scenes for the correlation over all 425 classes.")] = 500,
    n_flip: Annotated[int, typer.Option(
        help="Pixel-flipping examples (first ones of the random-DOA set; paper: 2583).")] = 200,
    flip_steps: Annotated[int, typer.Option(help="Pixel-flipping steps 0..100 %.")] = 10,
    least_relevant: Annotated[bool, typer.Option(
        help="Also flip least-relevant first (one more curve, ~25 % more flip time).")] = True,
    n_aural: Annotated[int, typer.Option(help="Finding-3 scenes per model.")] = 200,
    corpus: Annotated[str | None, typer.Option(
        help=corpus_help(default="debian when installed, else espeak"))] = None,
    stages: Annotated[str, typer.Option(
        help="Comma-separated stages: channels, flip, aural.")] = "channels,flip,aural",
    seed: Annotated[int, typer.Option(help="Seed of the replication scenes.")] = 0,
    batch_size: Annotated[int, typer.Option(help="LRP batch size.")] = 16,
    flip_batch_size: Annotated[int, typer.Option(help="Pixel-flipping forward batch.")] = 64,
    as_json: Annotated[bool, typer.Option("--json", help="Print verdicts + timing as JSON.")]
    = False,
    quiet: Annotated[bool, typer.Option(help="No progress messages on stderr.")] = False,
) -> None:
    """Replication study of the paper's three findings (Figs. 2-4) with explicit criteria:
    writes OUT/results.json, OUT/replication.md and the figures."""
    prepare_output_dir(out)
    from audiolrp.app.replication import ReplicationConfig, replicate

    cfg = ReplicationConfig(
        n_channel=n_channel, n_general=n_general, n_flip=n_flip, flip_steps=flip_steps,
        n_aural=n_aural, least_relevant=least_relevant, corpus=corpus, seed=seed,
        batch_size=batch_size, flip_batch_size=flip_batch_size,
        stages=tuple(s.strip() for s in stages.split(",") if s.strip()),
    )
    res = replicate(intensity_model, hoa_models, out, cfg, progress=not quiet)
    if as_json:
        print_json({"verdicts": res["verdicts"], "timing_s": res["timing_s"],
                    "files": res["files"]})
    else:
        for k, v in res["verdicts"].items():
            typer.echo(f"{k:20s} {v}")
        typer.echo(f"wrote {res['files']['report']}")

