"""The typer application shared by all subcommand modules, and the CLI's one policy.

* :func:`guarded` -- the one error policy, applied to every command by :class:`GuardedGroup`
  (the class of :data:`app`): user errors one line and exit 2, a full disk or read-only output
  one line and exit 2 (the incomplete output folder removed), Ctrl-C exit 130, anything else
  ``internal error: ...`` and exit 1;
* :func:`print_json` -- the one ``--json`` printer (strict JSON, NaN/inf -> null);
* :func:`prepare_output_dir` -- output folders, checked before any work;
* shared option texts (:data:`MODEL_HELP`) and parsers (:func:`parse_range`).
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

from audiolrp import __version__
from audiolrp.errors import AudioLRPError, NoSpaceError
from audiolrp.simulation.corpora import corpus_help

try:  # typer >= 0.2x carries its own click
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # pragma: no cover - typer on top of click
    from click.exceptions import (  # type: ignore[import-not-found,no-redef,unused-ignore]
        ClickException,
        UsageError,
    )

T = TypeVar("T")

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
"""The reader of stdout went away (``audiolrp ... | head``): 128 + SIGPIPE, as git's."""

SHIPPED_MODELS = ("intensity", "hoa1", "hoa2", "hoa3", "hoa4")
"""The shipped models (:func:`audiolrp.models.list_models`; a test keeps both equal). Listed
here so that ``--help`` does not import torch."""

SHIPPED_MULTISOURCE_MODELS = ("multi-intensity",)
"""The shipped multi-source models (:func:`audiolrp.models.list_models` with ``"multi"``; a
test keeps both equal)."""

MODEL_HELP = (
    f"Shipped model ({', '.join(SHIPPED_MODELS)}) or path of a saved NAME.json."
)
"""The help text of every ``--model`` option."""

# ------------------------------------------------------------------------- shared options
# One declaration per option that several commands take (``name: ThreadsOption = None``);
# the default stays at the parameter, so a command may choose its own.

ModelOption = Annotated[str, typer.Option("--model", "-m", help=MODEL_HELP)]
"""``--model/-m``: a shipped model or a saved NAME.json."""
DataOption = Annotated[Path | None, typer.Option(
    "--data", "-d", help="Dataset folder from `audiolrp simulate` (default: freshly simulated "
    "scenes).")]
"""``--data/-d``: a dataset folder instead of simulated scenes."""
SplitOption = Annotated[str, typer.Option(help="Dataset split (with --data).")]
"""``--split``: the split of ``--data``."""
SnrDbOption = Annotated[str | None, typer.Option(
    "--snr-db", help="SNR range LOW,HIGH in dB of the simulated scenes (default: card's).")]
"""``--snr-db LOW,HIGH`` of simulated scenes."""
Rt60Option = Annotated[str | None, typer.Option(
    "--rt60-s", help="RT60 range LOW,HIGH in s of the simulated scenes (default: card's).")]
"""``--rt60-s LOW,HIGH`` of simulated scenes."""
CorpusOption = Annotated[str | None, typer.Option(
    help=corpus_help("Speech of the simulated scenes", default="card's"))]
"""``--corpus``: a registered corpus (:mod:`audiolrp.simulation.corpora`) or a folder."""
ThreadsOption = Annotated[int | None, typer.Option(
    help="torch intra-op threads (default: torch's choice).")]
"""``--threads N``: torch intra-op threads."""
ProgressOption = Annotated[bool, typer.Option(help="Progress on stderr.")]
"""``--progress/--no-progress``."""
JsonOption = Annotated[bool, typer.Option(
    "--json", help="Print the results as JSON instead of text.")]
"""``--json``: print the command's result through :func:`print_json`."""
OutDirOption = Annotated[Path, typer.Option(
    "--out", "-o", help="Output folder (created if missing).")]
"""``--out/-o``: an output folder."""


def check_threads(threads: int | None) -> None:
    """Apply ``--threads`` (``None``: torch's choice); one-line error below 1."""
    if threads is None:
        return
    if threads < 1:
        raise AudioLRPError(f"--threads must be >= 1, got {threads}")
    import torch

    torch.set_num_threads(threads)


def check_at_least(*checks: tuple[str, int | None, int]) -> None:
    """One-line error for the first ``(option, value, low)`` with ``value < low`` (``None``
    values are skipped)."""
    for name, value, low in checks:
        if value is not None and value < low:
            raise AudioLRPError(f"{name} must be >= {low}, got {value}")


class GuardedGroup(TyperGroup):
    """The top-level command group: every subcommand (``analyze *`` and ``corpus *``
    included) runs under :func:`guarded`, so the error policy lives in one place."""

    def invoke(self, ctx: Any) -> Any:
        """Invoke the group (and so the chosen subcommand) under :func:`guarded`."""
        return guarded(lambda: super(GuardedGroup, self).invoke(ctx))


app = typer.Typer(
    cls=GuardedGroup,
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

_OUT_DIRS: list[tuple[Path, str, Callable[[Path], bool] | None]] = []
"""``(folder, option, resumable)`` of every :func:`prepare_output_dir` call of the command."""


def _resumable(entry: tuple[Path, str, Callable[[Path], bool] | None]) -> bool:
    """Whether the command can continue from what it wrote into this output folder."""
    folder, _, can_resume = entry
    try:
        return can_resume is not None and can_resume(folder)
    except OSError:
        return False

DISK_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT, errno.EPERM}
"""OS errors a user fixes by freeing space or choosing another output (not a bug)."""


def print_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout: the one ``--json`` printer of every command.

    Strict JSON (indent 2, UTF-8 text): NumPy/torch arrays and scalars -> lists and numbers,
    paths -> strings, NaN and infinities -> ``null`` (:func:`audiolrp.io.json_ready`).
    """
    from audiolrp.io import json_ready, json_text

    sys.stdout.write(json_text(json_ready(obj), indent=2, allow_nan=False, ensure_ascii=False))
    sys.stdout.flush()


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    return lines[0] if lines else ""


def _disk_error(err: BaseException) -> OSError | None:
    """The full-disk / read-only / permission :class:`OSError` behind ``err`` (its chain of
    causes included; libraries such as h5py name the errno only in the message), or ``None``."""
    seen: set[int] = set()
    e: BaseException | None = err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError):
            if e.errno in DISK_ERRNOS:
                return e
            text = str(e)
            for code in (errno.ENOSPC, errno.EROFS, errno.EDQUOT):
                if os.strerror(code) in text or f"errno = {code}," in text:
                    return OSError(code, os.strerror(code), e.filename)
        e = e.__cause__ or e.__context__
    return None


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (OSError, ValueError):
        return False
    return True


def disk_error_message(err: OSError) -> str:
    """One line for a full disk, a read-only file system or a refused write: the path and the
    fix (free space, make it writable, or pass another output option)."""
    code = err.errno
    filename = Path(os.fsdecode(err.filename)) if err.filename else None
    out = next((o for o in _OUT_DIRS if filename is None or _inside(filename, o[0])), None)
    if out is None and filename is not None and code in (errno.EACCES, errno.EPERM):
        return f"permission denied: {filename}: make it readable (or writable) or pass another path"
    where = filename if filename is not None else (out[0] if out else Path.cwd())
    option = out[1] if out else "--out"
    then = " and rerun with --resume" if out and _resumable(out) else ""
    if code in (errno.ENOSPC, errno.EDQUOT):
        what = "no space left" if code == errno.ENOSPC else "disk quota exceeded"
        if out is not None:
            where = out[0]
        free = "space"
        if isinstance(err, NoSpaceError):  # checked before writing: the shortfall is known
            free = f"{max(1, math.ceil((err.needed_bytes - err.free_bytes) / 1e6))} MB"
        return f"{what} on the device of {where}: free {free}{then} or pass another {option}"
    if code == errno.EROFS:
        return f"{where} is on a read-only file system: pass another {option}"
    return f"permission denied writing {where}: make it writable or pass another {option}"


def guarded(job: Callable[[], T]) -> T:
    """Run ``job`` (a command) under the CLI's one error policy.

    * :class:`~audiolrp.errors.AudioLRPError` -> ``error: <message>`` on stderr, exit code 2;
    * a full disk, a read-only file system or a refused write (``ENOSPC``, ``EROFS``,
      ``EACCES``) -> one ``error:`` line naming the path and the fix, exit code 2; the output
      folders the command created are removed with what they hold (incomplete), unless the
      command marked them resumable;
    * Ctrl-C -> exit code 130, silent (a job that kept its finished part raises
      :class:`~audiolrp.errors.Interrupted`: one ``interrupted: <what was kept>`` line);
    * a closed stdout (``| head``) -> exit code 141, silent;
    * anything else -> ``internal error: <type>: <message>`` on stderr and exit code 1
      (``AUDIOLRP_DEBUG=1`` shows the traceback).

    typer's own exits and usage errors pass through (:func:`audiolrp.cli.main` prints those).
    On any failure the output folders the command created and left empty are removed.
    """
    try:
        result = job()
    except AudioLRPError as err:
        forget_new_dirs(remove_empty=True)
        typer.echo(f"error: {_first_line(str(err))}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except KeyboardInterrupt as err:
        forget_new_dirs(remove_empty=True)
        if str(err):  # audiolrp.errors.Interrupted: what was kept, how to resume
            typer.echo(f"interrupted: {_first_line(str(err))}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        forget_new_dirs(remove_empty=True)
        quiet_stdout()
        raise typer.Exit(EXIT_BROKEN_PIPE) from None
    except (typer.Exit, typer.Abort, ClickException):
        forget_new_dirs(remove_empty=True)
        raise
    except Exception as err:  # noqa: BLE001 - the CLI's last line of defence
        disk = _disk_error(err)
        if disk is not None:
            message = disk_error_message(disk)
            forget_new_dirs(remove_empty=True, remove_incomplete=True)
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        forget_new_dirs(remove_empty=True)
        if os.environ.get("AUDIOLRP_DEBUG"):
            raise
        typer.echo(
            f"internal error: {type(err).__name__}: {_first_line(str(err))} (set "
            "AUDIOLRP_DEBUG=1 for the traceback and please report it)",
            err=True,
        )
        raise typer.Exit(EXIT_INTERNAL) from None
    forget_new_dirs(remove_empty=False)
    return result


def quiet_stdout() -> None:
    """After a broken pipe: point stdout at the null device, so that the interpreter's last
    flush of what is still buffered prints no second error."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def forget_new_dirs(*, remove_empty: bool, remove_incomplete: bool = False) -> None:
    """End of a command: forget the folders it created, removing those still empty on failure.

    Called by :func:`guarded` on failure (``remove_empty=True``) so that a command that fails
    after creating its output folder (bad input file, bad option) leaves no empty folder
    behind; only empty folders are removed (:meth:`Path.rmdir`), never any content. With
    ``remove_incomplete`` (a full disk) the folders this command created are removed with
    their content (all of it this command's, half-written), except resumable ones.
    """
    keep = {o[0] for o in _OUT_DIRS if _resumable(o)}
    while _NEW_DIRS:
        folder = _NEW_DIRS.pop(0)
        if remove_incomplete and not any(folder == k or folder in k.parents for k in keep):
            shutil.rmtree(folder, ignore_errors=True)
        elif remove_empty:
            with contextlib.suppress(OSError):
                folder.rmdir()
    _OUT_DIRS.clear()


def fmt_or_dash(value: float | None, spec: str) -> str:
    """``value`` formatted with ``spec`` (e.g. ``">12.1f"``, ``"5d"``) for a table column;
    ``None`` (a silent window has no direction) as a ``-`` right-aligned to the same width."""
    if value is not None:
        return format(value, spec)
    width = re.match(r"[<>^=]?(\d*)", spec).group(1)  # type: ignore[union-attr]
    return format("-", f">{width}")


def prepare_output_dir(
    path: str | os.PathLike[str],
    *,
    option: str = "--out",
    resumable: Callable[[Path], bool] | None = None,
) -> Path:
    """Create the output folder ``path`` (with its parents) and check that it is writable.

    Every command that writes files calls this first, before any computation, so that a bad
    output path fails at once with one line instead of a traceback after the work is done.

    Parameters
    ----------
    path
        Output folder; created if missing, an existing folder is kept as it is.
    option
        How the user gave the path (``"--out"``, ``"OUT_DIR"``), named in the fix.
    resumable
        Whether the command can continue from what the folder holds (``train --resume``: a
        checkpoint): then a full disk keeps the folder and the message says so.

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
    _OUT_DIRS.append((out, option, resumable))
    try:
        with tempfile.TemporaryFile(dir=out, prefix=".audiolrp-write-test-"):
            pass
    except OSError as err:
        raise AudioLRPError(
            f"output folder {out} is not writable ({_reason(err)}): {fix} or make it writable"
        ) from None
    return out


def check_model(name_or_path: str) -> None:
    """Fail at once, before any output is written, when ``name_or_path`` names no shipped
    model and no model file (:func:`audiolrp.models.resolve_model_path`)."""
    from audiolrp.models import resolve_model_path

    resolve_model_path(name_or_path)


def check_report_target(out: Path, *, force: bool) -> None:
    """Refuse to overwrite an ``OUT/report.html`` that audiolrp did not write (unless
    ``force``): a report of an earlier audiolrp run is replaced, the user's own page is not."""
    page = Path(out) / "report.html"
    if force or not page.exists():
        return
    try:
        with page.open("rb") as f:
            head = f.read(4096)
    except OSError:
        head = b""
    if page.is_file() and b"<title>audiolrp " in head:
        return
    raise AudioLRPError(
        f"{page} exists and was not written by audiolrp: pass another --out, or --force to "
        "overwrite it"
    )


def _reason(err: OSError) -> str:
    """The OS's short description of ``err`` (e.g. ``"Permission denied"``)."""
    return err.strerror or os.strerror(err.errno or errno.EIO)


__all__ = [
    "EXIT_BROKEN_PIPE", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE",
    "MODEL_HELP", "SHIPPED_MODELS",
    "ClickException", "GuardedGroup", "UsageError", "app", "check_model", "check_report_target",
    "disk_error_message", "forget_new_dirs", "guarded", "parse_range", "prepare_output_dir",
    "print_json", "quiet_stdout",
]
