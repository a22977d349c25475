"""The results folder of a run, written as cases finish and read back for resume and reports.

``run.json`` describes the run (suite, filter, runners); ``results.jsonl`` holds one line per
finished case (statuses and comparisons); ``arrays/`` the outputs.  A run killed mid-write
leaves at most one truncated last line, which reading drops.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from parity.errors import FixtureError
from parity.model import Comparison

RESULTS_SCHEMA = 1


@dataclass(frozen=True)
class RunMeta:
    """What was asked for; a resumed run must ask for the same."""

    suite: str
    keyword: str | None
    runners: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"schema": RESULTS_SCHEMA, "suite": self.suite, "keyword": self.keyword, "runners": list(self.runners)}


@dataclass(frozen=True)
class CaseRecord:
    """One finished case as stored."""

    case_id: str
    statuses: dict[str, str]
    comparisons: tuple[Comparison, ...]

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case_id, "statuses": self.statuses, "comparisons": [c.to_json() for c in self.comparisons]}


def write_meta(out_dir: Path, meta: RunMeta) -> None:
    (out_dir / "run.json").write_text(json.dumps(meta.to_json(), indent=1))


def read_meta(out_dir: Path) -> RunMeta:
    path = out_dir / "run.json"
    if not path.is_file():
        raise FixtureError(f"{out_dir} holds no parity run ({path.name} missing); pass the --out folder of an earlier run")
    try:
        d = json.loads(path.read_text())
        return RunMeta(d["suite"], d["keyword"], tuple(d["runners"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise FixtureError(f"{path} is corrupt ({exc}); start a new run with a fresh --out") from None


def append(log: TextIO, record: CaseRecord) -> None:
    """One line per case, flushed at once, so a crash loses at most the case in flight."""
    log.write(json.dumps(record.to_json(), allow_nan=False) + "\n")
    log.flush()


def read_records(out_dir: Path) -> dict[str, CaseRecord]:
    """Finished cases by id; a truncated last line (a killed run) is dropped and cut from the file."""
    path = out_dir / "results.jsonl"
    if not path.exists():
        return {}
    records: dict[str, CaseRecord] = {}
    good_bytes = 0
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                d = json.loads(raw)
                record = CaseRecord(d["case"], d["statuses"], tuple(Comparison.from_json(d["case"], c) for c in d["comparisons"]))
            except (ValueError, KeyError, TypeError):
                if raw.endswith(b"\n"):
                    raise FixtureError(f"{path} line {n} is corrupt; delete the folder and run again") from None
                break  # the line being written when the run was killed
            records[record.case_id] = record
            good_bytes += len(raw)
    if good_bytes != path.stat().st_size:
        with open(path, "r+b") as f:
            f.truncate(good_bytes)
    return records
