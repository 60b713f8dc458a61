"""`audiolrp simulate` subcommand: generate sharded train/val/test scene datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from audiolrp.cli.app import (
    JsonOption,
    ProgressOption,
    app,
    check_at_least,
    prepare_output_dir,
    print_json,
)
from audiolrp.simulation.corpora import corpus_help

SIMULATE_EPILOG = """\
Examples:

  audiolrp simulate data/hoa4                    (1000/100/100 scenes, order 4, eSpeak speech)

  audiolrp simulate data/foa --order 1 --n-train 200 --workers 2 --corpus debian

  audiolrp simulate data/hoa4 --shard 0/4        (this machine's quarter; then --finalize)

  audiolrp simulate data/foa-tetra --order 1 --mic tetra   (recorded by a tetrahedral array)

HOA orders 0 to 5 are supported (diffuse babble needs a spherical t-design of degree 2N <= 10).
"""


@app.command("simulate", epilog=SIMULATE_EPILOG)
def simulate(
    out_dir: Annotated[Path, typer.Argument(help="Output folder of the dataset.")],
    n_train: Annotated[int, typer.Option("--n-train", help="Training examples.")] = 1000,
    n_val: Annotated[int, typer.Option("--n-val", help="Validation examples.")] = 100,
    n_test: Annotated[int, typer.Option("--n-test", help="Test examples.")] = 100,
    order: Annotated[int, typer.Option(
        help="HOA order N of the stored audio, 0 to 5 ((N+1)^2 channels).")] = 4,
    seed: Annotated[int, typer.Option(help="Master seed.")] = 0,
    shard_size: Annotated[int, typer.Option("--shard-size", help="Scenes per shard.")] = 256,
    workers: Annotated[int, typer.Option(help="Parallel worker processes.")] = 1,
    corpus: Annotated[str, typer.Option(help=corpus_help(default="espeak"))] = "espeak",
    shard: Annotated[str | None, typer.Option(
        "--shard", help="I/N: generate only shards I, I+N, ... (multi-machine).")] = None,
    finalize: Annotated[bool, typer.Option(
        "--finalize", help="Only verify shards and write manifest.json.")] = False,
    config: Annotated[Path | None, typer.Option(
        help="JSON file of SceneConfig fields overriding the defaults.")] = None,
    mic: Annotated[str | None, typer.Option(
        "--mic", help="Microphone: ideal (SH rendering), tetra (tetrahedral cardioid array, "
        "orders 0-1) or sphere32 (32-capsule rigid sphere, orders 0-4); default: --config's, "
        "else ideal.")] = None,
    dtype: Annotated[str, typer.Option(
        help="Audio storage dtype: float32 or float16.")] = "float32",
    direct_splits: Annotated[str, typer.Option(
        "--direct-splits", help="Comma-separated splits storing direct sound.")] = "test",
    all_parts: Annotated[bool, typer.Option(
        "--all-parts", help="Also store reverberant and noise parts.")] = False,
    sources: Annotated[str | None, typer.Option(
        "--sources", help="Simultaneous talkers per scene, e.g. 1-3 (multi-source dataset, "
        "docs/multisource.md); default: one talker.")] = None,
    min_separation_deg: Annotated[float, typer.Option(
        "--min-separation-deg", help="With --sources: smallest angle between two talkers "
        "(degrees).")] = 30.0,
    json_out: JsonOption = False,
    progress: ProgressOption = True,
) -> None:
    """Simulate reverberant noisy HOA speech scenes into HDF5 shards plus manifest.json.

    Every argument (order, config, corpus, shard) is checked before anything is written.
    """
    from audiolrp.app.simulate import dataset_spec, finalize_summary
    from audiolrp.data.datasets import generate_dataset, parse_shard_arg
    from audiolrp.simulation.scenes import get_corpus

    if finalize:
        if out_dir.is_dir():
            prepare_output_dir(out_dir, option="OUT_DIR")
        _echo_summary(finalize_summary(out_dir), json_out)
        return
    check_at_least(("--workers", workers, 1))
    spec = dataset_spec(
        counts={"train": n_train, "val": n_val, "test": n_test}, order=order, seed=seed,
        shard_size=shard_size, corpus=corpus, config=config, mic=mic, dtype=dtype,
        direct_splits=direct_splits, all_parts=all_parts,
    )
    shard_arg = parse_shard_arg(shard)
    get_corpus(spec.config.speech, spec.config.corpus_seed)  # a missing corpus fails first
    prepare_output_dir(out_dir, option="OUT_DIR")
    if sources is not None:
        from audiolrp.app.multisource import simulate_multisource_dataset

        summary = simulate_multisource_dataset(
            out_dir, spec, sources, min_separation_deg, workers=workers, shard=shard_arg
        )
        if json_out:
            print_json(summary)
        else:
            for key, value in summary.items():
                typer.echo(f"{key}: {value}")
        return
    summary = generate_dataset(
        out_dir, spec, workers=workers, shard=shard_arg, progress=progress and not json_out,
    )
    _echo_summary(summary, json_out)


def _echo_summary(summary: dict[str, Any], json_out: bool) -> None:
    """The summary as JSON, or one ``key: value`` line each (dicts as ``k v, ...``)."""
    if json_out:
        print_json(summary)
        return
    for key, value in summary.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        typer.echo(f"{key}: {value}")
