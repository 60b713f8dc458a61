"""`audiolrp corpus` subcommands: build, inspect and listen to speech corpora."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import typer

from audiolrp.cli.app import app
from audiolrp.io import atomic_path

corpus_app = typer.Typer(
    name="corpus",
    help=(
        "Speech corpora for scene generation: 'espeak' (built in, synthetic), 'debian' (real "
        "recordings, build it with `audiolrp corpus debian`) or any folder of speech files "
        "(TIMIT, LibriSpeech, WAV/FLAC/OGG)."
    ),
    no_args_is_help=True,
)
app.add_typer(corpus_app, name="corpus")


@corpus_app.command("debian")
def debian(
    out: Path = typer.Option(
        None,
        "--out",
        help="Output folder (default: $AUDIOLRP_DEBIAN_CORPUS or ~/.cache/audiolrp/debian-speech).",
    ),
    package: list[str] = typer.Option(
        None,
        "--package",
        help="Only these Debian packages (repeatable); default: all Asterisk G.722 prompt "
        "sets (en, es, fr, it, ru) and Fish Fillets dialogue (cs, nl).",
    ),
    keep_debs: bool = typer.Option(False, help="Keep the downloaded .deb files in OUT/.debs."),
) -> None:
    """Download recorded speech from Debian packages (apt-get download) into a corpus folder.

    About 5.5 h of speech from 7 packages (~120 MB download); resumable.
    """
    from audiolrp.speech import DEBIAN_PACKAGES, build_debian_corpus

    t0 = time.time()
    summary = build_debian_corpus(
        out, packages=tuple(package) if package else DEBIAN_PACKAGES, keep_debs=keep_debs
    )
    typer.echo(
        f"wrote {summary['files']} files, {summary['hours']:.2f} h, {summary['speakers']} "
        f"speakers to {summary['dir']} in {time.time() - t0:.0f} s"
    )


@corpus_app.command("describe")
def describe(
    spec: str = typer.Argument("espeak", help="'espeak', 'debian' or a folder."),
    seed: int = typer.Option(0, help="Corpus seed."),
) -> None:
    """Print speakers, files and hours per split as JSON."""
    from audiolrp.speech import open_corpus

    typer.echo(json.dumps(open_corpus(spec, seed=seed).describe(), indent=1))


@corpus_app.command("sample")
def sample(
    spec: str = typer.Argument("espeak", help="'espeak', 'debian' or a folder."),
    out: Path = typer.Option(..., "--out", help="WAV file to write (16 kHz)."),
    split: str = typer.Option("train", help="train, val or test."),
    n: int = typer.Option(5, help="Number of 1-s segments (concatenated)."),
    seed: int = typer.Option(0, help="Corpus and sampling seed."),
) -> None:
    """Write N random 1-s segments of a corpus to a WAV file, for listening."""
    import soundfile as sf

    from audiolrp.constants import FS_HZ
    from audiolrp.speech import open_corpus

    corpus = open_corpus(spec, seed=seed)
    x = corpus.sample_segments(split, np.random.default_rng(seed), n)
    y = np.concatenate(list(x)) if n else np.zeros(0, np.float32)
    peak = float(np.max(np.abs(y))) if y.size else 1.0
    with atomic_path(out, suffix=".wav") as tmp:
        sf.write(tmp, 0.9 * y / max(peak, 1e-9), FS_HZ, subtype="PCM_16")
    typer.echo(f"wrote {n} segments ({split}) of {corpus.name} to {out}")
