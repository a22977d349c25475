"""The commands over stored runs: ``parity baseline update``, ``gate`` and ``merge`` (no framework is imported)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from parity.shells.cli_options import FORMAT, writable


@click.group()
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


@click.command()
@click.argument("results_dir", type=click.Path(path_type=Path))
@click.option("--baseline", "baseline_file", default="cases/baseline.json", show_default=True, type=click.Path(path_type=Path), help="Baseline written by parity baseline update.")
@FORMAT
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


@click.command()
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

    writable(out_dir)
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

