"""The terminal table of ``parity bench``, for any op: thread count, versions, one line per row."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from parity.engine.bench import STEADY_SPREAD, Row


def print_rows(title: str, rows: Sequence[Row], versions: dict[str, str], threads: int, threads_note: str = "",
               columns: Sequence[str] = (), row_json: Callable[[Row], dict[str, Any]] = Row.to_json) -> None:
    """The rows under ``title``; ``columns``: the op's own fields of ``row_json`` (roi_align's
    ``pass``), after the workload.  A row whose calls never got steady is marked, and why it matters
    is said under the table: its median may be that of stalled calls."""
    from rich.table import Table

    from parity.reporters.terminal import console

    out = console()
    note = f" ({threads_note})" if threads_note else ""
    out.print(f"threads per worker: {threads}{note}; cpus: {os.cpu_count()}; python {sys.version.split()[0]}", markup=False)
    out.print("versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())), markup=False)
    table = Table(title=title)
    numbers = ("median", "min", "max", "ratio", "runs")
    for col in ("workload", *columns, "implementation", "dtype", *numbers):
        table.add_column(col, justify="right" if col in numbers else "left")
    for r in rows:
        j = row_json(r)
        own = [str(j[c]) for c in columns]
        if r.error:
            table.add_row(r.workload, *own, r.job.implementation, r.job.dtype, "-", "-", "-", "-", "0")
            continue
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
        runs = str(j["runs"]) + ("" if r.steady else " (not steady)")
        table.add_row(r.workload, *own, r.job.implementation, r.job.dtype, f"{j['median_ms']:.3g}", f"{j['min_ms']:.3g}",
                      f"{j['max_ms']:.3g}", ratio, runs)
    out.print(table)
    if any(r.seconds and not r.steady for r in rows):
        out.print(f"not steady: the last calls of that job still varied by more than {STEADY_SPREAD}x when its time "
                  "ran out; its median may be that of stalled calls (run it again, or with --full)", markup=False)
    for r in rows:
        if r.error:
            out.print(f"{r.workload} {r.job.name}: {r.error}", markup=False)
