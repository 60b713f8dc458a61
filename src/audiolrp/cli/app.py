"""The typer application object shared by all subcommand modules."""

from __future__ import annotations

import typer

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
