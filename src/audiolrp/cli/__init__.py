"""The ``audiolrp`` command line (typer).

Each subcommand lives in its own module of this package and registers itself on :data:`app`.
:func:`main` turns every :class:`~audiolrp.errors.AudioLRPError` into a one-line message on
stderr and exit code 2 (no traceback), removing output folders the failed command created and
left empty (:func:`audiolrp.cli.app.forget_new_dirs`).
"""

from __future__ import annotations

import sys

from audiolrp.cli.app import app, forget_new_dirs
from audiolrp.errors import AudioLRPError

# Subcommand modules register their commands on ``app`` when imported.
# The import order is the order of ``audiolrp --help``: demo, explain, locate, simulate, train,
# evaluate (both in ``train``), analyze, corpus.
from audiolrp.cli import demo as _demo  # noqa: E402,F401  isort: skip
from audiolrp.cli import explain as _explain  # noqa: E402,F401  isort: skip
from audiolrp.cli import locate as _locate  # noqa: E402,F401  isort: skip
from audiolrp.cli import simulate as _simulate  # noqa: E402,F401  isort: skip
from audiolrp.cli import train as _train  # noqa: E402,F401  isort: skip
from audiolrp.cli import analyze as _analyze  # noqa: E402,F401  isort: skip
from audiolrp.cli import corpus as _corpus  # noqa: E402,F401  isort: skip


def main() -> None:
    """Console-script entry point."""
    try:
        app(standalone_mode=True)
    except AudioLRPError as err:
        forget_new_dirs(remove_empty=True)
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


__all__ = ["app", "main"]
