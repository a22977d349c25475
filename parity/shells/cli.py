"""The ``parity`` command line: a thin shell over parity.engine.session (imports stay lazy for speed)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from parity.engine.errors import ParityError


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
    """Cross-framework parity testing of detection ops (parity ops lists them): each framework against a float64 reference."""


def _pythons(specs: tuple[str, ...], runners: tuple[str, ...]) -> dict[str, str]:
    from parity.engine.errors import UsageError

    pythons = {}
    for spec in specs:
        runner, sep, path = spec.partition("=")
        if not sep or runner not in runners:
            raise UsageError(f"--python takes RUNNER=/path/to/python with RUNNER one of {', '.join(runners)}; got {spec!r}")
        if not Path(path).is_file():
            raise UsageError(f"--python {runner}: interpreter {path} does not exist; pass the python of the venv that has {runner}")
        pythons[runner] = path
    return pythons


def _writable(out_dir: Path) -> None:
    from parity.engine.files import probe_writable

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
@click.option("--max-case-mb", default=None, type=click.IntRange(min=1), help="Refuse a case whose estimated memory (parity.engine.limits) exceeds this many MiB (default 4096).")
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

    from parity.engine import commands, limits, results, session, summary, text
    from parity import ops
    from parity.engine.errors import EXIT_INCOMPLETE, UsageError
    from parity.engine.profile import Profile
    from parity.reporters import terminal, write_all

    from parity.engine.pool import check_timeout

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
    ctx.meta["parity.engine.results"] = out_dir
    interpreters = _pythons(pythons, tuple(ops.get(meta.op).runners))
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
    from parity.engine import results, session
    from parity.engine.errors import UsageError

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


@main.group()
def baseline() -> None:
    """Manage the CI gate's baseline of verdicts (see parity gate)."""


@baseline.command("update")
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option("--out", "out_file", default="cases/baseline.json", show_default=True, type=click.Path(path_type=Path), help="Baseline file to write.")
def baseline_update(results_dir: Path, out_file: Path) -> None:
    """Write the verdicts of the complete run in RESULTS_DIR as the gate's baseline."""
    from parity.engine import commands, gate, results
    from parity.engine.errors import FixtureError
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
    from parity.engine import gate as gating
    from parity.engine import results

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
    from parity.engine import merge as merging
    from parity.engine import summary
    from parity.reporters import write_all
    from parity.reporters.terminal import console
    from parity.engine.text import terminal as escape

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


#: Commands each op provides for itself (parity.engine.op.Op.commands), forwarded with their arguments.
_OP_COMMANDS = {
    "mapping": "Print an op's parameter mapping table (torchvision -> MindSpore and the other frameworks).",
    "translate": "Print the call in the other framework that reproduces a given call, and verify it.",
    "check": "Run a call on your own arrays: the renamed and the exactly translated call.",
    "generate": "Write a suite's cases as fixtures plus manifest.json (replay with parity run --fixtures).",
    "repro": "Write a standalone script and a bug-report body reproducing one case.",
    "bench": "Time each implementation of an op on the workloads detection models run.",
    "mutants": "Inject known faults into a copy of the reference; every one must be caught by some case.",
}


def _take_op(args: list[str]) -> tuple[str, list[str]]:
    """``--op NAME`` (or ``--op=NAME``) out of a forwarded command line; the default op otherwise."""
    from parity import ops
    from parity.engine.errors import UsageError

    rest, op = [], ops.DEFAULT_OP
    words = iter(args)
    for word in words:
        if word == "--op":
            op = next(words, None) or ""
            if not op:
                raise UsageError("--op needs an op name (parity ops lists them)")
        elif word.startswith("--op="):
            op = word[len("--op="):]
        else:
            rest.append(word)
    return op, rest


def _forwarding(name: str, summary: str) -> click.Command:
    @click.pass_context
    def forward(ctx: click.Context) -> None:
        import importlib

        from parity import ops
        from parity.engine.errors import UsageError

        op_name, rest = _take_op(ctx.args)
        op = ops.get(op_name)
        if name not in op.commands:
            raise UsageError(f"op {op_name} has no `parity {name}`; its commands: {', '.join(op.commands) or 'none'}")
        module, attribute = op.commands[name].split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        command.main(args=rest, prog_name=f"parity {name}", standalone_mode=True)

    settings = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}
    return click.Command(name, callback=forward, help=f"{summary} [--op NAME] (default roi_align); -h: its options.",
                         context_settings=settings, add_help_option=False)


for _name, _summary in _OP_COMMANDS.items():
    main.add_command(_forwarding(_name, _summary))

if __name__ == "__main__":
    main()
