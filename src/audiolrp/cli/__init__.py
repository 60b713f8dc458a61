"""The ``audiolrp`` command line (typer).

Each subcommand lives in its own module of this package and registers itself on :data:`app`.
Every command runs under the one error policy of :func:`audiolrp.cli.app.guarded` (user errors
``error: <one line>`` and exit 2, Ctrl-C exit 130, bugs ``internal error: ...`` and exit 1);
:func:`main` adds the command-line mistakes typer finds itself (unknown option, missing
argument, a value out of range): ``error: <one line>`` and exit 2 instead of typer's box.
"""

from __future__ import annotations

import sys

import typer

from audiolrp.cli.app import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    ClickException,
    UsageError,
    app,
    forget_new_dirs,
    guarded,
)

# Subcommand modules register their commands on ``app`` when imported.
# The import order is the order of ``audiolrp --help``: demo, explain, locate, simulate, train,
# evaluate (both in ``train``), analyze (channels, flip, auralize, replicate, then directions
# and methods from their own modules), corpus.
from audiolrp.cli import demo as _demo  # noqa: E402,F401  isort: skip
from audiolrp.cli import explain as _explain  # noqa: E402,F401  isort: skip
from audiolrp.cli import locate as _locate  # noqa: E402,F401  isort: skip
from audiolrp.cli import simulate as _simulate  # noqa: E402,F401  isort: skip
from audiolrp.cli import train as _train  # noqa: E402,F401  isort: skip
from audiolrp.cli import analyze as _analyze  # noqa: E402,F401  isort: skip
from audiolrp.cli import analyze_directions as _directions  # noqa: E402,F401  isort: skip
from audiolrp.cli import analyze_methods as _methods  # noqa: E402,F401  isort: skip
from audiolrp.cli import corpus as _corpus  # noqa: E402,F401  isort: skip


def usage_error_line(err: ClickException) -> str:
    """typer's message of a command-line mistake as one line, with where to find help."""
    text = " ".join(ln.strip() for ln in err.format_message().splitlines() if ln.strip())
    ctx = getattr(err, "ctx", None)
    hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
    return f"error: {text}{hint}"


def main() -> None:
    """Console-script entry point: run the command, exit with its code (0, 1, 2 or 130)."""
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
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "main"]
