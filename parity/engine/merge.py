"""Merge the shards of a run (``parity run --shard i/n``) into one run folder and its reports.

The shards must ask for the same thing (suite, filter, runners), be run by the same framework
versions, and be exactly the shards 1..n, each complete.  The merged folder is indistinguishable
from an unsharded run's: ``results.jsonl`` in suite order, ``run.json`` of shard 1/1, the union of
the ``arrays/``, and the same reports.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from parity.engine import commands, files, results
from parity.engine.errors import FixtureError, UsageError
from parity.engine.model import Case
from parity.engine.results import CaseRecord, RunMeta
from parity.engine.session import RunReport


@dataclass(frozen=True)
class Shard:
    """One shard folder as read back."""

    folder: Path
    meta: RunMeta
    versions: dict[str, str]
    machine: str
    records: dict[str, CaseRecord]


def _request(meta: RunMeta) -> RunMeta:
    """What a shard asked for, apart from which slice it is."""
    return dataclasses.replace(meta, shard=(0, meta.shard[1]))


def _describe(meta: RunMeta) -> str:
    fields = {k: v for k, v in meta.to_json().items() if k not in ("schema", "shard")}
    return ", ".join(f"{k} {v!r}" for k, v in fields.items()) + f", {meta.shard[1]} shards"


def read_shards(folders: list[Path]) -> list[Shard]:
    """Read every shard and check they are the shards 1..n of one run, once each; sorted by index."""
    if not folders:
        raise UsageError("pass the shard folders to merge (each made with parity run --shard I/N --out DIR)")
    shards = []
    for folder in folders:
        files.check_run_folder(folder)
        meta = results.read_meta(folder)
        versions, machine = results.read_environment(folder)
        shards.append(Shard(folder, meta, versions, machine, results.read_records(folder)))
    first = shards[0]
    for s in shards[1:]:
        if _request(s.meta) != _request(first.meta):
            raise UsageError(
                f"{s.folder} is not a shard of the same run as {first.folder}: "
                f"{_describe(s.meta)} vs {_describe(first.meta)}"
            )
        if s.versions != first.versions:
            raise FixtureError(
                f"{s.folder} ran other versions than {first.folder} ({s.versions} vs {first.versions}); "
                "rerun the shards with one environment"
            )
    n = first.meta.shard[1]
    seen = Counter(s.meta.shard[0] for s in shards)
    twice = sorted(i for i, k in seen.items() if k > 1)
    if twice:
        folders_of = [str(s.folder) for s in shards if s.meta.shard[0] == twice[0]]
        raise UsageError(f"shard {twice[0]}/{n} is given more than once: {', '.join(folders_of)}")
    missing = [i for i in range(1, n + 1) if i not in seen]
    if missing:
        raise UsageError(f"missing shard(s) {', '.join(f'{i}/{n}' for i in missing)}; pass all {n} shard folders")
    return sorted(shards, key=lambda s: s.meta.shard[0])


def _check_complete(shard: Shard, cases: list[Case]) -> None:
    wanted = {c.id for c in shard.meta.select(cases)}
    missing = [i for i in (c.id for c in shard.meta.select(cases)) if i not in shard.records]
    if missing:
        i, n = shard.meta.shard
        raise FixtureError(
            f"shard {i}/{n} in {shard.folder} is incomplete ({len(missing)} of {len(wanted)} cases missing, "
            f"first {missing[0]}); finish it with: {commands.resume(shard.folder)}"
        )
    foreign = sorted(set(shard.records) - wanted)
    if foreign:
        raise FixtureError(
            f"{shard.folder} holds case {foreign[0]} which is not in its slice of suite {shard.meta.suite!r}; "
            "the shards were made from other case declarations: rerun them"
        )


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy the plain files of ``src`` (a shard's arrays/ or logs/) into ``dst``; links are refused, not followed."""
    files.refuse_link(src)
    if src.is_dir():
        dst.mkdir(parents=True, exist_ok=True)
        files.refuse_link(dst)
        for f in sorted(src.iterdir()):
            files.refuse_link(f)
            if f.is_file():
                files.atomic_copy(f, dst / f.name)


def merge(out_dir: Path, folders: list[Path]) -> tuple[RunReport, list[Case]]:
    """Merge shard ``folders`` into ``out_dir``; returns the merged report and the suite's cases."""
    resolved = {f.resolve() for f in folders}
    if out_dir.resolve() in resolved:
        raise UsageError(f"the output folder {out_dir} is one of the shards; merge into a new folder")
    shards = read_shards(folders)
    meta = shards[0].meta
    cases = meta.all_cases()
    for s in shards:
        _check_complete(s, cases)
    records = {k: v for s in shards for k, v in s.records.items()}
    machines = list(dict.fromkeys(s.machine for s in shards))
    merged = dataclasses.replace(meta, shard=(1, 1))
    report = RunReport(meta.suite, meta.runners, dict(shards[0].versions), "; ".join(machines), op=meta.op)

    out_dir.mkdir(parents=True, exist_ok=True)
    files.check_run_folder(out_dir)
    results.write_meta(out_dir, merged, report.versions, report.machine)
    lines = []
    for case in cases:
        record = records[case.id]
        lines.append(results.line(record))
        report.add(record)
    files.atomic_write(out_dir / "results.jsonl", "".join(lines))
    for s in shards:
        _copy_tree(s.folder / "arrays", out_dir / "arrays")
        i, n = s.meta.shard
        _copy_tree(s.folder / "logs", out_dir / "logs" / f"shard-{i}-of-{n}")
    return report, cases
