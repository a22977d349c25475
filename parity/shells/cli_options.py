"""Options and checks that several ``parity`` commands share (one definition each)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

#: ``--format text|json``: json prints one machine-readable document on stdout (run, gate, cases).
FORMAT = click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                      help="json: one machine-readable document on stdout instead of the text output.")

#: ``--op NAME``: the op-generic commands (run, cases) judge or list any registered op.
OP = click.option("--op", default="roi_align", show_default=True, help="The op to judge (parity ops lists them).")


def writable(out_dir: Path) -> None:
    """Refuse an output folder parity cannot write before any work is done (one line, exit 2)."""
    from parity.engine.files import probe_writable

    probe_writable(out_dir)  # also refuses symbolic links where parity writes


_F = TypeVar("_F", bound=Callable[..., Any])


def repro_options(run_fixtures: str) -> Callable[[_F], _F]:
    """The argument and options of every op's ``parity repro`` (CASE_ID, --suite, --out, --results,
    --run/--no-run, --fixtures); ``run_fixtures`` is the op's ``parity run`` call that takes the
    same fixture folder, named in the help."""
    decorators = (
        click.argument("case_id"),
        click.option("--suite", default="standard", show_default=True, help="Suite that declares the case."),
        click.option("--out", "out_dir", default="reports", show_default=True, type=click.Path(path_type=Path),
                     help="Folder for repro_<short>.py and .md."),
        click.option("--results", "results_dir", default=None, type=click.Path(path_type=Path),
                     help="A stored run to take versions and verdicts from."),
        click.option("--run/--no-run", "execute", default=True, show_default=True,
                     help="Run the script here to fill in versions and differences."),
        click.option("--fixtures", "fixtures_dir", default=None, type=click.Path(path_type=Path),
                     help=f"Take the case from this fixture folder (as {run_fixtures})."),
    )

    def add(command: _F) -> _F:
        for decorate in reversed(decorators):
            command = decorate(command)
        return command

    return add
