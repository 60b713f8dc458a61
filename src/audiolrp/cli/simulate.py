"""`audiolrp simulate` subcommand: generate sharded train/val/test scene datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from audiolrp.cli.app import app, prepare_output_dir, print_json
from audiolrp.errors import AudioLRPError

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
    order: Annotated[
        int, typer.Option(help="HOA order N of the stored audio, 0 to 5 ((N+1)^2 channels).")
    ] = 4,
    seed: Annotated[int, typer.Option(help="Master seed.")] = 0,
    shard_size: Annotated[int, typer.Option("--shard-size", help="Scenes per shard.")] = 256,
    workers: Annotated[int, typer.Option(help="Parallel worker processes.")] = 1,
    corpus: Annotated[
        str, typer.Option(help="Speech: 'espeak' (embedded), 'debian', a folder, or 'noise'.")
    ] = "espeak",
    shard: Annotated[
        str | None,
        typer.Option("--shard", help="I/N: generate only shards I, I+N, ... (multi-machine)."),
    ] = None,
    finalize: Annotated[
        bool, typer.Option("--finalize", help="Only verify shards and write manifest.json.")
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(help="JSON file of SceneConfig fields overriding the defaults."),
    ] = None,
    mic: Annotated[
        str | None,
        typer.Option(
            "--mic",
            help="Microphone: ideal (SH rendering), tetra (tetrahedral cardioid array, orders "
            "0-1) or sphere32 (32-capsule rigid sphere, orders 0-4); default: --config's, "
            "else ideal.",
        ),
    ] = None,
    dtype: Annotated[str, typer.Option(help="Audio storage dtype: float32 or float16.")] = (
        "float32"
    ),
    direct_splits: Annotated[
        str, typer.Option("--direct-splits", help="Comma-separated splits storing direct sound.")
    ] = "test",
    all_parts: Annotated[
        bool, typer.Option("--all-parts", help="Also store reverberant and noise parts.")
    ] = False,
    sources: Annotated[
        str | None,
        typer.Option("--sources", help="Simultaneous talkers per scene, e.g. 1-3 (multi-source "
                     "dataset, docs/multisource.md); default: one talker."),
    ] = None,
    min_separation_deg: Annotated[
        float, typer.Option("--min-separation-deg", help="With --sources: smallest angle "
                            "between two talkers (degrees).")
    ] = 30.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Simulate reverberant noisy HOA speech scenes into HDF5 shards plus manifest.json.

    Every argument (order, config, corpus, shard) is checked before anything is written.
    """
    from audiolrp.data.datasets import (
        SPEC_NAME,
        DatasetSpec,
        finalize_dataset,
        generate_dataset,
        parse_shard_arg,
    )
    from audiolrp.simulation.scenes import SceneConfig, check_scene_order, get_corpus

    if finalize:
        if out_dir.is_dir():
            prepare_output_dir(out_dir, option="OUT_DIR")
        spec_path = out_dir / SPEC_NAME
        manifest = finalize_dataset(out_dir)
        summary = {
            "out_dir": str(out_dir),
            "counts": manifest["counts"],
            "shards_total": len(manifest["shards"]),
            "bytes": manifest["total_bytes"],
            "manifest": str(out_dir / "manifest.json"),
            "spec": str(spec_path),
        }
    else:
        if workers < 1:
            raise AudioLRPError(f"--workers must be >= 1, got {workers}")
        if min(n_train, n_val, n_test) < 0 or n_train + n_val + n_test == 0:
            raise AudioLRPError(
                f"--n-train {n_train}, --n-val {n_val}, --n-test {n_test}: nothing to simulate; "
                "pass counts >= 0 with at least one above 0"
            )
        check_scene_order(order, "--order")
        overrides: dict = {}
        if config is not None:
            try:
                overrides = json.loads(config.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as err:
                raise AudioLRPError(
                    f"--config {config} is not a readable JSON file ({err})"
                ) from None
            if not isinstance(overrides, dict):
                raise AudioLRPError(f"--config {config} must hold a JSON object of fields")
        overrides["order"] = order
        overrides["speech"] = None if corpus.lower() == "espeak" else corpus
        if mic is not None:
            from audiolrp.simulation.microphones import ARRAY_MAX_ORDER, MIC_NAMES

            if mic not in MIC_NAMES:
                raise AudioLRPError(f"--mic {mic!r} is unknown: use {', '.join(MIC_NAMES)}")
            if order > ARRAY_MAX_ORDER.get(mic, order):
                raise AudioLRPError(
                    f"--mic {mic} records HOA orders 0..{ARRAY_MAX_ORDER[mic]}: pass --order "
                    f"{ARRAY_MAX_ORDER[mic]} or lower"
                )
            overrides["mic"] = mic
        cfg = SceneConfig.from_dict({**SceneConfig().to_dict(), **overrides})
        spec = DatasetSpec(
            config=cfg,
            seed=seed,
            counts={"train": n_train, "val": n_val, "test": n_test},
            shard_size=shard_size,
            dtype=dtype,
            direct_splits=tuple(s.strip() for s in direct_splits.split(",") if s.strip()),
            all_parts=all_parts,
        )
        shard_arg = parse_shard_arg(shard)
        get_corpus(cfg.speech, cfg.corpus_seed)  # a missing corpus fails before any write
        if sources is not None:
            from audiolrp.app.multisource import simulate_multisource_dataset

            prepare_output_dir(out_dir, option="OUT_DIR")
            summary = simulate_multisource_dataset(
                out_dir, spec, sources, min_separation_deg, workers=workers, shard=shard_arg
            )
            if json_out:
                print_json(summary)
            else:
                for key, value in summary.items():
                    typer.echo(f"{key}: {value}")
            return
        prepare_output_dir(out_dir, option="OUT_DIR")
        summary = generate_dataset(
            out_dir,
            spec,
            workers=workers,
            shard=shard_arg,
            progress=progress and not json_out,
        )
    if json_out:
        print_json(summary)
    else:
        for key, value in summary.items():
            if isinstance(value, dict):
                value = ", ".join(f"{k} {v}" for k, v in value.items())
            typer.echo(f"{key}: {value}")
