"""The results folder of a run, written as cases finish and read back for resume and reports.

``run.json`` describes the run (suite, filter, runners); ``results.jsonl`` holds one line per
finished case (statuses and comparisons); ``arrays/`` the outputs.  A line is finished when its
newline is written, so a run killed mid-write leaves at most one unfinished last line (cut
anywhere, even just before its newline): reading ignores it and leaves the file as it is
(``gate``, ``merge`` and ``repro --results`` never modify a run); only ``parity run --resume``
cuts it off, and notes what it cut in ``logs/resume.log``.  This module is the one reader of the
file: ResultsTail follows it while a run appends (the pytest plugin's other processes),
read_records reads it whole.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from parity.engine import files
from parity.engine.errors import FixtureError, UsageError
from parity.engine.model import Case, Comparison

RESULTS_SCHEMA = 1


@dataclass(frozen=True)
class RunMeta:
    """What was asked for; a resumed run must ask for the same."""

    suite: str
    keyword: str | None
    runners: tuple[str, ...]
    shard: tuple[int, int] = (1, 1)  # (i, n): this run holds every n-th case starting at the i-th
    fixtures: str | None = None  # a fixture folder replayed instead of generating the suite
    budget: int | None = None  # random suite: number of cases
    seed: int | None = None  # random suite: seed
    grad: bool = False  # also compare gradients of sum(W * out) w.r.t. the features
    repeat: int = 1  # run each case this many times and count distinct bit patterns
    deterministic: bool = False  # torch.use_deterministic_algorithms(True) in the torch runners
    op: str = "roi_align"  # the registered op the cases call (parity.ops; the default op)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": RESULTS_SCHEMA,
            "suite": self.suite,
            "keyword": self.keyword,
            "runners": list(self.runners),
            "shard": list(self.shard),
            "fixtures": self.fixtures,
            "budget": self.budget,
            "seed": self.seed,
            "grad": self.grad,
            "repeat": self.repeat,
            "deterministic": self.deterministic,
            "op": self.op,
        }

    def all_cases(self, max_case_bytes: int | None = None) -> list[Case]:
        """Every case this run asked for, before sharding: generated, or replayed from fixtures.

        ``max_case_bytes`` caps what one fixture case may cost (parity.engine.limits), checked before
        any array is decompressed.
        """
        from parity import ops
        from parity.engine import limits

        op = ops.get(self.op)
        if self.fixtures is None:
            return op.cases(self.suite, self.keyword, self.budget, self.seed)
        if op.load_fixtures is None:
            raise UsageError(f"op {self.op} has no fixture format; run one of its suites ({', '.join(op.suites)})")
        cap = limits.DEFAULT_MAX_CASE_BYTES if max_case_bytes is None else max_case_bytes
        return op.load_fixtures(Path(self.fixtures), cap, self.keyword)

    def select(self, cases: list[Case]) -> list[Case]:
        """This shard's deterministic slice of the suite (round robin over the suite order)."""
        i, n = self.shard
        return cases[i - 1 :: n]


@dataclass(frozen=True)
class CaseRecord:
    """One finished case as stored."""

    case_id: str
    statuses: dict[str, str]
    comparisons: tuple[Comparison, ...]
    behaviours: dict[str, str] = field(default_factory=dict)  # robustness cases: runner -> behaviour
    determinism: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # runner -> output -> figures

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case_id,
            "statuses": self.statuses,
            "comparisons": [c.to_json() for c in self.comparisons],
            "behaviours": self.behaviours,
            "determinism": self.determinism,
        }


def parse_shard(spec: str) -> tuple[int, int]:
    """``"2/4"`` -> (2, 4), the second of four shards."""
    i, sep, n = spec.partition("/")
    if sep and i.isdigit() and n.isdigit() and 1 <= int(i) <= int(n):
        return int(i), int(n)
    raise UsageError(f"--shard must be I/N with 1 <= I <= N (e.g. 1/4); got {spec!r}")


def write_meta(out_dir: Path, meta: RunMeta, versions: dict[str, str], machine: str) -> None:
    """The run's request plus where it ran (``versions`` and ``machine`` let shards be merged)."""
    doc = {**meta.to_json(), "versions": versions, "machine": machine}
    files.atomic_write(out_dir / "run.json", json.dumps(doc, indent=1))


#: run.json is a few hundred bytes; anything much larger was not written by parity.
RUN_JSON_LIMIT = 1 << 20


def _run_json(out_dir: Path) -> dict[str, Any]:
    path = out_dir / "run.json"
    files.refuse_link(path)
    if not path.is_file():
        raise FixtureError(f"{out_dir} holds no parity run ({path.name} missing); pass the --out folder of an earlier run")
    try:
        d = json.loads(files.read_bytes(path, RUN_JSON_LIMIT, "run description"))
        if not isinstance(d, dict):
            raise TypeError("not a JSON object")
        return d
    except (ValueError, TypeError, RecursionError) as exc:
        raise FixtureError(f"{path} is corrupt ({type(exc).__name__}); start a new run with a fresh --out") from None


def read_environment(out_dir: Path) -> tuple[dict[str, str], str]:
    """The versions and machine a stored run recorded."""
    d = _run_json(out_dir)
    versions, machine = d.get("versions", {}), d.get("machine", "")
    if not isinstance(versions, dict) or not all(isinstance(v, str) for v in versions.values()) or not isinstance(machine, str):
        raise FixtureError(f"{out_dir / 'run.json'} is corrupt (versions or machine); start a new run with a fresh --out")
    return versions, machine


def read_meta(out_dir: Path) -> RunMeta:
    path = out_dir / "run.json"
    d = _run_json(out_dir)
    try:
        i, n = d["shard"]
        return RunMeta(
            d["suite"],
            d["keyword"],
            tuple(d["runners"]),
            (int(i), int(n)),
            d.get("fixtures"),
            d.get("budget"),
            d.get("seed"),
            bool(d.get("grad", False)),
            int(d.get("repeat", 1)),
            bool(d.get("deterministic", False)),
            str(d.get("op", "roi_align")),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise FixtureError(f"{path} is corrupt ({exc}); start a new run with a fresh --out") from None


def reuse_warning(out_dir: Path) -> str | None:
    """What a new run (no --resume) into ``out_dir`` replaces, when it holds an earlier run; else None.

    A new run starts its results afresh (the earlier ``results.jsonl`` is removed), which is what
    a rerun wants and what an interrupted run does not: this says so, with both ways out.
    """
    if not (out_dir / "run.json").is_file() and not (out_dir / "results.jsonl").is_file():
        return None
    from parity.engine import commands

    try:
        meta, finished = read_meta(out_dir), len(read_records(out_dir))
        what = f"{finished} finished cases of suite {meta.suite!r}"
    except FixtureError:
        what = "an earlier run's results"
    return (f"{out_dir} holds {what}; this run replaces them. To continue that run instead: "
            f"{commands.resume(out_dir)}; to keep it, pass a fresh --out")


def line(record: CaseRecord) -> str:
    """A case's line of ``results.jsonl``."""
    return json.dumps(record.to_json(), allow_nan=False) + "\n"


def append(log: TextIO, record: CaseRecord) -> None:
    """One line per case, flushed at once, so a crash loses at most the case in flight."""
    log.write(line(record))
    log.flush()


class ResultsTail:
    """Reads the lines of a run's ``results.jsonl`` finished since the last call, as the run appends them.

    Only finished lines are parsed (the writer puts a record and its newline in one write): the
    unfinished last line is kept aside in ``unfinished`` and read again by the next call, once
    its newline is there.  A finished line that does not parse is corrupt (FixtureError, one line).
    """

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / "results.jsonl"
        self.offset = 0  # bytes of the finished lines read so far
        self.lines = 0  # how many they are
        self.unfinished = b""  # what follows them at the last call: a line being written, or cut off

    def read_new(self) -> list[CaseRecord]:
        """The records of the lines finished since the last call (none while the file is absent)."""
        files.refuse_link(self.path)
        self.unfinished = b""
        if not self.path.exists():
            return []
        found = []
        with files.open_nofollow(self.path, "rb") as f:
            f.seek(self.offset)
            for raw in f:
                if not raw.endswith(b"\n"):
                    self.unfinished = raw  # only the last line can lack its newline
                    break
                found.append(_record(self.path, self.lines + 1, raw))
                self.offset += len(raw)
                self.lines += 1
        return found


def _record(path: Path, n: int, raw: bytes) -> CaseRecord:
    """The record on finished line ``n``."""
    try:
        d = json.loads(raw)
        comparisons = tuple(Comparison.from_json(d["case"], c) for c in d["comparisons"])
        return CaseRecord(d["case"], d["statuses"], comparisons, d.get("behaviours", {}), d.get("determinism", {}))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise FixtureError(f"{path} line {n} is corrupt; delete the folder and run again") from None


def read_records(out_dir: Path, repair: bool = False) -> dict[str, CaseRecord]:
    """Finished cases by id; an unfinished last line (a killed run) is ignored.

    The file is only read, unless ``repair`` (``parity run --resume``, which appends after it):
    then the cut-off line is removed, so that the next record starts a line of its own, and what
    was removed is noted in ``logs/resume.log``.
    """
    tail = ResultsTail(out_dir)
    records = {r.case_id: r for r in tail.read_new()}
    if repair and tail.unfinished:
        _cut_last_line(tail.path, tail.offset, tail.unfinished)
    return records


def _cut_last_line(path: Path, good_bytes: int, cut: bytes) -> None:
    """Remove a killed run's unfinished last line before appending, keeping a note of it."""
    note_dir = path.parent / "logs"
    note_dir.mkdir(exist_ok=True)
    files.refuse_link(note_dir / "resume.log")
    with files.open_nofollow(note_dir / "resume.log", "a", encoding="utf-8") as log:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        log.write(f"{stamp} resume: cut an unfinished last line of {len(cut)} bytes from {path.name} "
                  f"(a run killed while writing it; its case is run again): {cut[:200]!r}\n")
    fd = files.open_nofollow(path, "ab")
    try:
        fd.truncate(good_bytes)
    finally:
        fd.close()
