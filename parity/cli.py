"""The ``parity`` command line: a thin shell over parity.session (imports stay lazy for speed)."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from parity.errors import ParityError


class _Group(click.Group):
    """Exit statuses people can trust (parity.errors): a ParityError is one line and exit 2; any
    other exception means parity could not finish: one line, the resume command where results
    exist, and exit 3 (never 1, which means unexpected verdicts).  PARITY_DEBUG=1 adds the traceback."""

    def invoke(self, ctx: click.Context) -> object:
        from parity.errors import EXIT_INCOMPLETE, EXIT_USAGE, ParityFailure

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
        """The defaults of ``[tool.parity]`` in ./pyproject.toml (parity.config) under the command line's options."""
        from parity import config
        from parity.errors import EXIT_USAGE

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
    out = ctx.meta.get("parity.results")
    if out is None or not (Path(out) / "run.json").is_file():
        return ""
    from parity import commands

    return f"; the finished cases are kept in {Path(out) / 'results.jsonl'}, continue with: {commands.resume(out)}"


def _fail(message: str, status: int) -> None:
    import traceback

    from parity.reporters.terminal import error

    if os.environ.get("PARITY_DEBUG"):
        traceback.print_exc()
    error(message)
    sys.exit(status)


#: ``--format text|json``: json prints one machine-readable document on stdout (run, gate, cases).
_FORMAT = click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                       help="json: one machine-readable document on stdout instead of the text output.")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="parity", prog_name="parity", message="%(prog)s %(version)s")
def main() -> None:
    """Cross-framework parity testing: torchvision.ops.roi_align vs mindspore.ops.ROIAlign vs a float64 reference."""


def _pythons(specs: tuple[str, ...]) -> dict[str, str]:
    from parity.errors import UsageError
    from parity.runners import RUNNERS

    pythons = {}
    for spec in specs:
        runner, sep, path = spec.partition("=")
        if not sep or runner not in RUNNERS:
            raise UsageError(f"--python takes RUNNER=/path/to/python with RUNNER one of {', '.join(RUNNERS)}; got {spec!r}")
        if not Path(path).is_file():
            raise UsageError(f"--python {runner}: interpreter {path} does not exist; pass the python of the venv that has {runner}")
        pythons[runner] = path
    return pythons


def _writable(out_dir: Path) -> None:
    from parity.files import probe_writable

    probe_writable(out_dir)  # also refuses symbolic links where parity writes


_OP = click.option("--op", default="roi_align", show_default=True, help="The op to judge (parity ops lists them).")


@main.command()
@_OP
@click.option("--suite", default="standard", show_default=True, help="Case suite to run.")
@click.option("--out", "out_dir", default="reports", show_default=True, type=click.Path(path_type=Path), help="Output folder.")
@click.option("--runners", default="torchvision,mindspore", show_default=True, help="Frameworks to run (the reference always runs).")
@click.option("-k", "keyword", default=None, help="Only cases whose id contains this text, with this tag, or matching an expression over attributes (\"aligned and dtype == 'float16'\").")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds per case before a worker is killed (TIMEOUT).")
@click.option("--python", "pythons", multiple=True, metavar="RUNNER=PATH", help="Run a runner's worker under another interpreter.")
@click.option("--resume", "resume_dir", default=None, type=click.Path(path_type=Path), help="Continue an interrupted run in this folder.")
@click.option("--shard", default="1/1", show_default=True, metavar="I/N", help="Run only the I-th of N deterministic slices.")
@click.option("--fixtures", "fixtures_dir", default=None, type=click.Path(path_type=Path), help="Replay cases from a fixture folder (parity generate).")
@click.option("--budget", default=None, type=click.IntRange(min=1), help="Number of cases of the random suite (default 200).")
@click.option("--seed", default=None, type=int, help="Seed of the random suite (default 0).")
@click.option("--grad/--no-grad", default=None, help="Also compare gradients of sum(W * out) w.r.t. the features (default: on for the random and edge suites).")
@click.option("--repeat", default=1, show_default=True, type=click.IntRange(min=1), help="Run each case N times and report distinct bit patterns.")
@click.option("--deterministic", is_flag=True, help="torch.use_deterministic_algorithms(True) in the torch runners (CPU and CUDA).")
@click.option("--regressions", default=None, type=click.Path(path_type=Path), help="Shrink unexpected failures into this fixture folder (default for the random suite: cases/regressions).")
@click.option("--allow-empty", is_flag=True, help="Exit 0 when the selection or this shard holds no case (default: exit 2).")
@click.option("--max-case-mb", default=None, type=click.IntRange(min=1), help="Refuse a case whose estimated memory (parity.limits) exceeds this many MiB (default 4096).")
@click.option("--profile", "show_profile", is_flag=True, help="Print where the time went: ms per case for each driver phase and worker.")
@_FORMAT
def run(
    op: str,
    suite: str,
    out_dir: Path,
    runners: str,
    keyword: str | None,
    timeout: float,
    pythons: tuple[str, ...],
    resume_dir: Path | None,
    shard: str,
    fixtures_dir: Path | None,
    budget: int | None,
    seed: int | None,
    grad: bool | None,
    repeat: int,
    deterministic: bool,
    regressions: Path | None,
    allow_empty: bool,
    max_case_mb: int | None,
    show_profile: bool,
    output_format: str,
) -> None:
    """Run a suite through every runner, compare, print a summary and write parity.md / parity.json."""
    import time

    from parity import commands, limits, ops, results, session, summary, text
    from parity.errors import EXIT_INCOMPLETE, UsageError
    from parity.profile import Profile
    from parity.reporters import terminal, write_all

    from parity.pool import check_timeout

    timeout = check_timeout(timeout, "--timeout")
    ctx = click.get_current_context()
    if resume_dir is not None:
        meta, out_dir = results.read_meta(resume_dir), resume_dir
        _check_resume(ctx, meta, resume_dir)
    else:
        fixtures = str(fixtures_dir) if fixtures_dir is not None else None
        if (budget is not None or seed is not None) and (suite != "random" or fixtures):
            given = "--budget" if budget is not None else "--seed"
            raise UsageError(f"{given} applies to the random suite only (this run is {'--fixtures' if fixtures else f'--suite {suite}'}); drop it or pass --suite random")
        label = commands.suite_label(suite, fixtures)
        the_op = ops.get(op)
        meta = results.RunMeta(
            label,
            keyword,
            session.parse_runners(runners, op),
            results.parse_shard(shard),
            fixtures,
            budget,
            seed,
            (suite in the_op.grad_suites) if grad is None else grad,
            repeat,
            deterministic,
            op,
        )
    profile = Profile()
    generating = time.perf_counter()
    max_case_bytes = (max_case_mb or limits.DEFAULT_MAX_CASE_MB) << 20
    suite_cases = meta.all_cases(max_case_bytes)
    if not suite_cases and not allow_empty:
        raise UsageError(f"no case of {meta.suite!r} matches -k {meta.keyword!r}; pass --allow-empty to accept an empty run")
    cases = meta.select(suite_cases)
    if not cases and not allow_empty:
        i, n = meta.shard
        raise UsageError(
            f"shard {i}/{n} holds no case: the selection has {len(suite_cases)} cases, so use at most "
            f"{len(suite_cases)} shards, or pass --allow-empty to accept an empty shard"
        )
    estimate = ops.get(meta.op).case_bytes or limits.generic_case_bytes
    limits.check(cases, tuple(r for r in meta.runners if r != "reference"), meta.grad, max_case_bytes, estimate)
    generated = time.perf_counter() - generating
    _writable(out_dir)
    if resume_dir is None and (warning := results.reuse_warning(out_dir)):
        terminal.console(stderr=True).print(f"[yellow]warning[/]: {text.terminal(warning)}", soft_wrap=True)
    ctx.meta["parity.results"] = out_dir
    interpreters = _pythons(pythons)
    try:
        with terminal.progress(len(cases)) as advance:
            report = session.run(
                cases,
                meta,
                out_dir,
                timeout=timeout,
                pythons=interpreters,
                resume=resume_dir is not None,
                regressions=regressions or (Path("cases/regressions") if meta.suite == "random" else None),
                on_case=advance,
                profile=profile,
            )
    except KeyboardInterrupt:
        saved = len(results.read_records(out_dir))
        terminal.error(
            f"interrupted: {saved} of {len(cases)} cases are saved in {out_dir / 'results.jsonl'}; "
            f"continue with: {commands.resume(out_dir)}"
        )
        sys.exit(130)
    writing = time.perf_counter()
    written = write_all(report, cases, out_dir)
    if output_format == "json":
        import json

        from parity.reporters import brief

        click.echo(json.dumps(brief.to_json(report, written), indent=1, allow_nan=False))
    else:
        terminal.print_summary(report, written)
    if show_profile:
        profile.add("driver: generate cases", generated)
        profile.add("driver: write reports", time.perf_counter() - writing)
        print("\n".join(profile.lines(report.wall_seconds, report.startup_seconds)), file=sys.stderr if output_format == "json" else sys.stdout)
    for note in report.notes:
        terminal.console(stderr=True).print(f"note: {text.terminal(note)}", soft_wrap=True)
    failures = session.parity_failures(report)
    if failures:  # the frameworks' own verdicts on those cases are in the reports
        first = failures[0]
        terminal.error(
            f"parity could not finish: it failed on {len(failures)} of {report.cases} cases, "
            f"e.g. {first.case_id}: {first.message}"
        )
        sys.exit(EXIT_INCOMPLETE)
    sys.exit(summary.exit_code(report))


#: ``parity run`` options that a resumed run takes from the stored run.json (option -> RunMeta field).
_STORED_OPTIONS = {
    "suite": "suite", "keyword": "keyword", "runners": "runners", "shard": "shard", "fixtures_dir": "fixtures",
    "budget": "budget", "seed": "seed", "grad": "grad", "repeat": "repeat", "deterministic": "deterministic",
    "op": "op",
}


def _check_resume(ctx: click.Context, stored: object, resume_dir: Path) -> None:
    """``--resume DIR`` continues the run stored in DIR: an option given with it must agree with
    that run (then it is honoured as it is), or the command is refused (never silently ignored)."""
    from parity import results, session
    from parity.errors import UsageError

    def given(name: str) -> bool:  # a [tool.parity] default (DEFAULT_MAP) is not a request
        sources = (click.core.ParameterSource.DEFAULT, click.core.ParameterSource.DEFAULT_MAP, None)
        return ctx.get_parameter_source(name) not in sources

    p = ctx.params
    asked = {
        "suite": lambda: p["suite"],
        "keyword": lambda: p["keyword"],
        "runners": lambda: session.parse_runners(p["runners"], getattr(stored, "op")),
        "shard": lambda: results.parse_shard(p["shard"]),
        "fixtures_dir": lambda: str(Path(p["fixtures_dir"]).resolve()),
        "budget": lambda: p["budget"],
        "seed": lambda: p["seed"],
        "grad": lambda: p["grad"],
        "repeat": lambda: p["repeat"],
        "deterministic": lambda: p["deterministic"],
        "op": lambda: p["op"],
    }
    for option, field_name in _STORED_OPTIONS.items():
        if not given(option):
            continue
        value = getattr(stored, field_name)
        if option == "fixtures_dir" and value is not None:
            value = str(Path(value).resolve())
        if option == "suite" and getattr(stored, "fixtures") is not None:
            value = None  # a fixture run has no suite to agree with
        if asked[option]() != value:
            flag = "-k" if option == "keyword" else "--" + option.replace("_dir", "").replace("_", "-")
            raise UsageError(
                f"{flag} {_shown(p[option])} conflicts with the run stored in {resume_dir} ({field_name} {_shown(value)}); "
                f"drop {flag} to continue that run, or start a new run with another --out"
            )
    if given("out_dir") and Path(p["out_dir"]).resolve() != resume_dir.resolve():
        raise UsageError(f"--out {p['out_dir']} conflicts with --resume {resume_dir}: a resumed run writes into its own folder; drop --out")


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return repr(value) if isinstance(value, str) else str(value)


@main.command()
def mapping() -> None:
    """Print the parameter mapping table: torchvision -> MindSpore, ONNX RoiAlign (ONNX Runtime) and Paddle."""
    from rich.table import Table

    from parity.mapping import EXTRA_COLUMNS, MINDSPORE_END_MODE_1_EVIDENCE, TABLE
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
    from parity.errors import UsageError

    try:
        parts = [int(p) for p in text.lower().replace(",", "x").split("x")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or min(parts) <= 0:
        raise UsageError(f"--output-size must be N or HxW with positive integers; got {text!r}")
    return (parts[0], parts[-1])


if TYPE_CHECKING:
    from rich.console import Console

    from parity.translate import Translation


@main.command()
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

    from parity import translate as tr
    from parity.call_string import number
    from parity.errors import UsageError
    from parity.mapping import MindSporeCall
    from parity.model import Attrs
    from parity.reporters.terminal import console
    from parity.text import terminal as escape

    spatial_scale = number(spatial_scale_text, "--spatial-scale")
    if spatial_scale <= 0:
        raise UsageError(f"--spatial-scale must be positive; got {spatial_scale_text!r}")
    if (features_file is None) != (rois_file is None):
        raise UsageError("--features and --rois go together: pass both to verify on your arrays, or neither")
    user_inputs = None
    if features_file is not None:
        from parity import user_arrays, user_check

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
        from parity import translate_code

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


@main.command()
@click.option("--suite", default="standard", show_default=True, help="Suite to write as fixtures.")
@click.option("--out", "out_dir", default=None, type=click.Path(path_type=Path), help="Folder (default: fixtures/SUITE).")
def generate(suite: str, out_dir: Path | None) -> None:
    """Write a suite's cases as .npz fixtures plus manifest.json (replay with parity run --fixtures)."""
    import time

    from parity import fixtures
    from parity import generate as gen
    from parity.discriminate import non_discriminating
    from parity.reporters.terminal import console
    from parity.text import terminal as escape

    start = time.perf_counter()
    out_dir = out_dir or Path("fixtures") / suite
    _writable(out_dir)
    cases = gen.cases_for(suite)
    manifest = fixtures.save(cases, out_dir, suite)
    out = console()
    out.print(f"{len(cases)} cases of suite {suite!r} written to {out_dir} ({manifest.name}) in {time.perf_counter() - start:.2f} s")
    flat = non_discriminating(cases)
    if flat:
        out.print(f"{len(flat)} cases give identical outputs under every roi convention (they cannot detect a wrong one):")
        for case_id in flat:
            out.print(f"  {escape(case_id)}")


@main.group()
def baseline() -> None:
    """Manage the CI gate's baseline of verdicts (see parity gate)."""


@baseline.command("update")
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option("--out", "out_file", default="cases/baseline.json", show_default=True, type=click.Path(path_type=Path), help="Baseline file to write.")
def baseline_update(results_dir: Path, out_file: Path) -> None:
    """Write the verdicts of the complete run in RESULTS_DIR as the gate's baseline."""
    from parity import commands, gate, results
    from parity.errors import FixtureError
    from parity.reporters.terminal import console

    meta = results.read_meta(results_dir)
    gate.require_whole(meta, results_dir)
    records = results.read_records(results_dir)
    order = [c.id for c in meta.all_cases()]
    missing = [i for i in order if i not in records]
    if missing:
        raise FixtureError(
            f"{results_dir} holds {len(order) - len(missing)} of {len(order)} cases; finish it with: {commands.resume(results_dir)}"
        )
    base = gate.from_records(meta, records, order)
    gate.write(out_file, base)
    pairs = sum(len(p) for p in base.cases.values())
    console().print(f"baseline {out_file}: {len(base.cases)} cases, {pairs} comparisons of suite {meta.suite!r}")


@main.command()
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option("--baseline", "baseline_file", default="cases/baseline.json", show_default=True, type=click.Path(path_type=Path), help="Baseline written by parity baseline update.")
@_FORMAT
def gate(results_dir: Path, baseline_file: Path, output_format: str) -> None:
    """Compare the run in RESULTS_DIR to a baseline: exit 1 on a new unexpected verdict or a lost case.

    With $GITHUB_STEP_SUMMARY set (GitHub Actions), the verdict is also appended there in Markdown.
    """
    from parity import gate as gating
    from parity import results

    meta = results.read_meta(results_dir)
    found = gating.check(gating.read(baseline_file), meta, results.read_records(results_dir), gating.suite_scope(meta))
    if output_format == "json":
        import json

        click.echo(json.dumps(gating.to_json(found, baseline_file), indent=1))
    else:
        gating.report(found, baseline_file)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as f:
            f.write(gating.markdown(found, baseline_file) + "\n")
    sys.exit(1 if found.failed else 0)


@main.command()
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.argument("shard_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
def merge(out_dir: Path, shard_dirs: tuple[Path, ...]) -> None:
    """Merge the shard folders of one run (parity run --shard I/N) into OUT_DIR and write its reports.

    Exits 0 once merged, whatever the verdicts: judge the merged run with parity gate.
    """
    from parity import merge as merging
    from parity import summary
    from parity.reporters import write_all
    from parity.reporters.terminal import console
    from parity.text import terminal as escape

    _writable(out_dir)
    report, cases = merging.merge(out_dir, list(shard_dirs))
    written = write_all(report, cases, out_dir)
    out = console()
    for pair, counts in summary.verdict_counts(report).items():
        out.print(f"{escape(pair)}: " + ", ".join(f"{v} {n}" for v, n in counts.items()))
    bad = summary.unexpected(report)
    for c in bad[:20]:
        out.print(f"[red]{c.verdict.value}[/] {escape(c.case_id)} {escape(summary.pair_label(c))}", soft_wrap=True)
    out.print(
        f"merged {len(shard_dirs)} shards: {report.cases} cases into {out_dir}. Unexpected: {len(bad)}. Reports: {', '.join(written)}"
    )


@main.command()
@click.argument("case_id")
@click.option("--suite", default="standard", show_default=True, help="Suite that declares the case.")
@click.option("--out", "out_dir", default="reports", show_default=True, type=click.Path(path_type=Path), help="Folder for repro_<short>.py and .md.")
@click.option("--results", "results_dir", default=None, type=click.Path(path_type=Path), help="A stored run to take versions and verdicts from.")
@click.option("--run/--no-run", "execute", default=True, show_default=True, help="Run the script here to fill in versions and differences.")
@click.option("--fixtures", "fixtures_dir", default=None, type=click.Path(path_type=Path), help="Take the case from this fixture folder (as parity run --fixtures).")
def repro(case_id: str, suite: str, out_dir: Path, results_dir: Path | None, execute: bool, fixtures_dir: Path | None) -> None:
    """Write a standalone script (no parity import) and a bug-report body reproducing CASE_ID."""
    from parity import repro as reproduce
    from parity import results
    from parity.reporters.terminal import console

    if results_dir is not None:
        results.read_meta(results_dir)  # a clear error when it is not a run folder
    _writable(out_dir)
    case = reproduce.find_case(case_id, suite, fixtures_dir)
    written = reproduce.write(case, out_dir, execute=execute, results_dir=results_dir)
    out = console()
    out.print(f"script: {written.script}\nreport: {written.report}")
    if written.problem and execute:
        out.print(f"[yellow]the script did not run here[/] ({written.problem}); the report lacks versions and differences")


@main.command()
@click.option("--workloads", default="W1,W2,W2a,W3,W4", show_default=True, help="Comma-separated: W1 seed, W2 box head (W2a: adaptive sampling), W3 mask head, W4 large map.")
@click.option("--repeat", default=5, type=click.IntRange(min=1), show_default=True, help="Timed calls per implementation after one warm-up call (fewer once its calls add up to 2 s; 30 s with --full).")
@click.option("--full", is_flag=True, help="Give every implementation up to 30 s of timed calls instead of 2 s.")
@click.option("--threads", default=1, type=click.IntRange(min=1), show_default=True, help="Threads for every implementation (each runs in its own worker).")
@click.option("--suite", default="standard", show_default=True, help="Also time `parity run` on this suite (cases/s); 'none' skips it.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON instead of a table.")
def bench(workloads: str, repeat: int, full: bool, threads: int, suite: str, as_json: bool) -> None:
    """Time torchvision, MindSpore and the float64 reference on workloads W1-W4 (ratios against torchvision float32)."""
    import json
    import tempfile

    from parity import bench as b

    chosen = b.parse_workloads(workloads)
    budget = b.FULL_BUDGET_S if full else b.QUICK_BUDGET_S
    with tempfile.TemporaryDirectory() as logs:
        rows, versions = b.run(chosen, repeat, threads, logs, say=lambda line: click.echo(line, err=True), budget_s=budget)
        sequential, pipelined = b.protocol_overhead(Path(logs))
        if suite != "none":
            click.echo(f"suite {suite}: parity run", err=True)
        rate = b.suite_throughput(suite, Path(logs) / "suite") if suite != "none" else None
    if as_json:
        click.echo(json.dumps([r.to_json() for r in rows] + ([rate.to_json()] if rate else []), indent=1))
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


@main.command()
@click.option("--suite", default="standard", show_default=True, help="Suite whose cases must kill every mutant.")
def mutants(suite: str) -> None:
    """Inject known faults into a copy of the reference; every one must be caught by some case."""
    from rich.markup import escape
    from rich.table import Table

    from parity import generate
    from parity import mutants as mutation
    from parity.reporters.terminal import console

    outcomes = mutation.run(generate.cases_for(suite))
    table = Table(title=f"mutants of the reference vs suite {suite!r}")
    for col in ("mutant", "fault", "first killing case", "how"):
        table.add_column(col, overflow="fold")
    for o in outcomes:
        table.add_row(o.mutant.name, o.mutant.fault, escape(o.killed_by or "SURVIVED"), o.how)
    out = console()
    out.print(table)
    killed = sum(o.killed_by is not None for o in outcomes)
    out.print(f"mutation score: {killed}/{len(outcomes)} ({100 * killed / len(outcomes):.0f}%)")
    sys.exit(0 if killed == len(outcomes) else 1)


@main.command("ops")
def list_ops() -> None:
    """List every op parity judges: its frameworks and its suites."""
    from parity import ops

    for name in ops.OPS:
        op = ops.get(name)
        click.echo(f"{name}: {op.summary}")
        click.echo(f"  frameworks: {', '.join(op.frameworks)} (default: {','.join(op.default_runners)})")
        click.echo(f"  suites: {', '.join(op.suites)}")


@main.command("cases")
@_OP
@click.option("--suite", default="standard", show_default=True)
@click.option("-k", "keyword", default=None)
@click.option("--fixtures", "fixtures_dir", default=None, type=click.Path(path_type=Path), help="List a fixture folder's cases instead.")
@_FORMAT
def list_cases(op: str, suite: str, keyword: str | None, fixtures_dir: Path | None, output_format: str) -> None:
    """List a suite's (or a fixture folder's) case ids (with --format json: each case's call, dtype, shapes and tags)."""
    from parity import fixtures, generate, ops

    if fixtures_dir is None:
        found = ops.get(op).cases(suite, keyword)
    else:
        found = generate.matching(fixtures.load(fixtures_dir), keyword)
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


def _register() -> None:
    from parity.cli_check import check

    main.add_command(check)


_register()

if __name__ == "__main__":
    main()
