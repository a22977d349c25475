"""``parity check``: a user's arrays and call, run as a fixture folder through ``parity run``.

A command of its own module so that parity.cli stays a list of thin commands; registered there.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.option("--features", "features_file", required=True, type=click.Path(path_type=Path), help="[N, C, H, W] array: .npy, .npz or .pt.")
@click.option("--rois", "rois_file", required=True, type=click.Path(path_type=Path), help="[K, 5] array (batch index, x1, y1, x2, y2): .npy, .npz or .pt.")
@click.option("--call", "call_text", required=True, help='The torchvision call, e.g. "roi_align(output_size=7, spatial_scale=1/16, sampling_ratio=2, aligned=True)".')
@click.option("--out", "out_dir", default="reports/check", show_default=True, type=click.Path(path_type=Path), help="Output folder (its fixtures/ is the replayable fixture folder).")
@click.option("--runners", default=None, help="Frameworks to run (default: every one installed here).")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds per case before a worker is killed.")
@click.option("--grad/--no-grad", default=False, show_default=True, help="Also compare gradients of sum(W * out) w.r.t. the features.")
def check(features_file: Path, rois_file: Path, call_text: str, out_dir: Path, runners: str | None, timeout: float, grad: bool) -> None:
    """Run a torchvision roi_align call on your arrays: the renamed and the exactly translated MindSpore call.

    Writes OUT/fixtures (a fixture folder, as parity generate writes) and runs it as
    `parity run --fixtures OUT/fixtures --out OUT` does: same reports, exit status, repro and gate.
    """
    from parity import cli, commands, user_arrays, user_check
    from parity.call_string import parse_call
    from parity.pool import check_timeout
    from parity.reporters.terminal import console

    attrs = parse_call(call_text)
    features = user_arrays.load(features_file, "features")
    rois = user_arrays.load(rois_file, "rois")
    user_check.check_arrays(features, rois)
    check_timeout(timeout, "--timeout")
    chosen = runners if runners is not None else ",".join(user_check.installed_frameworks())
    cli._writable(out_dir)
    folder = user_check.write_fixtures(features, rois, attrs, out_dir)
    ctx = click.get_current_context()
    status = 0
    try:
        ctx.invoke(cli.run, fixtures_dir=folder, out_dir=out_dir, runners=chosen, timeout=timeout, grad=grad)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    if status in (0, 1):  # the run finished: its verdicts, per MindSpore call
        from parity import results

        records = results.read_records(out_dir)
        found = user_check.result(attrs, out_dir, folder, [], [c for r in records.values() for c in r.comparisons], status)
        out = console()
        for line in found.lines():
            out.print(line, markup=False, highlight=False, soft_wrap=True)
        replay = commands.command("parity", "run", "--fixtures", str(folder))
        out.print(f"replay: {replay} (the fixture folder holds both cases)", markup=False, highlight=False, soft_wrap=True)
    sys.exit(status)
