"""Options and checks that several ``parity`` commands share (one definition each)."""
from __future__ import annotations

from pathlib import Path

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
