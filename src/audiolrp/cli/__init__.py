"""The ``audiolrp`` command line (typer).

Each subcommand lives in its own module of this package and registers itself on :data:`app`.
Every command runs under the one error policy of :func:`audiolrp.cli.app.guarded` (user errors
``error: <one line>`` and exit 2, Ctrl-C exit 130, bugs ``internal error: ...`` and exit 1);
:func:`main` adds the command-line mistakes typer finds itself (unknown option, missing
argument, a value out of range): ``error: <one line>`` and exit 2 instead of typer's box.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import pkgutil
import sys

import typer

from audiolrp.cli.app import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    ClickException,
    UsageError,
    app,
    forget_new_dirs,
    guarded,
    quiet_stdout,
)

# Subcommand modules register their commands on ``app`` when imported.
# The import order is the order of ``audiolrp --help``: demo, explain, locate, simulate, train,
# evaluate, analyze (channels, flip, auralize, replicate, then every
# ``analyze_*.py`` module in name order: directions, methods, ...), corpus.
from audiolrp.cli import demo as _demo  # noqa: E402,F401  isort: skip
from audiolrp.cli import explain as _explain  # noqa: E402,F401  isort: skip
from audiolrp.cli import locate as _locate  # noqa: E402,F401  isort: skip
from audiolrp.cli import simulate as _simulate  # noqa: E402,F401  isort: skip
from audiolrp.cli import train as _train  # noqa: E402,F401  isort: skip
from audiolrp.cli import evaluate as _evaluate  # noqa: E402,F401  isort: skip
from audiolrp.cli import analyze as _analyze  # noqa: E402,F401  isort: skip

ANALYSIS_PREFIX = "analyze_"
"""Every ``cli/analyze_NAME.py`` registers ``audiolrp analyze NAME`` on
:data:`audiolrp.cli.analyze.analyze_app`; all are imported here, in name order, so a new
analysis command needs no line in this file."""

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module.startswith(ANALYSIS_PREFIX):
        importlib.import_module(f"{__name__}.{_module}")

from audiolrp.cli import corpus as _corpus  # noqa: E402,F401  isort: skip


def usage_error_line(err: ClickException) -> str:
    """typer's message of a command-line mistake as one line, with where to find help."""
    text = " ".join(ln.strip() for ln in err.format_message().splitlines() if ln.strip())
    ctx = getattr(err, "ctx", None)
    hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
    return f"error: {text}{hint}"


def _pipe_closed_under_help(err: SystemExit) -> bool:
    """Whether ``err`` is click's or rich's exit 1 after a broken pipe while printing help
    (``audiolrp CMD --help | head``): both are quiet, click pacifies stdout, rich points it at
    the null device; the CLI then exits with :data:`EXIT_BROKEN_PIPE` like any command."""
    if err.code != 1:
        return False
    if type(sys.stdout).__name__ == "PacifyFlushWrapper":
        quiet_stdout()
        return True
    try:
        return os.path.samestat(os.fstat(sys.stdout.fileno()), os.stat(os.devnull))
    except (OSError, ValueError):
        return False


def main() -> None:
    """Console-script entry point: run the command, exit with its code (0, 1, 2, 130, or 141
    when the reader of stdout went away)."""
    try:
        code = guarded(lambda: app(standalone_mode=False))
    except UsageError as err:
        forget_new_dirs(remove_empty=True)
        if type(err).__name__ == "NoArgsIsHelpError":  # `audiolrp` alone: its help
            print(err.format_message(), file=sys.stderr)
            sys.exit(EXIT_USAGE)
        print(usage_error_line(err), file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except ClickException as err:
        forget_new_dirs(remove_empty=True)
        print(f"error: {err.format_message()}", file=sys.stderr)
        sys.exit(getattr(err, "exit_code", EXIT_USAGE))
    except typer.Exit as err:  # the guard's verdict on what failed outside a command
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    except SystemExit as err:
        if _pipe_closed_under_help(err):
            sys.exit(EXIT_BROKEN_PIPE)
        raise
    if code == EXIT_INTERRUPTED and getattr(sys.modules.get("__main__"), "main", None) is main:
        _exit_now(code)  # the console script; not when called from Python (tests)
    sys.exit(code if isinstance(code, int) else 0)


def _exit_now(code: int) -> None:
    """Ctrl-C: leave at once. The exit handlers run (multiprocessing's, temporary files'),
    buffered output is flushed, but the interpreter's unloading of torch and its C++ state is
    skipped: it alone took 1-2 s on a busy machine, longer than a Ctrl-C may take."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


__all__ = ["app", "main"]
