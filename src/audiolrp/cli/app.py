"""The typer application object shared by all subcommand modules."""

from __future__ import annotations

from typing import Annotated

import typer

from audiolrp import __version__

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
