"""The typer application object shared by all subcommand modules."""

from __future__ import annotations

import contextlib
import errno
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from audiolrp import __version__
from audiolrp.errors import AudioLRPError

app = typer.Typer(
    name="audiolrp",
    help=(
        "Explain audio neural networks with Layer-wise Relevance Propagation: simulate HOA "
        "scenes, train the paper's DOA CRNNs, explain predictions, analyse and listen to relevance."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def parse_range(
    text: str, option: str, example: str, kind: Callable[[str], float] = float
) -> tuple[float, float]:
    """``LOW,HIGH`` of a range option (``kind`` ``float`` or ``int``), finite and ordered;
    otherwise a one-line error naming ``option`` with ``example``."""
    try:
        low, high = (kind(v) for v in text.split(","))
    except ValueError:
        raise AudioLRPError(f"{option} {text!r} is not LOW,HIGH: pass e.g. {option} {example}"
                            ) from None
    if not (math.isfinite(low) and math.isfinite(high) and low <= high):
        raise AudioLRPError(
            f"{option} {text!r} needs finite LOW <= HIGH: pass e.g. {option} {example}"
        )
    return low, high


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"audiolrp {__version__}")
        raise typer.Exit()


@app.callback()
def _main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the audiolrp version and exit.",
        ),
    ] = False,
) -> None:
    pass


_NEW_DIRS: list[Path] = []
"""Folders created by :func:`prepare_output_dir` during the current command."""


def forget_new_dirs(*, remove_empty: bool) -> None:
    """End of a command: forget the folders it created, removing those still empty on failure.

    Called by the CLI's error handlers (``remove_empty=True``) so that a command that fails
    after creating its output folder (bad input file, bad option) leaves no empty folder
    behind; only empty folders are removed (:meth:`Path.rmdir`), never any content.
    """
    while _NEW_DIRS:
        folder = _NEW_DIRS.pop(0)
        if remove_empty:
            with contextlib.suppress(OSError):
                folder.rmdir()


def prepare_output_dir(path: str | os.PathLike[str], *, option: str = "--out") -> Path:
    """Create the output folder ``path`` (with its parents) and check that it is writable.

    Every command that writes files calls this first, before any computation, so that a bad
    output path fails at once with one line instead of a traceback after the work is done.

    Parameters
    ----------
    path
        Output folder; created if missing, an existing folder is kept as it is.
    option
        How the user gave the path (``"--out"``, ``"OUT_DIR"``), named in the fix.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    AudioLRPError
        ``path`` (or one of its parents) is an existing file, or the folder cannot be created
        or written (permissions, read-only file system).
    """
    out = Path(path)
    fix = f"pass another {option}"
    new_dirs = [p for p in (out, *out.parents) if not p.exists()]  # deepest first
    if out.exists() and not out.is_dir():
        raise AudioLRPError(f"output folder {out} is an existing file, not a folder: {fix}")
    blocker = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise AudioLRPError(
            f"cannot create output folder {out}: {blocker} is a file, not a folder: {fix}"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise AudioLRPError(f"cannot create output folder {out} ({_reason(err)}): {fix}") from None
    _NEW_DIRS.extend(new_dirs)
    try:
        with tempfile.TemporaryFile(dir=out, prefix=".audiolrp-write-test-"):
            pass
    except OSError as err:
        raise AudioLRPError(
            f"output folder {out} is not writable ({_reason(err)}): {fix} or make it writable"
        ) from None
    return out


def _reason(err: OSError) -> str:
    """The OS's short description of ``err`` (e.g. ``"Permission denied"``)."""
    return err.strerror or os.strerror(err.errno or errno.EIO)
