"""roi_align's own commands (``parity mapping|translate|check|generate|repro|bench|mutants``): the
shell forwards them here (parity.shells.cli), with ``--op roi_align`` or by default.  ``check``
runs its fixture folder through the shell's own ``parity run``, so its reports, exit status,
repro and gate are a run's."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from parity.engine.files import probe_writable
from parity.shells.op_commands import mutants_command, repro_command


@click.command()
def mapping() -> None:
    """Print the parameter mapping table: torchvision -> MindSpore, ONNX RoiAlign (ONNX Runtime) and Paddle."""
    from rich.table import Table

    from parity.ops.roi_align.mapping import EXTRA_COLUMNS, MINDSPORE_END_MODE_1_EVIDENCE, TABLE
    from parity.reporters.terminal import console

    def cell(name: str, default: str, where: str = "") -> str:
        return name + ("" if default == "-" else f" = {default}") + (f" ({where})" if where else "")

    table = Table(
        title="torchvision.ops.roi_align -> mindspore.ops.ROIAlign, ONNX RoiAlign (ONNX Runtime), paddle.vision.ops.roi_align",
        caption="name = default (where); rows in the order of the torchvision signature",
        show_lines=True,
    )
    for col, width in (("torchvision", 20), ("MindSpore", 24), ("ONNX RoiAlign (opset 16)", 30), ("Paddle", 24)):
        table.add_column(col, max_width=width, overflow="fold")
    table.add_column("notes", max_width=52)
    for row, onnx, paddle in zip(TABLE, EXTRA_COLUMNS["onnxruntime"], EXTRA_COLUMNS["paddle"]):
        table.add_row(
            cell(row.torchvision, row.torchvision_default),
            cell(row.mindspore, row.mindspore_default, row.where),
            cell(onnx.parameter, onnx.default),
            cell(paddle.parameter, paddle.default),
            f"MindSpore: {row.note}\nONNX: {onnx.note}\nPaddle: {paddle.note}",
        )
    out = console()
    out.print(table)
    out.print("Decided by measurement where MindSpore's documentation is silent:\n" + MINDSPORE_END_MODE_1_EVIDENCE)


def _output_size(text: str) -> tuple[int, int]:
    from parity.engine.errors import UsageError

    try:
        parts = [int(p) for p in text.lower().replace(",", "x").split("x")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or min(parts) <= 0:
        raise UsageError(f"--output-size must be N or HxW with positive integers; got {text!r}")
    return (parts[0], parts[-1])


if TYPE_CHECKING:
    from rich.console import Console

    from parity.engine.model import Case
    from parity.engine.mutation import Outcome
    from parity.ops.roi_align.translate import Translation


@click.command()
@click.option("--from", "source", type=click.Choice(["torchvision", "mindspore"]), default="torchvision", show_default=True)
@click.option("--output-size", default="7", help="torchvision output_size: N or HxW.")
@click.option("--spatial-scale", "spatial_scale_text", default="1.0", show_default=True, help="A number or arithmetic such as 1/16.")
@click.option("--sampling-ratio", default=-1, type=int, show_default=True, help="torchvision sampling_ratio.")
@click.option("--aligned/--no-aligned", default=False, show_default=True, help="torchvision aligned.")
@click.option("--pooled-height", default=7, type=int, show_default=True, help="MindSpore pooled_height (--from mindspore).")
@click.option("--pooled-width", default=7, type=int, show_default=True, help="MindSpore pooled_width (--from mindspore).")
@click.option("--sample-num", default=2, type=int, show_default=True, help="MindSpore sample_num (--from mindspore).")
@click.option("--roi-end-mode", default=1, type=click.IntRange(0, 1), show_default=True, help="MindSpore roi_end_mode.")
@click.option("--no-verify", is_flag=True, help="Only print the translation.")
@click.option("--format", "fmt", type=click.Choice(["table", "python"]), default="table", show_default=True, help="python: a script to paste (imports, the op, the roi shift).")
@click.option("--features", "features_file", default=None, type=click.Path(path_type=Path), help="Verify on this [N, C, H, W] array (.npy, .npz, .pt).")
@click.option("--rois", "rois_file", default=None, type=click.Path(path_type=Path), help="Verify on this [K, 5] array (with --features).")
def translate(
    source: str, output_size: str, spatial_scale_text: str, sampling_ratio: int, aligned: bool,
    pooled_height: int, pooled_width: int, sample_num: int, roi_end_mode: int, no_verify: bool,
    fmt: str, features_file: Path | None, rois_file: Path | None,
) -> None:
    """Print the call in the other framework that reproduces a given call, and verify it numerically.

    Exits 1 when the translation is not exact for these arguments or fails its verification.
    """
    import tempfile

    from parity.ops.roi_align import translate as tr
    from parity.ops.roi_align.call_string import number
    from parity.engine.errors import UsageError
    from parity.ops.roi_align.mapping import MindSporeCall
    from parity.ops.roi_align.attrs import Attrs
    from parity.reporters.terminal import console
    from parity.engine.text import terminal as escape

    spatial_scale = number(spatial_scale_text, "--spatial-scale")
    if spatial_scale <= 0:
        raise UsageError(f"--spatial-scale must be positive; got {spatial_scale_text!r}")
    if (features_file is None) != (rois_file is None):
        raise UsageError("--features and --rois go together: pass both to verify on your arrays, or neither")
    user_inputs = None
    if features_file is not None and rois_file is not None:
        from parity.ops.roi_align import user_arrays, user_check

        features, rois = user_check.check_arrays(user_arrays.load(features_file, "features"), user_arrays.load(rois_file, "rois"))
        user_inputs = [(f"{features_file.name}, {rois_file.name}", features, rois)]
    out = console()
    if source == "torchvision":
        attrs = Attrs(_output_size(output_size), spatial_scale, sampling_ratio, aligned)
        call, t = tr.torchvision_to_mindspore(attrs)
        tv_shift, ms_shift = tr.RoiShift(0.0, 0.0), t.shift
    else:
        call = MindSporeCall(pooled_height, pooled_width, float(spatial_scale), sample_num, roi_end_mode)
        attrs, t = tr.mindspore_to_torchvision(call)
        tv_shift, ms_shift = t.shift, tr.RoiShift(0.0, 0.0)
    if fmt == "table":
        _print_translation(out, t)
    if t.not_exact:
        from parity.reporters.terminal import error

        for cond in t.not_exact:
            error(f"not exact: {cond}")
        sys.exit(1)
    if fmt == "python":
        from parity.ops.roi_align import translate_code

        script = translate_code.to_mindspore_script(call, t) if source == "torchvision" else translate_code.to_torchvision_script(attrs, t)
        click.echo(script, nl=False)
        if user_inputs is None:
            return
        out = console(stderr=True)  # stdout holds the script only
    if no_verify and user_inputs is None:
        return
    what = "your arrays" if user_inputs is not None else "float32"
    out.print(f"[bold]verification[/] ({what}; torchvision vs MindSpore under this translation)")
    with tempfile.TemporaryDirectory() as logs:
        checks = tr.verify(attrs, call, tv_shift, ms_shift, logs, user_inputs)
    for c in checks:
        value = "-" if c.max_abs is None else f"{c.max_abs:.3g}"
        verdict = "[green]pass[/]" if c.passed else "[red]fail[/]"
        out.print(f"  {verdict} {escape(c.label):<10} max |diff| = {value} {escape(c.message)}")
    sys.exit(0 if all(c.passed for c in checks) else 1)


def _print_translation(out: Console, t: Translation) -> None:
    out.print(f"[bold]from[/]  {t.source}")
    out.print(f"[bold]to[/]    {t.target}")
    out.print(f"[bold]rois[/]  {t.shift.render()}")
    out.print("[bold]exact when[/]")
    for cond in t.exact_when:
        out.print(f"  - {cond}")


@click.command()
@click.option("--suite", default="standard", show_default=True, help="Suite to write as fixtures.")
@click.option("--out", "out_dir", default=None, type=click.Path(path_type=Path), help="Folder (default: fixtures/SUITE).")
def generate(suite: str, out_dir: Path | None) -> None:
    """Write a suite's cases as .npz fixtures plus manifest.json (replay with parity run --fixtures)."""
    import time

    from parity.ops.roi_align import fixtures
    from parity.ops.roi_align import generate as gen
    from parity.ops.roi_align.discriminate import non_discriminating
    from parity.reporters.terminal import console
    from parity.engine.text import terminal as escape

    start = time.perf_counter()
    out_dir = out_dir or Path("fixtures") / suite
    probe_writable(out_dir)  # also refuses symbolic links where parity writes
    cases = gen.cases_for(suite)
    manifest = fixtures.save(cases, out_dir, suite)
    out = console()
    out.print(f"{len(cases)} cases of suite {suite!r} written to {out_dir} ({manifest.name}) in {time.perf_counter() - start:.2f} s")
    flat = non_discriminating(cases)
    if flat:
        out.print(f"{len(flat)} cases give identical outputs under every roi convention (they cannot detect a wrong one):")
        for case_id in flat:
            out.print(f"  {escape(case_id)}")


repro = repro_command("parity run --fixtures", "parity.ops.roi_align.repro")


@click.command()
@click.option("--workloads", default=None, help="Comma-separated: W1 seed, W2 box head (W2a: adaptive sampling), W3 mask head, W4 large map (default: W1,W2,W3; with --full: all five).")
@click.option("--repeat", default=5, type=click.IntRange(min=1), show_default=True, help="Timed calls a row is the median of, after one warm-up call: an implementation goes on until its last N calls lie within 1.3x of one another (at most 10N calls; fewer once its calls add up to 2 s, 30 s with --full).")
@click.option("--full", is_flag=True, help="Every workload, and up to 30 s of timed calls per implementation instead of 2 s.")
@click.option("--threads", default=1, type=click.IntRange(min=1), show_default=True, help="Threads for every implementation (each runs in its own worker).")
@click.option("--suite", default="standard", show_default=True, help="Also time `parity run` on this suite (cases/s); 'none' skips it.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON instead of a table.")
def bench(workloads: str | None, repeat: int, full: bool, threads: int, suite: str, as_json: bool) -> None:
    """Time torchvision, MindSpore and the float64 reference on workloads W1-W4 (ratios against torchvision float32)."""
    import json
    import tempfile

    from parity.engine.bench import FULL_BUDGET_S, QUICK_BUDGET_S
    from parity.ops.roi_align import bench as b

    chosen = b.parse_workloads(workloads, full)
    budget = FULL_BUDGET_S if full else QUICK_BUDGET_S
    with tempfile.TemporaryDirectory() as logs:
        rows, versions = b.run(chosen, repeat, threads, logs, say=lambda line: click.echo(line, err=True), budget_s=budget)
        sequential, pipelined = b.protocol_overhead(Path(logs))
        if suite != "none":
            click.echo(f"suite {suite}: parity run", err=True)
        rate = b.suite_throughput(suite, Path(logs) / "suite") if suite != "none" else None
    if as_json:
        click.echo(json.dumps([b.row_json(r) for r in rows] + ([rate.to_json()] if rate else []), indent=1))
    else:
        b.print_table(rows, versions, threads)
        if rate:
            click.echo(f"parity run --suite {rate.suite} ({','.join(rate.runners)}): {rate.cases} cases in "
                       f"{rate.wall_s:.1f} s, {rate.startup_s:.1f} s of it worker start-up: "
                       f"{rate.cases_per_s:.0f} cases/s after start-up")
    click.echo(
        f"worker protocol, no-op W1-sized case: {sequential:.3f} ms one at a time, {pipelined:.3f} ms pipelined "
        "(target: under 5 ms)",
        err=as_json,
    )


def _mutants(cases: list[Case]) -> list[Outcome]:
    from parity.ops.roi_align.mutants import run

    return run(cases)


mutants = mutants_command("roi_align", "standard", _mutants)


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
    from parity.shells import cli
    from parity.engine import commands
    from parity.ops.roi_align import user_arrays, user_check
    from parity.ops.roi_align.call_string import parse_call
    from parity.engine.pool import check_timeout
    from parity.reporters.terminal import console

    attrs = parse_call(call_text)
    features = user_arrays.load(features_file, "features")
    rois = user_arrays.load(rois_file, "rois")
    user_check.check_arrays(features, rois)
    check_timeout(timeout, "--timeout")
    chosen = runners if runners is not None else ",".join(user_check.installed_frameworks())
    probe_writable(out_dir)
    folder = user_check.write_fixtures(features, rois, attrs, out_dir)
    ctx = click.get_current_context()
    status = 0
    try:
        ctx.invoke(cli.run, fixtures_dir=folder, out_dir=out_dir, runners=chosen, timeout=timeout, grad=grad)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    if status in (0, 1):  # the run finished: its verdicts, per MindSpore call
        from parity.engine import results

        records = results.read_records(out_dir)
        found = user_check.result(attrs, out_dir, folder, [], [c for r in records.values() for c in r.comparisons], status)
        out = console()
        for line in found.lines():
            out.print(line, markup=False, highlight=False, soft_wrap=True)
        replay = commands.command("parity", "run", "--fixtures", str(folder))
        out.print(f"replay: {replay} (the fixture folder holds both cases)", markup=False, highlight=False, soft_wrap=True)
    sys.exit(status)
