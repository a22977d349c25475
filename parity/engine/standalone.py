"""What every op's ``parity repro`` needs, whatever the op: a file name for a case id, array
literals that rebuild the inputs bit for bit, running a written script as a user would, what a
stored run knows about the case, and Markdown tables for the bug-report body.

A repro script imports numpy and the frameworks only, never parity, so the op writes it from a
template of its own; these helpers only feed and run it.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from parity.engine import text
from parity.engine.errors import UsageError
from parity.engine.model import Case, Comparison

if TYPE_CHECKING:
    from parity.engine.op import Op

#: Where an op folder keeps its script template (package data, so that it reads as the Python it becomes).
TEMPLATE_FILE = "templates/repro_script.py.txt"


def template(package: str, file: str = TEMPLATE_FILE) -> Template:
    """The script template of the op package ``package`` (``$name`` fields; ``$$`` is a dollar sign)."""
    from importlib.resources import files

    return Template(files(package).joinpath(file).read_text(encoding="utf-8"))


def check_folders(out_dir: Path, results_dir: Path | None) -> None:
    """Refuse, before any work, a ``--results`` folder that holds no stored run and an ``--out``
    folder parity cannot write (symbolic links where parity writes included): one line each."""
    from parity.engine import results
    from parity.engine.files import probe_writable

    if results_dir is not None:
        results.read_meta(results_dir)
    probe_writable(out_dir)


def pick(case_id: str, cases: Iterable[Case], where: str, listing: str) -> Case:
    """The case ``case_id`` among ``cases`` (those of ``where``, e.g. ``suite 'edge'``), or a
    UsageError with the closest id, else the command (``listing``) that lists the ids."""
    cases = list(cases)
    for case in cases:
        if case.id == case_id:
            return case
    close = difflib.get_close_matches(case_id, [c.id for c in cases], n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else f"; list the ids with: {listing}"
    raise UsageError(f"no case {case_id!r} in {where}{hint}")


def find_case(op: Op, case_id: str, suite: str, fixtures: Path | None = None) -> Case:
    """The case ``case_id`` of ``op``'s suite, or of a fixture folder the op replays when one is given,
    so that a repro starts from exactly the case ``parity run`` judged."""
    from parity.engine import commands, limits

    if fixtures is None:
        cases = op.cases(suite)
    elif op.load_fixtures is None:
        raise UsageError(f"op {op.name} replays no fixture folders; take the case from a --suite")
    else:
        cases = op.load_fixtures(Path(fixtures), limits.DEFAULT_MAX_CASE_BYTES, None)
    source = ["--suite", suite] if fixtures is None else ["--fixtures", str(fixtures)]
    where = f"suite {suite!r}" if fixtures is None else f"fixture folder {fixtures}"
    return pick(case_id, cases, f"{where} of op {op.name}", commands.command("parity", "cases", "--op", op.name, *source))


class Semantics(Protocol):
    """An op's reference semantics as its judge evaluates them: plain values a script can read."""

    def to_json(self) -> dict[str, Any]: ...


def semantics_json(case: Case, frameworks: Sequence[str], documented: Callable[[str, Case], Semantics],
                   predicted: Callable[[str, Case], Sequence[tuple[str, Semantics]]]) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Per framework: its documented semantics, and each declared prediction (divergence names,
    semantics) that applies, as JSON values: exactly what the op's judge evaluates, so that the
    script's reference is fed what parity's is (frameworks without a prediction are left out)."""
    docs = {fw: documented(fw, case).to_json() for fw in frameworks}
    declared = {fw: [{"divergence": name, "semantics": sem.to_json()} for name, sem in predicted(fw, case)] for fw in frameworks}
    return docs, {fw: d for fw, d in declared.items() if d}


def array_source(array: np.ndarray, indent: int = 4) -> str:
    """Source text rebuilding ``array`` bit for bit: its literal, its dtype (as a quoted string) and its shape."""
    return f"np.array(\n{literal(array, indent)},\n{' ' * indent}dtype=np.dtype({array.dtype.str!r}),\n).reshape({tuple(array.shape)!r})"


def short_name(case_id: str) -> str:
    """``repro_<10 hex>``: a file and module name for a case id (ids are not file names)."""
    return "repro_" + hashlib.sha256(case_id.encode()).hexdigest()[:10]


def literal(array: np.ndarray, indent: int = 4) -> str:
    """Nested-list source text of ``array`` that rebuilds it bit for bit (innermost rows on one line).

    NaN and infinities are written as ``nan`` and ``inf``: the script defines both names.  An
    array with a zero-length axis reads back flat (``[]``): the script reshapes it to its shape.
    Only numbers are written (a structured or object array would not read back as itself).
    """
    if array.dtype.kind not in "biuf":
        raise UsageError(f"an array of dtype {text.visible(str(array.dtype))} cannot be written into a script; "
                         "parity repro embeds arrays of booleans, integers and floats only")

    def fmt(x: Any, depth: int) -> str:
        pad = " " * (indent + depth)
        if not isinstance(x, list) or not x or not isinstance(x[0], list):
            return pad + repr(x)
        return pad + "[\n" + ",\n".join(fmt(v, depth + 1) for v in x) + ",\n" + pad + "]"

    source = fmt(array.tolist(), 0)
    back = np.array(eval(source, {"__builtins__": {}, "nan": np.nan, "inf": np.inf}), dtype=array.dtype)
    if back.size == array.size:
        back = back.reshape(array.shape)
    if back.shape != array.shape or back.tobytes() != array.tobytes():
        raise AssertionError("array literal does not round-trip")  # a bug in parity, not a user error
    return source


@dataclass(frozen=True)
class Ran:
    """What running a script here gave: its findings (``--json FILE``) and what it printed."""

    found: dict[str, Any] | None
    printed: str
    problem: str  # why it did not run ("" when it did)


def run_script(path: Path, python: str = sys.executable, timeout: float = 300.0) -> Ran:
    """Run a written script as a user would (``python SCRIPT --json FILE``), collecting its findings."""
    with tempfile.TemporaryDirectory() as tmp:
        found = Path(tmp) / "found.json"
        try:
            proc = subprocess.run(
                [python, str(path), "--json", str(found)], capture_output=True, text=True, timeout=timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Ran(None, "", f"could not run {path.name}: {exc}")
        if proc.returncode != 0 or not found.exists():
            tail = " ".join(proc.stderr.strip().splitlines()[-3:])
            return Ran(None, proc.stdout, f"{path.name} exited with {proc.returncode}: {tail}")
        return Ran(json.loads(found.read_text()), proc.stdout, "")


@dataclass(frozen=True)
class Stored:
    """What a stored run (``--results DIR``) knows about one case."""

    versions: dict[str, str]
    machine: str
    comparisons: tuple[Comparison, ...]


def stored(results_dir: Path, case_id: str) -> Stored:
    from parity.engine import results

    versions, machine = results.read_environment(results_dir)
    record = results.read_records(results_dir).get(case_id)
    return Stored(versions, machine, record.comparisons if record else ())


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table whose cells show as themselves: each cell is data (parity.engine.text),
    so a case id, a framework's message or a stored run's text can neither break the table nor act."""
    cells = [[text.markdown(c) for c in row] for row in rows]
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in cells)]


def fenced(body: str, lang: str = "") -> list[str]:
    """``body`` as a fenced code block: its fence longer than any run of backticks inside (so that
    no line of it closes the block), characters that do not print as themselves written as escapes."""
    lines = [text.visible(line) for line in body.splitlines()]
    longest = max((len(run) for line in lines for run in re.findall("`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + lang, *lines, fence]


def case_line(case: Case, run: Stored | None, detail: str = "") -> str:
    """The report's first sentence: the case, its suite, ``detail`` (parity's own words), and what
    the stored run found unexpected."""
    line = f"Case {text.markdown_code(case.id)} of the parity suite {text.markdown_code(case.suite)}.{' ' + detail if detail else ''}"
    unexpected = [c for c in (run.comparisons if run else ()) if c.verdict.unexpected]
    if unexpected:
        line += " Unexpected in the stored run: " + ", ".join(
            text.markdown(f"{c.actual} vs {c.expected} {c.verdict.value}") for c in unexpected) + "."
    return line


def raised_line(framework: str, message: str) -> str:
    return f"- {text.markdown(framework)} raised: {text.markdown_code(message)}"


def output_lines(name: str, ran: Ran) -> list[str]:
    """What running the script printed, or why it did not run."""
    if ran.found is None:
        return [f"(not run here: {text.markdown(ran.problem or 'run the script')})"]
    return ["", f"Output of `python {name}`:", "", *fenced(ran.printed.rstrip())]


def versions_lines(found: dict[str, str] | None, run: Stored | None) -> list[str]:
    """The environment section: the script's own versions, else the stored run's."""
    if found:
        return [f"- {text.markdown(k)}: {text.markdown(v)}" for k, v in found.items()]
    if run and run.versions:
        lines = [f"- {text.markdown(k)}: {text.markdown(v)}" for k, v in run.versions.items()]
        return lines + ([f"- machine: {text.markdown(run.machine)}"] if run.machine else [])
    return ["- (unknown: run the script, its first lines print them)"]


def verdict_lines(run: Stored | None, heading: str = "Verdicts of the stored parity run:") -> list[str]:
    """The stored run's verdicts of the case under ``heading``, as a Markdown table (nothing
    without a stored run); an op may name its tolerance in the heading."""
    if not run or not run.comparisons:
        return []
    head = ["", heading, ""]
    return head + table(["pair", "verdict", "message"],
                        [[f"{c.actual} vs {c.expected}", c.verdict.value, c.message] for c in run.comparisons])


class Finding(Protocol):
    """A declared divergence as a report names it."""

    @property
    def name(self) -> str: ...
    @property
    def documented(self) -> bool: ...
    @property
    def explanation(self) -> str: ...


def known_lines(declared: Sequence[Finding]) -> list[str]:
    """The report's section on the declared divergences that apply (nothing when none does)."""
    if not declared:
        return []
    return ["", "## Known differences that apply", "",
            *(f"- `{d.name}` ({'documented' if d.documented else 'found by measurement'}): {d.explanation}" for d in declared)]


def reproduce_lines(name: str, needs: str, script_text: str) -> list[str]:
    """The report's last section: how to run the script (``needs``: what it imports), and the script."""
    return ["", "## Reproduce", "", f"`python {name}` ({needs}).", "",
            f"<details><summary>{name}</summary>", "", *fenced(script_text.rstrip(), "python"), "", "</details>", ""]


def closing_lines(name: str, ran: Ran, run: Stored | None, declared: Sequence[Finding], script_text: str, needs: str,
                  heading: str = "Verdicts of the stored parity run:") -> list[str]:
    """Every op's report ends alike: what the script printed (or why it did not run), the stored
    run's verdicts under ``heading``, the declared divergences that apply, and the script itself
    with what it imports (``needs``: the op's script says which frameworks it calls)."""
    return [*output_lines(name, ran), *verdict_lines(run, heading), *known_lines(declared), *reproduce_lines(name, needs, script_text)]


@dataclass(frozen=True)
class Written:
    """The two files ``parity repro`` wrote for a case."""

    script: Path
    report: Path
    problem: str  # why the script could not be run here ("" when it ran)


def write(case: Case, out_dir: Path, script: Callable[[Case], str],
          markdown: Callable[[Case, str, Ran, Stored | None], str], *, execute: bool = True,
          python: str = sys.executable, results_dir: Path | None = None) -> Written:
    """Write ``repro_<short>.py`` (the op's ``script`` of ``case``) and ``repro_<short>.md`` (its
    ``markdown``, after running the script here unless ``execute`` is false) into ``out_dir``."""
    text = script(case)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / short_name(case.id)
    py, md = base.with_suffix(".py"), base.with_suffix(".md")
    py.write_text(text)
    py.chmod(0o755)
    ran = run_script(py, python) if execute else Ran(None, "", "--no-run")
    run = stored(results_dir, case.id) if results_dir is not None else None
    md.write_text(markdown(case, text, ran, run))
    return Written(py, md, ran.problem)
