"""`audiolrp corpus` subcommands: build, inspect and listen to speech corpora."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import typer

from audiolrp.cli.app import app, prepare_output_dir, print_json
from audiolrp.errors import AudioLRPError

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

JSON_HELP = "Print the result as JSON instead of a summary."

DEBIAN_EPILOG = """\
Examples:

  audiolrp corpus debian                       (all 7 packages into the default folder)

  audiolrp corpus debian --out speech/debian --package fillets-ng-data-nl --json
"""

DESCRIBE_EPILOG = """\
Examples:

  audiolrp corpus describe                     (the built-in eSpeak corpus)

  audiolrp corpus describe ~/corpora/LibriSpeech --json
"""

SAMPLE_EPILOG = """\
Examples:

  audiolrp corpus sample --out espeak.wav      (five 1-s eSpeak segments)

  audiolrp corpus sample debian --out test.wav --split test --n 10 --seed 3
"""


@corpus_app.command("debian", epilog=DEBIAN_EPILOG)
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
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Download recorded speech from Debian packages (apt-get download) into a corpus folder.

    About 5.5 h of speech from 7 packages (~120 MB download); resumable.
    """
    from audiolrp.simulation.speech import DEBIAN_PACKAGES, build_debian_corpus, default_debian_dir

    folder = prepare_output_dir(out.expanduser() if out is not None else default_debian_dir())
    worked: list[str] = []  # what this run downloaded or converted (nothing: all cached)

    def log(msg: str) -> None:
        if not msg.endswith(": already converted"):
            worked.append(msg)
        typer.echo(msg, err=True)

    t0 = time.time()
    summary = build_debian_corpus(
        folder, packages=tuple(package) if package else DEBIAN_PACKAGES, keep_debs=keep_debs,
        log=log,
    )
    cached = not worked
    if as_json:
        print_json({**summary, "cached": cached, "seconds": round(time.time() - t0, 3)})
        return
    what = f"{summary['files']} files, {summary['hours']:.2f} h, {summary['speakers']} speakers"
    if cached:
        typer.echo(f"already built: {what} in {summary['dir']} (nothing downloaded)")
    else:
        typer.echo(f"wrote {what} to {summary['dir']} in {time.time() - t0:.0f} s")


@corpus_app.command("describe", epilog=DESCRIBE_EPILOG)
def describe(
    spec: str = typer.Argument("espeak", help="'espeak', 'debian' or a folder."),
    seed: int = typer.Option(0, help="Corpus seed."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Print speakers, files and hours per split (a table, or JSON with --json)."""
    from audiolrp.simulation.speech import open_corpus

    info = open_corpus(spec, seed=seed).describe()
    if as_json:
        print_json(info)
        return
    for key, value in info.items():
        if key != "splits":
            typer.echo(f"{key}: {value}")
    typer.echo(f"{'split':6s} {'speakers':>8s} {'files':>7s} {'hours':>8s}")
    for split, row in info.get("splits", {}).items():
        typer.echo(
            f"{split:6s} {row.get('speakers', ''):>8} {row.get('files', ''):>7} "
            f"{row.get('hours', float('nan')):>8.3f}"
        )


@corpus_app.command("sample", epilog=SAMPLE_EPILOG)
def sample(
    spec: str = typer.Argument("espeak", help="'espeak', 'debian' or a folder."),
    out: Path = typer.Option(..., "--out", help="WAV file to write (16 kHz)."),
    split: str = typer.Option("train", help="train, val or test."),
    n: int = typer.Option(5, help="Number of 1-s segments (concatenated)."),
    seed: int = typer.Option(0, help="Corpus and sampling seed."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Write N random 1-s segments of a corpus to a WAV file, for listening."""
    from audiolrp.audio_io import write_audio
    from audiolrp.constants import FS_HZ
    from audiolrp.simulation.speech import open_corpus

    if out.is_dir():
        raise AudioLRPError(f"--out {out} is a folder: pass the path of a .wav file to write")
    prepare_output_dir(out.parent)
    corpus = open_corpus(spec, seed=seed)
    x = corpus.sample_segments(split, np.random.default_rng(seed), n)
    y = np.concatenate(list(x)) if n else np.zeros(0, np.float32)
    peak = float(np.max(np.abs(y))) if y.size else 1.0
    write_audio(out, 0.9 * y / max(peak, 1e-9), FS_HZ, subtype="PCM_16", format="WAV")
    if as_json:
        print_json(
            {
                "file": str(out),
                "corpus": corpus.name,
                "split": split,
                "segments": n,
                "seconds": y.size / FS_HZ,
                "seed": seed,
            }
        )
        return
    typer.echo(f"wrote {n} segments ({split}) of {corpus.name} to {out}")
