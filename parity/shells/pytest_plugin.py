"""pytest plugin: ``pytest --parity`` runs a parity suite as test items, one per case and comparison.

Registered through the ``pytest11`` entry point, so loading it must cost nothing: this module
imports only pytest and the standard library; case generation happens at collection and only
with ``--parity``; frameworks only ever load in parity's worker processes.

Item ids come from the case declarations alone, ``parity-<suite>::<actual>-vs-<expected>[<case id>]``
(the case id where a parametrize id goes), so ``-k``, ``-x`` and pytest-xdist work as usual.
The suite runs once per test session, when the first item runs, over the cases that have
selected items.  Under xdist the first worker that
needs a result runs the suite into a folder shared by all workers (the controller hands it out);
the others read ``results.jsonl`` as the cases finish.

Verdicts become outcomes: PASS passes; EXPECTED_DIVERGENCE is a strict xfail whose reason names
the declared divergence; UNSUPPORTED skips; MISMATCH, DIVERGENCE_CHANGED, ERROR, CRASH and
TIMEOUT fail with the comparison's message.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr

    from parity.engine.model import Case, Comparison
    from parity.engine.results import ResultsTail, RunMeta

_POLL_SECONDS = 0.05
#: Default seconds a waiting process accepts without a new result before it gives up
#: (--parity-wait): the run is bounded even if the process running it hangs.
DEFAULT_WAIT = 3600.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("parity", "RoIAlign cross-framework parity (parity.shells.pytest_plugin)")
    group.addoption("--parity", action="store_true", help="Collect a parity suite: one item per case and comparison.")
    group.addoption("--parity-suite", default="standard", metavar="NAME", help="Suite to collect (default: standard).")
    group.addoption("--parity-k", default=None, metavar="TEXT", help="Only cases whose id contains TEXT, with that tag, or matching an expression over attributes (parity.engine.case_filter).")
    group.addoption(
        "--parity-runners", default="torchvision,mindspore", metavar="LIST", help="Frameworks (the reference always runs)."
    )
    group.addoption("--parity-timeout", default=60.0, type=float, metavar="S", help="Seconds per case before TIMEOUT.")
    group.addoption(
        "--parity-wait", default=DEFAULT_WAIT, type=float, metavar="S",
        help="Under xdist: seconds without a new result after which the waiting workers fail (default 3600).",
    )
    group.addoption("--parity-out", default=None, metavar="DIR", help="Keep the run's results and reports in DIR.")
    group.addoption("--parity-only", action="store_true", help="Deselect every item that is not a parity item.")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("parity"):
        config.pluginmanager.register(ParityPlugin(config), "parity-suite")


def pair_slug(pair: str) -> str:
    """``mindspore vs torchvision`` -> ``mindspore-vs-torchvision`` (no spaces in node ids)."""
    return pair.replace(" vs ", "-vs-")


def expected_pairs(runners: tuple[str, ...]) -> list[str]:
    """The comparisons every op's judge makes for a case, in its order, known before running
    (parity.engine.pairs owns the list)."""
    from parity.engine import pairs

    return pairs.expected_labels(runners)


class ParityPlugin:
    """Per-process state of one ``--parity`` session (registered only with ``--parity``)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._shared: Path | None = None  # the coordination folder (claim / done / failed markers)
        self._owns_shared = False
        self.run: SharedRun | None = None
        self.selected: list[str] = []  # case ids with selected items, suite order

    # -- folders -----------------------------------------------------------------------------

    def shared_dir(self) -> Path:
        if self._shared is None:
            given = getattr(self.config, "workerinput", {}).get("parity_dir")
            if given:
                self._shared = Path(given)
            else:
                self._shared = Path(tempfile.mkdtemp(prefix="parity-pytest-"))
                self._owns_shared = True
        return self._shared

    def out_dir(self) -> Path:
        out = self.config.getoption("parity_out")
        if out:
            return Path(self.config.invocation_params.dir, out).resolve()
        return self.shared_dir() / "run"

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist controller: every worker gets the same coordination folder."""
        node.workerinput["parity_dir"] = str(self.shared_dir())

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._owns_shared and self._shared is not None:
            shutil.rmtree(self._shared, ignore_errors=True)

    # -- collection --------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)  # before -k / -m deselection, so they apply to our items
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
        from parity.engine.errors import ParityError
        from parity.engine.results import RunMeta
        from parity.engine.session import parse_runners

        suite = config.getoption("parity_suite")
        keyword = config.getoption("parity_k")
        from parity.engine.pool import check_timeout

        try:
            check_timeout(config.getoption("parity_timeout"), "--parity-timeout")
            check_timeout(config.getoption("parity_wait"), "--parity-wait")
            meta = RunMeta(suite, keyword, parse_runners(config.getoption("parity_runners")))
            cases = meta.all_cases()
        except ParityError as exc:
            raise pytest.UsageError(f"--parity: {exc}") from None
        if not cases:
            raise pytest.UsageError(f"--parity: no case of suite {suite!r} matches --parity-k {keyword!r}")
        self.run = SharedRun(self, meta, cases)
        name = f"parity-{suite}"
        collector = ParitySuite.from_parent(session, name=name, nodeid=name, cases=cases, runners=meta.runners)
        ours = list(session.genitems(collector))
        if config.getoption("parity_only"):
            others = [i for i in items if not isinstance(i, ParityItem)]
            if others:
                config.hook.pytest_deselected(items=others)
            items[:] = ours
        else:
            items.extend(ours)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.run is not None:
            wanted = {i.case_id for i in session.items if isinstance(i, ParityItem)}
            self.run.select(wanted)


class ParitySuite(pytest.Collector):
    """All items of one suite: each case's comparisons, in suite order."""

    def __init__(self, *, cases: list[Case], runners: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cases = cases
        self.runners = runners

    def collect(self) -> list[pytest.Item]:
        pairs = expected_pairs(self.runners)
        return [
            ParityItem.from_parent(self, name=f"{pair_slug(pair)}[{case.id}]", case_id=case.id, pair=pair, first=(n == 0))
            for case in self.cases
            for n, pair in enumerate(pairs)
        ]


class ParityItem(pytest.Item):
    """One comparison of one case; its outcome is the comparison's verdict."""

    def __init__(self, *, case_id: str, pair: str, first: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case_id = case_id
        self.pair = pair
        self.first = first  # the case's first item also answers for comparisons no item names

    def runtest(self) -> None:
        plugin = self.config.pluginmanager.get_plugin("parity-suite")
        assert isinstance(plugin, ParityPlugin) and plugin.run is not None
        comparisons = plugin.run.comparisons(self.case_id)
        outcome(self, comparisons)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, VerdictFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.case_id} {self.pair}"


class VerdictFailure(AssertionError):
    """A comparison's unexpected verdict (shown as its message, without a traceback)."""


def outcome(item: ParityItem, comparisons: list[Comparison]) -> None:
    """Turn the case's comparisons into this item's outcome (raise, skip, xfail or return)."""
    from parity.engine.op import REFERENCE
    from parity.engine.summary import pair_label

    by_pair = {pair_label(c): c for c in comparisons}
    mine = by_pair.get(item.pair)
    failed = next((c for c in comparisons if c.actual == REFERENCE), None)
    if mine is None and failed is not None:
        mine = failed  # the reference could not evaluate the case: its failure stands for every other pair
        prefix = "the reference could not evaluate this case: "
    else:
        prefix = ""
    if item.first:  # comparisons no item is named after (never silently dropped)
        pairs = expected_pairs(tuple(item.parent.runners)) if isinstance(item.parent, ParitySuite) else []
        extra = [c for label, c in by_pair.items() if label not in pairs and c is not mine and c.verdict.unexpected]
        if extra:
            raise VerdictFailure("\n".join(f"{c.verdict.value} {pair_label(c)}: {c.message}" for c in extra))
    if mine is None:
        raise VerdictFailure(f"parity made no {item.pair!r} comparison for this case (it made: {', '.join(by_pair)})")
    message = f"{prefix}{mine.message}"
    verdict = mine.verdict.value
    if verdict == "PASS":
        return
    if verdict in ("UNSUPPORTED", "UNDECIDABLE"):  # expected, and the reason is shown
        pytest.skip(f"{verdict}: {message}")
    if verdict == "EXPECTED_DIVERGENCE":
        reason = f"declared divergence {mine.divergence}" if mine.divergence else "declared divergence"
        item.add_marker(pytest.mark.xfail(strict=True, reason=reason))
        raise VerdictFailure(f"EXPECTED_DIVERGENCE ({reason}): {message}")
    from parity.engine import commands
    from parity.engine.text import visible

    runners = item.parent.runners if isinstance(item.parent, ParitySuite) else ()
    repro = commands.repro(item.config.getoption("parity_suite"), item.case_id, runners)
    raise VerdictFailure(f"{verdict}: {visible(message)}\nrepro: {repro}")


class SharedRun:
    """Runs the suite at most once for all processes of the session and hands out each case's comparisons.

    Markers in the coordination folder: ``claim`` (created exclusively by the process that runs the
    suite; holds its pid, and that process holds an exclusive ``flock`` on it while it runs),
    ``done`` and ``failed`` (the error, for every process to report).  The kernel drops the lock
    when the runner dies, however it dies (a killed process that nobody reaps yet still answers
    ``kill(pid, 0)``), so the others see it at once; they also give up after ``--parity-wait``
    seconds without a new result.
    """

    def __init__(self, plugin: ParityPlugin, meta: RunMeta, cases: list[Case]):
        self.plugin = plugin
        self.meta = meta
        self.cases = cases
        self.wanted: set[str] | None = None
        self.records: dict[str, list[Comparison]] = {}
        self._tail: ResultsTail | None = None  # the reader of the run's results.jsonl, once it is known
        self._lock_fd: int | None = None  # the claim, locked for as long as this process runs the suite

    def select(self, case_ids: set[str]) -> None:
        self.wanted = case_ids

    def comparisons(self, case_id: str) -> list[Comparison]:
        if case_id not in self.records:
            shared = self.plugin.shared_dir()
            if self._claim(shared):
                self._run(shared)
            self._wait_for(case_id, shared)
        return self.records[case_id]

    def _claim(self, shared: Path) -> bool:
        try:
            fd = os.open(shared / "claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        fcntl.flock(fd, fcntl.LOCK_EX)  # before the pid: a claim with a pid is a locked claim
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd  # kept open (locked) until the run ends or this process dies
        return True

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _run(self, shared: Path) -> None:
        """Run the selected cases; an error is recorded for every process, then raised here."""
        from parity.engine.errors import ParityError

        try:
            self._run_suite(shared)
            self._release()
        except ParityError as exc:  # a usage or fixture problem: one line, no traceback
            _mark(shared / "failed", str(exc))
            pytest.fail(f"the parity run failed: {exc}", pytrace=False)
        except BaseException as exc:
            _mark(shared / "failed", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self._release()

    def _run_suite(self, shared: Path) -> None:
        from parity.engine import session
        from parity.reporters import write_all

        cases = [c for c in self.cases if self.wanted is None or c.id in self.wanted]
        out = self.plugin.out_dir()
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.jsonl").unlink(missing_ok=True)  # before any reader is pointed here
        _mark(shared / "out", str(out))
        report = session.run(cases, self.meta, out, timeout=self.plugin.config.getoption("parity_timeout"))
        if self.plugin.config.getoption("parity_out"):
            write_all(report, cases, out)
        _mark(shared / "done", "")

    def _read_new(self, out: Path) -> None:
        """Take the cases finished since the last read from the run's results.jsonl (parity.engine.results
        reads it: finished lines only, the file never modified)."""
        from parity.engine.errors import ParityError
        from parity.engine.results import ResultsTail

        if self._tail is None or self._tail.path != out / "results.jsonl":
            self._tail = ResultsTail(out)
        try:
            found = self._tail.read_new()
        except ParityError as exc:  # a corrupt line: one line for every process, no traceback
            pytest.fail(f"the parity run failed: {exc}", pytrace=False)
        for record in found:
            self.records[record.case_id] = list(record.comparisons)

    def _wait_for(self, case_id: str, shared: Path) -> None:
        patience = float(self.plugin.config.getoption("parity_wait"))
        deadline = time.monotonic() + patience
        while True:
            failed = shared / "failed"
            if failed.exists():
                pytest.fail(f"the parity run failed: {failed.read_text()}", pytrace=False)
            done = (shared / "done").exists()  # read before the results, so nothing is missed
            out_marker = shared / "out"
            seen = len(self.records)
            if out_marker.exists():
                self._read_new(Path(out_marker.read_text()))
            if case_id in self.records:
                return
            if done:
                pytest.fail(f"the parity run finished without a result for {case_id}", pytrace=False)
            if len(self.records) > seen:
                deadline = time.monotonic() + patience  # progress: the run is alive
            if not _alive(shared / "claim") and not (shared / "done").exists() and not failed.exists():
                pytest.fail(
                    f"the process running the parity suite died after {len(self.records)} cases "
                    f"(pid {_claimant(shared / 'claim')}); see its output", pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"no new parity result for {patience:g} s (--parity-wait); the process running the suite "
                    f"(pid {_claimant(shared / 'claim')}) is stuck", pytrace=False,
                )
            time.sleep(_POLL_SECONDS)


def _mark(path: Path, text: str) -> None:
    """Write a marker atomically: other processes see it whole or not at all."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _claimant(claim: Path) -> str:
    try:
        return claim.read_text() or "?"
    except OSError:
        return "?"


def _alive(claim: Path) -> bool:
    """Whether the process that claimed the run still holds the claim's lock.

    A claim without a pid is being taken (the lock comes first, then the pid): alive.  With a pid,
    a lock we can take means its holder is gone (the kernel released it); we drop it at once.
    """
    try:
        fd = os.open(claim, os.O_RDONLY)
    except OSError:
        return True  # not claimed yet
    try:
        if not os.read(fd, 32):
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
