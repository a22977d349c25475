"""``parity run``: its options, and how ``--resume`` holds a resumed run to the stored one."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import click

from parity.shells.cli_options import FORMAT, OP, writable

if TYPE_CHECKING:
    from parity.engine.results import RunMeta


def _pythons(specs: tuple[str, ...], runners: tuple[str, ...]) -> dict[str, str]:
    """``--python RUNNER=PATH`` options as runner -> interpreter, each checked to exist."""
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


@click.command()
@OP
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
@FORMAT
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
    writable(out_dir)
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


def _check_resume(ctx: click.Context, stored: RunMeta, resume_dir: Path) -> None:
    """``--resume DIR`` continues the run stored in DIR: an option given with it must agree with
    that run (then it is honoured as it is), or the command is refused (never silently ignored)."""
    from parity.engine import results, session
    from parity.engine.errors import UsageError

    def given(name: str) -> bool:  # a [tool.parity] default (DEFAULT_MAP) is not a request
        sources = (click.core.ParameterSource.DEFAULT, click.core.ParameterSource.DEFAULT_MAP, None)
        return ctx.get_parameter_source(name) not in sources

    p = ctx.params
    asked: dict[str, Callable[[], object]] = {
        "suite": lambda: p["suite"],
        "keyword": lambda: p["keyword"],
        "runners": lambda: session.parse_runners(p["runners"], stored.op),
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
        if option == "suite" and stored.fixtures is not None:
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

