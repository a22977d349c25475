"""The ``parity`` command line: a thin shell over parity.engine.session (imports stay lazy for speed).

This module is the group (``parity.shells.cli:main``) and its exit statuses; the commands live in
cli_run (``run``), cli_stored (``baseline``, ``gate``, ``merge``), cli_list (``ops``, ``cases``)
and cli_forward (the commands each op provides for itself).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from parity.engine.errors import ParityError
from parity.shells import cli_forward, cli_list, cli_stored
from parity.shells.cli_run import run as run  # also reached as parity.shells.cli.run (parity check invokes it)


class _Group(click.Group):
    """Exit statuses people can trust (parity.engine.errors): a ParityError is one line and exit 2; any
    other exception means parity could not finish: one line, the resume command where results
    exist, and exit 3 (never 1, which means unexpected verdicts).  PARITY_DEBUG=1 adds the traceback."""

    def invoke(self, ctx: click.Context) -> object:
        from parity.engine.errors import EXIT_INCOMPLETE, EXIT_USAGE, ParityFailure

        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except ParityError as exc:
            _fail(str(exc), EXIT_USAGE)
        except ParityFailure as exc:
            _fail(f"parity could not finish: {exc}{_resume_hint(ctx)}", EXIT_INCOMPLETE)
        except Exception as exc:  # parity's own failure (a full disk, a bug), never a framework's result
            _fail(f"parity could not finish: {_describe(exc)}{_resume_hint(ctx)}", EXIT_INCOMPLETE)

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: object) -> click.Context:
        """The defaults of ``[tool.parity]`` in ./pyproject.toml (parity.engine.config) under the command line's options."""
        from parity.engine import config
        from parity.engine.errors import EXIT_USAGE

        try:
            extra.setdefault("default_map", config.default_map())
        except ParityError as exc:
            _fail(str(exc), EXIT_USAGE)
        return super().make_context(info_name, args, parent, **extra)


def _describe(exc: BaseException) -> str:
    """``OSError: [Errno 28] No space left on device: 'reports/parity.html'`` (one line)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


def _resume_hint(ctx: click.Context) -> str:
    """Where a run's finished cases are kept, and the command that continues it (nothing when none is)."""
    out = ctx.meta.get("parity.engine.results")
    if out is None or not (Path(out) / "run.json").is_file():
        return ""
    from parity.engine import commands

    return f"; the finished cases are kept in {Path(out) / 'results.jsonl'}, continue with: {commands.resume(out)}"


def _fail(message: str, status: int) -> NoReturn:
    import traceback

    from parity.reporters.terminal import error

    if os.environ.get("PARITY_DEBUG"):
        traceback.print_exc()
    error(message)
    sys.exit(status)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="parity", prog_name="parity", message="%(prog)s %(version)s")
def main() -> None:
    """Cross-framework parity testing of detection ops (parity ops lists them): each framework against a float64 reference."""


for _command in (run, cli_stored.baseline, cli_stored.gate, cli_stored.merge, cli_list.list_ops, cli_list.list_cases):
    main.add_command(_command)
for _name, _summary in cli_forward.OP_COMMANDS.items():
    main.add_command(cli_forward.forwarding(_name, _summary))

if __name__ == "__main__":
    main()
