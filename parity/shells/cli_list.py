"""The listing commands: ``parity ops`` (every registered op) and ``parity cases`` (a suite's or fixture folder's case ids)."""
from __future__ import annotations

from pathlib import Path

import click

from parity.shells.cli_options import FORMAT, OP


@click.command("ops")
def list_ops() -> None:
    """List every op parity judges: its frameworks and its suites."""
    from parity import ops

    for name in ops.OPS:
        op = ops.get(name)
        click.echo(f"{name}: {op.summary}")
        click.echo(f"  frameworks: {', '.join(op.frameworks)} (default: {','.join(op.default_runners)})")
        click.echo(f"  suites: {', '.join(op.suites)}")


@click.command("cases")
@OP
@click.option("--suite", default="standard", show_default=True)
@click.option("-k", "keyword", default=None)
@click.option("--fixtures", "fixtures_dir", default=None, type=click.Path(path_type=Path), help="List a fixture folder's cases instead.")
@FORMAT
def list_cases(op: str, suite: str, keyword: str | None, fixtures_dir: Path | None, output_format: str) -> None:
    """List a suite's (or a fixture folder's) case ids (with --format json: each case's call, dtype, shapes and tags)."""
    from parity import ops
    from parity.engine import limits
    from parity.engine.errors import UsageError

    the_op = ops.get(op)
    if fixtures_dir is None:
        found = the_op.cases(suite, keyword)
    elif the_op.load_fixtures is None:
        raise UsageError(f"op {op} has no fixture format; list one of its suites ({', '.join(the_op.suites)})")
    else:
        found = the_op.load_fixtures(fixtures_dir, limits.DEFAULT_MAX_CASE_BYTES, keyword)
    if output_format == "json":
        import json

        click.echo(json.dumps([
            {"id": c.id, "op": c.op, "suite": c.suite, "attrs": c.attrs.to_json(), "dtype": c.dtype, "port": c.port.value,
             "boxes": c.boxes, "layout": c.layout, "tags": list(c.tags),
             "shapes": {name: list(a.shape) for name, a in c.inputs.items()}}
            for c in found
        ], indent=1))
        return
    for case in found:
        click.echo(case.id)

