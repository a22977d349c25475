"""Mutation testing of an op's suites: known faults edited into fresh copies of the op's reference
modules; some case must tell each faulty copy from the real reference.

A suite that cannot kill a mutant cannot catch the same bug in a framework.  The op owns its
mutants and how a case tells a copy apart (its ``difference`` callback); this module owns what
every op shares: the edits (each must match its source exactly once, so a mutant cannot silently
stop mutating), loading the copies as modules with sys.modules always restored, the loop that
stops at the first killing case, and the table and score ``parity mutants`` prints.
"""
from __future__ import annotations

import importlib
import sys
import types
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Collection, Iterator, Mapping, Sequence, TypeVar

from parity.engine.errors import ParityError
from parity.engine.model import Case

#: The copies of one mutant, by file stem (``reference`` for reference.py).
Modules = Mapping[str, types.ModuleType]
C = TypeVar("C", bound=Case)


@dataclass(frozen=True)
class Mutant:
    """A named fault: (file stem, exact source text, replacement) edits."""

    name: str
    fault: str
    edits: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    killed_by: str | None  # the first case that tells it apart, None if it survived
    how: str


@dataclass(frozen=True)
class Sources:
    """The reference modules a mutant may edit, as one op lays them out.

    ``files`` are in import order: each copy imports the copies before it, since it is loaded
    under the real module's name (``from pkg.geometry import f`` finds the copy in sys.modules).
    A stem in ``only_if_edited`` is copied only for a mutant that edits it; the others use the
    real module (a copy has no file to cache compiled code against, so copying costs a fresh
    compile).  A stem in ``rebind`` is also set as the package's attribute while the copies are
    loaded (for ``from pkg import module``, which reads the attribute).  ``prepare`` adjusts a
    copy's source, edited or not, before it runs (stem, text -> text).
    """

    package: str
    files: tuple[Path, ...]
    only_if_edited: Collection[str] = frozenset()
    rebind: Collection[str] = ()
    prepare: Callable[[str, str], str] | None = field(default=None, compare=False)


def edited(mutant: Mutant, sources: Sources) -> dict[str, str]:
    """The source text of every file, with the mutant's edits applied (an edit must match once)."""
    texts = {path.stem: path.read_text() for path in sources.files}
    for file, old, new in mutant.edits:
        found = texts[file].count(old) if file in texts else 0
        if found != 1:
            raise ParityError(f"mutant {mutant.name}: {old!r} occurs {found} times in {file}.py (expected once)")
        texts[file] = texts[file].replace(old, new)
    return texts


@contextmanager
def loaded(mutant: Mutant, sources: Sources) -> Iterator[Modules]:
    """Fresh copies of the reference's modules with the mutant's edits, in sys.modules under the
    real names while the block runs; afterwards every entry is as before (one absent before is
    removed again, not left as None) and so is every rebound package attribute."""
    texts = edited(mutant, sources)
    touched = {file for file, _, _ in mutant.edits}
    stems = [p.stem for p in sources.files if p.stem not in sources.only_if_edited or p.stem in touched]
    names = {stem: f"{sources.package}.{stem}" for stem in stems}
    package = importlib.import_module(sources.package)
    saved = {name: sys.modules.get(name) for name in names.values()}
    saved_attrs = {stem: getattr(package, stem) for stem in sources.rebind if hasattr(package, stem)}
    try:
        modules: dict[str, types.ModuleType] = {}
        for stem in stems:
            module = types.ModuleType(names[stem])
            sys.modules[module.__name__] = module  # dataclasses resolve their module while it executes
            if stem in sources.rebind:
                setattr(package, stem, module)
            text = sources.prepare(stem, texts[stem]) if sources.prepare else texts[stem]
            exec(compile(text, f"<mutant {mutant.name}: {stem}.py>", "exec"), module.__dict__)  # noqa: S102 - our own source, edited
            modules[stem] = module
        yield modules
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
        for stem in sources.rebind:
            if stem in saved_attrs:
                setattr(package, stem, saved_attrs[stem])
            elif hasattr(package, stem):
                delattr(package, stem)


def run(
    mutants: Sequence[Mutant], cases: Sequence[C], sources: Sources, difference: Callable[[Modules, C], str | None]
) -> list[Outcome]:
    """Each mutant against the cases, stopping at the first case whose ``difference`` (how the
    copy's verdict or output differs from the real one's; None: indistinguishable) is not None."""
    outcomes = []
    for mutant in mutants:
        outcome = Outcome(mutant, None, "")
        with loaded(mutant, sources) as modules:
            for case in cases:
                how = difference(modules, case)
                if how is not None:
                    outcome = Outcome(mutant, case.id, how)
                    break
        outcomes.append(outcome)
    return outcomes


def suite_names(spec: str) -> list[str]:
    """``standard,edge`` -> the suite names ``--suite`` lists."""
    return [s.strip() for s in spec.split(",") if s.strip()]


def report(outcomes: Sequence[Outcome], title: str) -> int:
    """Print the outcomes as a table and the mutation score; the exit status (1: one survived)."""
    from rich.markup import escape
    from rich.table import Table

    from parity.reporters.terminal import console

    table = Table(title=title)
    for col in ("mutant", "fault", "first killing case", "how"):
        table.add_column(col, overflow="fold")
    for o in outcomes:
        table.add_row(o.mutant.name, escape(o.mutant.fault), escape(o.killed_by or "SURVIVED"), escape(o.how))
    out = console()
    out.print(table)
    killed = sum(o.killed_by is not None for o in outcomes)
    share = f" ({100 * killed / len(outcomes):.0f}%)" if outcomes else ""
    out.print(f"mutation score: {killed}/{len(outcomes)}{share}")
    return 0 if killed == len(outcomes) else 1
